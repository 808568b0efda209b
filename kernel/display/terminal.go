package display

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// terminalState is the text fallback of TrainingProgress: a progress line on the writer (redrawn in place
// with "\r" on a terminal, printed at each log otherwise) and the table printed row by row.
type terminalState struct {
	w         io.Writer
	tty       bool
	header    []string // header last printed
	widths    []int
	printed   int  // rows printed under that header
	lineShown bool // a "\r" progress line is on screen
	lastStep  int  // step of the last progress line printed (non-terminal writers), -1 before any
}

func (t *terminalState) init(w io.Writer) {
	t.w = w
	t.lastStep = -1
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			t.tty = true
		}
	}
}

// barText is a 30-character text bar followed by the transformers-style label.
func (p *TrainingProgress) barText() string {
	const width = 30
	var b strings.Builder
	if p.title != "" {
		b.WriteString(p.title + " ")
	}
	if p.total > 0 {
		filled := min(width, p.step*width/p.total)
		b.WriteString("|" + strings.Repeat("█", filled) + strings.Repeat(" ", width-filled) + "| ")
	}
	b.WriteString(p.barLabel())
	return b.String()
}

func (t *terminalState) draw(p *TrainingProgress, logged bool) {
	tbl := p.table()
	var lines []string
	if !slices.Equal(tbl.Columns, t.header) || t.printed > len(tbl.Rows) {
		t.header = slices.Clone(tbl.Columns)
		t.printed = 0
		t.widths = make([]int, len(t.header))
		for i, c := range t.header {
			t.widths[i] = max(utf8.RuneCountInString(c), 9)
		}
		if len(tbl.Rows) > 0 {
			lines = append(lines, t.row(t.header))
		}
	}
	if t.printed == 0 && len(tbl.Rows) > 0 && len(lines) == 0 {
		lines = append(lines, t.row(t.header))
	}
	for _, r := range tbl.Rows[t.printed:] {
		lines = append(lines, t.row(r))
	}
	t.printed = len(tbl.Rows)
	if len(lines) > 0 {
		if t.lineShown {
			fmt.Fprint(t.w, "\r\033[K")
			t.lineShown = false
		}
		fmt.Fprint(t.w, strings.Join(lines, "\n")+"\n")
	}
	switch {
	case t.tty:
		fmt.Fprint(t.w, "\r"+p.barText()+"\033[K")
		t.lineShown = true
	case logged || p.finished:
		// One progress line per step reached, not one per call.
		if p.step != t.lastStep {
			fmt.Fprintln(t.w, p.barText())
			t.lastStep = p.step
		}
	}
}

func (t *terminalState) row(cells []string) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteString("  ")
		}
		w := 0
		if i < len(t.widths) {
			w = t.widths[i]
		}
		b.WriteString(c + strings.Repeat(" ", max(0, w-utf8.RuneCountInString(c))))
	}
	return strings.TrimRight(b.String(), " ")
}

func (t *terminalState) finish(p *TrainingProgress) {
	if t.lineShown {
		fmt.Fprintln(t.w)
		t.lineShown = false
	}
	if s := p.finalSummary(); s != "" {
		fmt.Fprintln(t.w, s)
	}
}
