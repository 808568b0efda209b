package display

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/charts"
)

// recorder is a stand-in for GoNB in tests: it keeps the cell's outputs as GoNB would show them.
type recorder struct {
	dir     string
	outputs []string
	ids     map[string]int
	next    int
	syncs   int
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{dir: t.TempDir(), ids: map[string]int{}}
}

func (r *recorder) display(h string) { r.outputs = append(r.outputs, h) }
func (r *recorder) update(id, h string) {
	if i, ok := r.ids[id]; ok {
		r.outputs[i] = h
		return
	}
	r.ids[id] = len(r.outputs)
	r.outputs = append(r.outputs, h)
}
func (r *recorder) newID() string      { r.next++; return "id" + string(rune('A'+r.next)) }
func (r *recorder) sync()              { r.syncs++ }
func (r *recorder) sessionDir() string { return r.dir }

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// fixture is testdata/progress_tables.json, generated from transformers' NotebookProgressCallback.
type fixture struct {
	TransformersVersion string `json:"transformers_version"`
	Cases               []struct {
		Name        string               `json:"name"`
		Eval        bool                 `json:"eval"`
		EpochColumn bool                 `json:"epoch_column"`
		MaxSteps    int                  `json:"max_steps"`
		MetricOrder []string             `json:"metric_order"`
		Entries     []map[string]float64 `json:"entries"`
		Table       [][]string           `json:"table"`
	} `json:"cases"`
	FormatTime [][2]any `json:"format_time"`
	Bars       []struct {
		Total   int          `json:"total"`
		Updates [][2]float64 `json:"updates"`
		Label   string       `json:"label"`
	} `json:"bars"`
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "progress_tables.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("testdata/progress_tables.json: %v", err)
	}
	if len(f.Cases) == 0 || len(f.FormatTime) == 0 || len(f.Bars) == 0 {
		t.Fatal("testdata/progress_tables.json is incomplete: regenerate it with gen_progress_tables.py")
	}
	return f
}

// TestTableMatchesTransformers feeds the log histories of the fixture to TrainingProgress and compares its
// table with the one transformers' NotebookProgressCallback built from the same logs.
func TestTableMatchesTransformers(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			opts := []ProgressOption{WithEvaluation(c.Eval), WithoutChart(), WithMetricOrder(c.MetricOrder...)}
			if c.EpochColumn {
				opts = append(opts, WithEpochColumn())
			}
			clock := &fakeClock{t: time.Unix(0, 0)}
			p := newTrainingProgress(newRecorder(t), clock.now, c.MaxSteps, opts...)
			for _, e := range c.Entries {
				p.Log(e)
			}
			got := p.table()
			want := c.Table
			if !slices.Equal(got.Columns, want[0]) {
				t.Fatalf("columns = %q, transformers %s has %q", got.Columns, f.TransformersVersion, want[0])
			}
			if len(got.Rows) != len(want)-1 {
				t.Fatalf("%d rows, transformers has %d:\n%q\n%q", len(got.Rows), len(want)-1, got.Rows, want[1:])
			}
			for i, row := range got.Rows {
				if !slices.Equal(row, want[i+1]) {
					t.Errorf("row %d = %q, transformers %q", i, row, want[i+1])
				}
			}
		})
	}
}

func TestFormatDurationMatchesTransformers(t *testing.T) {
	for _, c := range loadFixture(t).FormatTime {
		secs, want := c[0].(float64), c[1].(string)
		if got := formatDuration(time.Duration(secs * float64(time.Second))); got != want {
			t.Errorf("formatDuration(%vs) = %q, transformers format_time %q", secs, got, want)
		}
	}
}

func TestBarLabelMatchesTransformers(t *testing.T) {
	for _, c := range loadFixture(t).Bars {
		clock := &fakeClock{}
		p := newTrainingProgress(newRecorder(t), clock.now, c.Total, WithoutChart())
		for _, u := range c.Updates {
			clock.t = time.Unix(0, 0).Add(time.Duration(u[1] * float64(time.Second)))
			p.Update(int(u[0]), nil)
		}
		if got := p.barLabel(); got != c.Label {
			t.Errorf("total %d, updates %v: label %q, transformers %q", c.Total, c.Updates, got, c.Label)
		}
	}
}

