package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
)

// pairsFile writes synthetic (question, context) pairs as JSON Lines.
func pairsFile(t *testing.T, dir string, docs int) string {
	t.Helper()
	var lines []string
	for _, p := range synth.Pairs(docs, 2, 5) {
		b, _ := json.Marshal(map[string]string{"question": p.Question, "context": p.Context})
		lines = append(lines, string(b))
	}
	path := filepath.Join(dir, "pairs.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMineNegativesCommand: the command writes what the library mines, with the report on stderr
// and in --report, and a second run reads the embeddings from the cache.
func TestMineNegativesCommand(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	data := pairsFile(t, dir, 30)
	out := filepath.Join(dir, "mined.jsonl")
	rep := filepath.Join(dir, "report.json")
	cache := filepath.Join(dir, "cache")
	args := []string{"mine-negatives", "--model", m, "--dataset", data, "--columns", "question,context", "--output", out, "--num-negatives", "2",
		"--output-format", "n-tuple", "--max-score", "0.93", "--sampling-strategy", "random", "--seed", "3",
		"--cache-folder", cache, "--report", rep}
	code, _, stderr := cli(args...)
	if code != 0 {
		t.Fatalf("mine-negatives: %s", stderr)
	}
	for _, want := range []string{"Metric", "Positive", "Skipped", "max_score of 0.93", "wrote"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	got, err := datasets.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Columns(), ",") != "question,context,negative_1,negative_2" {
		t.Fatalf("columns %v", got.Columns())
	}
	// The library, on the same input and options, mines the same rows.
	mm, err := model.Load(m, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	pairs, _ := datasets.Load(data, datasets.WithColumns("question", "context"))
	want, _, err := datasets.MineHardNegatives(pairs, mm, datasets.MineOptions{NumNegatives: 2, OutputFormat: datasets.OutputNTuple,
		MaxScore: datasets.Ptr(0.93), SamplingStrategy: datasets.SamplingRandom, Seed: 3, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got.Head(got.Len()))
	b, _ := json.Marshal(want.Head(want.Len()))
	if string(a) != string(b) {
		t.Fatalf("the command mined\n%.400s\nthe library\n%.400s", a, b)
	}
	var r struct {
		Report   map[string]any `json:"report"`
		Positive map[string]any `json:"positive"`
	}
	data2, _ := os.ReadFile(rep)
	if err := json.Unmarshal(data2, &r); err != nil || r.Report["OutputRows"] != float64(got.Len()) || r.Positive["count"] == nil {
		t.Fatalf("--report: %v %s", err, data2)
	}
	// Again: every embedding comes from the cache.
	if code, _, stderr := cli(args...); code != 0 || !strings.Contains(stderr, "0 computed") {
		t.Errorf("second run: %d, stderr %s", code, stderr)
	}
}

func TestMineNegativesErrors(t *testing.T) {
	dir := t.TempDir()
	data := pairsFile(t, dir, 3)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mine-negatives"}, "--model, --dataset, --output required"},
		{[]string{"mine-negatives", "--model", "m", "--dataset", data, "--output", "o.jsonl", "--output-format", "quads"}, `output_format "quads" is not valid`},
		{[]string{"mine-negatives", "--model", "m", "--dataset", data, "--output", "o.jsonl", "--sampling-strategy", "best"}, "--sampling-strategy"},
		{[]string{"mine-negatives", "--model", "m", "--dataset", data, "--output", "o.jsonl", "--max-score", "high"}, `"high" is not a number`},
		{[]string{"mine-negatives", "--model", "m", "--dataset", data, "--output", "o.jsonl", "--num-negatives", "0"}, "--num-negatives must be positive"},
	} {
		code, _, stderr := cli(tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if last := lines[len(lines)-1]; code == 0 || !strings.HasPrefix(last, "embedtune mine-negatives: ") || !strings.Contains(last, tc.want) {
			t.Errorf("%v: status %d, stderr %q (want a last line containing %q)", tc.args, code, stderr, tc.want)
		}
	}
	// Contradictory options reach the library's check, which names them.
	m := tinyModelDir(t, "mean")
	code, _, stderr := cli("mine-negatives", "--model", m, "--dataset", data, "--output", filepath.Join(dir, "o.jsonl"),
		"--range-min", "5", "--range-max", "5", "--quiet")
	if code == 0 || !strings.Contains(stderr, "range_min must be smaller than range_max, got range_min=5 and range_max=5") {
		t.Errorf("range_min = range_max: %d %q", code, stderr)
	}
}

// TestTrainWithMiningAndEarlyStopping: a run config mines hard negatives for the train dataset
// (MultipleNegativesRankingLoss then trains on the triplets) and stops early.
func TestTrainWithMiningAndEarlyStopping(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	data := pairsFile(t, dir, 30)
	out := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`model: %s
train_dataset: {source: %s, columns: [question, context]}
mine_hard_negatives: {num_negatives: 1, range_min: 1, output_format: triplet, cache_folder: %s}
evaluator: {dataset: {source: %s, columns: [question, context], sample: 20}, name: dev}
callbacks: [{name: EarlyStoppingCallback, early_stopping_patience: 1, early_stopping_threshold: 10.0}]
args: {output_dir: %s, max_steps: 20, per_device_train_batch_size: 8, eval_strategy: steps, eval_steps: 2,
  save_steps: 2, load_best_model_at_end: true, metric_for_best_model: dev_cosine_ndcg@10, logging_steps: 2}
`, m, data, filepath.Join(dir, "cache"), data, out)), 0o644)
	code, stdout, stderr := cli("train", "--config", cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	var res struct {
		GlobalStep int `json:"global_step"`
	}
	json.Unmarshal([]byte(stdout), &res)
	// A threshold of 10 never counts as an improvement: patience 1 stops at the second evaluation.
	if res.GlobalStep != 4 || !strings.Contains(stderr, "Metric") {
		t.Fatalf("global step %d, stderr:\n%s", res.GlobalStep, stderr)
	}
	var st struct {
		StatefulCallbacks map[string]any `json:"stateful_callbacks"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "checkpoint-4", "trainer_state.json"))
	if err := json.Unmarshal(b, &st); err != nil || st.StatefulCallbacks["EarlyStoppingCallback"] == nil {
		t.Fatalf("trainer_state.json stateful_callbacks: %v %s", err, b)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(fmt.Sprintf("model: %s\ntrain_dataset: {source: %s}\ncallbacks: [{name: EarlyStoppingCallback, patience: 2}]\nargs: {output_dir: %s}\n", m, data, out)), 0o644)
	if code, _, stderr := cli("train", "--config", bad, "--no-progress"); code == 0 || !strings.Contains(stderr, `EarlyStoppingCallback has no argument "patience"`) {
		t.Errorf("bad callback argument: %d %q", code, stderr)
	}
	bad2 := filepath.Join(dir, "bad2.yaml")
	os.WriteFile(bad2, []byte(fmt.Sprintf("model: %s\ntrain_dataset: {source: %s}\nmine_hard_negatives: {range_min: 3, range_max: 2}\nargs: {output_dir: %s}\n", m, data, out)), 0o644)
	if code, _, stderr := cli("train", "--config", bad2, "--no-progress"); code == 0 || !strings.Contains(stderr, "mine_hard_negatives: mine hard negatives: range_min must be smaller than range_max") {
		t.Errorf("bad mining options: %d %q", code, stderr)
	}
}
