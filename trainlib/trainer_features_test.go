package trainlib

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// cancelAt cancels a context when a step is reached.
type cancelAt struct {
	BaseCallback
	step   int
	cancel func()
}

func (c cancelAt) OnStepEnd(s *TrainerState, _ *TrainingArguments) {
	if s.GlobalStep == c.step {
		c.cancel()
	}
}

func TestInterruptWritesCheckpoint(t *testing.T) {
	m := tiny(t, "mean")
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := TrainingArguments{OutputDir: out, MaxSteps: 20, PerDeviceTrainBatchSize: 8, SaveSteps: 100, LoggingSteps: 5}
	tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(30, 2, 1)), nil, losses.MultipleNegativesRankingLoss(m),
		WithoutProgress(), WithCallbacks(cancelAt{step: 3, cancel: cancel}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Train(WithContext(ctx))
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "checkpoint-3") {
		t.Fatalf("err = %v, want ErrInterrupted naming checkpoint-3", err)
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-3", "optimizer.safetensors")); err != nil {
		t.Fatal(err)
	}
	// Resuming finishes the run.
	m2 := tiny(t, "mean")
	tr2, _ := NewTrainer(m2, args, pairsDataset(t, synth.Pairs(30, 2, 1)), nil, losses.MultipleNegativesRankingLoss(m2), WithoutProgress())
	res, err := tr2.Train(ResumeFrom("latest"))
	if err != nil || res.GlobalStep != 20 {
		t.Fatalf("resume: %v %v", res, err)
	}
}

