package display

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// Table is a titled table of text cells: dataset rows, metrics, comparisons. It renders as an HTML table
// in notebooks (HTML) and as aligned text columns in terminals (Text).
type Table struct {
	// Title is shown above the table (optional).
	Title string
	// Columns are the header cells.
	Columns []string
	// Rows hold one cell per column.
	Rows [][]string
	// MaxCellRunes cuts longer cells with "…" when rendering (0: no limit), e.g. to show the head of a
	// dataset whose contexts are paragraphs.
	MaxCellRunes int
}

// NewTable returns an empty table with the given title and columns.
func NewTable(title string, columns ...string) *Table {
	return &Table{Title: title, Columns: columns}
}

// AddRow appends a row; values are formatted as text (floats with 6 significant digits, integers with
// thousands separators). The number of values must equal the number of columns.
func (t *Table) AddRow(values ...any) error {
	if len(values) != len(t.Columns) {
		return fmt.Errorf("display: table %q: row %d has %d values, expected %d (one per column %q)",
			t.Title, len(t.Rows), len(values), len(t.Columns), t.Columns)
	}
	row := make([]string, len(values))
	for i, v := range values {
		row[i] = formatCell(v)
	}
	t.Rows = append(t.Rows, row)
	return nil
}

// HTML renders the table (cells escaped) in Jupyter's "dataframe" style.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<div class="embedtune-table">`)
	if t.Title != "" {
		fmt.Fprintf(&b, `<div style="font-weight:bold;margin:4px 0;">%s</div>`, html.EscapeString(t.Title))
	}
	b.WriteString(`<table border="1" class="dataframe"><thead><tr style="text-align: left;">`)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(c))
	}
	b.WriteString("</tr></thead><tbody>")
	for _, row := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(truncateRunes(c, t.MaxCellRunes)))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table></div>")
	return b.String()
}

// Text renders the table as left-aligned columns separated by two spaces, with a rule under the header.
// Line breaks inside cells are shown as spaces.
func (t *Table) Text() string {
	cells := make([][]string, 0, len(t.Rows)+1)
	cells = append(cells, t.Columns)
	for _, r := range t.Rows {
		row := make([]string, len(r))
		for i, c := range r {
			row[i] = strings.Join(strings.Fields(truncateRunes(c, t.MaxCellRunes)), " ")
		}
		cells = append(cells, row)
	}
	widths := make([]int, len(t.Columns))
	for _, r := range cells {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	for ri, r := range cells {
		writeTextRow(&b, r, widths)
		if ri == 0 {
			rule := make([]string, len(widths))
			for i, w := range widths {
				rule[i] = strings.Repeat("-", w)
			}
			writeTextRow(&b, rule, widths)
		}
	}
	return b.String()
}

func writeTextRow(b *strings.Builder, row []string, widths []int) {
	var line strings.Builder
	for i, c := range row {
		if i > 0 {
			line.WriteString("  ")
		}
		line.WriteString(c)
		if i < len(row)-1 && i < len(widths) {
			line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
	}
	b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
}
