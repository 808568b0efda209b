package display

import (
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/internal/pyfmt"
)

// ProgressOption configures a TrainingProgress.
type ProgressOption func(*TrainingProgress)

// WithTitle shows a title before the progress bar.
func WithTitle(title string) ProgressOption { return func(p *TrainingProgress) { p.title = title } }

// WithEvaluation says whether the run evaluates (eval_strategy other than "no"). As in transformers'
// NotebookProgressCallback, the table then has a Validation Loss column and one row per evaluation (with the
// latest training loss); without evaluation it has one row per logged training loss. When not given, the
// table starts without evaluation and switches at the first "eval_loss" or metric it receives.
func WithEvaluation(on bool) ProgressOption {
	return func(p *TrainingProgress) { p.eval, p.evalSet = on, true }
}

// WithEpochColumn labels table rows by epoch instead of step (eval_strategy "epoch"), as transformers does.
func WithEpochColumn() ProgressOption { return func(p *TrainingProgress) { p.epochColumn = true } }

// WithMetricOrder sets the order of the metric columns: the columns of these keys ("eval_<name>", e.g. in
// the order the evaluator returns them) come first, in this order; other metrics follow in natural order.
func WithMetricOrder(keys ...string) ProgressOption {
	return func(p *TrainingProgress) { p.metricOrder = append([]string(nil), keys...) }
}

// WithoutChart leaves out the live loss chart.
func WithoutChart() ProgressOption { return func(p *TrainingProgress) { p.noChart = true } }

// WithWriter sets where the terminal fallback writes (default os.Stderr). It is not used in notebooks.
func WithWriter(w io.Writer) ProgressOption { return func(p *TrainingProgress) { p.w = w } }

// WithRefreshInterval sets the minimum time between two redraws of the progress bar between logging steps
// (default 200ms, as transformers' update_every). Logging steps and Finish always redraw.
func WithRefreshInterval(d time.Duration) ProgressOption {
	return func(p *TrainingProgress) { p.interval = d }
}

// TrainingProgress shows a training run's progress: in a notebook an HTML progress bar, the log table
// (Step | Training Loss | Validation Loss | metrics) and a live loss chart, refreshed in place; in a
// terminal a text progress bar and one line per table row. It is safe for concurrent use.
type TrainingProgress struct {
	title       string
	eval        bool
	evalSet     bool
	epochColumn bool
	noChart     bool
	metricOrder []string
	interval    time.Duration
	w           io.Writer
	now         func() time.Time

	mu       sync.Mutex
	fe       frontend // nil: terminal
	barID    string
	logID    string
	chartErr error // set when the echarts library could not be displayed

	total     int
	step      int
	epoch     float64
	hasEpoch  bool
	started   bool
	startStep int
	startTime time.Time
	lastDraw  time.Time
	finished  bool

	history    charts.LogHistory
	columns    []string // metric column labels after Step / Training Loss / Validation Loss
	columnKeys []string // their log keys
	rows       []progressRow
	lastLoss   float64
	hasLoss    bool
	final      map[string]float64 // the end-of-training entry (train_runtime, ...)

	term terminalState
}

// progressRow is one row of the log table.
type progressRow struct {
	key     float64 // step, or epoch with WithEpochColumn
	loss    float64
	hasLoss bool
	val     float64
	hasVal  bool
	metrics map[string]float64 // by column label
}

// NewTrainingProgress starts the progress view of a run of totalSteps optimizer steps (0 or less: unknown)
// and shows it right away: in a notebook its outputs are created in the current cell (after the echarts
// library, if this kernel session has not displayed it yet).
func NewTrainingProgress(totalSteps int, opts ...ProgressOption) *TrainingProgress {
	return newTrainingProgress(notebookFrontend(), time.Now, totalSteps, opts...)
}

func newTrainingProgress(fe frontend, now func() time.Time, totalSteps int, opts ...ProgressOption) *TrainingProgress {
	p := &TrainingProgress{
		fe:       fe,
		now:      now,
		total:    max(totalSteps, 0),
		interval: 200 * time.Millisecond,
		w:        os.Stderr,
	}
	for _, o := range opts {
		o(p)
	}
	p.startTime = p.now()
	if p.fe != nil {
		if !p.noChart {
			p.chartErr = ensureECharts(p.fe)
		}
		p.barID, p.logID = p.fe.newID(), p.fe.newID()
		p.fe.update(p.barID, p.barHTML())
		p.fe.update(p.logID, p.logHTML())
	} else {
		p.term.init(p.w)
	}
	return p
}

// Update records that optimizer step `step` finished and, when entry is not nil, that it logged entry (a log
// history entry; its "step" defaults to step). The bar is redrawn at most every refresh interval, the table
// and chart at every entry.
func (p *TrainingProgress) Update(step int, entry map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.setStep(step)
	logged := false
	if entry != nil {
		logged = p.addEntry(entry)
	}
	now := p.now()
	if entry == nil && now.Sub(p.lastDraw) < p.interval && step != p.total {
		return
	}
	p.lastDraw = now
	p.draw(logged)
}

