package model_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestLoRADropoutMatchesPEFT checks lora_dropout against PEFT. With the base model's own dropout at 0,
// LoRA dropout is the only randomness of a training-mode forward pass, applied — as in PEFT — to the input of
// each adapted layer's low-rank path and nowhere else, with inverted scaling: so a fresh adapter (B = 0) gives
// exactly the eval-mode output, and with B ≠ 0 the per-element mean and spread of many training-mode passes
// match PEFT's through sentence-transformers (the masks differ, their statistics must not).
func TestLoRADropoutMatchesPEFT(t *testing.T) {
	m := tinyModel(t, "mean")
	m.Config.HiddenDropoutProb, m.Config.AttentionProbsDropoutProb = 0, 0
	base := saved(t, m)
	m, err := model.Load(base, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 32, Dropout: 0.1, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	texts := []string{"What is the capital of Kalomi?", "Kalomi is a country whose capital is Tensa."}
	const samples = 200
	eval, mean, std := trainModeStats(t, m, texts, 20)
	for i := range eval {
		for j := range eval[i] {
			if mean[i][j] != eval[i][j] || std[i][j] != 0 {
				t.Fatalf("a fresh adapter (B = 0) changed a training-mode output: dropout reaches the base path (%d,%d: %v vs %v)", i, j, mean[i][j], eval[i][j])
			}
		}
	}
	randomizeB(t, m)
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	eval, mean, std = trainModeStats(t, m, texts, samples)
	var ref struct {
		Eval, Mean, Std [][]float64
		LoRADropout     float64 `json:"lora_dropout"`
	}
	testutil.PythonJSON(t, "tests/reference/peft_lora_dropout.py", map[string]any{"model": dir, "texts": texts, "samples": samples}, &ref)
	if ref.LoRADropout != 0.1 {
		t.Fatalf("PEFT loaded lora_dropout %v, want 0.1", ref.LoRADropout)
	}
	var ratioSum float64
	n := 0
	for i := range eval {
		for j := range eval[i] {
			if d := math.Abs(eval[i][j] - ref.Eval[i][j]); d > 1e-5 {
				t.Fatalf("eval-mode embedding (%d,%d): %v, PEFT %v", i, j, eval[i][j], ref.Eval[i][j])
			}
			// Means: both estimate the eval output; they agree within the sampling error of the two.
			se := math.Sqrt((std[i][j]*std[i][j] + ref.Std[i][j]*ref.Std[i][j]) / samples)
			if d := math.Abs(mean[i][j] - ref.Mean[i][j]); d > 5*se+1e-6 {
				t.Errorf("training-mode mean (%d,%d): %.6g, PEFT %.6g (sampling error %.2g)", i, j, mean[i][j], ref.Mean[i][j], se)
			}
			if ref.Std[i][j] > 0 {
				ratioSum += std[i][j] / ref.Std[i][j]
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("PEFT's training-mode passes did not vary: no dropout")
	}
	// The spread measures where dropout acts and how strongly: the average ratio of the per-element standard
	// deviations must be 1 within the sampling error of 200 passes.
	if r := ratioSum / float64(n); r < 0.93 || r > 1.07 {
		t.Errorf("training-mode spread is %.3f× PEFT's (want 1)", r)
	}
	t.Logf("eval equal; %d elements: mean within sampling error, spread ratio %.3f", n, ratioSum/float64(n))
}

// trainModeStats returns the eval-mode embeddings and the per-element mean and standard deviation of
// samples training-mode passes with different dropout RNG states.
func trainModeStats(t *testing.T, m *model.SentenceTransformer, texts []string, samples int) (eval, mean, std [][]float64) {
	t.Helper()
	ids, promptLen, err := m.Tokenize(texts, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	idT, maskT := model.PadBatch(ids, m.MaxSeqLength, len(ids), 0, false)
	params := m.GraphParams()
	n := len(params)
	execs := map[bool]*graph.Exec{}
	for _, train := range []bool{false, true} {
		e, err := graph.NewExec(m.Backend(), func(in []*graph.Node) *graph.Node {
			opts := model.ForwardOptions{Options: bert.Options{Train: train, RNG: in[n+2]}}
			if promptLen > 0 {
				opts.PromptLength = graph.Const(in[0].Graph(), int32(promptLen))
			}
			emb, _ := m.EmbedGraph(in[:n], in[n], in[n+1], opts)
			return emb
		})
		if err != nil {
			t.Fatal(err)
		}
		execs[train] = e
	}
	run := func(train bool, seed uint64) [][]float64 {
		rng, err := graph.RNGStateFromSeed(int64(seed))
		if err != nil {
			t.Fatal(err)
		}
		args := []any{}
		for _, p := range params {
			args = append(args, p)
		}
		args = append(args, idT, maskT, rng)
		outs, err := execs[train].Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		flat := tensors.MustCopyFlatData[float32](outs[0])
		d := len(flat) / len(texts)
		rows := make([][]float64, len(texts))
		for i := range rows {
			rows[i] = make([]float64, d)
			for j := range rows[i] {
				rows[i][j] = float64(flat[i*d+j])
			}
		}
		return rows
	}
	eval = run(false, 0)
	sum := make([][]float64, len(texts))
	sq := make([][]float64, len(texts))
	for i := range sum {
		sum[i], sq[i] = make([]float64, len(eval[i])), make([]float64, len(eval[i]))
	}
	for s := 0; s < samples; s++ {
		r := run(true, uint64(s+1))
		for i := range r {
			for j, v := range r[i] {
				sum[i][j] += v
				sq[i][j] += v * v
			}
		}
	}
	mean, std = make([][]float64, len(texts)), make([][]float64, len(texts))
	for i := range sum {
		mean[i], std[i] = make([]float64, len(sum[i])), make([]float64, len(sum[i]))
		for j := range sum[i] {
			mu := sum[i][j] / float64(samples)
			mean[i][j] = mu
			if samples > 1 {
				std[i][j] = math.Sqrt(math.Max(0, (sq[i][j]-float64(samples)*mu*mu)/float64(samples-1)))
			}
		}
	}
	return eval, mean, std
}
