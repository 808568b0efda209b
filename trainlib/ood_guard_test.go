package trainlib

import (
	"bytes"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
)

// TestOutOfDomainGuard: the guard takes the base model's values as baselines, warns (and with
// StopTraining stops) when the out-of-domain metric falls more than MaxDrop, and sums up both metrics.
func TestOutOfDomainGuard(t *testing.T) {
	train := pairsDataset(t, synth.Pairs(30, 2, 2))
	for _, stop := range []bool{false, true} {
		m := tiny(t, "mean")
		in := &scriptedEvaluator{metric: "squad_cosine_ndcg@10", values: []float64{0.50, 0.60, 0.65, 0.70, 0.72}}
		ood := &scriptedEvaluator{metric: "NanoBEIR_mean_cosine_ndcg@10", values: []float64{0.40, 0.395, 0.37, 0.36, 0.35}}
		seq := evaluation.NewSequentialEvaluator([]evaluation.Evaluator{named{in, "squad"}, named{ood, "NanoBEIR_mean"}}, nil)
		var out bytes.Buffer
		g := NewOutOfDomainGuard(m, named{in, "squad"}, named{ood, "NanoBEIR_mean"}, 0.02)
		g.Out, g.StopTraining = &out, stop
		args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 4, PerDeviceTrainBatchSize: 8, EvalStrategy: "steps", EvalSteps: 1,
			SaveStrategy: "no", LoggingSteps: 10}
		tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(seq), WithCallbacks(g), WithoutProgress())
		if err != nil {
			t.Fatal(err)
		}
		tr.logf = func(string, ...any) {}
		res, err := tr.Train()
		if err != nil {
			t.Fatal(err)
		}
		// Baselines from the base model (first scripted values), then steps 1.. see 0.395, 0.37, ...
		if g.Baseline["NanoBEIR_mean_cosine_ndcg@10"] != 0.40 || g.Baseline["squad_cosine_ndcg@10"] != 0.50 {
			t.Fatalf("baselines %v", g.Baseline)
		}
		wantSteps := 4
		if stop {
			wantSteps = 2
		}
		if res.GlobalStep != wantSteps {
			t.Errorf("stop=%v: trained %d steps, want %d", stop, res.GlobalStep, wantSteps)
		}
		if len(g.Warnings) == 0 || !strings.Contains(g.Warnings[0], "out-of-domain NanoBEIR_mean_cosine_ndcg@10 fell from 0.4000 to 0.3700 (-0.0300) at step 2, more than max_drop 0.02; in-domain squad_cosine_ndcg@10 0.5000 → 0.6500 (+0.1500)") {
			t.Errorf("warnings %q", g.Warnings)
		}
		if !strings.Contains(out.String(), "embedtune: warning: out-of-domain") || !strings.Contains(out.String(), "in-domain squad_cosine_ndcg@10 0.5000 →") {
			t.Errorf("output %q", out.String())
		}
	}
}

// named gives a scripted evaluator a name (its metric keys already carry it).
type named struct {
	*scriptedEvaluator
	name string
}

func (n named) Name() string { return n.name }
