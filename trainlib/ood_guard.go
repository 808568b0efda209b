package trainlib

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/model"
)

// OutOfDomainGuard watches, during training, an out-of-domain evaluator's primary metric (typically
// a NanoBEIREvaluator run beside the in-domain evaluator in a SequentialEvaluator) and warns when it
// falls more than MaxDrop below the base model's value: fine-tuning that helps retrieval in the
// training domain and hurts it elsewhere. At the end it prints the in-domain gain and the
// out-of-domain change side by side (Summary).
//
// The baselines are those given in Baseline, else the metrics of the evaluation at step 0
// (eval_on_start), else the guard evaluates the base model itself when training begins (one
// evaluation of each evaluator). Warnings
// go to Out (default os.Stderr, which a notebook shows under the cell) and are kept in Warnings;
// with StopTraining the run also stops there (control.should_training_stop).
//
//	seq := evaluation.NewSequentialEvaluator([]evaluation.Evaluator{inDomain, nanoBEIR}, nil)
//	guard := trainlib.NewOutOfDomainGuard(m, inDomain, nanoBEIR, 0.01)
//	trainer, err := trainlib.NewTrainer(m, args, train, nil, loss, trainlib.WithEvaluator(seq), trainlib.WithCallbacks(guard))
type OutOfDomainGuard struct {
	BaseCallback
	// InDomain (optional) and OutOfDomain are the evaluators whose primary metrics are compared;
	// they must be among the trainer's evaluators.
	InDomain, OutOfDomain evaluation.Evaluator
	// MaxDrop is the largest tolerated fall of the out-of-domain metric below its baseline
	// (absolute, e.g. 0.01 nDCG@10; 0 warns on any fall). A negative value disables the warnings.
	MaxDrop float64
	// StopTraining stops the run at the first evaluation beyond MaxDrop.
	StopTraining bool
	// Out receives warnings and the summary (default os.Stderr; io.Discard for none).
	Out io.Writer

	// Baselines and last values, by metric key without "eval_" (set during training).
	Baseline, Last map[string]float64
	// Warnings are the warnings issued, in order.
	Warnings []string

	model *model.SentenceTransformer
}

// NewOutOfDomainGuard returns a guard for model m (evaluated at the start when eval_on_start is off).
// inDomain may be nil.
func NewOutOfDomainGuard(m *model.SentenceTransformer, inDomain, outOfDomain evaluation.Evaluator, maxDrop float64) *OutOfDomainGuard {
	return &OutOfDomainGuard{model: m, InDomain: inDomain, OutOfDomain: outOfDomain, MaxDrop: maxDrop}
}

// CheckArgs requires evaluations during training.
func (g *OutOfDomainGuard) CheckArgs(a *TrainingArguments) ([]string, error) {
	if g.OutOfDomain == nil {
		return nil, fmt.Errorf("OutOfDomainGuard needs an out-of-domain evaluator")
	}
	if a.EvalStrategy == IntervalStrategyNo {
		return nil, fmt.Errorf("OutOfDomainGuard needs evaluations: set eval_strategy to \"steps\" or \"epoch\"")
	}
	return nil, nil
}

func (g *OutOfDomainGuard) out() io.Writer {
	if g.Out == nil {
		return os.Stderr
	}
	return g.Out
}

// OnTrainBegin evaluates the base model for the baselines that are not set yet (Baseline may be given
// before training, e.g. from an evaluation of the base model), unless eval_on_start will.
func (g *OutOfDomainGuard) OnTrainBegin(s *TrainerState, a *TrainingArguments) {
	if g.Baseline == nil {
		g.Baseline = map[string]float64{}
	}
	g.Last, g.Warnings = map[string]float64{}, nil
	if a.EvalOnStart || g.model == nil || s.GlobalStep > 0 {
		return
	}
	for _, ev := range []evaluation.Evaluator{g.InDomain, g.OutOfDomain} {
		if ev == nil {
			continue
		}
		if _, known := g.Baseline[ev.PrimaryMetric()]; known && ev.PrimaryMetric() != "" {
			continue
		}
		m, err := ev.Evaluate(context.Background(), g.model)
		if err != nil {
			fmt.Fprintf(g.out(), "embedtune: out-of-domain guard: evaluating the base model with %q: %v\n", ev.Name(), err)
			continue
		}
		if k := ev.PrimaryMetric(); k != "" {
			g.Baseline[k] = m[k]
		}
	}
}

