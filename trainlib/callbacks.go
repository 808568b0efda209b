package trainlib

import "fmt"

// Callback observes a training run, like transformers' TrainerCallback: the Trainer calls its
// methods at the events of the loop, and user interfaces (progress bars, log tables, live charts)
// attach through it from outside, as GoMLX's train.Loop hooks do. Embed BaseCallback to implement
// only some methods.
//
// A callback steers the loop through the state's Control (transformers' TrainerControl): setting
// s.Control.ShouldTrainingStop in any event stops training after the current step's logging,
// evaluation and checkpoint, as EarlyStoppingCallback does.
type Callback interface {
	OnTrainBegin(s *TrainerState, a *TrainingArguments)
	// OnStepEnd runs after every optimizer step.
	OnStepEnd(s *TrainerState, a *TrainingArguments)
	// OnLog receives each new log_history entry (training logs, evaluations, the final summary).
	OnLog(s *TrainerState, a *TrainingArguments, entry map[string]float64)
	// OnEvaluate receives the metrics of an evaluation ("eval_"-prefixed). As in transformers it runs
	// before the best model is updated, so s.BestMetric is still the best of the earlier evaluations.
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

// TrainerControl is transformers' TrainerControl: switches that callbacks set to steer the loop.
// Only ShouldTrainingStop is read by the loop (logging, evaluation and saving follow the
// strategies); it is never reset during a run.
type TrainerControl struct {
	ShouldTrainingStop bool
	// StopReason says why, for the log line of the run ("" when unknown); not a transformers field.
	StopReason string
}

// state is the control's entry of trainer_state.json's stateful_callbacks (transformers' format).
func (c TrainerControl) state(saving bool) CallbackState {
	return CallbackState{Args: map[string]any{"should_training_stop": c.ShouldTrainingStop, "should_epoch_stop": false,
		"should_save": saving, "should_evaluate": false, "should_log": false}, Attributes: map[string]any{}}
}

// CallbackState is a callback's entry in trainer_state.json's "stateful_callbacks", in transformers'
// ExportableState format: the constructor arguments and the attributes that change during training.
type CallbackState struct {
	Args       map[string]any `json:"args"`
	Attributes map[string]any `json:"attributes"`
}

// StatefulCallback is a Callback whose state is written into every checkpoint's trainer_state.json
// (stateful_callbacks, keyed by CallbackName, as transformers' ExportableState) and restored when a
// run resumes, so a resumed run behaves like an uninterrupted one (transformers restores it only
// with restore_callback_states_from_checkpoint=True).
type StatefulCallback interface {
	Callback
	// CallbackName is the key in stateful_callbacks (the transformers class name, e.g.
	// "EarlyStoppingCallback").
	CallbackName() string
	State() CallbackState
	// RestoreState loads a state written by State; it fails when the arguments differ.
	RestoreState(CallbackState) error
}

// argsChecker is implemented by callbacks that need particular training arguments; NewTrainer
// calls CheckArgs with the resolved arguments, fails when it returns an error and logs its warnings.
type argsChecker interface {
	CheckArgs(a *TrainingArguments) (warnings []string, err error)
}

// checkCallbacks runs CheckArgs of the callbacks that have it: the first error (naming the
// callback) or all warnings.
func checkCallbacks(cbs []Callback, a *TrainingArguments) ([]string, error) {
	var warnings []string
	for _, cb := range cbs {
		if c, ok := cb.(argsChecker); ok {
			w, err := c.CheckArgs(a)
			if err != nil {
				return nil, fmt.Errorf("callback %T: %w", cb, err)
			}
			warnings = append(warnings, w...)
		}
	}
	return warnings, nil
}
