package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// TestTrainWithOutOfDomainGuard: a run config with nano_beir_evaluator evaluates a local BEIR folder
// (the Hub is not reachable offline) beside the in-domain evaluator, logs both, and the guard reports
// the in-domain and out-of-domain changes; the saved model card lists both evaluations.
func TestTrainWithOutOfDomainGuard(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "1")
	beir := testutil.SharedData(t, "beir-scifact")
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	data := pairsFile(t, dir, 30)
	out := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`model: %s
train_dataset: {source: %s, columns: [question, context]}
evaluator: {dataset: {source: %s, columns: [question, context], sample: 20}, name: dev}
nano_beir_evaluator:
  dataset_names: [scifact]
  beir_folders: [{path: %s, name: SciFact, max_queries: 5, other_docs: 20}]
  max_drop: 0.01
args: {output_dir: %s, max_steps: 2, per_device_train_batch_size: 8, eval_strategy: steps, eval_steps: 2, save_strategy: "no", logging_steps: 1}
`, m, data, data, beir, out)), 0o644)
	code, _, stderr := cli("train", "--config", cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	for _, want := range []string{"NanoBEIR is not reachable", "evaluating out of domain on the local BEIR folders",
		"embedtune: in-domain dev_cosine_ndcg@10 ", "; out-of-domain BEIR_mean_cosine_ndcg@10 "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	card, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Both information-retrieval evaluations share one table, one column each, as sentence-transformers
	// groups them.
	for _, want := range []string{"* Datasets: `dev` and `SciFact`", "| Metric              | dev        | SciFact    |"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("model card lacks %q", want)
		}
	}
}
