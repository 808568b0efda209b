package datasets

import (
	"fmt"
	"strings"
	"testing"
)

// TestDisplayCellsMatchPandas compares cell texts with pandas' DataFrame HTML (the fixture made by
// testdata/reference/make_fixtures.py).
func TestDisplayCellsMatchPandas(t *testing.T) {
	var ref struct {
		Inputs struct {
			Text []string `json:"text"`
			List []any    `json:"list"`
			Flag []any    `json:"flag"`
		} `json:"inputs"`
		Cells [][]string `json:"cells"`
	}
	loadRefJSON(t, "display_expected.json", &ref)
	rows := make([]Row, len(ref.Inputs.Text))
	for i := range rows {
		rows[i] = Row{"text": ref.Inputs.Text[i], "list": ref.Inputs.List[i], "flag": ref.Inputs.Flag[i]}
	}
	d, err := FromRows(rows, "text", "list", "flag")
	if err != nil {
		t.Fatal(err)
	}
	html := d.HTML()
	for i, want := range ref.Cells {
		for j, cell := range want {
			got := cellText(d.cols[j].value(i))
			if got != cell {
				t.Errorf("row %d, column %s: %q, pandas shows %q", i, d.names[j], got, cell)
			}
			if esc := htmlEscape(cell); !strings.Contains(html, "<td>"+esc+"</td>") {
				t.Errorf("HTML lacks the cell <td>%s</td>", esc)
			}
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestHeadHTMLAndText(t *testing.T) {
	n := 100
	qs := make([]string, n)
	scores := make([]float64, n)
	for i := range qs {
		qs[i] = fmt.Sprintf("question %d <with> markup\nand a newline", i)
		scores[i] = float64(i) / 4
	}
	d, err := FromColumns(Col("question", qs), Col("score", scores))
	if err != nil {
		t.Fatal(err)
	}
	head := d.Head(3).HTML()
	for _, want := range []string{"<th>question</th>", "<th>score</th>", "<th>0</th>", "<th>2</th>",
		"question 0 &lt;with&gt; markup\\nand a newline", `<td class="num">0.25</td>`} {
		if !strings.Contains(head, want) {
			t.Errorf("Head(3).HTML() lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "<th>3</th>") || strings.Contains(head, "rows ×") {
		t.Error("Head(3) shows more than 3 rows or a size footer")
	}
	full := d.HTML()
	for _, want := range []string{"<th>4</th>", "<th>...</th>", "<th>95</th>", "<th>99</th>", "100 rows × 2 columns"} {
		if !strings.Contains(full, want) {
			t.Errorf("HTML of 100 rows lacks %q", want)
		}
	}
	if strings.Contains(full, "<th>5</th>") || strings.Contains(full, "<th>94</th>") {
		t.Error("HTML of 100 rows shows middle rows")
	}
	text := d.Head(2).String()
	want := "" +
		"   question                                 score\n" +
		"0  question 0 <with> markup\\nand a newline    0.0\n" +
		"1  question 1 <with> markup\\nand a newline   0.25\n"
	if text != want {
		t.Errorf("Head(2).String() =\n%s\nwant\n%s", text, want)
	}
	if s := d.String(); !strings.Contains(s, "[100 rows x 2 columns]") || !strings.Contains(s, "...") {
		t.Errorf("String() of 100 rows:\n%s", s)
	}
}

func TestPyFloat(t *testing.T) {
	// Python's repr(float) for these values.
	for f, want := range map[float64]string{1: "1.0", 0.1: "0.1", 1e-05: "1e-05", 1e16: "1e+16", 123456789.125: "123456789.125",
		-2.5: "-2.5", 1e22: "1e+22", 0.0001: "0.0001", 1.5e-07: "1.5e-07"} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, Python repr gives %s", f, got, want)
		}
	}
}
