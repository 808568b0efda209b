package datasets

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/embedtune/embedtune/internal/pyfmt"
)

// Display settings, as pandas (3.1) shows a DataFrame with its defaults: a cell of maxColWidth
// characters or more shows its first maxColWidth-4 characters and "..." (display.max_colwidth = 50:
// a 49-character string is shown whole, a 50-character one is cut to 46 + "..."), and a table of
// more than maxRows rows shows its first and last edgeRows rows (display.max_rows = 60,
// min_rows = 10).
const (
	maxColWidth = 50
	maxRows     = 60
	edgeRows    = 5
)

// cellText renders a value as pandas shows it: None for null, True/False, floats as Python's repr,
// lists as [a, b], JSON as compact text; newlines are shown as \n.
func cellText(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		s = x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case []string:
		s = "[" + strings.Join(x, ", ") + "]"
	case json.RawMessage:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	s = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
	return truncate(s, maxColWidth)
}

// pyFloat formats a float as pandas shows it in a DataFrame cell and as json.dumps writes it: Python's
// repr(float), except that pandas shows NaN as "NaN".
func pyFloat(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return pyfmt.Repr(f)
}

// truncate cuts a string of width characters or more to width-4 characters and "...".
func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) < width {
		return s
	}
	r := []rune(s)
	return string(r[:width-4]) + "..."
}

// displayRows picks the rows a table shows: all of them, or the first and last edgeRows with a
// gap (-1) between when there are more than maxRows.
func (d *Dataset) displayRows() []int {
	if d.n <= maxRows {
		out := make([]int, d.n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, 2*edgeRows+1)
	for i := 0; i < edgeRows; i++ {
		out = append(out, i)
	}
	out = append(out, -1)
	for i := d.n - edgeRows; i < d.n; i++ {
		out = append(out, i)
	}
	return out
}

func (d *Dataset) dimensions() string {
	return fmt.Sprintf("%d rows × %d columns", d.n, len(d.names))
}

// HTML renders the dataset as an HTML table in the style of a pandas DataFrame in Jupyter: an
// index column, long strings elided, and only the first and last 5 rows (with the size below)
// when there are more than 60.
func (d *Dataset) HTML() string {
	var b strings.Builder
	b.WriteString(`<div class="embedtune-dataset"><style scoped>` +
		`.embedtune-dataset table{border-collapse:collapse}` +
		`.embedtune-dataset th,.embedtune-dataset td{padding:0.25em 0.6em;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}` +
		`.embedtune-dataset tbody th{text-align:right;font-weight:bold}` +
		`.embedtune-dataset td.num{text-align:right}` +
		`</style><table class="dataframe">` + "\n<thead><tr><th></th>")
	for _, n := range d.names {
		b.WriteString("<th>" + html.EscapeString(n) + "</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, i := range d.displayRows() {
		if i < 0 {
			b.WriteString("<tr><th>...</th>" + strings.Repeat("<td>...</td>", len(d.names)) + "</tr>\n")
			continue
		}
		k := d.rowOf(i)
		b.WriteString("<tr><th>" + strconv.Itoa(i) + "</th>")
		for _, c := range d.cols {
			class := ""
			if c.typ == Int || c.typ == Float {
				class = ` class="num"`
			}
			b.WriteString("<td" + class + ">" + html.EscapeString(cellText(c.value(k))) + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>")
	if d.n > maxRows || len(d.names) == 0 {
		b.WriteString("<p>" + d.dimensions() + "</p>")
	}
	b.WriteString("</div>")
	return b.String()
}

// String renders the dataset as a text table (see HTML for the elision rules). Numbers are
// right-aligned, text left-aligned.
func (d *Dataset) String() string {
	rows := d.displayRows()
	grid := make([][]string, 0, len(rows)+1)
	header := append([]string{""}, d.names...)
	grid = append(grid, header)
	for _, i := range rows {
		line := make([]string, len(d.names)+1)
		if i < 0 {
			for j := range line {
				line[j] = "..."
			}
		} else {
			line[0] = strconv.Itoa(i)
			k := d.rowOf(i)
			for j, c := range d.cols {
				line[j+1] = cellText(c.value(k))
			}
		}
		grid = append(grid, line)
	}
	widths := make([]int, len(header))
	for _, line := range grid {
		for j, s := range line {
			widths[j] = max(widths[j], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	for _, line := range grid {
		for j, s := range line {
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(s))
			right := j == 0 || (d.cols[j-1].typ == Int || d.cols[j-1].typ == Float)
			if j > 0 {
				b.WriteString("  ")
			}
			if right {
				b.WriteString(pad + s)
			} else if j == len(line)-1 {
				b.WriteString(s)
			} else {
				b.WriteString(s + pad)
			}
		}
		b.WriteString("\n")
	}
	if d.n > maxRows || len(d.names) == 0 {
		b.WriteString("\n[" + strings.Replace(d.dimensions(), "×", "x", 1) + "]\n")
	}
	return b.String()
}
