package trainlib

import "github.com/embedtune/embedtune/kernel/display"

// progressCallback drives display.TrainingProgress: in a GoNB notebook a live HTML progress bar,
// log table and loss chart refreshed at every logging step (the last refresh stays in the saved
// notebook); in a terminal a progress bar on stderr and one line per log.
type progressCallback struct {
	BaseCallback
	p *display.TrainingProgress
}

func newProgressCallback() *progressCallback { return &progressCallback{} }

func (c *progressCallback) OnTrainBegin(s *TrainerState, a *TrainingArguments) {
	c.p = display.NewTrainingProgress(s.MaxSteps, display.WithTitle(a.RunName), display.WithEvaluation(a.EvalStrategy != "no"))
	for _, e := range s.LogHistory { // Resumed runs show their earlier logs.
		c.p.Log(e)
	}
}

func (c *progressCallback) OnStepEnd(s *TrainerState, _ *TrainingArguments) {
	c.p.Update(s.GlobalStep, nil)
}

func (c *progressCallback) OnLog(_ *TrainerState, _ *TrainingArguments, entry map[string]float64) {
	c.p.Log(entry)
}

func (c *progressCallback) OnTrainEnd(*TrainerState, *TrainingArguments, *TrainOutput) { c.p.Finish() }