func TestDivergenceStopsWithStep(t *testing.T) {
	m := tiny(t, "mean")
	out := t.TempDir()
	args := TrainingArguments{OutputDir: out, MaxSteps: 30, PerDeviceTrainBatchSize: 8, LearningRate: 1e30,
		LRSchedulerType: "constant", SaveSteps: 1, SaveTotalLimit: 1, LoggingSteps: 1, MaxGradNorm: -1}
	tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(30, 2, 1)), nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Train()
	if err == nil || !strings.Contains(err.Error(), "diverged at step") || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("err = %v, want a divergence error naming the step and the last checkpoint", err)
	}
	for i, v := range m.Weights.Values {
		for _, x := range tensors.MustCopyFlatData[float32](v) {
			if math.IsNaN(float64(x)) {
				t.Fatalf("weight %s holds NaN after the failed step", m.Weights.Names[i])
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
		t.Error("a diverged run saved a final model")
	}
}

// TestGradientAccumulation: two identical micro-batches accumulate to the gradient of one (dropout
// off), so one accumulated step equals one plain step on that batch.
func TestGradientAccumulation(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	pairs := synth.Pairs(8, 1, 4)
	d := pairsDataset(t, pairs)
	step := func(ga int) []float32 {
		m := tiny(t, "mean")
		m.Config.HiddenDropoutProb, m.Config.AttentionProbsDropoutProb = 0, 0
		args := TrainingArguments{OutputDir: t.TempDir(), GradientAccumulationSteps: ga, LearningRate: 1e-2, WeightDecay: 0.01}
		args.applyDefaults()
		table, err := newTextTable("test", d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := table.batch(m, &args, []int{0, 1, 2, 3, 4, 5, 6, 7})
		if err != nil {
			t.Fatal(err)
		}
		st, err := newStepper(m, losses.MultipleNegativesRankingLoss(m), &args, 2, false, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts := &trainState{lossScale: 1}
		for _, v := range m.Weights.Values {
			ts.m = append(ts.m, tensors.FromShape(v.Shape()))
			ts.v = append(ts.v, tensors.FromShape(v.Shape()))
		}
		ts.rng, _ = graphRNG(1)
		micro := make([]*batchTensors, ga)
		for i := range micro {
			micro[i] = b
		}
		res, err := st.runStep(ts, micro, 1e-2, 1, nil)
		if err != nil || !res.finite {
			t.Fatalf("ga=%d: %v %+v", ga, err, res)
		}
		return tensors.MustCopyFlatData[float32](m.Weights.Values[m.Weights.Index("encoder.layer.0.attention.self.query.weight")])
	}
	one, two := step(1), step(2)
	for i := range one {
		if math.Abs(float64(one[i]-two[i])) > 1e-6 {
			t.Fatalf("weight %d: %v (plain) vs %v (2 accumulated micro-batches)", i, one[i], two[i])
		}
	}
}

func TestBF16Training(t *testing.T) {
	m := tiny(t, "mean")
	args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 3, PerDeviceTrainBatchSize: 8, BF16: true, LoggingSteps: 1, SaveStrategy: "no"}
	tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(20, 2, 1)), nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Train()
	if err != nil || math.IsNaN(out.TrainingLoss) || out.TrainingLoss <= 0 {
		t.Fatalf("bf16: %v %v", out, err)
	}
}

func TestLoadBestModelAtEnd(t *testing.T) {
	m := tiny(t, "mean")
	out := t.TempDir()
	train := pairsDataset(t, synth.Pairs(40, 2, 2))
	ev := irEvaluator(t, pairsDataset(t, synth.Pairs(20, 1, 77)), "dev")
	args := TrainingArguments{OutputDir: out, MaxSteps: 12, PerDeviceTrainBatchSize: 8, LearningRate: 2e-3,
		EvalStrategy: "steps", EvalSteps: 4, SaveSteps: 4, SaveTotalLimit: 1, LoadBestModelAtEnd: true,
		MetricForBestModel: "dev_cosine_ndcg@10", LoggingSteps: 4}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(ev), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	s := tr.State
	if s.BestModelCheckpoint == nil || s.BestMetric == nil {
		t.Fatal("no best model tracked")
	}
	best := 0.0
	for _, e := range s.LogHistory {
		if v, ok := e["eval_dev_cosine_ndcg@10"]; ok && v > best {
			best = v
		}
	}
	if *s.BestMetric != best {
		t.Fatalf("best metric %v, history max %v", *s.BestMetric, best)
	}
	if _, err := os.Stat(*s.BestModelCheckpoint); err != nil {
		t.Fatalf("rotation deleted the best checkpoint %s", *s.BestModelCheckpoint)
	}
	final, err := ev.Evaluate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(final["dev_cosine_ndcg@10"]-best) > 1e-9 {
		t.Fatalf("final model scores %v, the best checkpoint %v", final["dev_cosine_ndcg@10"], best)
	}
}

func TestTrainerRejectsBadData(t *testing.T) {
	m := tiny(t, "mean")
	args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 2}
	mk := func(cols ...datasets.NamedValues) *datasets.Dataset {
		d, err := datasets.FromColumns(cols...)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name string
		d    *datasets.Dataset
		loss losses.Loss
		want string
	}{
		{"one column", mk(datasets.Col("question", []string{"a", "b"})), losses.MultipleNegativesRankingLoss(m), "at least 2 text columns"},
		{"numeric text column", mk(datasets.Col("question", []string{"a"}), datasets.Col("n", []int64{1})), losses.MultipleNegativesRankingLoss(m), "type int64"},
		{"cosent without score", mk(datasets.Col("a", []string{"x"}), datasets.Col("b", []string{"y"})), losses.CoSENTLoss(m), "score column"},
		{"text label", mk(datasets.Col("a", []string{"x"}), datasets.Col("b", []string{"y"}), datasets.Col("label", []string{"1"})), losses.CoSENTLoss(m), "expected numbers"},
	}
	for _, tc := range tests {
		if _, err := NewTrainer(m, args, tc.d, nil, tc.loss, WithoutProgress()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	evalArgs := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 2, EvalStrategy: "steps"}
	if _, err := NewTrainer(m, evalArgs, pairsDataset(t, synth.Pairs(3, 1, 1)), nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress()); err == nil || !strings.Contains(err.Error(), "eval dataset or an evaluator") {
		t.Errorf("eval without data: %v", err)
	}
}

func graphRNG(seed int64) (*tensors.Tensor, error) { return graph.RNGStateFromSeed(seed) }

// TestTrainLoRAAdapter trains only a LoRA adapter: the base weights stay bit-identical, the
// adapter learns, output_dir holds sentence-transformers' adapter folder, and resuming works.
func TestTrainLoRAAdapter(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	base := filepath.Join(t.TempDir(), "base")
	if err := tiny(t, "mean").Save(base); err != nil {
		t.Fatal(err)
	}
	load := func() *model.SentenceTransformer {
		m, err := model.Load(base, model.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 8, Dropout: 0.1, TargetModules: []string{"query", "value"}, Seed: 2}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := load()
	before := tensors.MustCopyFlatData[float32](m.Weights.Values[m.Weights.Index("encoder.layer.0.attention.self.query.weight")])
	out := t.TempDir()
	args := TrainingArguments{OutputDir: out, MaxSteps: 8, PerDeviceTrainBatchSize: 8, LearningRate: 1e-2, SaveSteps: 4, LoggingSteps: 2}
	train := pairsDataset(t, synth.Pairs(30, 2, 1))
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	after := tensors.MustCopyFlatData[float32](m.Weights.Values[m.Weights.Index("encoder.layer.0.attention.self.query.weight")])
	for i := range before {
		if before[i] != after[i] {
			t.Fatal("a frozen base weight changed")
		}
	}
	b := tensors.MustCopyFlatData[float32](m.Adapter.Weights.Values[m.Adapter.Weights.Index("encoder.layer.0.attention.self.query.lora_B.weight")])
	nonzero := 0
	for _, v := range b {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("the adapter did not learn (B still zero)")
	}
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors", "checkpoint-8/adapter_model.safetensors", "checkpoint-8/optimizer.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	tuned, err := model.Load(out, model.WithLogger(nil))
	if err != nil || tuned.Adapter == nil {
		t.Fatalf("loading the adapter folder: %v", err)
	}
	want, _ := m.Encode([]string{"What is the capital of Kalomi?"}, nil)
	got, _ := tuned.Encode([]string{"What is the capital of Kalomi?"}, nil)
	if math.Abs(float64(want[0][0]-got[0][0])) > 1e-6 {
		t.Fatalf("reloaded adapter encodes differently: %v vs %v", got[0][0], want[0][0])
	}
	// Resume from checkpoint-4 to the same end point.
	os.RemoveAll(filepath.Join(out, "checkpoint-8"))
	m2 := load()
	tr2, _ := NewTrainer(m2, args, train, nil, losses.MultipleNegativesRankingLoss(m2), WithoutProgress())
	if _, err := tr2.Train(ResumeFrom("latest")); err != nil {
		t.Fatal(err)
	}
	b2 := tensors.MustCopyFlatData[float32](m2.Adapter.Weights.Values[m2.Adapter.Weights.Index("encoder.layer.0.attention.self.query.lora_B.weight")])
	for i := range b {
		if b[i] != b2[i] {
			t.Fatalf("resumed adapter differs at %d: %v vs %v", i, b2[i], b[i])
		}
	}
}
