package losses

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/model"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// TestLossOptionErrors checks that contradictory or impossible options are errors naming the option.
func TestLossOptionErrors(t *testing.T) {
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 1, model.WithLogger(nil)) // 32 dimensions
	if err != nil {
		t.Fatal(err)
	}
	mnrl := MultipleNegativesRankingLoss(m)
	for _, c := range []struct {
		name string
		loss Loss
		cols int
		want string
	}{
		{"mini-batch-zero", CachedMultipleNegativesRankingLoss(m, WithMiniBatchSize(0)), 2, "mini_batch_size must be positive, got 0"},
		{"mini-batch-negative", CachedMultipleNegativesRankingLoss(m, WithMiniBatchSize(-4)), 2, "mini_batch_size must be positive, got -4"},
		{"mini-batch-on-mnrl", MultipleNegativesRankingLoss(m, WithMiniBatchSize(8)), 2, "mini_batch_size (8) applies to CachedMultipleNegativesRankingLoss only"},
		{"cached-one-column", CachedMultipleNegativesRankingLoss(m), 1, "needs at least 2 text columns"},
		{"dims-empty", MatryoshkaLoss(m, mnrl, nil), 2, "matryoshka_dims is empty"},
		{"dims-too-large", MatryoshkaLoss(m, mnrl, []int{64, 32, 16}), 2, "matryoshka_dims 64 is larger than the model's embedding dimension 32"},
		{"dims-duplicate", MatryoshkaLoss(m, mnrl, []int{32, 16, 16}), 2, "matryoshka_dims lists 16 twice"},
		{"dims-zero", MatryoshkaLoss(m, mnrl, []int{32, 0}), 2, "matryoshka_dims must be positive, got 0"},
		{"weights-length", MatryoshkaLoss(m, mnrl, []int{32, 16}, WithMatryoshkaWeights(1, 1, 1)), 2, "matryoshka_weights has 3 values for 2 matryoshka_dims"},
		{"weights-negative", MatryoshkaLoss(m, mnrl, []int{32, 16}, WithMatryoshkaWeights(1, -1)), 2, "matryoshka_weights must be finite and non-negative, got -1"},
		{"weights-nan", MatryoshkaLoss(m, mnrl, []int{32, 16}, WithMatryoshkaWeights(1, math.NaN())), 2, "matryoshka_weights must be finite"},
		{"dims-per-step-zero", MatryoshkaLoss(m, mnrl, []int{32, 16}, WithDimsPerStep(0)), 2, "n_dims_per_step must be -1 (every dimension) or positive, got 0"},
		{"dims-per-step-negative", MatryoshkaLoss(m, mnrl, []int{32, 16}, WithDimsPerStep(-3)), 2, "n_dims_per_step must be -1"},
		{"nested", MatryoshkaLoss(m, MatryoshkaLoss(m, mnrl, []int{32}), []int{32}), 2, "the inner loss is a MatryoshkaLoss"},
		{"inner-invalid", MatryoshkaLoss(m, CoSENTLoss(m), []int{32}), 2, "MatryoshkaLoss: CoSENTLoss needs a score column"},
		{"inner-nil", MatryoshkaLoss(m, nil, []int{32}), 2, "MatryoshkaLoss: no inner loss"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.loss.Validate(c.cols, false)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, c.want)
			}
		})
	}
	// Dimensions in any order are sorted with their weights, as sentence-transformers does.
	l := MatryoshkaLoss(m, mnrl, []int{8, 32, 16}, WithMatryoshkaWeights(0.25, 1, 0.5))
	if err := l.Validate(2, false); err != nil {
		t.Fatal(err)
	}
	cfg := l.Config()
	if !slices.Equal(cfg["matryoshka_dims"].([]int), []int{32, 16, 8}) || !slices.Equal(cfg["matryoshka_weights"].([]float64), []float64{1, 0.5, 0.25}) ||
		cfg["loss"] != "MultipleNegativesRankingLoss" || cfg["n_dims_per_step"] != -1 {
		t.Errorf("Config() = %v", cfg)
	}
	if c := CachedMultipleNegativesRankingLoss(m).Config(); c["mini_batch_size"] != 32 || c["scale"] != 20.0 || c["similarity_fct"] != "cos_sim" {
		t.Errorf("CachedMultipleNegativesRankingLoss Config() = %v", c)
	}
}

