package display

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// testSweep is a 2-run sweep that is never run: the view is driven by hand.
func testSweep(t *testing.T) *trainlib.Sweep {
	t.Helper()
	spec, err := sweep.Parse("spec.yaml", []byte("method: grid\nmetric: {name: eval_ndcg, goal: maximize}\nparameters: {learning_rate: {values: [1.0e-5, 1.0e-4]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	base := &trainlib.RunConfig{Model: "m", TrainDataset: trainlib.DatasetSpec{Source: "d"},
		Args: map[string]any{"output_dir": t.TempDir(), "eval_strategy": "steps", "eval_steps": 2}}
	s, err := trainlib.NewSweep(base, spec, trainlib.WithSweepLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSweepProgressNotebook(t *testing.T) {
	t.Setenv(charts.AssetsDirEnv, libraryDir(t))
	s := testSweep(t)
	rec := newRecorder(t)
	clock := &fakeClock{t: time.Unix(0, 0)}
	p := &sweepProgress{fe: rec, now: clock.now, runs: map[string]*sweepRunView{}}
	p.OnSweepBegin(s, []int{0, 1})
	run := trainlib.SweepRunInfo{ID: "run-000", Index: 0, Params: map[string]any{"learning_rate": 1e-5}, MaxSteps: 4, Label: "run-000 learning_rate=1e-05"}
	p.OnRunBegin(s, run)
	for step := 1; step <= 4; step++ {
		clock.t = clock.t.Add(time.Second)
		p.OnRunLog(s, run, map[string]float64{"step": float64(step), "loss": 3 - float64(step)/4})
		if step%2 == 0 {
			p.OnRunLog(s, run, map[string]float64{"step": float64(step), "eval_ndcg": 0.3 + float64(step)/10})
		}
	}
	all := strings.Join(rec.outputs, "\n")
	for _, want := range []string{"run-000 learning_rate=1e-05", "step 4/4", "Training loss by run", "Ndcg by run", "0 of 2 runs ended", "Sweep results: 2 runs"} {
		if !strings.Contains(all, want) {
			t.Errorf("view lacks %q:\n%s", want, all)
		}
	}
	row := sweep.Row{Run: "run-000", Index: 0, Params: run.Params, Status: sweep.StatusFinished, Steps: 4, MaxSteps: 4}
	p.OnRunEnd(s, row, nil)
	p.OnSweepEnd(s, s.Results())
	if rec.syncs == 0 {
		t.Error("the final view was not synced to the notebook")
	}
	if got := strings.Count(rec.outputs[len(rec.outputs)-2], `class="embedtune-chart"`); got != 2 {
		t.Errorf("%d charts in the final view, want the loss and the metric", got)
	}
}

func TestSweepProgressTerminal(t *testing.T) {
	s := testSweep(t)
	var b bytes.Buffer
	p := &sweepProgress{now: time.Now, runs: map[string]*sweepRunView{}, opts: []ProgressOption{WithWriter(&b)}}
	p.OnSweepBegin(s, []int{0, 1})
	run := trainlib.SweepRunInfo{ID: "run-001", Index: 1, MaxSteps: 4}
	p.OnRunBegin(s, run)
	p.OnRunLog(s, run, map[string]float64{"step": 1, "loss": 2})
	p.OnRunLog(s, run, map[string]float64{"step": 2, "eval_ndcg": 0.5})
	if got := b.String(); got != "  run-001 step 2/4: eval_ndcg 0.5\n" {
		t.Errorf("terminal lines %q", got)
	}
}

func TestSweepTable(t *testing.T) {
	v := 0.51234567
	res := &sweep.Results{Metric: "eval_ndcg", Goal: sweep.Maximize, Parameters: []string{"learning_rate"}, Rows: []sweep.Row{
		{Run: "run-000", Params: map[string]any{"learning_rate": 1e-5}, Status: sweep.StatusFinished, FinalMetric: &v, BestMetric: &v, Steps: 4, MaxSteps: 4},
		{Run: "run-001", Index: 1, Params: map[string]any{"learning_rate": 1e-4}, Status: sweep.StatusFailed, Reason: "training diverged", Steps: 2, MaxSteps: 4},
	}}
	res.PickBest()
	text := SweepTable(res).Text()
	for _, want := range []string{"best run-000 (learning_rate=1e-05)", "0.512346", "failed", "training diverged", "4/4"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
}
