package trainlib

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// EarlyStoppingCallback is transformers' EarlyStoppingCallback: it stops training when
// metric_for_best_model has not improved for EarlyStoppingPatience evaluations in a row.
//
// At every evaluation (before the best metric is updated, as in transformers) the metric m is
// compared with the best so far b: it improves when there is no best yet, or when it is better
// (m > b with greater_is_better, m < b otherwise) by more than EarlyStoppingThreshold:
//
//	improved = b == nil || (better(m, b) && |m − b| > threshold)
//
// An improvement resets the patience counter to 0; anything else increments it, and training stops
// once it reaches EarlyStoppingPatience. It needs metric_for_best_model and an eval_strategy other
// than "no" (errors, as transformers' assertions); without load_best_model_at_end the last weights,
// not the best, end the run (a warning, as in transformers). Its counter is saved in checkpoints
// and restored on resume. Related: TrainingArguments.MetricForBestModel, GreaterIsBetter,
// LoadBestModelAtEnd.
//
//	stop := trainlib.NewEarlyStoppingCallback(3, 0.001)
//	trainer, err := trainlib.NewTrainer(m, args, train, nil, loss, trainlib.WithEvaluator(ev), trainlib.WithCallbacks(stop))
type EarlyStoppingCallback struct {
	BaseCallback
	// EarlyStoppingPatience (early_stopping_patience) is the number of evaluations without
	// improvement that stops training; transformers' default 1.
	EarlyStoppingPatience int
	// EarlyStoppingThreshold (early_stopping_threshold) is how much the metric must improve to count;
	// default 0.
	EarlyStoppingThreshold float64
	// PatienceCounter (early_stopping_patience_counter) counts the evaluations since the last improvement.
	PatienceCounter int
}

// NewEarlyStoppingCallback returns the callback with the given patience and threshold.
func NewEarlyStoppingCallback(patience int, threshold float64) *EarlyStoppingCallback {
	return &EarlyStoppingCallback{EarlyStoppingPatience: patience, EarlyStoppingThreshold: threshold}
}

// CheckArgs reports the settings the callback cannot work without, naming the fix, and transformers'
// warning for a run that will not end on the best weights.
func (c *EarlyStoppingCallback) CheckArgs(a *TrainingArguments) (warnings []string, err error) {
	var errs []error
	if c.EarlyStoppingPatience < 1 {
		errs = append(errs, fmt.Errorf("early_stopping_patience must be at least 1 (got %d)", c.EarlyStoppingPatience))
	}
	if math.IsNaN(c.EarlyStoppingThreshold) || math.IsInf(c.EarlyStoppingThreshold, 0) || c.EarlyStoppingThreshold < 0 {
		errs = append(errs, fmt.Errorf("early_stopping_threshold must be a non-negative number (got %g)", c.EarlyStoppingThreshold))
	}
	if a.MetricForBestModel == "" {
		errs = append(errs, errors.New("EarlyStoppingCallback requires metric_for_best_model (e.g. \"eval_loss\" or an evaluator's primary metric), or load_best_model_at_end, which defaults it to \"loss\""))
	}
	if a.EvalStrategy == IntervalStrategyNo {
		errs = append(errs, errors.New("EarlyStoppingCallback requires eval_strategy \"steps\" or \"epoch\""))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !a.LoadBestModelAtEnd {
		warnings = append(warnings, "Using EarlyStoppingCallback without load_best_model_at_end=True. Once training is finished, the best model will not be loaded automatically.")
	}
	return warnings, nil
}

// OnEvaluate updates the counter from metric_for_best_model and stops training when patience runs out.
func (c *EarlyStoppingCallback) OnEvaluate(s *TrainerState, a *TrainingArguments, metrics map[string]float64) {
	key := a.MetricForBestModel
	if !strings.HasPrefix(key, "eval_") {
		key = "eval_" + key
	}
	v, ok := metrics[key]
	if !ok {
		return // The run then fails: metric_for_best_model must be among the metrics (evaluate.go).
	}
	gib := a.GreaterIsBetter == nil || *a.GreaterIsBetter
	better := (gib && v > derefOr(s.BestMetric)) || (!gib && v < derefOr(s.BestMetric))
	if s.BestMetric == nil || (better && math.Abs(v-*s.BestMetric) > c.EarlyStoppingThreshold) {
		c.PatienceCounter = 0
	} else {
		c.PatienceCounter++
	}
	if c.PatienceCounter >= c.EarlyStoppingPatience {
		s.Control.ShouldTrainingStop = true
		s.Control.StopReason = fmt.Sprintf("early stopping: %s did not improve for %d evaluation(s) (best %g, threshold %g)",
			key, c.PatienceCounter, derefOr(s.BestMetric), c.EarlyStoppingThreshold)
	}
}

// OnTrainBegin resets the counter of a fresh run (a resumed run restores it from the checkpoint).
func (c *EarlyStoppingCallback) OnTrainBegin(s *TrainerState, _ *TrainingArguments) {
	if s.GlobalStep == 0 {
		c.PatienceCounter = 0
	}
}

func derefOr(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// CallbackName is "EarlyStoppingCallback", its key in trainer_state.json's stateful_callbacks.
func (c *EarlyStoppingCallback) CallbackName() string { return "EarlyStoppingCallback" }

// State returns transformers' exported state: the arguments and the patience counter.
func (c *EarlyStoppingCallback) State() CallbackState {
	return CallbackState{
		Args:       map[string]any{"early_stopping_patience": c.EarlyStoppingPatience, "early_stopping_threshold": c.EarlyStoppingThreshold},
		Attributes: map[string]any{"early_stopping_patience_counter": c.PatienceCounter},
	}
}

// RestoreState restores the patience counter. The arguments of this callback, not the checkpoint's,
// apply from then on (a resumed run may change its patience).
func (c *EarlyStoppingCallback) RestoreState(st CallbackState) error {
	n, ok := number(st.Attributes["early_stopping_patience_counter"])
	if !ok || n < 0 || n != math.Trunc(n) {
		return fmt.Errorf("EarlyStoppingCallback: early_stopping_patience_counter %v is not a count", st.Attributes["early_stopping_patience_counter"])
	}
	c.PatienceCounter = int(n)
	return nil
}

// number reads a JSON number (float64 after decoding, int when set in Go).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}
