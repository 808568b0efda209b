package display

import (
	"fmt"
	"html"
	"io"
	"os"
	"strings"

	"github.com/embedtune/embedtune/charts"
)

// HTMLer is anything that renders itself as HTML: Table, Summary, *charts.Chart, and the library's own
// types (datasets, models, evaluators) that implement it.
type HTMLer interface {
	HTML() string
}

// Texter is anything with a plain-text form, used outside notebooks.
type Texter interface {
	Text() string
}

// HTML shows x as an output of the current notebook cell:
//
//   - a *charts.Chart is drawn (the echarts library is embedded first if this kernel session has not done so,
//     see LoadECharts; if it is not installed, a notice says how to install it);
//   - an HTMLer shows its HTML();
//   - a map[string]float64 is shown as a metrics table (MetricsTable);
//   - trainlib.TrainingArguments (the fields that were set, by their Hugging Face names), a *trainlib.Trainer
//     (data, loss, steps, schedule, optimizer, trained weights) and a losses.Loss (its parameters) are shown
//     as summaries;
//   - an error is shown as an error box;
//   - a string is taken as HTML;
//   - anything else is shown as preformatted text (fmt's %v).
//
// It returns once GoNB has shown the output (a cell's program may exit right after). Outside a notebook it
// prints x's text form on stdout instead (Text() when x has it).
func HTML(x any) {
	if fe := notebookFrontend(); fe != nil {
		fe.display(toHTML(fe, x))
		fe.sync() // a cell's program may exit right after: make sure GoNB has shown the output
		return
	}
	writeText(os.Stdout, x)
}

// Markdown shows Markdown text as an output of the current notebook cell, or prints it outside notebooks.
func Markdown(md string) {
	if fe := notebookFrontend(); fe != nil {
		displayMarkdown(md)
		fe.sync()
		return
	}
	fmt.Fprintln(os.Stdout, md)
}

// toHTML renders x for the notebook.
func toHTML(fe frontend, x any) string {
	switch v := x.(type) {
	case *charts.Chart:
		if err := ensureECharts(fe); err != nil {
			return charts.MissingLibraryHTML(err)
		}
		return v.HTML()
	case HTMLer:
		return v.HTML()
	case map[string]float64:
		return MetricsTable("", v).HTML()
	case error:
		return errorHTML(v)
	}
	if s := trainlibSummary(x); s != nil {
		return s.HTML()
	}
	switch v := x.(type) {
	case string:
		return v
	default:
		return "<pre>" + html.EscapeString(fmt.Sprintf("%v", x)) + "</pre>"
	}
}

// errorHTML renders an error as a red box.
func errorHTML(err error) string {
	return `<div class="embedtune-error" style="border:1px solid #d32f2f;background:#fdecea;padding:8px 12px;` +
		`margin:4px 0;font:13px sans-serif;color:#611a15;white-space:pre-wrap;"><b>Error:</b> ` +
		html.EscapeString(err.Error()) + `</div>`
}

// writeText prints x's text form.
func writeText(w io.Writer, x any) {
	var s string
	switch v := x.(type) {
	case *charts.Chart:
		s = fmt.Sprintf("[chart %q: charts are drawn in notebooks, or written to a page with charts.WriteHTML]", v.Title())
	case Texter:
		s = v.Text()
	case map[string]float64:
		s = MetricsTable("", v).Text()
	case error:
		s = "Error: " + v.Error()
	default:
		if sum := trainlibSummary(x); sum != nil {
			s = sum.Text()
		} else {
			s = fmt.Sprintf("%v", x)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	_, _ = io.WriteString(w, s)
}
