package trainlib

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
)

// TestMixedPrecisionTraining trains the same steps in fp32, bf16 and fp16 (with loss scaling) on the
// default engine (XLA CPU in CI, the pure-Go backend in its second run): reduced precision must track
// fp32 closely, and differ from it — a silent fallback to fp32 would give identical losses.
func TestMixedPrecisionTraining(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	run := func(fp16, bf16 bool) []float64 {
		t.Helper()
		m := tiny(t, "mean")
		args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 6, PerDeviceTrainBatchSize: 8, LearningRate: 1e-3,
			LoggingSteps: 1, SaveStrategy: "no", FP16: fp16, BF16: bf16}
		tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(30, 2, 4)), nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
		if err != nil {
			t.Fatal(err)
		}
		out, err := tr.Train()
		if err != nil || out.GlobalStep != 6 {
			t.Fatalf("fp16=%v bf16=%v: %+v %v", fp16, bf16, out, err)
		}
		var l []float64
		for _, e := range tr.State.LogHistory {
			if v, ok := e["loss"]; ok {
				l = append(l, v)
			}
		}
		return l
	}
	fp32 := run(false, false)
	for _, c := range []struct {
		name       string
		fp16, bf16 bool
		tol        float64 // relative, per step: 8 (bf16) or 11 (fp16) mantissa bits through a small model
	}{{"bf16", false, true, 0.05}, {"fp16", true, false, 0.01}} {
		got := run(c.fp16, c.bf16)
		same := true
		for i := range fp32 {
			if math.IsNaN(got[i]) || math.Abs(got[i]-fp32[i]) > c.tol*math.Abs(fp32[i]) {
				t.Errorf("%s step %d: loss %.6f, fp32 %.6f (tolerance %g relative)", c.name, i+1, got[i], fp32[i], c.tol)
			}
			same = same && got[i] == fp32[i]
		}
		if same {
			t.Errorf("%s: losses identical to fp32's %v: reduced precision is not in effect", c.name, fp32)
		}
		t.Logf("%s losses %v (fp32 %v)", c.name, got, fp32)
	}
}

// noHalfBackend is an engine without float16/bfloat16 support.
type noHalfBackend struct{ compute.Backend }

func (b noHalfBackend) Capabilities() compute.Capabilities {
	c := b.Backend.Capabilities().Clone()
	delete(c.DTypes, dtypes.Float16)
	delete(c.DTypes, dtypes.BFloat16)
	return c
}

// TestMixedPrecisionUnsupported: on an engine that cannot run fp16/bf16, NewTrainer fails before
// training with an error naming the setting and the alternative — never a silent fp32 run.
func TestMixedPrecisionUnsupported(t *testing.T) {
	real, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 1, model.WithLogger(nil), model.WithBackend(noHalfBackend{real}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fp16, bf16 bool
		want       []string
	}{
		{true, false, []string{"fp16=true", "cannot run float16", "use bf16=true or fp32"}},
		{false, true, []string{"bf16=true", "cannot run bfloat16", "use fp32"}},
	} {
		args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 2, PerDeviceTrainBatchSize: 4, FP16: c.fp16, BF16: c.bf16}
		_, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(10, 1, 4)), nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
		if err == nil {
			t.Errorf("fp16=%v bf16=%v: no error", c.fp16, c.bf16)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
}
