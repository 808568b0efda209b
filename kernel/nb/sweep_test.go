package nb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

func TestSweepSettings(t *testing.T) {
	shared := t.TempDir()
	squad := filepath.Join(shared, "squad-v1.1", "dev-v1.1.json")
	os.MkdirAll(filepath.Dir(squad), 0o755)
	os.WriteFile(squad, []byte(`{"version":"1.1","data":[{"title":"T","paragraphs":[{"context":"The river flows.","qas":[`+
		`{"id":"1","question":"What flows?","answers":[{"text":"river","answer_start":4}]},{"id":"2","question":"Does it flow?","answers":[]}]}]}]}`), 0o644)
	tests := []struct {
		name string
		env  map[string]string
		want SweepConfig
	}{
		{"defaults", map[string]string{"EMBEDTUNE_MODELS": "/models", "EMBEDTUNE_SHARED_DATA": shared},
			SweepConfig{Model: "/models/all-MiniLM-L6-v2", Dataset: squad, MaxSteps: 30, Dir: absPath("sweep-minilm")}},
		{"no shared data", map[string]string{"EMBEDTUNE_MODELS": "/models", "EMBEDTUNE_SHARED_DATA": t.TempDir()},
			SweepConfig{Model: "/models/all-MiniLM-L6-v2", Dataset: TutorialDataset, MaxSteps: 30, Dir: absPath("sweep-minilm")}},
		{"overrides", map[string]string{"EMBEDTUNE_MODEL": "/m/tiny", "EMBEDTUNE_DATASET": "pairs.jsonl",
			"EMBEDTUNE_SWEEP_MAX_STEPS": " 10 ", "EMBEDTUNE_SWEEP_DIR": "/s/sweep"},
			SweepConfig{Model: "/m/tiny", Dataset: "pairs.jsonl", MaxSteps: 10, Dir: "/s/sweep"}},
	}
	for _, tc := range tests {
		c, err := SweepSettingsFrom(envOf(tc.env))
		if err != nil || *c != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, c, err, tc.want)
		}
	}
	if _, err := SweepSettingsFrom(envOf(map[string]string{"EMBEDTUNE_SWEEP_MAX_STEPS": "0"})); err == nil ||
		!strings.Contains(err.Error(), "EMBEDTUNE_SWEEP_MAX_STEPS") {
		t.Errorf("a bad step count: %v", err)
	}
	if html := (&tests[2].want).HTML(); !strings.Contains(html, "EMBEDTUNE_SWEEP_DIR") || !strings.Contains(html, "/s/sweep") {
		t.Errorf("HTML: %s", html)
	}
	// The shared SQuAD file loads as SQuAD rows, as load_dataset("squad") gives them.
	ds, err := LoadDataset(squad, "train")
	if err != nil || ds.Len() != 2 {
		t.Fatalf("SQuAD file: %v, %v", ds, err)
	}
	if q, err := ds.Column("question"); err != nil || q.Str(1) != "Does it flow?" {
		t.Errorf("SQuAD question column: %v", err)
	}
}

func TestSweepExpand(t *testing.T) {
	c := &SweepConfig{Model: "BAAI/bge-small-en-v1.5", Dataset: "/d/squad.json", MaxSteps: 12, Dir: "/runs/my sweep"}
	got, err := c.Expand("model: $model\ntrain_dataset: {source: ${dir}/data/train.jsonl}\nargs: {max_steps: $max_steps}\n")
	want := "model: BAAI/bge-small-en-v1.5\ntrain_dataset: {source: /runs/my sweep/data/train.jsonl}\nargs: {max_steps: 12}\n"
	if err != nil || got != want {
		t.Errorf("Expand = %q, %v; want %q", got, err, want)
	}
	for _, tc := range []struct {
		cfg      SweepConfig
		text     string
		mentions string
	}{
		{*c, "model: $modle", "$modle is not a setting (expected one of $dataset, $dir, $max_steps, $model)"},
		{SweepConfig{Dir: "/a,b"}, "output_dir: $dir", `EMBEDTUNE_SWEEP_DIR="/a,b"`},
		{SweepConfig{Model: "x: y"}, "model: $model", "EMBEDTUNE_MODEL"},
		{SweepConfig{Model: "#m"}, "model: $model", "EMBEDTUNE_MODEL"},
		{SweepConfig{Dataset: "a #b"}, "s: $dataset", "EMBEDTUNE_DATASET"},
	} {
		if _, err := tc.cfg.Expand(tc.text); err == nil || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("Expand(%q) with %+v: %v, want an error mentioning %s", tc.text, tc.cfg, err, tc.mentions)
		}
	}
}

// TestRunSweep writes a two-run sweep with WriteSweep, loads it and runs it as the notebook's cell does.
func TestRunSweep(t *testing.T) {
	t.Setenv(cache.DirEnv, t.TempDir())
	tm, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 3, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := tm.Save(dir); err != nil {
		t.Fatal(err)
	}
	c := &SweepConfig{Model: dir, MaxSteps: 2, Dir: filepath.Join(t.TempDir(), "sweep")}
	pairs := Must(Must(LoadDataset(pairsFile(t, 40), "train")).Select("question", "context"))
	if err := pairs.Save(c.Path("data", "train.jsonl")); err != nil {
		t.Fatal(err)
	}
	runYAML := "model: $model\ntrain_dataset: {source: $dir/data/train.jsonl, columns: [question, context]}\n" +
		"loss: {name: MultipleNegativesRankingLoss}\n" +
		"args: {output_dir: $dir, max_steps: $max_steps, per_device_train_batch_size: 8, logging_steps: 1, save_steps: 1}\n"
	specYAML := "program: run.yaml\nmethod: grid\nmetric: {name: train_loss, goal: minimize}\n" +
		"parameters:\n  learning_rate: {values: [1.0e-4, 1.0e-3]}\n"
	path, err := c.WriteSweep(runYAML, specYAML)
	if err != nil || path != c.Path("sweep-spec.yaml") {
		t.Fatalf("WriteSweep = %s, %v", path, err)
	}
	if b, _ := os.ReadFile(c.Path("run.yaml")); !strings.Contains(string(b), "model: "+dir+"\n") {
		t.Errorf("run.yaml:\n%s", b)
	}
	s, err := trainlib.LoadSweep(path, trainlib.WithSweepLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	res := RunSweep(s)
	if len(res.Rows) != 2 || res.Rows[0].Status != sweep.StatusFinished || res.Rows[1].Status != sweep.StatusFinished || res.BestRow() == nil {
		t.Fatalf("results: %+v", res.Rows)
	}
	if _, err := LoadTrainedModel(c.Path("best")); err != nil {
		t.Errorf("best model: %v", err)
	}
	if _, err := c.WriteSweep("model: $nope\n", specYAML); err == nil || !strings.Contains(err.Error(), "run.yaml") {
		t.Errorf("WriteSweep with a bad run config: %v", err)
	}
}
