package trainlib

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/gomlx/gomlx/core/tensors"
)

// stRequest turns a run-config loss spec into st_grad.py's loss name and parameters (a wrapped
// loss's spec nested as {"name", "params"}).
func stRequest(spec map[string]any) (string, map[string]any) {
	params := map[string]any{}
	for k, v := range spec {
		switch k {
		case "name":
		case "loss":
			name, p := stRequest(v.(map[string]any))
			params["loss"] = map[string]any{"name": name, "params": p}
		default:
			params[k] = v
		}
	}
	return spec["name"].(string), params
}

// TestLossGradientsMatchSentenceTransformers compares the loss and the gradient of every weight
// (trainlib.Gradients: the trainer's step without dropout) with sentence-transformers' own loss
// classes on the same model folder and batch (tests/reference/st_grad.py, float32 and float64):
// CachedMultipleNegativesRankingLoss with mini-batches that divide the batch or not, and
// MatryoshkaLoss around MNRL, a dot-product MNRL, CoSENT and CachedMNRL. The losses are built from
// run-config specs, so the config keys are checked too.
func TestLossGradientsMatchSentenceTransformers(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	mnrl := map[string]any{"name": "MultipleNegativesRankingLoss"}
	cases := []struct {
		name      string
		spec      map[string]any
		negatives bool
		labels    bool
		ckpt      bool
	}{
		{name: "cached-mini2", spec: map[string]any{"name": "CachedMultipleNegativesRankingLoss", "mini_batch_size": 2}},
		{name: "cached-negatives-mini4", negatives: true, spec: map[string]any{"name": "CachedMultipleNegativesRankingLoss",
			"mini_batch_size": 4, "scale": 30.0, "directions": []any{"query_to_doc", "doc_to_query"}}},
		{name: "matryoshka-mnrl", spec: map[string]any{"name": "MatryoshkaLoss", "loss": mnrl,
			"matryoshka_dims": []any{32, 16, 8}, "matryoshka_weights": []any{1.0, 0.5, 0.25}}},
		{name: "matryoshka-dot-unsorted", spec: map[string]any{"name": "MatryoshkaLoss", "matryoshka_dims": []any{8, 32, 16},
			"loss": map[string]any{"name": "MultipleNegativesRankingLoss", "similarity_fct": "dot_score", "scale": 1.0}}},
		{name: "matryoshka-cosent", labels: true, spec: map[string]any{"name": "MatryoshkaLoss", "loss": map[string]any{"name": "CoSENTLoss"},
			"matryoshka_dims": []any{32, 8}}},
		{name: "matryoshka-cached", negatives: true, spec: map[string]any{"name": "MatryoshkaLoss", "matryoshka_dims": []any{32, 12},
			"loss": map[string]any{"name": "CachedMultipleNegativesRankingLoss", "mini_batch_size": 4}}},
		{name: "mnrl-gradient-checkpointing", ckpt: true, spec: mnrl},
	}
	m := tiny(t, "mean")
	dir := filepath.Join(t.TempDir(), "m")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	pairs := synth.Pairs(6, 1, 5)
	cols := map[string][]string{}
	for i, p := range pairs {
		cols["question"] = append(cols["question"], p.Question)
		cols["context"] = append(cols["context"], p.Context)
		cols["negative"] = append(cols["negative"], pairs[(i+2)%len(pairs)].Context)
	}
	scores := []float64{0.1, 0.9, 0.5, 0.5, 0.0, 1.0}
	type grads struct {
		Loss  float64              `json:"loss"`
		Grads map[string][]float64 `json:"grads"`
	}
	var reqs []any
	for _, c := range cases {
		columns := [][]string{cols["question"], cols["context"]}
		if c.negatives {
			columns = append(columns, cols["negative"])
		}
		name, params := stRequest(c.spec)
		for _, f64 := range []bool{false, true} {
			req := map[string]any{"model": dir, "columns": columns, "loss": name, "params": params, "float64": f64}
			if c.labels {
				req["labels"] = scores
			}
			reqs = append(reqs, req)
		}
	}
	var resp struct{ Batch []grads }
	testutil.PythonJSON(t, "tests/reference/st_grad.py", map[string]any{"batch": reqs}, &resp)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, ref64 := resp.Batch[2*i], resp.Batch[2*i+1]
			named := []datasets.NamedValues{datasets.Col("question", cols["question"]), datasets.Col("context", cols["context"])}
			if c.negatives {
				named = append(named, datasets.Col("negative", cols["negative"]))
			}
			if c.labels {
				named = append(named, datasets.Col("score", scores))
			}
			batch, err := datasets.FromColumns(named...)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := BuildLoss(m, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			args := DefaultTrainingArguments(t.TempDir())
			args.GradientCheckpointing = c.ckpt
			value, got, err := Gradients(m, loss, batch, &args)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(value-ref64.Loss) > 1e-5*math.Max(1, ref64.Loss) {
				t.Errorf("loss %.7g, sentence-transformers (float64) %.7g", value, ref64.Loss)
			}
			checked := 0
			for name, want := range ref64.Grads {
				g, ok := got[name]
				if !ok {
					t.Errorf("no gradient for %s", name)
					continue
				}
				if err := testutil.CheckTorchGradient(name, tensors.MustCopyFlatData[float32](g), ref.Grads[name], want); err != nil {
					t.Error(err)
				}
				checked++
			}
			if checked < len(got)-2 { // The pooler gets no gradient in either.
				t.Fatalf("compared %d of %d tensors", checked, len(got))
			}
			t.Logf("loss %.6f = sentence-transformers %.6f; %d gradients match", value, ref64.Loss, checked)
		})
	}
}
