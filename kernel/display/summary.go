package display

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// Summary is a titled list of name/value facts, e.g. a model summary (architecture, parameters, maximum
// sequence length, pooling) or a run's configuration.
type Summary struct {
	Title string
	Items []SummaryItem
}

// SummaryItem is one fact of a Summary.
type SummaryItem struct {
	Name, Value string
}

// NewSummary returns an empty summary.
func NewSummary(title string) *Summary { return &Summary{Title: title} }

// Add appends a fact; the value is formatted as a table cell (integers with thousands separators). It
// returns s for chaining.
func (s *Summary) Add(name string, value any) *Summary {
	s.Items = append(s.Items, SummaryItem{Name: name, Value: formatCell(value)})
	return s
}

// HTML renders the summary as a two-column table with the names in bold.
func (s *Summary) HTML() string {
	var b strings.Builder
	b.WriteString(`<div class="embedtune-summary">`)
	if s.Title != "" {
		fmt.Fprintf(&b, `<div style="font-weight:bold;margin:4px 0;">%s</div>`, html.EscapeString(s.Title))
	}
	b.WriteString(`<table class="dataframe"><tbody>`)
	for _, it := range s.Items {
		fmt.Fprintf(&b, `<tr><th style="text-align:left;">%s</th><td style="text-align:left;">%s</td></tr>`,
			html.EscapeString(it.Name), html.EscapeString(it.Value))
	}
	b.WriteString("</tbody></table></div>")
	return b.String()
}

// Text renders the summary as "name: value" lines with the values aligned.
func (s *Summary) Text() string {
	w := 0
	for _, it := range s.Items {
		w = max(w, utf8.RuneCountInString(it.Name))
	}
	var b strings.Builder
	if s.Title != "" {
		b.WriteString(s.Title + "\n")
	}
	for _, it := range s.Items {
		fmt.Fprintf(&b, "  %s:%s %s\n", it.Name, strings.Repeat(" ", w-utf8.RuneCountInString(it.Name)), it.Value)
	}
	return b.String()
}
