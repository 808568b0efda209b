package trainlib

import (
	"math"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestGradientCheckpointingSameGradients compares the loss and the gradient of every trained
// tensor of a training step (dropout on, one RNG state) with and without gradient_checkpointing:
// full fine-tuning in float32 (the fastops path) and in bfloat16 (the plain path), and a LoRA
// adapter with its own dropout.
func TestGradientCheckpointingSameGradients(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	for _, c := range []struct {
		name string
		lora bool
		dt   dtypes.DType
	}{{"fp32", false, dtypes.Float32}, {"lora", true, dtypes.Float32}, {"bf16", false, dtypes.BFloat16}} {
		t.Run(c.name, func(t *testing.T) {
			m := tiny(t, "mean")
			if c.lora {
				if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 8, Dropout: 0.2, TargetModules: []string{"query", "value", "output.dense"}, Seed: 3}); err != nil {
					t.Fatal(err)
				}
			}
			if c.dt != dtypes.Float32 && !m.Backend().Capabilities().DTypes[c.dt] {
				t.Skipf("backend %s has no %s", m.Backend().Name(), c.dt)
			}
			d := pairsDataset(t, synth.Pairs(6, 1, 5))
			table, err := newTextTable("test", d)
			if err != nil {
				t.Fatal(err)
			}
			args := DefaultTrainingArguments(t.TempDir())
			b, err := table.batch(m, &args, []int{0, 1, 2, 3, 4, 5})
			if err != nil {
				t.Fatal(err)
			}
			rng, err := graph.RNGStateFromSeed(7)
			if err != nil {
				t.Fatal(err)
			}
			run := func(checkpoint bool) []*tensors.Tensor {
				st := &stepper{m: m, structure: m, loss: losses.MultipleNegativesRankingLoss(m), numCols: 2, n: len(m.GraphParams()), accumSteps: 1,
					computeDType: c.dt, checkpoint: checkpoint}
				st.train, _ = m.Trainable()
				n := st.n
				in := append(weightsArgs(m.GraphParams()), rng)
				outs, err := graph.ExecOnceN(m.Backend(), func(in []*graph.Node) []*graph.Node {
					g := in[0].Graph()
					grads, loss, _ := st.gradients(in[:n], in[n+1:], in[n], graph.Scalar(g, dtypes.Float32, 1), hyperNodes{})
					return append([]*graph.Node{loss}, grads...)
				}, st.batchArgs(in, b)...)
				if err != nil {
					t.Fatal(err)
				}
				return outs
			}
			plain, ckpt := run(false), run(true)
			names := m.GraphParamNames()
			train, _ := m.Trainable()
			for k := range plain {
				name := "loss"
				if k > 0 {
					name = names[train[k-1]]
				}
				want := tensors.MustCopyFlatData[float32](plain[k])
				got := tensors.MustCopyFlatData[float32](ckpt[k])
				scale, worst := 0.0, 0.0
				for j := range want {
					scale = math.Max(scale, math.Abs(float64(want[j])))
					worst = math.Max(worst, math.Abs(float64(got[j]-want[j])))
				}
				if worst > 1e-6*math.Max(scale, 1e-3) {
					t.Errorf("%s: checkpointed differs by %.3g (max |value| %.3g)", name, worst, scale)
				}
			}
			t.Logf("loss %.6f; %d gradients compared", tensors.MustCopyFlatData[float32](plain[0])[0], len(plain)-1)
		})
	}
}
