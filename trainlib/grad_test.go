package trainlib

import (
	"github.com/gomlx/compute/dtypes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestModelGradientsMatchPyTorch compares the MNRL loss of a whole model on a batch and its
// gradient with respect to every weight with PyTorch + sentence-transformers on the same folder
// (dropout off).
func TestModelGradientsMatchPyTorch(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	for _, pooling := range []string{"cls", "mean", "mean+lora"} {
		t.Run(pooling, func(t *testing.T) {
			m := tiny(t, strings.TrimSuffix(pooling, "+lora"))
			if strings.HasSuffix(pooling, "+lora") {
				// A LoRA adapter with non-zero B: gradients flow to A and B only (base frozen). The
				// base is saved first: the adapter folder points at it.
				baseDir := filepath.Join(t.TempDir(), "base")
				if err := m.Save(baseDir); err != nil {
					t.Fatal(err)
				}
				var err error
				if m, err = model.Load(baseDir, model.WithLogger(nil)); err != nil {
					t.Fatal(err)
				}
				if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 8, TargetModules: []string{"query", "value", "output.dense"}, Seed: 3}); err != nil {
					t.Fatal(err)
				}
				for i, name := range m.Adapter.Weights.Names {
					if strings.Contains(name, "lora_B") {
						vals := tensors.MustCopyFlatData[float32](m.Adapter.Weights.Values[i])
						for j := range vals {
							vals[j] = float32((j*31)%7-3) * 0.02
						}
						m.Adapter.Weights.Values[i] = tensors.FromFlatDataAndDimensions(vals, m.Adapter.Weights.Shapes[i]...)
					}
				}
			}
			dir := filepath.Join(t.TempDir(), "m")
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			pairs := synth.Pairs(6, 1, 5)
			var qs, cs []string
			for _, p := range pairs {
				qs, cs = append(qs, p.Question), append(cs, p.Context)
			}
			type grads struct {
				Loss  float64              `json:"loss"`
				Grads map[string][]float64 `json:"grads"`
			}
			var both struct{ Batch []grads }
			req := map[string]any{"model": dir, "columns": [][]string{qs, cs}, "loss": "MultipleNegativesRankingLoss"}
			req64 := map[string]any{"model": dir, "columns": [][]string{qs, cs}, "loss": "MultipleNegativesRankingLoss", "float64": true}
			testutil.PythonJSON(t, "tests/reference/st_grad.py", map[string]any{"batch": []any{req, req64}}, &both)
			ref, ref64 := both.Batch[0], both.Batch[1]
			d := pairsDataset(t, pairs)
			table, err := newTextTable("test", d)
			if err != nil {
				t.Fatal(err)
			}
			args := DefaultTrainingArguments(t.TempDir())
			b, err := table.batch(m, &args, []int{0, 1, 2, 3, 4, 5})
			if err != nil {
				t.Fatal(err)
			}
			mnrl := losses.MultipleNegativesRankingLoss(m)
			st := &stepper{m: m, structure: m.Structure(), loss: mnrl, numCols: 2, n: len(m.GraphParams()), accumSteps: 1}
			st.train, _ = m.Trainable()
			n := st.n
			outs, err := graph.ExecOnceN(m.Backend(), func(in []*graph.Node) []*graph.Node {
				scale := graph.Scalar(in[0].Graph(), dtypes.Float32, mnrl.Scale)
				loss, _ := st.lossGraph(in[:n], in[n:], nil, hyperNodes{scale: scale})
				return append([]*graph.Node{loss}, graph.Gradient(loss, st.trained(in[:n])...)...)
			}, st.batchArgs(weightsArgs(m.GraphParams()), b)...)
			if err != nil {
				t.Fatal(err)
			}
			loss := float64(tensors.MustCopyFlatData[float32](outs[0])[0])
			if math.Abs(loss-ref64.Loss) > 1e-5*math.Max(1, ref64.Loss) {
				t.Fatalf("loss %.7g, PyTorch (float64) %.7g", loss, ref64.Loss)
			}
			checked := 0
			names := m.GraphParamNames()
			for k, i := range st.train {
				name := names[i]
				want, ok := ref64.Grads[name]
				if !ok {
					continue
				}
				got := tensors.MustCopyFlatData[float32](outs[1+k])
				if err := testutil.CheckTorchGradient(name, got, ref.Grads[name], want); err != nil {
					t.Error(err)
				}
				checked++
			}
			if checked < len(st.train)-2 { // The pooler gets no gradient in either.
				t.Fatalf("compared %d of %d tensors", checked, len(st.train))
			}
			t.Logf("loss %.6f = PyTorch %.6f; %d gradients match", loss, ref64.Loss, checked)
		})
	}
}

func weightsArgs(vals []*tensors.Tensor) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}
