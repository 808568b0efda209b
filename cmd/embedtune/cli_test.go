package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/model"
)

// cli runs a command line in-process and returns its status, stdout and stderr.
func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// tinyModelDir writes a tokenizer trained on synthetic text and a small model initialized from it.
func tinyModelDir(t *testing.T, pooling string) string {
	t.Helper()
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Join(synth.Texts(synth.Pairs(100, 3, 1)), "\n")), 0o644)
	if code, _, stderr := cli("train-tokenizer", "--input", corpus, "--vocab-size", "500", "--out", filepath.Join(dir, "tok")); code != 0 {
		t.Fatalf("train-tokenizer: %s", stderr)
	}
	m := filepath.Join(dir, "model")
	code, stdout, stderr := cli("init-model", "--hidden-size", "32", "--num-layers", "2", "--num-heads", "4", "--intermediate-size", "64",
		"--max-position-embeddings", "128", "--max-seq-length", "64", "--pooling", pooling, "--normalize",
		"--tokenizer", filepath.Join(dir, "tok", "tokenizer.json"), "--seed", "3", "--out", m)
	if code != 0 {
		t.Fatalf("init-model: %s", stderr)
	}
	if !strings.Contains(stdout, "SentenceTransformer(") {
		t.Errorf("init-model printed %q", stdout)
	}
	return m
}

