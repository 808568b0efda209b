package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainMatryoshkaCachedCheckpointing trains from a run config with MatryoshkaLoss around
// CachedMultipleNegativesRankingLoss, gradient_checkpointing and an evaluator reporting every
// Matryoshka dimension, with sentence-transformers' and Hugging Face's key spellings; and checks
// that bad options are errors naming the option.
func TestTrainMatryoshkaCachedCheckpointing(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	data := pairsFile(t, dir, 40)
	config := func(name, loss, evaluator string) string {
		cfg := filepath.Join(dir, name+".yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`model: %s
train_dataset: {source: %s, columns: [question, context]}
eval_dataset: {source: %s, columns: [question, context], sample: 12}
loss: %s
evaluator: {dataset: {source: %s, columns: [question, context], sample: 30}, %s}
args: {output_dir: %s, max_steps: 4, per_device_train_batch_size: 12, learning_rate: 1.0e-3, eval_strategy: steps,
  eval_steps: 4, logging_steps: 2, save_steps: 4, gradient_checkpointing: true, per_device_eval_batch_size: 12}
`, m, data, data, loss, data, evaluator, filepath.Join(dir, name))), 0o644)
		return cfg
	}
	cfg := config("ok", `{name: MatryoshkaLoss, loss: {name: CachedMultipleNegativesRankingLoss, mini_batch_size: 5, similarity_fct: cos_sim},
  matryoshka_dims: [16, 32], matryoshka_weights: [0.5, 1], n_dims_per_step: 1}`, "matryoshka_dims: [32, 16]")
	code, stdout, stderr := cli("train", "--config", cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	var res struct {
		GlobalStep   int     `json:"global_step"`
		TrainingLoss float64 `json:"training_loss"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.GlobalStep != 4 || !(res.TrainingLoss > 0) || math.IsInf(res.TrainingLoss, 0) {
		t.Fatalf("output %q (%v)", stdout, err)
	}
	var st struct {
		LogHistory []map[string]float64 `json:"log_history"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "ok", "checkpoint-4", "trainer_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range st.LogHistory {
		for k, v := range e {
			if !math.IsNaN(v) {
				found[k] = true
			}
		}
	}
	for _, key := range []string{"eval_loss", "eval_dim_32_cosine_ndcg@10", "eval_dim_16_cosine_ndcg@10", "eval_sequential_score", "loss"} {
		if !found[key] {
			t.Errorf("log history has no %s: %v", key, st.LogHistory)
		}
	}
	for _, c := range []struct{ loss, evaluator, want string }{
		{`{name: CachedMultipleNegativesRankingLoss, mini_batch_size: 0}`, "name: dev", "mini_batch_size must be positive, got 0"},
		{`{name: CachedMultipleNegativesRankingLoss, mini_batch_num_tokens: 512}`, "name: dev", "mini_batch_num_tokens is not supported"},
		{`{name: MatryoshkaLoss, loss: {name: MultipleNegativesRankingLoss}, matryoshka_dims: [64, 32]}`, "name: dev",
			"matryoshka_dims 64 is larger than the model's embedding dimension 32"},
		{`{name: MatryoshkaLoss, loss: {name: MultipleNegativesRankingLoss}, matryoshka_dims: [32, 16], matryoshka_weights: [1]}`, "name: dev",
			"matryoshka_weights has 1 values for 2 matryoshka_dims"},
		{`{name: MatryoshkaLoss, loss: {name: MultipleNegativesRankingLoss}, matryoshka_dims: [32, 32]}`, "name: dev", "matryoshka_dims lists 32 twice"},
		{`{name: MatryoshkaLoss, matryoshka_dims: [32]}`, "name: dev", `"loss" must hold the inner loss`},
		{`{name: MultipleNegativesRankingLoss, mini_batch_size: 4}`, "name: dev", "unknown parameters [mini_batch_size]"},
		{`{name: MultipleNegativesRankingLoss}`, "matryoshka_dims: [32, 0]", "evaluator.matryoshka_dims: matryoshka evaluator: dimensions must be positive"},
	} {
		cfg := config("bad", c.loss, c.evaluator)
		if code, _, stderr := cli("train", "--config", cfg, "--no-progress"); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("loss %s, evaluator {%s}: exit %d, stderr %q; want an error containing %q", c.loss, c.evaluator, code, stderr, c.want)
		}
	}
}
