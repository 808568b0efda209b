package display

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/charts"
)

func TestTable(t *testing.T) {
	tbl := NewTable("Dataset head", "question", "context", "n")
	for _, r := range [][]any{
		{"Who <b>won</b>?", "A long\ncontext paragraph about things", 1234567},
		{"Why?", "Short", 0.125},
	} {
		if err := tbl.AddRow(r...); err != nil {
			t.Fatal(err)
		}
	}
	err := tbl.AddRow("only one")
	if err == nil || !strings.Contains(err.Error(), `row 2 has 1 values, expected 3`) {
		t.Errorf("AddRow with a missing value: err = %v", err)
	}
	tbl.MaxCellRunes = 12
	h := tbl.HTML()
	for _, want := range []string{"<th>question</th>", "<td>Who &lt;b&gt;won&lt;…</td>", "<td>1,234,567</td>", "<td>0.125</td>", "Dataset head"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q: %s", want, h)
		}
	}
	gotText := tbl.Text()
	wantText := "Dataset head\n" +
		"question      context       n\n" +
		"------------  ------------  ---------\n" +
		"Who <b>won<…  A long cont…  1,234,567\n" +
		"Why?          Short         0.125\n"
	if gotText != wantText {
		t.Errorf("Text() =\n%s\nwant\n%s", gotText, wantText)
	}
	if strings.Contains(gotText, "A long\ncontext") {
		t.Error("line breaks inside cells must not break text rows")
	}
}

func TestFormatCell(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{109482240, "109,482,240"}, {int64(-1234), "-1,234"}, {999, "999"}, {0.1234567, "0.123457"},
		{float32(2.5), "2.5"}, {math.NaN(), "NaN"}, {math.Inf(-1), "-Inf"}, {"x", "x"},
		{errors.New("bad"), "bad"}, {true, "true"},
	} {
		if got := formatCell(c.in); got != c.want {
			t.Errorf("formatCell(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMetricsTables(t *testing.T) {
	m := MetricsTable("Base", map[string]float64{"b": 0.5, "a": 0.25})
	if m.Rows[0][0] != "a" || m.Rows[0][1] != "0.2500" || m.Rows[1][1] != "0.5000" {
		t.Errorf("MetricsTable rows: %q", m.Rows)
	}
	c, err := CompareMetrics(map[string]float64{"ndcg": 0.5, "mrr": 0.7}, map[string]float64{"ndcg": 0.75, "mrr": 0.6}, "Base", "Tuned")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"mrr", "0.7000", "0.6000", "-0.1000"}, {"ndcg", "0.5000", "0.7500", "+0.2500"}}
	for i := range want {
		if strings.Join(c.Rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, c.Rows[i], want[i])
		}
	}
	for _, bad := range []struct{ before, after map[string]float64 }{
		{map[string]float64{"a": 1}, map[string]float64{"b": 1}},
		{map[string]float64{"a": 1}, map[string]float64{"a": 1, "b": 2}},
	} {
		if _, err := CompareMetrics(bad.before, bad.after, "Base", "Tuned"); err == nil || !strings.Contains(err.Error(), "is in") {
			t.Errorf("CompareMetrics(%v, %v): err = %v", bad.before, bad.after, err)
		}
	}
}

func TestSummary(t *testing.T) {
	s := NewSummary("Model").Add("Parameters", 22713216).Add("Pooling", "mean")
	if h := s.HTML(); !strings.Contains(h, "<td style=\"text-align:left;\">22,713,216</td>") {
		t.Errorf("HTML: %s", h)
	}
	if got, want := s.Text(), "Model\n  Parameters: 22,713,216\n  Pooling:    mean\n"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
}

type textAndHTML struct{}

func (textAndHTML) HTML() string { return "<i>h</i>" }
func (textAndHTML) Text() string { return "t" }

func TestToHTMLAndText(t *testing.T) {
	t.Setenv(charts.AssetsDirEnv, t.TempDir()) // no library
	chart, err := charts.LearningRate(charts.LogHistory{{"step": 1, "learning_rate": 1e-5}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in       any
		html     string
		text     string
		notebook bool
	}{
		{textAndHTML{}, "<i>h</i>", "t\n", false},
		{map[string]float64{"ndcg": 0.5}, "<td>0.5000</td>", "ndcg    0.5000\n", false},
		{errors.New("model <x> not found"), "model &lt;x&gt; not found", "Error: model <x> not found\n", false},
		{"<b>raw</b>", "<b>raw</b>", "<b>raw</b>\n", false},
		{42, "<pre>42</pre>", "42\n", false},
		{chart, "embedtune-chart-missing", `[chart "Learning rate"`, true},
	}
	for _, c := range cases {
		rec := newRecorder(t)
		if got := toHTML(rec, c.in); !strings.Contains(got, c.html) {
			t.Errorf("toHTML(%T) = %q, want it to contain %q", c.in, got, c.html)
		}
		var buf bytes.Buffer
		writeText(&buf, c.in)
		if !strings.Contains(buf.String(), c.text) {
			t.Errorf("writeText(%T) = %q, want it to contain %q", c.in, buf.String(), c.text)
		}
	}
}

func TestChartEmbedsLibraryOncePerSession(t *testing.T) {
	t.Setenv(charts.AssetsDirEnv, libraryDir(t))
	chart, err := charts.LearningRate(charts.LogHistory{{"step": 1, "learning_rate": 1e-5}})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	first := toHTML(rec, chart)
	second := toHTML(rec, chart)
	if len(rec.outputs) != 1 || !strings.Contains(rec.outputs[0], "data-embedtune-echarts") {
		t.Fatalf("the first chart of the session must display the library once, outputs: %d", len(rec.outputs))
	}
	if !strings.Contains(first, `class="embedtune-chart"`) || first != second || strings.Contains(second, "data-embedtune-echarts") {
		t.Error("chart outputs must hold the chart, without the library")
	}
	if err := loadECharts(rec); err != nil || len(rec.outputs) != 2 {
		t.Errorf("LoadECharts must display the library again on request: %v, %d outputs", err, len(rec.outputs))
	}
}

// TestFixtureUpToDate re-runs the generator with the reference Python (EMBEDTUNE_PYTHON, the environment
// of scripts/pyenv.sh) and compares with the committed fixture.
func TestFixtureUpToDate(t *testing.T) {
	py := os.Getenv("EMBEDTUNE_PYTHON")
	if py == "" {
		t.Skip("EMBEDTUNE_PYTHON is unset: set it to the python of scripts/pyenv.sh to re-check the transformers fixture")
	}
	out, err := exec.Command(py, filepath.Join("testdata", "gen_progress_tables.py")).Output()
	if err != nil {
		t.Fatalf("running the generator: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "progress_tables.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Error("testdata/progress_tables.json differs from what transformers produces now: regenerate it")
	}
}
