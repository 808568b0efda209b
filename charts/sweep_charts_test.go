package charts

import (
	"math"
	"strings"
	"testing"
)

func TestParallel(t *testing.T) {
	runs := []string{"run-000", "run-001", "run-002"}
	values := [][]any{{1e-6, 16, "cos_sim"}, {1e-4, 32, "dot_score"}, {1e-3, 16, "cos_sim"}}
	c, err := Parallel([]string{"learning_rate", "per_device_train_batch_size", "loss.similarity"}, "eval_ndcg", runs, values,
		[]float64{0.4, 0.6, math.NaN()})
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	axes := o["parallelAxis"].([]any)
	if len(axes) != 4 {
		t.Fatalf("%d axes, want 3 parameters and the metric", len(axes))
	}
	wantTypes := []string{"log", "value", "category", "value"} // 1e-6..1e-3 spans decades; strings are categories
	for i, a := range axes {
		if got := a.(map[string]any)["type"]; got != wantTypes[i] {
			t.Errorf("axis %d type %v, want %s", i, got, wantTypes[i])
		}
	}
	if cats := axes[2].(map[string]any)["data"].([]any); len(cats) != 2 || cats[0] != "cos_sim" {
		t.Errorf("category axis data %v", cats)
	}
	vm := o["visualMap"].([]any)[0].(map[string]any)
	if vm["dimension"] != float64(3) || vm["min"] != 0.4 || vm["max"] != 0.6 {
		t.Errorf("visualMap %v: want the metric axis (3) from 0.4 to 0.6", vm)
	}
	data := o["series"].([]any)[0].(map[string]any)["data"].([]any)
	if last := data[2].(map[string]any)["value"].([]any)[3]; last != "-" {
		t.Errorf("a run without metric has %v on the metric axis, want \"-\" (no value)", last)
	}
	if !strings.Contains(c.HTML(), "embedtune-chart") {
		t.Error("no chart area")
	}
	if _, err := Parallel([]string{"a"}, "m", runs, [][]any{{1}, {2}}, []float64{1, 2, 3}); err == nil {
		t.Error("mismatched lengths should be an error")
	}
	if _, err := Parallel([]string{"a", "b"}, "m", runs[:1], [][]any{{1}}, []float64{1}); err == nil || !strings.Contains(err.Error(), `run "run-000" has 1 values, expected 2`) {
		t.Errorf("short row: %v", err)
	}
}

func TestMetricVsParameter(t *testing.T) {
	c, err := MetricVsParameter("learning_rate", "eval_ndcg", []string{"a", "b", "c"}, []any{1e-5, 1e-3, 1e-4}, []float64{0.3, math.NaN(), 0.5})
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	if x := o["xAxis"].([]any)[0].(map[string]any); x["type"] != "log" || x["name"] != "learning_rate" {
		t.Errorf("x axis %v", x)
	}
	pts := seriesOf(t, o)["eval_ndcg"]
	if len(pts) != 2 {
		t.Fatalf("points %v: the run without a metric is left out", pts)
	}
	c, err = MetricVsParameter("sim", "m", []string{"a", "b"}, []any{"cos", "dot"}, []float64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if x := option(t, c)["xAxis"].([]any)[0].(map[string]any); x["type"] != "category" {
		t.Errorf("strings should make a category axis: %v", x)
	}
	if _, err := MetricVsParameter("p", "m", []string{"a"}, []any{1}, []float64{math.NaN()}); err == nil || !strings.Contains(err.Error(), "no run of the 1 has a m value") {
		t.Errorf("no metric at all: %v", err)
	}
}
