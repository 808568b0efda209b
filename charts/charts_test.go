package charts

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestSeries(t *testing.T) {
	cases := []struct {
		name    string
		h       LogHistory
		key     string
		want    []Point
		wantErr string
	}{
		{"picks entries with the key in order", LogHistory{{"step": 10, "loss": 2}, {"step": 10, "eval_loss": 3}, {"step": 20, "loss": 1}},
			"loss", []Point{{10, 2}, {20, 1}}, ""},
		{"absent key", LogHistory{{"step": 1, "loss": 2}}, "eval_loss", nil, ""},
		{"missing step", LogHistory{{"step": 1, "loss": 2}, {"loss": 1}}, "loss", nil, `entry 1 (with "loss"): no "step" key`},
		{"fractional step", LogHistory{{"step": 1.5, "loss": 2}}, "loss", nil, `"step" is 1.5, expected a whole number`},
		{"negative step", LogHistory{{"step": -1, "loss": 2}}, "loss", nil, `"step" is -1`},
		{"NaN step", LogHistory{{"step": math.NaN(), "loss": 2}}, "loss", nil, `"step" is NaN`},
		{"non-finite value kept", LogHistory{{"step": 3, "loss": math.Inf(1)}}, "loss", []Point{{3, math.Inf(1)}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Series(c.h, c.key)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestMetricKeysAndLabels(t *testing.T) {
	h := LogHistory{
		{"step": 1, "eval_loss": 1, "eval_runtime": 2, "eval_samples_per_second": 3, "eval_steps_per_second": 4,
			"eval_cosine_ndcg@10": 0.5, "eval_cosine_ndcg@5": 0.4, "eval_cosine_accuracy@1": 0.3},
		{"step": 2, "loss": 1, "eval_cosine_mrr@10": 0.2},
	}
	want := []string{"eval_cosine_accuracy@1", "eval_cosine_mrr@10", "eval_cosine_ndcg@5", "eval_cosine_ndcg@10"}
	if got := MetricKeys(h); !slices.Equal(got, want) {
		t.Errorf("MetricKeys = %q, want %q", got, want)
	}
	// Labels as transformers' NotebookProgressCallback names its columns:
	// " ".join(part.capitalize() for part in key.split("_")[1:]).
	for key, want := range map[string]string{
		"eval_cosine_ndcg@10": "Cosine Ndcg@10", "eval_loss": "Loss", "eval_MRR": "Mrr",
		"eval_dot_map@100": "Dot Map@100", "accuracy": "Accuracy", "eval_ünïcode_x": "Ünïcode X",
	} {
		if got := MetricLabel(key); got != want {
			t.Errorf("MetricLabel(%q) = %q, want %q", key, got, want)
		}
	}
}

// option decodes a chart's echarts option.
func option(t *testing.T, c *Chart) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(c.OptionJSON(), &o); err != nil {
		t.Fatalf("option JSON: %v", err)
	}
	return o
}

// seriesOf returns name → data of the option's series.
func seriesOf(t *testing.T, o map[string]any) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, s := range o["series"].([]any) {
		m := s.(map[string]any)
		var vals []any
		for _, d := range m["data"].([]any) {
			vals = append(vals, d.(map[string]any)["value"])
		}
		out[m["name"].(string)] = vals
	}
	return out
}

func TestLineBuilders(t *testing.T) {
	h := LogHistory{
		{"step": 10, "epoch": 0.5, "loss": 2, "learning_rate": 1e-5},
		{"step": 20, "epoch": 1, "loss": math.NaN(), "learning_rate": 5e-6},
		{"step": 20, "epoch": 1, "eval_loss": 1.5, "eval_cosine_ndcg@10": 0.6},
	}
	cases := []struct {
		name  string
		build func() (*Chart, error)
		title string
		want  map[string][]any
	}{
		{"loss", func() (*Chart, error) { return Loss(h) }, "Loss",
			map[string][]any{"Training loss": {[]any{10.0, 2.0}, []any{20.0, "-"}}, "Validation loss": {[]any{20.0, 1.5}}}},
		{"learning rate", func() (*Chart, error) { return LearningRate(h, WithTitle("LR")) }, "LR",
			map[string][]any{"Learning rate": {[]any{10.0, 1e-5}, []any{20.0, 5e-6}}}},
		{"metrics", func() (*Chart, error) { return EvalMetrics(h, nil) }, "Evaluation metrics",
			map[string][]any{"Cosine Ndcg@10": {[]any{20.0, 0.6}}}},
		{"runs", func() (*Chart, error) {
			return Runs("loss", []Run{{"a", h}, {"b", LogHistory{{"step": 5, "loss": 1}}}})
		}, "Loss by run", map[string][]any{"a": {[]any{10.0, 2.0}, []any{20.0, "-"}}, "b": {[]any{5.0, 1.0}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			o := option(t, ch)
			if got := o["title"].(map[string]any)["text"]; got != c.title || ch.Title() != c.title {
				t.Errorf("title = %v / %q, want %q", got, ch.Title(), c.title)
			}
			got := seriesOf(t, o)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(c.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("series = %s, want %s", gotJSON, wantJSON)
			}
			if x := o["xAxis"].([]any)[0].(map[string]any); x["type"] != "value" || x["name"] != "step" {
				t.Errorf("x axis = %v", x)
			}
		})
	}
}

func TestBuilderErrors(t *testing.T) {
	h := LogHistory{{"step": 1, "loss": 1}}
	cases := []struct {
		name  string
		build func() (*Chart, error)
		want  string
	}{
		{"loss without losses", func() (*Chart, error) { return Loss(LogHistory{{"step": 1, "learning_rate": 1}}) }, `no "loss" or "eval_loss"`},
		{"loss with a bad step", func() (*Chart, error) { return Loss(LogHistory{{"loss": 1}}) }, `entry 0 (with "loss"): no "step"`},
		{"no learning rate", func() (*Chart, error) { return LearningRate(h) }, `no "learning_rate"`},
		{"no metrics", func() (*Chart, error) { return EvalMetrics(h, nil) }, "no evaluator metrics"},
		{"unknown metric", func() (*Chart, error) {
			return EvalMetrics(LogHistory{{"step": 1, "eval_a": 1}}, []string{"eval_b"})
		}, `metric "eval_b" does not occur in the log history (it has: eval_a)`},
		{"no runs", func() (*Chart, error) { return Runs("loss", nil) }, "no runs"},
		{"unnamed run", func() (*Chart, error) { return Runs("loss", []Run{{"", h}}) }, "run 0 has an empty name"},
		{"duplicate run", func() (*Chart, error) { return Runs("loss", []Run{{"a", h}, {"a", h}}) }, `two runs are named "a"`},
		{"run without key", func() (*Chart, error) { return Runs("eval_loss", []Run{{"a", h}}) }, `run "a" has no "eval_loss" values`},
		{"before/after empty", func() (*Chart, error) { return BeforeAfter(nil, nil) }, "both metric maps are empty"},
		{"before/after keys differ", func() (*Chart, error) {
			return BeforeAfter(map[string]float64{"a": 1}, map[string]float64{"b": 1}, WithLabels("Base", "Tuned"))
		}, `metric "a" is in "Base" but not in "Tuned"`},
		{"before/after extra key", func() (*Chart, error) {
			return BeforeAfter(map[string]float64{"a": 1}, map[string]float64{"a": 1, "b": 1})
		}, `metric "b" is in "After" but not in "Before"`},
		{"before/after NaN", func() (*Chart, error) {
			return BeforeAfter(map[string]float64{"a": math.NaN()}, map[string]float64{"a": 1})
		}, `"Before" metric "a" is NaN`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.build()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestBeforeAfter(t *testing.T) {
	c, err := BeforeAfter(map[string]float64{"ndcg@10": 0.612345, "mrr@10": 0.5}, map[string]float64{"ndcg@10": 0.78, "mrr@10": 0.7},
		WithLabels("Base", "Fine-tuned"), WithSize("600px", "300px"))
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	if got := o["xAxis"].([]any)[0].(map[string]any)["data"]; !slices.Equal(toStrings(got), []string{"mrr@10", "ndcg@10"}) {
		t.Errorf("categories = %v", got)
	}
	s := seriesOf(t, o)
	if !slices.Equal(s["Base"], []any{0.5, 0.6123}) || !slices.Equal(s["Fine-tuned"], []any{0.7, 0.78}) {
		t.Errorf("series = %v", s)
	}
	if !strings.Contains(c.HTML(), "max-width:600px;height:300px;") {
		t.Error("WithSize not applied to the chart area")
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestWithMaxStep(t *testing.T) {
	c, err := Loss(LogHistory{{"step": 10, "loss": 1}}, WithMaxStep(332), WithAnimation(false))
	if err != nil {
		t.Fatal(err)
	}
	o := option(t, c)
	x := o["xAxis"].([]any)[0].(map[string]any)
	if x["max"] != 332.0 || x["min"] != 0.0 || o["animation"] != false {
		t.Errorf("x axis %v, animation %v", x, o["animation"])
	}
}

func TestChartHTMLIsSafe(t *testing.T) {
	c, err := LearningRate(LogHistory{{"step": 1, "learning_rate": 1}}, WithTitle(`</script><img src=x onerror=alert(1)>`))
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTML()
	if strings.Count(h, "</script>") != 1 || !strings.HasSuffix(h, "</script>") {
		t.Errorf("the title closed the script element early:\n%s", h)
	}
	if strings.Contains(h, "<img") {
		t.Errorf("the title was not escaped:\n%s", h)
	}
	for _, want := range []string{`class="embedtune-chart"`, "this chart is drawn by JavaScript", "document.currentScript",
		"static/" + LibraryRelPath, "jupyter trust"} {
		if !strings.Contains(h, want) {
			t.Errorf("chart HTML lacks %q", want)
		}
	}
	if strings.Contains(h, "http://") || strings.Contains(h, "https://") {
		t.Error("chart HTML must not reference any remote URL")
	}
}

func TestLibrary(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "echarts.js")
	if err := os.WriteFile(bad, []byte("window.echarts = {};"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLibrary(bad); err == nil || !strings.Contains(err.Error(), "expected "+EChartsSHA256) {
		t.Errorf("LoadLibrary of a wrong file: err = %v", err)
	}
	if _, err := LoadLibrary(filepath.Join(dir, "absent.js")); err == nil {
		t.Error("LoadLibrary of a missing file must fail")
	}
	t.Setenv(AssetsDirEnv, dir)
	_, err := FindLibrary()
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "kernel/install.sh") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "embedtune")) {
		t.Errorf("FindLibrary with an empty assets folder: err = %v", err)
	}
	l := &Library{js: []byte(`var s = "</script><script>alert(1)</SCRIPT>";`)}
	h := l.ScriptHTML()
	if strings.Count(strings.ToLower(h), "</script") != 1 {
		t.Errorf("ScriptHTML did not escape the library's </script:\n%s", h)
	}
	if !regexp.MustCompile(`(?s)^<script data-embedtune-echarts="` + regexp.QuoteMeta(EChartsVersion) + `">.*\(function\(define, exports, module\)\{.*\}\)\.call\(window\);.*st\.flush\(\);.*</script>$`).MatchString(h) {
		t.Errorf("ScriptHTML layout:\n%s", h)
	}
}

// TestRealLibrary checks the installed library when there is one.
func TestRealLibrary(t *testing.T) {
	t.Setenv(AssetsDirEnv, "")
	l, err := FindLibrary()
	if err != nil {
		t.Skipf("echarts assets not installed (run kernel/install.sh): %v", err)
	}
	if !strings.Contains(string(l.js), `version="`+EChartsVersion+`"`) && !strings.Contains(string(l.js), `"`+EChartsVersion+`"`) {
		t.Errorf("%s does not carry version %s", l.Path, EChartsVersion)
	}
}

func TestWriteHTML(t *testing.T) {
	c, err := Loss(LogHistory{{"step": 1, "loss": 1}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "charts.html")
	if err := WriteHTML(out, "Run"); err == nil {
		t.Error("WriteHTML without charts must fail")
	}
	t.Setenv(AssetsDirEnv, t.TempDir())
	err = WriteHTML(out, "Run <1>", c)
	if !errors.Is(err, ErrLibraryNotFound) {
		t.Fatalf("WriteHTML without the library: err = %v, want ErrLibraryNotFound", err)
	}
	page, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("the page must still be written: %v", rerr)
	}
	for _, want := range []string{"<title>Run &lt;1&gt;</title>", "embedtune-chart-missing", "kernel/install.sh", `class="embedtune-chart"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if err := WriteHTML(filepath.Join(t.TempDir(), "absent", "charts.html"), "x", c); err == nil || errors.Is(err, ErrLibraryNotFound) {
		t.Errorf("WriteHTML into a missing folder: err = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteHTMLWithLibrary(t *testing.T) {
	t.Setenv(AssetsDirEnv, "")
	if _, err := FindLibrary(); err != nil {
		t.Skipf("echarts assets not installed (run kernel/install.sh): %v", err)
	}
	a, _ := Loss(LogHistory{{"step": 1, "loss": 1}})
	b, _ := LearningRate(LogHistory{{"step": 1, "learning_rate": 1}})
	out := filepath.Join(t.TempDir(), "charts.html")
	if err := WriteHTML(out, "Run", a, b); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "data-embedtune-echarts="); n != 1 {
		t.Errorf("library embedded %d times, want once", n)
	}
	if strings.Index(string(page), "data-embedtune-echarts=") > strings.Index(string(page), `class="embedtune-chart"`) {
		t.Error("the library must come before the charts")
	}
}
