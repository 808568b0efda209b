package trainlib

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
)

// scriptedEvaluator returns the i-th value of values as metric at its i-th call.
type scriptedEvaluator struct {
	metric string
	values []float64
	calls  int
}

func (e *scriptedEvaluator) Evaluate(context.Context, evaluation.Encoder) (map[string]float64, error) {
	e.calls++
	return map[string]float64{e.metric: e.values[e.calls-1]}, nil
}
func (e *scriptedEvaluator) PrimaryMetric() string { return e.metric }
func (e *scriptedEvaluator) Name() string          { return "" }

// esCase is one run of the early-stopping reference (tests/reference/early_stopping_reference.py).
type esCase struct {
	Values             []float64 `json:"values"`
	Metric             string    `json:"metric"`
	MetricForBestModel string    `json:"metric_for_best_model,omitempty"`
	GreaterIsBetter    *bool     `json:"greater_is_better"`
	MaxSteps           int       `json:"max_steps"`
	EvalSteps          int       `json:"eval_steps"`
	SaveSteps          int       `json:"save_steps"`
	SaveStrategy       string    `json:"save_strategy"`
	SaveTotalLimit     *int      `json:"save_total_limit"`
	LoadBest           bool      `json:"load_best"`
	Patience           int       `json:"patience"`
	Threshold          float64   `json:"threshold"`
}

type esResult struct {
	GlobalStep          int      `json:"global_step"`
	BestMetric          *float64 `json:"best_metric"`
	BestGlobalStep      *int     `json:"best_global_step"`
	BestModelCheckpoint *string  `json:"best_model_checkpoint"`
	Evaluations         int      `json:"evaluations"`
	Checkpoints         []string `json:"checkpoints"`
}

// TestEarlyStoppingMatchesTransformers runs our Trainer and transformers' Trainer (with
// EarlyStoppingCallback) on the same metric sequences and compares where training stops, the best
// metric and step, the best checkpoint and the checkpoints left on disk.
func TestEarlyStoppingMatchesTransformers(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	ptr := func(b bool) *bool { return &b }
	one := 1
	rising := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2}
	plateau := []float64{0.5, 0.6, 0.6, 0.59, 0.61, 0.7, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1}
	cases := []esCase{
		{Values: plateau, Metric: "ndcg", MetricForBestModel: "ndcg", EvalSteps: 1, SaveSteps: 1, LoadBest: true, Patience: 2},
		{Values: plateau, Metric: "ndcg", MetricForBestModel: "eval_ndcg", EvalSteps: 1, SaveSteps: 1, LoadBest: true, Patience: 1},
		{Values: []float64{0.5, 0.52, 0.53, 0.60, 0.61, 0.615, 0.62, 0.9, 0.9, 0.9, 0.9, 0.9}, Metric: "ndcg", MetricForBestModel: "ndcg",
			EvalSteps: 1, SaveSteps: 1, LoadBest: true, Patience: 2, Threshold: 0.05},
		{Values: []float64{3, 2.5, 2.6, 2.4, 2.45, 2.5, 2.6, 1, 1, 1, 1, 1}, Metric: "val_loss", MetricForBestModel: "val_loss",
			EvalSteps: 1, SaveSteps: 1, LoadBest: true, Patience: 3},
		{Values: plateau, Metric: "ndcg", MetricForBestModel: "ndcg", GreaterIsBetter: ptr(false), EvalSteps: 1, SaveSteps: 1,
			LoadBest: true, Patience: 2},
		{Values: plateau, Metric: "ndcg", MetricForBestModel: "ndcg", EvalSteps: 1, SaveSteps: 2, LoadBest: false, Patience: 3},
		{Values: plateau, Metric: "ndcg", MetricForBestModel: "ndcg", EvalSteps: 1, SaveStrategy: "best", SaveSteps: 500,
			LoadBest: true, Patience: 2},
		{Values: rising, Metric: "ndcg", MetricForBestModel: "ndcg", EvalSteps: 2, SaveSteps: 4, LoadBest: true, Patience: 1},
		{Values: plateau, Metric: "ndcg", MetricForBestModel: "ndcg", EvalSteps: 1, SaveSteps: 1, SaveTotalLimit: &one,
			LoadBest: true, Patience: 3},
	}
	for i := range cases {
		cases[i].MaxSteps = 12
		if cases[i].SaveStrategy == "" {
			cases[i].SaveStrategy = "steps"
		}
	}
	var want struct {
		Results []esResult `json:"results"`
	}
	testutil.PythonJSON(t, "tests/reference/early_stopping_reference.py", map[string]any{"cases": cases}, &want)
	if len(want.Results) != len(cases) {
		t.Fatalf("reference returned %d results for %d cases", len(want.Results), len(cases))
	}
	train := pairsDataset(t, synth.Pairs(40, 2, 2))
	for i, c := range cases {
		got := runEarlyStoppingCase(t, c, train)
		w := want.Results[i]
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("case %d %+v:\n got %s\nwant %s (transformers)", i, c, gj, wj)
		}
	}
}