// OnEvaluate records the metrics and warns when the out-of-domain one fell too far.
func (g *OutOfDomainGuard) OnEvaluate(s *TrainerState, _ *TrainingArguments, metrics map[string]float64) {
	if g.Baseline == nil {
		g.Baseline, g.Last = map[string]float64{}, map[string]float64{}
	}
	for _, ev := range []evaluation.Evaluator{g.InDomain, g.OutOfDomain} {
		if ev == nil {
			continue
		}
		k := ev.PrimaryMetric()
		v, ok := metrics["eval_"+k]
		if k == "" || !ok {
			continue
		}
		if _, set := g.Baseline[k]; !set {
			g.Baseline[k] = v
		}
		g.Last[k] = v
	}
	k := g.OutOfDomain.PrimaryMetric()
	v, ok := g.Last[k]
	maxDrop := g.MaxDrop
	if !ok || maxDrop < 0 || g.Baseline[k]-v <= maxDrop {
		return
	}
	w := fmt.Sprintf("out-of-domain %s fell from %.4f to %.4f (%+.4f) at step %d, more than max_drop %g", k, g.Baseline[k], v,
		v-g.Baseline[k], s.GlobalStep, maxDrop)
	if g.InDomain != nil {
		if ik := g.InDomain.PrimaryMetric(); ik != "" {
			if iv, ok := g.Last[ik]; ok {
				w += fmt.Sprintf("; in-domain %s %.4f → %.4f (%+.4f)", ik, g.Baseline[ik], iv, iv-g.Baseline[ik])
			}
		}
	}
	g.Warnings = append(g.Warnings, w)
	fmt.Fprintf(g.out(), "embedtune: warning: %s\n", w)
	if g.StopTraining {
		s.Control.ShouldTrainingStop = true
		s.Control.StopReason = w
	}
}

// OnTrainEnd prints the summary.
func (g *OutOfDomainGuard) OnTrainEnd(*TrainerState, *TrainingArguments, *TrainOutput) {
	if sum := g.Summary(); sum != "" {
		fmt.Fprintf(g.out(), "embedtune: %s\n", sum)
	}
}

// Summary is one line: each watched metric from its baseline to its last value, in-domain first.
func (g *OutOfDomainGuard) Summary() string {
	var parts []string
	for _, e := range []struct {
		what string
		ev   evaluation.Evaluator
	}{{"in-domain", g.InDomain}, {"out-of-domain", g.OutOfDomain}} {
		if e.ev == nil {
			continue
		}
		k := e.ev.PrimaryMetric()
		b, okB := g.Baseline[k]
		v, okV := g.Last[k]
		if k == "" || !okB || !okV {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %.4f → %.4f (%+.4f)", e.what, k, b, v, v-b))
	}
	return strings.Join(parts, "; ")
}

// CallbackName is "OutOfDomainGuard", its key in trainer_state.json's stateful_callbacks.
func (g *OutOfDomainGuard) CallbackName() string { return "OutOfDomainGuard" }

// State saves the baselines, so a resumed run compares with the base model's values.
func (g *OutOfDomainGuard) State() CallbackState {
	base := map[string]any{}
	for k, v := range g.Baseline {
		base[k] = v
	}
	return CallbackState{Args: map[string]any{"max_drop": g.MaxDrop, "stop_training": g.StopTraining},
		Attributes: map[string]any{"baseline": base}}
}

// RestoreState restores the baselines of a checkpoint.
func (g *OutOfDomainGuard) RestoreState(st CallbackState) error {
	base, ok := st.Attributes["baseline"].(map[string]any)
	if !ok {
		return fmt.Errorf("OutOfDomainGuard: the checkpoint's state has no baseline")
	}
	g.Baseline = map[string]float64{}
	for k, v := range base {
		x, ok := number(v)
		if !ok {
			return fmt.Errorf("OutOfDomainGuard: baseline %q is %v, not a number", k, v)
		}
		g.Baseline[k] = x
	}
	return nil
}