// libraryDir returns an assets folder holding the real echarts library, or skips the test.
func libraryDir(t *testing.T) string {
	t.Helper()
	t.Setenv(charts.AssetsDirEnv, "")
	lib, err := charts.FindLibrary()
	if err != nil {
		t.Skipf("echarts assets not installed (run kernel/install.sh): %v", err)
	}
	return filepath.Dir(filepath.Dir(lib.Path))
}

func logEntries(n int) []map[string]float64 {
	var h []map[string]float64
	for s := 10; s <= n; s += 10 {
		h = append(h, map[string]float64{"step": float64(s), "epoch": float64(s) / float64(n), "loss": 1 / float64(s)})
		if s%20 == 0 {
			h = append(h, map[string]float64{"step": float64(s), "epoch": float64(s) / float64(n), "eval_loss": 2 / float64(s),
				"eval_cosine_ndcg@10": 0.5, "eval_runtime": 1})
		}
	}
	return h
}

func TestProgressNotebookOutputs(t *testing.T) {
	t.Setenv(charts.AssetsDirEnv, libraryDir(t))
	rec := newRecorder(t)
	clock := &fakeClock{t: time.Unix(100, 0)}
	p := newTrainingProgress(rec, clock.now, 40, WithEvaluation(true))
	if len(rec.outputs) != 3 {
		t.Fatalf("want 3 outputs (library, bar, log), got %d", len(rec.outputs))
	}
	if !strings.Contains(rec.outputs[0], `data-embedtune-echarts="`+charts.EChartsVersion+`"`) {
		t.Errorf("first output is not the echarts library: %.200s", rec.outputs[0])
	}
	if _, err := os.Stat(filepath.Join(rec.dir, libraryMarker)); err != nil {
		t.Errorf("library marker not written: %v", err)
	}
	if !strings.Contains(rec.outputs[2], "The loss chart appears at the first logging step") {
		t.Errorf("log output before any log should announce the chart: %s", rec.outputs[2])
	}
	entries := logEntries(40)
	step := 0
	for _, e := range entries {
		for step < int(e["step"]) {
			step++
			clock.t = clock.t.Add(time.Second)
			p.Update(step, nil)
		}
		p.Log(e)
	}
	p.Log(map[string]float64{"step": 40, "train_runtime": 40, "train_loss": 0.05, "train_steps_per_second": 1})
	p.Finish()
	p.Finish() // no effect
	if len(rec.outputs) != 3 {
		t.Fatalf("updates must replace outputs in place, got %d outputs", len(rec.outputs))
	}
	if rec.syncs == 0 {
		t.Error("Finish must wait for GoNB (sync)")
	}
	bar, log := rec.outputs[1], rec.outputs[2]
	if !strings.Contains(bar, "<progress value='40' max='40'") || !strings.Contains(bar, "[40/40 00:39, Epoch 1.00]") {
		t.Errorf("final bar: %s", bar)
	}
	for _, want := range []string{"<th>Step</th><th>Training Loss</th><th>Validation Loss</th><th>Cosine Ndcg@10</th>",
		"<td>20</td><td>0.050000</td><td>0.100000</td><td>0.500000</td>",
		"<td>40</td><td>0.025000</td><td>0.050000</td><td>0.500000</td>",
		"Training finished in 00:40, training loss 0.05, steps/s 1",
		`class="embedtune-chart"`} {
		if !strings.Contains(log, want) {
			t.Errorf("final log output lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "data-embedtune-echarts") {
		t.Error("the log output must not repeat the library")
	}
	// A second run in the same kernel session reuses the library already shown.
	rec2 := &recorder{dir: rec.dir, ids: map[string]int{}}
	newTrainingProgress(rec2, clock.now, 10)
	if len(rec2.outputs) != 2 || strings.Contains(rec2.outputs[0], "data-embedtune-echarts") {
		t.Errorf("second progress in the session: want bar and log only, got %d outputs", len(rec2.outputs))
	}
	// History is a copy.
	h := p.History()
	h[0]["loss"] = 99
	if p.History()[0]["loss"] == 99 {
		t.Error("History must return a copy")
	}
}

func TestProgressMissingLibrary(t *testing.T) {
	t.Setenv(charts.AssetsDirEnv, t.TempDir())
	rec := newRecorder(t)
	p := newTrainingProgress(rec, time.Now, 20)
	p.Log(map[string]float64{"step": 10, "loss": 0.5})
	if len(rec.outputs) != 3 {
		t.Fatalf("want notice, bar, log; got %d outputs", len(rec.outputs))
	}
	for i, o := range []string{rec.outputs[0], rec.outputs[2]} {
		if !strings.Contains(o, "embedtune-chart-missing") || !strings.Contains(o, "kernel/install.sh") {
			t.Errorf("output %d should say how to install the library: %s", i, o)
		}
	}
	if _, err := os.Stat(filepath.Join(rec.dir, libraryMarker)); err == nil {
		t.Error("no marker may be written when the library is missing")
	}
}

func TestProgressSwitchesToEvaluationRows(t *testing.T) {
	p := newTrainingProgress(newRecorder(t), time.Now, 30, WithoutChart())
	p.Log(map[string]float64{"step": 10, "loss": 0.9})
	if got := p.table().Columns; !slices.Equal(got, []string{"Step", "Training Loss"}) {
		t.Fatalf("columns before any evaluation: %q", got)
	}
	p.Log(map[string]float64{"step": 20, "loss": 0.8})
	p.Log(map[string]float64{"step": 20, "eval_loss": 0.85, "eval_accuracy": 0.7})
	tbl := p.table()
	want := [][]string{{"20", "0.800000", "0.850000", "0.700000"}}
	if !slices.Equal(tbl.Columns, []string{"Step", "Training Loss", "Validation Loss", "Accuracy"}) || len(tbl.Rows) != 1 || !slices.Equal(tbl.Rows[0], want[0]) {
		t.Errorf("after the first evaluation: %q %q", tbl.Columns, tbl.Rows)
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(0, 0)}
	p := newTrainingProgress(nil, clock.now, 40, WithWriter(&buf), WithEvaluation(true), WithTitle("Fine-tuning"))
	for step := 1; step <= 40; step++ {
		clock.t = clock.t.Add(500 * time.Millisecond)
		var e map[string]float64
		if step%20 == 0 {
			e = map[string]float64{"step": float64(step), "loss": 0.5}
		}
		p.Update(step, e)
		if step%20 == 0 {
			p.Log(map[string]float64{"step": float64(step), "eval_loss": 0.25, "eval_accuracy": 0.75})
		}
	}
	p.Log(map[string]float64{"train_runtime": 20, "train_loss": 0.5})
	p.Finish()
	got := buf.String()
	want := []string{
		"Step       Training Loss  Validation Loss  Accuracy",
		"20         0.500000       0.250000         0.750000",
		"40         0.500000       0.250000         0.750000",
		// First update at step 1 after 0.5 s, step 20 at 10 s: 19 steps in 9.5 s.
		"Fine-tuning |███████████████               | [20/40 00:09 < 00:10, 2.00 it/s]",
		"Fine-tuning |██████████████████████████████| [40/40 00:19]",
		"Training finished in 00:20, training loss 0.5",
	}
	for _, w := range want {
		if !strings.Contains(got, w+"\n") {
			t.Errorf("terminal output lacks line %q:\n%s", w, got)
		}
	}
	if strings.Count(got, "Training Loss") != 1 || strings.Count(got, "[40/40 00:19]") != 1 {
		t.Errorf("header or final progress line printed more than once:\n%s", got)
	}
	if strings.Contains(got, "\r") {
		t.Errorf("a non-terminal writer must not get carriage returns:\n%q", got)
	}
}