// Log records a log history entry at its "step" (or at the current step if it has none) and redraws.
func (p *TrainingProgress) Log(entry map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished || entry == nil {
		return
	}
	if s, ok := entry["step"]; ok && s >= 0 && s == math.Trunc(s) && s <= math.MaxInt32 {
		p.setStep(int(s))
	}
	logged := p.addEntry(entry)
	p.lastDraw = p.now()
	p.draw(logged)
}

// Finish draws the final state — complete bar, table, chart and the end-of-training summary if one was
// logged — and, in a notebook, waits until GoNB has shown it, so that it is what the saved notebook keeps.
// Later calls do nothing.
func (p *TrainingProgress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	p.draw(true)
	if p.fe != nil {
		p.fe.sync()
	} else {
		p.term.finish(p)
	}
}

// History returns a copy of the entries logged so far.
func (p *TrainingProgress) History() charts.LogHistory {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := make(charts.LogHistory, len(p.history))
	for i, e := range p.history {
		h[i] = maps.Clone(e)
	}
	return h
}

// HTML returns the current view (bar, table, chart) as one HTML fragment. The chart part needs the echarts
// library on the page (see LoadECharts).
func (p *TrainingProgress) HTML() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.barHTML() + p.logHTML()
}

// Text returns the current view as text: the progress line and the table.
func (p *TrainingProgress) Text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.barText() + "\n" + p.table().Text()
}

func (p *TrainingProgress) setStep(step int) {
	if !p.started {
		p.started = true
		p.startStep = step
		p.startTime = p.now()
	}
	p.step = step
}

// addEntry stores a copy of entry and updates the table; it reports whether the table changed.
func (p *TrainingProgress) addEntry(entry map[string]float64) bool {
	e := maps.Clone(entry)
	if _, ok := e["step"]; !ok {
		e["step"] = float64(p.step)
	}
	p.history = append(p.history, e)
	if ep, ok := e["epoch"]; ok {
		p.epoch, p.hasEpoch = ep, true
	}
	if _, ok := e["train_runtime"]; ok {
		p.final = e
		return true
	}
	key := e["step"]
	if p.epochColumn {
		key = math.Trunc(e["epoch"])
	}
	if l, ok := e["loss"]; ok {
		p.lastLoss, p.hasLoss = l, true
	}
	evalKeys := charts.MetricKeys(charts.LogHistory{e})
	vl, hasVal := e["eval_loss"]
	isEval := hasVal || len(evalKeys) > 0
	if isEval && !p.eval {
		if !p.evalSet {
			// First evaluation of a run whose strategy was not given: switch to evaluation rows.
			p.eval = true
			p.rows = nil
		}
	}
	switch {
	case p.eval && isEval:
		r := progressRow{key: key, loss: p.lastLoss, hasLoss: p.hasLoss, val: vl, hasVal: hasVal,
			metrics: map[string]float64{}}
		for _, k := range evalKeys {
			r.metrics[charts.MetricLabel(k)] = e[k]
			p.addColumn(k)
		}
		p.rows = append(p.rows, r)
		return true
	case !p.eval && !isEval:
		if l, ok := e["loss"]; ok {
			p.rows = append(p.rows, progressRow{key: key, loss: l, hasLoss: true})
			return true
		}
	}
	// Entries that add no row (a training loss between evaluations) still change the chart.
	_, hasLoss := e["loss"]
	return hasLoss
}

// addColumn adds a metric column (by log key) if new, keeping the WithMetricOrder keys first, in that
// order, and the others after them in order of appearance.
func (p *TrainingProgress) addColumn(key string) {
	label := charts.MetricLabel(key)
	if slices.Contains(p.columns, label) {
		return
	}
	rank := func(k string) int {
		if i := slices.Index(p.metricOrder, k); i >= 0 {
			return i
		}
		return len(p.metricOrder)
	}
	r := rank(key)
	at := len(p.columns)
	for i, k := range p.columnKeys {
		if rank(k) > r {
			at = i
			break
		}
	}
	p.columns = slices.Insert(p.columns, at, label)
	p.columnKeys = slices.Insert(p.columnKeys, at, key)
}