func TestHelpAndErrors(t *testing.T) {
	for _, c := range []string{"encode", "tokenize", "init-model", "train-tokenizer", "train", "env", "data", "evaluate", "serve", "serve-bench", "mine-negatives"} {
		code, _, stderr := cli(c, "--help")
		if code != 0 || !strings.Contains(stderr, "usage: embedtune "+c) {
			t.Errorf("%s --help: status %d, %q", c, code, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, "unknown command"},
		{[]string{"encode"}, "--model and --input are required"},
		{[]string{"encode", "--model", "/no/such", "--input", "/no/such/in"}, "no such file"},
		{[]string{"init-model", "--tokenizer", "/no/tok.json", "--out", "/tmp/x"}, "--tokenizer"},
		{[]string{"train", "--config", "/no/run.yaml"}, "no such file"},
	} {
		code, _, stderr := cli(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: status %d, stderr %q (want one line containing %q)", tc.args, code, stderr, tc.want)
		}
	}
}

// TestEncodeAndTokenize checks both input formats, output order and agreement with the library.
func TestEncodeAndTokenize(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	texts := []string{"What is the capital of Kalomi?", "", "Kalomi is a country whose capital is Tensa.", "short"}
	plain := filepath.Join(dir, "in.txt")
	os.WriteFile(plain, []byte(strings.Join(texts, "\n")+"\n"), 0o644)
	jsonl := filepath.Join(dir, "in.jsonl")
	var lines []string
	for _, s := range texts {
		b, _ := json.Marshal(map[string]string{"text": s, "id": "x"})
		lines = append(lines, string(b))
	}
	os.WriteFile(jsonl, []byte(strings.Join(lines, "\n")), 0o644)

	lib, err := model.Load(m, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := lib.Encode(texts, nil)
	for _, in := range []string{plain, jsonl} {
		out := filepath.Join(dir, "emb.jsonl")
		if code, _, stderr := cli("encode", "--model", m, "--input", in, "--output", out, "--batch-size", "2"); code != 0 {
			t.Fatalf("encode %s: %s", in, stderr)
		}
		data, _ := os.ReadFile(out)
		got := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(got) != len(texts) {
			t.Fatalf("%d output lines for %d texts", len(got), len(texts))
		}
		for i, l := range got {
			var row struct{ Embedding []float32 }
			json.Unmarshal([]byte(l), &row)
			if len(row.Embedding) != len(want[i]) || fmt.Sprint(row.Embedding[:3]) != fmt.Sprint(want[i][:3]) {
				t.Fatalf("line %d differs from the library's embedding", i)
			}
		}
	}
	code, stdout, stderr := cli("tokenize", "--model", m, "--input", jsonl, "--output", "-")
	if code != 0 {
		t.Fatal(stderr)
	}
	rows := strings.Split(strings.TrimSpace(stdout), "\n")
	var second struct{ IDs []int }
	json.Unmarshal([]byte(rows[1]), &second)
	cls, sep := lib.Tokenizer.Special().CLS, lib.Tokenizer.Special().SEP
	if len(rows) != 4 || fmt.Sprint(second.IDs) != fmt.Sprint([]int{cls, sep}) {
		t.Fatalf("tokenize: %d rows, empty text → %v", len(rows), second.IDs)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n"), 0o644)
	if code, _, stderr := cli("encode", "--model", m, "--input", bad); code == 0 || !strings.Contains(stderr, "line 2") {
		t.Errorf("bad JSON Lines: %d %q", code, stderr)
	}
}

// TestTrainCommand trains from a YAML config on a local dataset and checks the outputs.
func TestTrainCommand(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	data := filepath.Join(dir, "pairs.jsonl")
	var lines []string
	for _, p := range synth.Pairs(40, 2, 5) {
		b, _ := json.Marshal(map[string]string{"question": p.Question, "context": p.Context, "id": "x"})
		lines = append(lines, string(b))
	}
	os.WriteFile(data, []byte(strings.Join(lines, "\n")), 0o644)
	out := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`model: %s
train_dataset: {source: %s, columns: [question, context]}
eval_dataset: {source: %s, columns: [question, context], sample: 20}
loss: {name: MultipleNegativesRankingLoss, scale: 20}
evaluator: {dataset: {source: %s, columns: [question, context], sample: 30}, name: dev}
args:
  output_dir: %s
  max_steps: 6
  per_device_train_batch_size: 8
  learning_rate: 1.0e-3
  warmup_ratio: 0.1
  batch_sampler: no_duplicates
  eval_strategy: steps
  eval_steps: 3
  logging_steps: 2
  save_steps: 3
  save_total_limit: 1
`, m, data, data, data, out)), 0o644)
	code, stdout, stderr := cli("train", "--config", cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	var res struct {
		GlobalStep   int                `json:"global_step"`
		TrainingLoss float64            `json:"training_loss"`
		Metrics      map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.GlobalStep != 6 || res.Metrics["train_runtime"] <= 0 {
		t.Fatalf("output %q (%v)", stdout, err)
	}
	for _, f := range []string{"model.safetensors", "modules.json", "checkpoint-6/trainer_state.json", "checkpoint-6/optimizer.safetensors", "charts.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-3")); err == nil {
		t.Error("save_total_limit 1 kept checkpoint-3")
	}
	var st struct {
		LogHistory []map[string]float64 `json:"log_history"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "checkpoint-6/trainer_state.json"))
	json.Unmarshal(b, &st)
	hasEval := false
	for _, e := range st.LogHistory {
		_, ok1 := e["eval_loss"]
		_, ok2 := e["eval_dev_cosine_ndcg@10"]
		hasEval = hasEval || (ok1 && ok2)
	}
	if !hasEval {
		t.Errorf("no eval_loss + evaluator metrics in %v", st.LogHistory)
	}
	// Starting again into the same folder without resuming is refused; resuming a finished run is a no-op.
	if code, _, stderr := cli("train", "--config", cfg, "--no-progress"); code == 0 || !strings.Contains(stderr, "already holds checkpoints") {
		t.Errorf("second run: %d %q", code, stderr)
	}
	if code, _, stderr := cli("train", "--config", cfg, "--no-progress", "--resume", "latest"); code != 0 {
		t.Errorf("resume of a finished run: %q", stderr)
	}
	// The same run training a LoRA adapter writes an adapter folder.
	loraOut := filepath.Join(dir, "lora-out")
	loraCfg := filepath.Join(dir, "lora.yaml")
	os.WriteFile(loraCfg, []byte(fmt.Sprintf("model: %s\ntrain_dataset: {source: %s, columns: [question, context]}\nlora: {r: 4, lora_alpha: 8, target_modules: [query, value]}\nargs: {output_dir: %s, max_steps: 2, per_device_train_batch_size: 8, save_strategy: \"no\"}\n", m, data, loraOut)), 0o644)
	if code, _, stderr := cli("train", "--config", loraCfg, "--no-progress"); code != 0 {
		t.Fatalf("lora train: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(loraOut, "adapter_model.safetensors")); err != nil {
		t.Errorf("lora run: %v", err)
	}
	badCfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badCfg, []byte("model: x\ntrain_dataset: {source: y}\nargs: {output_dir: z, max_stepz: 3}\n"), 0o644)
	if code, _, stderr := cli("train", "--config", badCfg); code == 0 || !strings.Contains(stderr, "max_stepz") {
		t.Errorf("unknown arg: %d %q", code, stderr)
	}
}
