package display

import "github.com/embedtune/embedtune/trainlib"

// AttachProgress attaches the training progress view to tr, as transformers' Trainer installs its
// NotebookProgressCallback in Jupyter and its ProgressCallback elsewhere, and as GoMLX's
// commandline.AttachProgressBar attaches to a train.Loop: trainlib draws nothing itself, the view
// observes the run through a trainlib.Callback.
//
// When Train starts, a TrainingProgress of the run's max_steps is created — in a GoNB notebook the
// live progress bar, the "Step | Training Loss | Validation Loss | metrics" table and the loss chart,
// refreshed in place at every log; in a terminal a progress bar and one line per table row on stderr
// (see WithWriter) — titled with run_name, with the Validation Loss column when eval_strategy is not
// "no" and rows by epoch when it is "epoch". A resumed run shows its earlier logs first. opts are
// applied after these settings.
//
// The progress view is the trainer's single progress display (Trainer.SetProgress): attaching again
// replaces it, and a trainer built WithoutProgress stays without one.
//
//	trainer, err := trainlib.NewTrainer(model, args, train, nil, loss)
//	display.AttachProgress(trainer)
//	out, err := trainer.Train()
func AttachProgress(tr *trainlib.Trainer, opts ...ProgressOption) {
	tr.SetProgress(&progressCallback{opts: opts})
}

// progressCallback drives a TrainingProgress from the trainer's events.
type progressCallback struct {
	trainlib.BaseCallback
	opts []ProgressOption
	p    *TrainingProgress
}

func (c *progressCallback) OnTrainBegin(s *trainlib.TrainerState, a *trainlib.TrainingArguments) {
	opts := []ProgressOption{WithTitle(a.RunName), WithEvaluation(a.EvalStrategy != trainlib.IntervalStrategyNo)}
	if a.EvalStrategy == trainlib.IntervalStrategyEpoch {
		opts = append(opts, WithEpochColumn())
	}
	c.p = NewTrainingProgress(s.MaxSteps, append(opts, c.opts...)...)
	for _, e := range s.LogHistory { // A resumed run shows its earlier logs.
		c.p.Log(e)
	}
}

func (c *progressCallback) OnStepEnd(s *trainlib.TrainerState, _ *trainlib.TrainingArguments) {
	c.p.Update(s.GlobalStep, nil)
}

func (c *progressCallback) OnLog(_ *trainlib.TrainerState, _ *trainlib.TrainingArguments, entry map[string]float64) {
	c.p.Log(entry)
}

func (c *progressCallback) OnTrainEnd(*trainlib.TrainerState, *trainlib.TrainingArguments, *trainlib.TrainOutput) {
	c.p.Finish()
}