// table builds the log table: first column Step (or Epoch), Training Loss, Validation Loss when evaluating,
// then the metrics; floats with 6 decimals and "No log" for missing values, as transformers shows them.
func (p *TrainingProgress) table() *Table {
	first := "Step"
	if p.epochColumn {
		first = "Epoch"
	}
	cols := []string{first, "Training Loss"}
	if p.eval {
		cols = append(cols, "Validation Loss")
	}
	cols = append(cols, p.columns...)
	t := NewTable("", cols...)
	for _, r := range p.rows {
		row := []string{fmt.Sprintf("%d", int64(r.key)), logValue(r.loss, r.hasLoss)}
		if p.eval {
			row = append(row, logValue(r.val, r.hasVal))
		}
		for _, c := range p.columns {
			v, ok := r.metrics[c]
			row = append(row, logValue(v, ok))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func logValue(v float64, ok bool) string {
	if !ok {
		return "No log"
	}
	return pyfmt.Fixed(v, 6) // transformers writes f"{v:.6f}", so nan, inf and -inf as Python spells them
}

// draw redraws the view; logged says whether the table/chart changed.
func (p *TrainingProgress) draw(logged bool) {
	if p.fe != nil {
		p.fe.update(p.barID, p.barHTML())
		if logged {
			p.fe.update(p.logID, p.logHTML())
		}
		return
	}
	p.term.draw(p, logged)
}

// barLabel is transformers' NotebookProgressBar label, "[ 120/332 00:35 < 01:02, 3.41 it/s, Epoch 0.36]":
// the rate and the remaining time are measured from the first update (step and time), the remaining time
// is dropped once the last step is reached, and before the second update there is no timing (" : < :").
func (p *TrainingProgress) barLabel() string {
	var b strings.Builder
	b.WriteString("[")
	if p.total > 0 {
		w := len(fmt.Sprint(p.total))
		fmt.Fprintf(&b, "%*d/%d", w, p.step, p.total)
	} else {
		fmt.Fprintf(&b, "%d", p.step)
	}
	elapsed := p.now().Sub(p.startTime)
	done := p.step - p.startStep
	switch {
	case !p.started || (done == 0 && !p.finished):
		b.WriteString(" : < :")
	case p.finished || done < 0 || (p.total > 0 && p.step >= p.total):
		b.WriteString(" " + formatDuration(elapsed))
	case elapsed <= 0:
		b.WriteString(" " + formatDuration(0) + " < " + formatDuration(0) + ", +inf it/s")
	case p.total <= 0:
		fmt.Fprintf(&b, " %s, %.2f it/s", formatDuration(elapsed), float64(done)/elapsed.Seconds())
	default:
		perStep := elapsed.Seconds() / float64(done)
		remaining := time.Duration(perStep * float64(p.total-p.step) * float64(time.Second))
		fmt.Fprintf(&b, " %s < %s, %.2f it/s", formatDuration(elapsed), formatDuration(remaining), 1/perStep)
	}
	if p.hasEpoch {
		fmt.Fprintf(&b, ", Epoch %.2f", p.epoch)
	}
	b.WriteString("]")
	return b.String()
}

func (p *TrainingProgress) barHTML() string {
	var b strings.Builder
	b.WriteString(`<div class="embedtune-progress">`)
	if p.title != "" {
		fmt.Fprintf(&b, "<b>%s</b> ", html.EscapeString(p.title))
	}
	if p.total > 0 {
		fmt.Fprintf(&b, `<progress value='%d' max='%d' style='width:300px; height:20px; vertical-align: middle;'></progress>`,
			min(p.step, p.total), p.total)
	} else {
		b.WriteString(`<progress style='width:300px; height:20px; vertical-align: middle;'></progress>`)
	}
	b.WriteString(" " + html.EscapeString(p.barLabel()) + "</div>")
	return b.String()
}

// logHTML is the table, the end-of-training summary and the loss chart.
func (p *TrainingProgress) logHTML() string {
	var b strings.Builder
	b.WriteString(`<div class="embedtune-training-log">`)
	b.WriteString(p.table().HTML())
	if s := p.finalSummary(); s != "" {
		fmt.Fprintf(&b, `<p style="font:13px sans-serif;">%s</p>`, html.EscapeString(s))
	}
	if !p.noChart {
		b.WriteString(p.chartHTML())
	}
	b.WriteString("</div>")
	return b.String()
}

func (p *TrainingProgress) chartHTML() string {
	if p.chartErr != nil {
		return charts.MissingLibraryHTML(p.chartErr)
	}
	c, err := charts.Loss(p.history, charts.WithTitle("Loss"), charts.WithAnimation(false),
		charts.WithSize("900px", "320px"), charts.WithMaxStep(p.total))
	if err != nil {
		// No loss logged yet: nothing to draw.
		return `<div class="embedtune-chart-pending" style="font:13px sans-serif;color:#777;">` +
			`The loss chart appears at the first logging step.</div>`
	}
	return c.HTML()
}

// finalSummary describes the end-of-training entry, if one was logged.
func (p *TrainingProgress) finalSummary() string {
	if p.final == nil {
		return ""
	}
	parts := []string{fmt.Sprintf("Training finished in %s", formatDuration(time.Duration(p.final["train_runtime"]*float64(time.Second))))}
	for _, k := range []struct{ key, name string }{
		{"train_loss", "training loss"},
		{"train_steps_per_second", "steps/s"},
		{"train_samples_per_second", "samples/s"},
	} {
		if v, ok := p.final[k.key]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", k.name, formatFloat(v)))
		}
	}
	return strings.Join(parts, ", ")
}