// TestMatryoshkaDimsPerStep checks n_dims_per_step: each training step's loss is the weighted sum of
// the inner loss over exactly n of the dimensions, every n-subset is drawn (about equally often),
// the same RNG state draws the same subset, and evaluation uses every dimension.
func TestMatryoshkaDimsPerStep(t *testing.T) {
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	dims, weights := []int{16, 8, 4, 2}, []float64{1, 2, 4, 8}
	l := MatryoshkaLoss(nil, MultipleNegativesRankingLoss(nil), dims, WithMatryoshkaWeights(weights...), WithDimsPerStep(2))
	if err := l.Validate(2, false); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	emb := func() *tensors.Tensor {
		v := make([]float32, 6*16)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, 6, 16)
	}
	q, p := emb(), emb()
	// Per-dimension losses, and the evaluation loss.
	outs, err := ExecOnceN(b, func(in []*Node) []*Node {
		res := []*Node{l.Compute(in, nil)}
		for _, d := range dims {
			res = append(res, l.Loss.Compute(shrinkAll(in, d), nil))
		}
		return res
	}, q, p)
	if err != nil {
		t.Fatal(err)
	}
	per := make([]float64, len(dims))
	all := 0.0
	for i := range dims {
		per[i] = float64(tensors.MustCopyFlatData[float32](outs[1+i])[0])
		all += weights[i] * per[i]
	}
	if got := float64(tensors.MustCopyFlatData[float32](outs[0])[0]); math.Abs(got-all) > 1e-5*all {
		t.Errorf("evaluation loss %g, Σ w·loss over every dimension %g", got, all)
	}
	exec, err := NewExec(b, func(emb []*Node) []*Node {
		loss, rng := l.ComputeTrain(emb[:2], nil, emb[2])
		return []*Node{loss, rng}
	})
	if err != nil {
		t.Fatal(err)
	}
	rng, err := RNGStateFromSeed(42)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	first := -1.0
	const steps = 600
	for step := 0; step < steps; step++ {
		outs, err := exec.Exec(q, p, rng)
		if err != nil {
			t.Fatal(err)
		}
		got := float64(tensors.MustCopyFlatData[float32](outs[0])[0])
		if step == 0 {
			first = got
			again, _ := exec.Exec(q, p, rng)
			if v := float64(tensors.MustCopyFlatData[float32](again[0])[0]); v != got {
				t.Fatalf("the same RNG state gave %g then %g", got, v)
			}
		}
		rng = outs[1]
		subset := ""
		for i := 0; i < len(dims); i++ {
			for j := i + 1; j < len(dims); j++ {
				if math.Abs(got-(weights[i]*per[i]+weights[j]*per[j])) < 1e-4*got {
					subset += string(rune('0'+i)) + string(rune('0'+j))
				}
			}
		}
		if len(subset) != 2 {
			t.Fatalf("step %d: loss %g is not the weighted loss of exactly one pair of dimensions (%q); per dimension %v", step, got, subset, per)
		}
		counts[subset]++
	}
	if len(counts) != 6 {
		t.Fatalf("drew %d of the 6 pairs: %v", len(counts), counts)
	}
	for s, n := range counts {
		if n < steps/6/2 || n > steps/6*2 {
			t.Errorf("pair %s drawn %d times in %d steps (expected about %d)", s, n, steps, steps/6)
		}
	}
	t.Logf("first step loss %g; pairs drawn: %v", first, counts)
}