func runEarlyStoppingCase(t *testing.T, c esCase, train *datasets.Dataset) esResult {
	t.Helper()
	m := tiny(t, "mean")
	out := t.TempDir()
	args := TrainingArguments{OutputDir: out, MaxSteps: c.MaxSteps, PerDeviceTrainBatchSize: 8, EvalStrategy: "steps",
		EvalSteps: c.EvalSteps, SaveStrategy: SaveStrategy(c.SaveStrategy), SaveSteps: c.SaveSteps, LoggingSteps: 1000,
		LoadBestModelAtEnd: c.LoadBest, MetricForBestModel: c.MetricForBestModel, GreaterIsBetter: c.GreaterIsBetter}
	if c.SaveTotalLimit != nil {
		args.SaveTotalLimit = *c.SaveTotalLimit
	}
	ev := &scriptedEvaluator{metric: c.Metric, values: c.Values}
	stop := NewEarlyStoppingCallback(c.Patience, c.Threshold)
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(ev),
		WithCallbacks(stop), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	tr.logf = func(string, ...any) {}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	s := tr.State
	r := esResult{GlobalStep: s.GlobalStep, BestMetric: s.BestMetric, BestGlobalStep: s.BestGlobalStep, Evaluations: ev.calls,
		Checkpoints: []string{}}
	if s.BestModelCheckpoint != nil {
		b := filepath.Base(*s.BestModelCheckpoint)
		r.BestModelCheckpoint = &b
	}
	cks, err := listCheckpoints(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cks {
		r.Checkpoints = append(r.Checkpoints, filepath.Base(ck))
	}
	slices.Sort(r.Checkpoints)
	return r
}

// TestEarlyStoppingResume interrupts a run between evaluations: the checkpoint's trainer_state.json
// holds the patience counter in transformers' stateful_callbacks format, and the resumed run stops
// where the uninterrupted one does.
func TestEarlyStoppingResume(t *testing.T) {
	values := []float64{0.5, 0.6, 0.6, 0.59, 0.61, 0.7, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1}
	train := pairsDataset(t, synth.Pairs(40, 2, 2))
	out := t.TempDir()
	args := TrainingArguments{OutputDir: out, MaxSteps: 12, PerDeviceTrainBatchSize: 8, EvalStrategy: "steps", EvalSteps: 1,
		SaveSteps: 100, LoggingSteps: 1000, LoadBestModelAtEnd: true, MetricForBestModel: "ndcg", SaveStrategy: "steps"}
	args.SaveSteps = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := tiny(t, "mean")
	ev := &scriptedEvaluator{metric: "ndcg", values: values}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(ev),
		WithCallbacks(NewEarlyStoppingCallback(3, 0), cancelAt{step: 4, cancel: cancel}), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	tr.logf = func(string, ...any) {}
	if _, err := tr.Train(WithContext(ctx)); err == nil {
		t.Fatal("the interrupted run returned no error")
	}
	var st struct {
		StatefulCallbacks map[string]CallbackState `json:"stateful_callbacks"`
	}
	if err := readJSONFile(filepath.Join(out, "checkpoint-4", trainerStateFile), &st); err != nil {
		t.Fatal(err)
	}
	es := st.StatefulCallbacks["EarlyStoppingCallback"]
	if es.Args["early_stopping_patience"] != 3.0 || es.Args["early_stopping_threshold"] != 0.0 ||
		es.Attributes["early_stopping_patience_counter"] != 2.0 {
		t.Fatalf("stateful_callbacks = %+v, want EarlyStoppingCallback with patience 3, threshold 0, counter 2", st.StatefulCallbacks)
	}
	if _, ok := st.StatefulCallbacks["TrainerControl"]; !ok {
		t.Fatalf("stateful_callbacks has no TrainerControl: %+v", st.StatefulCallbacks)
	}
	m2 := tiny(t, "mean")
	ev2 := &scriptedEvaluator{metric: "ndcg", values: values[4:]}
	stop := NewEarlyStoppingCallback(3, 0)
	tr2, err := NewTrainer(m2, args, train, nil, losses.MultipleNegativesRankingLoss(m2), WithEvaluator(ev2),
		WithCallbacks(stop), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	tr2.logf = func(string, ...any) {}
	res, err := tr2.Train(ResumeFrom("latest"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GlobalStep != 9 || *tr2.State.BestGlobalStep != 6 || stop.PatienceCounter != 3 {
		t.Fatalf("resumed run stopped at step %d (best step %d, counter %d), the uninterrupted one at 9 (best 6, counter 3)",
			res.GlobalStep, *tr2.State.BestGlobalStep, stop.PatienceCounter)
	}
}

func TestEarlyStoppingRequirements(t *testing.T) {
	train := pairsDataset(t, synth.Pairs(20, 2, 2))
	ev := &scriptedEvaluator{metric: "ndcg", values: []float64{1}}
	tests := []struct {
		args TrainingArguments
		cb   *EarlyStoppingCallback
		want string
	}{
		{TrainingArguments{EvalStrategy: "steps", EvalSteps: 1}, NewEarlyStoppingCallback(1, 0), "requires metric_for_best_model"},
		{TrainingArguments{MetricForBestModel: "ndcg"}, NewEarlyStoppingCallback(1, 0), "requires eval_strategy"},
		{TrainingArguments{EvalStrategy: "steps", EvalSteps: 1, MetricForBestModel: "ndcg"}, NewEarlyStoppingCallback(0, 0), "early_stopping_patience must be at least 1"},
		{TrainingArguments{EvalStrategy: "steps", EvalSteps: 1, MetricForBestModel: "ndcg"}, NewEarlyStoppingCallback(1, -0.1), "early_stopping_threshold must be a non-negative number"},
	}
	for _, tc := range tests {
		m := tiny(t, "mean")
		tc.args.OutputDir, tc.args.MaxSteps = t.TempDir(), 2
		_, err := NewTrainer(m, tc.args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(ev), WithCallbacks(tc.cb))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	// Without load_best_model_at_end: transformers' warning, then training.
	m := tiny(t, "mean")
	var logged []string
	args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 1, EvalStrategy: "steps", EvalSteps: 1, MetricForBestModel: "ndcg", SaveStrategy: "no"}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(ev),
		WithCallbacks(NewEarlyStoppingCallback(1, 0)), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	tr.logf = func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(logged, func(s string) bool { return strings.Contains(s, "without load_best_model_at_end=True") }) {
		t.Errorf("no warning about load_best_model_at_end in %q", logged)
	}
}
