package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/backend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// TestScheduleValues checks the schedules at chosen steps against transformers' formulas
// worked by hand (warmup 34 of 332 steps, the tutorial's numbers).
func TestScheduleValues(t *testing.T) {
	tests := []struct {
		name string
		step int
		want float64
	}{
		{"linear", 0, 0}, {"linear", 17, 0.5}, {"linear", 34, 1}, {"linear", 183, 149.0 / 298}, {"linear", 332, 0},
		{"cosine", 10, 10.0 / 34}, {"cosine", 34, 1}, {"cosine", 183, 0.5}, {"cosine", 332, 0},
		{"constant", 0, 1}, {"constant", 200, 1},
		{"constant_with_warmup", 17, 0.5}, {"constant_with_warmup", 300, 1},
	}
	for _, tc := range tests {
		f, err := Schedule(tc.name, 34, 332)
		if err != nil {
			t.Fatal(err)
		}
		if got := f(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s(%d) = %v, want %v", tc.name, tc.step, got, tc.want)
		}
	}
	if _, err := Schedule("polynomial_decay", 1, 2); err == nil {
		t.Error("unknown schedule accepted")
	}
	if got := WarmupSteps(0, 0.1, 332); got != 34 {
		t.Errorf("warmup_ratio 0.1 of 332 = %d, want ⌈33.2⌉ = 34", got)
	}
	if got := WarmupSteps(0.1, 0, 332); got != 34 {
		t.Errorf("warmup_steps 0.1 (ratio) of 332 = %d, want 34", got)
	}
	if got := WarmupSteps(5, 0.5, 332); got != 5 {
		t.Errorf("warmup_steps 5 = %d", got)
	}
}

// TestAdamWMatchesPyTorch runs several clipped AdamW steps with a schedule and compares the
// parameter trajectory, gradient norms and learning rates with torch.optim.AdamW +
// clip_grad_norm_ + transformers.get_scheduler.
func TestAdamWMatchesPyTorch(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		wd, clip float64
	}{{"linear", 0.01, 1.0}, {"cosine", 0.1, 0.5}, {"constant_with_warmup", 0, 100}} {
		t.Run(tc.schedule, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			shapes := [][]int{{4, 3}, {3}, {5}}
			decay := []bool{true, false, true}
			vec := func(n int, scale float64) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.NormFloat64() * scale)
				}
				return v
			}
			size := func(s []int) int {
				n := 1
				for _, d := range s {
					n *= d
				}
				return n
			}
			const steps, warmup, lr = 6, 2, 1e-2
			params := make([][]float32, len(shapes))
			for i, s := range shapes {
				params[i] = vec(size(s), 1)
			}
			grads := make([][][]float32, steps)
			for k := range grads {
				grads[k] = make([][]float32, len(shapes))
				for i, s := range shapes {
					grads[k][i] = vec(size(s), 0.3*float64(k+1))
				}
			}
			var ref struct {
				Params    [][][]float64 `json:"params"`
				GradNorms []float64     `json:"grad_norms"`
				LRs       []float64     `json:"lrs"`
			}
			testutil.PythonJSON(t, "tests/reference/optim_reference.py", map[string]any{
				"params": params, "grads": grads, "decay": decay, "lr": lr, "schedule": tc.schedule,
				"warmup": warmup, "total": steps, "betas": []float64{0.9, 0.999}, "eps": 1e-8,
				"weight_decay": tc.wd, "max_grad_norm": tc.clip,
			}, &ref)

			b, err := backend.Default()
			if err != nil {
				t.Fatal(err)
			}
			sched, _ := Schedule(tc.schedule, warmup, steps)
			n := len(shapes)
			exec, err := NewExec(b, func(in []*Node) []*Node {
				p, m, v, g := in[:n], in[n:2*n], in[2*n:3*n], in[3*n:4*n]
				lrNode, stepNode := in[4*n], in[4*n+1]
				clipped, norm := ClipByGlobalNorm(g, tc.clip)
				np, nm, nv := AdamW(p, clipped, m, v, decay, lrNode, stepNode, AdamWConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: tc.wd})
				return append(append(append(np, nm...), nv...), norm)
			})
			if err != nil {
				t.Fatal(err)
			}
			state := make([]*tensors.Tensor, 3*n)
			for i, s := range shapes {
				state[i] = tensors.FromFlatDataAndDimensions(params[i], s...)
				state[n+i] = tensors.FromFlatDataAndDimensions(make([]float32, size(s)), s...)
				state[2*n+i] = tensors.FromFlatDataAndDimensions(make([]float32, size(s)), s...)
			}
			for k := 0; k < steps; k++ {
				args := make([]any, 0, 4*n+2)
				for _, s := range state {
					args = append(args, s)
				}
				for i, s := range shapes {
					args = append(args, tensors.FromFlatDataAndDimensions(grads[k][i], s...))
				}
				args = append(args, float32(lr*sched(k)), float32(k+1))
				outs, err := exec.Exec(args...)
				if err != nil {
					t.Fatal(err)
				}
				state = outs[:3*n]
				norm := float64(tensors.MustCopyFlatData[float32](outs[3*n])[0])
				if math.Abs(norm-ref.GradNorms[k]) > 1e-5*ref.GradNorms[k] {
					t.Errorf("step %d: grad norm %v, torch %v", k, norm, ref.GradNorms[k])
				}
				if got := lr * sched(k+1); math.Abs(got-ref.LRs[k]) > 1e-12 {
					t.Errorf("step %d: logged lr %v, transformers %v", k, got, ref.LRs[k])
				}
				for i := range shapes {
					got := tensors.MustCopyFlatData[float32](state[i])
					for j, v := range got {
						if d := math.Abs(float64(v) - ref.Params[k][i][j]); d > 2e-6*math.Max(1, math.Abs(ref.Params[k][i][j])) {
							t.Fatalf("step %d param %d[%d] = %.8g, torch %.8g", k, i, j, v, ref.Params[k][i][j])
						}
					}
				}
			}
		})
	}
}
