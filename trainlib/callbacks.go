package trainlib

// Callback observes a training run, like transformers' TrainerCallback: the Trainer calls its
// methods at the events of the loop, and user interfaces (progress bars, log tables, live charts)
// attach through it from outside, as GoMLX's train.Loop hooks do. Embed BaseCallback to implement
// only some methods.
type Callback interface {
	OnTrainBegin(s *TrainerState, a *TrainingArguments)
	// OnStepEnd runs after every optimizer step.
	OnStepEnd(s *TrainerState, a *TrainingArguments)
	// OnLog receives each new log_history entry (training logs, evaluations, the final summary).
	OnLog(s *TrainerState, a *TrainingArguments, entry map[string]float64)
	// OnEvaluate receives the metrics of an evaluation ("eval_"-prefixed).
	OnEvaluate(s *TrainerState, a *TrainingArguments, metrics map[string]float64)
	// OnSave runs after a checkpoint folder was written.
	OnSave(s *TrainerState, a *TrainingArguments, checkpoint string)
	OnTrainEnd(s *TrainerState, a *TrainingArguments, out *TrainOutput)
}

// BaseCallback implements Callback with methods that do nothing.
type BaseCallback struct{}

func (BaseCallback) OnTrainBegin(*TrainerState, *TrainingArguments)                   {}
func (BaseCallback) OnStepEnd(*TrainerState, *TrainingArguments)                      {}
func (BaseCallback) OnLog(*TrainerState, *TrainingArguments, map[string]float64)      {}
func (BaseCallback) OnEvaluate(*TrainerState, *TrainingArguments, map[string]float64) {}
func (BaseCallback) OnSave(*TrainerState, *TrainingArguments, string)                 {}
func (BaseCallback) OnTrainEnd(*TrainerState, *TrainingArguments, *TrainOutput)       {}
