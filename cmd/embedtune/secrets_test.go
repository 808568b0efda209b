package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

// TestTokenNeverWritten runs a whole session against a local Hub whose model and dataset are
// private, with HF_TOKEN set to a sentinel: `embedtune env`, `train` (model and data from the Hub,
// checkpoints, final model, charts, progress display), `encode`, `evaluate`, and the errors of a
// wrong token. The sentinel (and any "Bearer" header) must appear in no output and no file written
// (output_dir, checkpoints with trainer_state.json and training_args.json, charts.html, the Hub
// cache), and never reach the CDN the Hub redirects large files to.
func TestTokenNeverWritten(t *testing.T) {
	const sentinel = "hf_SENTINELtoken0123456789abcdef"
	srv := hubtest.NewServer(t)
	srv.AddFolder(hub.Model, "org/tiny", tinyModelDir(t, "mean"))
	var lines []string
	for _, p := range synth.Pairs(30, 2, 5) {
		b, _ := json.Marshal(map[string]string{"question": p.Question, "context": p.Context})
		lines = append(lines, string(b))
	}
	srv.AddRepo(hub.Dataset, "org/pairs", []hubtest.File{{Path: "train.jsonl", Content: []byte(strings.Join(lines, "\n")), LFS: true}})
	for _, r := range []struct {
		t  hub.RepoType
		id string
	}{{hub.Model, "org/tiny"}, {hub.Dataset, "org/pairs"}} {
		srv.SetAccess(r.t, r.id, hubtest.Access{Private: true, Tokens: []string{sentinel}})
	}
	home := t.TempDir()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_TOKEN", sentinel)
	t.Setenv("HF_HUB_OFFLINE", "")

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`model: org/tiny
train_dataset: {source: org/pairs, columns: [question, context]}
evaluator: {dataset: {source: org/pairs, columns: [question, context], sample: 20}, name: dev}
args: {output_dir: %s, max_steps: 4, per_device_train_batch_size: 8, eval_strategy: steps, eval_steps: 2, save_steps: 2, logging_steps: 1}
`, out)), 0o644)
	texts := filepath.Join(dir, "texts.txt")
	os.WriteFile(texts, []byte("a text\nanother text\n"), 0o644)

	var transcript bytes.Buffer
	step := func(want int, args ...string) {
		t.Helper()
		code, stdout, stderr := cli(args...)
		fmt.Fprintf(&transcript, "$ embedtune %s\n%s%s", strings.Join(args, " "), stdout, stderr)
		if (code == 0) != (want == 0) {
			t.Fatalf("embedtune %v: status %d\n%s%s", args, code, stdout, stderr)
		}
	}
	step(0, "env")
	step(0, "train", "--config", cfg) // with the progress display, on stderr
	step(0, "encode", "--model", "org/tiny", "--input", texts, "--output", filepath.Join(dir, "emb.jsonl"))
	step(0, "evaluate", "--model", out, "--dataset", "org/pairs")
	// A wrong token, and none: the errors name the problem, not the token.
	t.Setenv("HF_TOKEN", sentinel+"-wrong")
	t.Setenv("HF_HOME", t.TempDir())
	step(1, "encode", "--model", "org/tiny", "--input", texts)
	t.Setenv("HF_TOKEN", "")
	step(1, "data", "info", "org/pairs")

	for _, leak := range []string{sentinel, "Bearer"} {
		if strings.Contains(transcript.String(), leak) {
			t.Errorf("%q printed:\n%s", leak, transcript.String())
		}
	}
	files := 0
	for _, root := range []string{dir, home} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			b, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("reading %s: %v", p, err)
				return nil
			}
			for _, leak := range []string{sentinel, "Bearer"} {
				if bytes.Contains(b, []byte(leak)) {
					t.Errorf("%s contains %q", p, leak)
				}
			}
			return nil
		})
	}
	for _, want := range []string{"checkpoint-4/trainer_state.json", "checkpoint-4/training_args.json", "charts.html", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, want)); err != nil {
			t.Errorf("the session did not write %s, which must be checked", want)
		}
	}
	if n := srv.CDNAuthLeaks(); n != 0 {
		t.Errorf("%d requests carried the token to the CDN", n)
	}
	if !strings.Contains(transcript.String(), "HF_TOKEN") {
		t.Errorf("the wrong-token error does not point at HF_TOKEN:\n%s", transcript.String())
	}
	t.Logf("%d files and %d bytes of output checked", files, transcript.Len())
}
