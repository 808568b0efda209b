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
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// AttachSweepProgress attaches the live view of a hyperparameter sweep to s, as AttachProgress does
// for a trainer: the view observes the sweep through a trainlib.SweepCallback.
//
// In a GoNB notebook the cell shows a progress bar of the run in training (which run of how many, its
// parameters, its step), the training loss of every run overlaid in one chart and — when the sweep's
// metric is evaluated — the metric of every run in another, both redrawn in place at every log, and
// the results table (SweepTable), updated when each run ends. The last redraw, when the sweep ends,
// stays in the saved notebook, and the sweep's own log lines are silenced (Sweep.SetLog). In a terminal
// a line is printed at each new value of the sweep's metric, on stderr (see WithWriter), next to the
// line per run that the sweep itself prints.
//
//	s, err := trainlib.LoadSweep("sweep.yaml")
//	display.AttachSweepProgress(s)
//	results, err := s.Run(ctx)
func AttachSweepProgress(s *trainlib.Sweep, opts ...ProgressOption) {
	fe := notebookFrontend()
	if fe != nil {
		s.SetLog(nil) // The view shows what the log lines say; a cell's stderr is for errors.
	}
	s.SetProgress(&sweepProgress{fe: fe, opts: opts, now: time.Now, runs: map[string]*sweepRunView{}})
}

// SweepTable returns a sweep's results table: run, parameters, status, final and best metric, steps,
// training loss, time, with "*" on the best run (the columns of results.csv).
func SweepTable(r *sweep.Results) *Table {
	title := fmt.Sprintf("Sweep results: %d runs, %s %s", len(r.Rows), r.Goal, r.Metric)
	if b := r.BestRow(); b != nil {
		title += fmt.Sprintf(" — best %s (%s)", b.Run, sweep.Label(b.Params, r.Parameters))
	}
	t := NewTable(title, r.Columns()...)
	t.MaxCellRunes = 120
	for _, row := range r.Rows {
		_ = t.AddRow(r.Values(row)...) // as many values as columns
	}
	return t
}

// sweepRunView is what the view keeps of one run.
type sweepRunView struct {
	label   string
	index   int
	history charts.LogHistory
}

// sweepProgress draws the sweep view (see AttachSweepProgress).
type sweepProgress struct {
	trainlib.BaseSweepCallback
	fe   frontend // nil: terminal
	opts []ProgressOption
	now  func() time.Time

	mu       sync.Mutex
	ids      [3]string // bar, charts, table
	chartErr error
	total    int // runs of the sweep
	maxSteps int
	metric   string
	runs     map[string]*sweepRunView
	current  *trainlib.SweepRunInfo
	step     int
	table    *Table
	ended    int // runs that ended
	lastDraw time.Time
	w        io.Writer // terminal output (WithWriter; default os.Stderr)
}

func (p *sweepProgress) OnSweepBegin(s *trainlib.Sweep, _ []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = s.NumRuns()
	p.metric, _ = metricOf(s)
	if p.fe == nil {
		return
	}
	p.chartErr = ensureECharts(p.fe)
	for i := range p.ids {
		p.ids[i] = p.fe.newID()
	}
	p.setTable(s.Results())
	p.draw(true)
}

// setTable updates the results table and the count of ended runs.
func (p *sweepProgress) setTable(res *sweep.Results) {
	p.table = SweepTable(res)
	p.ended = 0
	for _, r := range res.Rows {
		if r.Status.Ended() {
			p.ended++
		}
	}
}

// metricOf is the sweep's metric as its results name it.
func metricOf(s *trainlib.Sweep) (string, sweep.Goal) {
	r := s.Results()
	return r.Metric, r.Goal
}

func (p *sweepProgress) OnRunBegin(s *trainlib.Sweep, run trainlib.SweepRunInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current, p.step = &run, 0
	p.maxSteps = max(p.maxSteps, run.MaxSteps)
	p.runs[run.ID] = &sweepRunView{label: run.Label, index: run.Index}
	if p.fe == nil {
		return
	}
	p.draw(true)
}

func (p *sweepProgress) OnRunLog(s *trainlib.Sweep, run trainlib.SweepRunInfo, entry map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.runs[run.ID]
	if v == nil {
		return
	}
	v.history = append(v.history, maps.Clone(entry))
	if st, ok := entry["step"]; ok {
		p.step = int(st)
	}
	if p.metric == "" {
		p.metric, _ = metricOf(s)
	}
	if p.fe == nil {
		p.termLine(run, entry)
		return
	}
	// Logs come every logging_steps; redraw at most twice a second, and always at evaluations.
	_, eval := entry[p.metric]
	if !eval && p.now().Sub(p.lastDraw) < 500*time.Millisecond {
		return
	}
	p.draw(true)
}

func (p *sweepProgress) OnRunEnd(s *trainlib.Sweep, row sweep.Row, history []map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.runs[row.Run]
	if v == nil {
		v = &sweepRunView{label: row.Run + " " + sweep.Label(row.Params, s.Spec.ParameterNames()), index: row.Index}
		p.runs[row.Run] = v
	}
	if history != nil {
		v.history = history
	}
	if st := row.MaxSteps; st > p.maxSteps {
		p.maxSteps = st
	}
	res := s.Results()
	p.metric = res.Metric
	if p.fe == nil {
		return
	}
	if p.current != nil && p.current.ID == row.Run {
		p.current = nil
	}
	p.setTable(res)
	p.draw(true)
}

func (p *sweepProgress) OnSweepEnd(s *trainlib.Sweep, res *sweep.Results) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fe == nil {
		return
	}
	p.current = nil
	p.metric = res.Metric
	p.setTable(res)
	p.draw(true)
	p.fe.sync()
}

// termLine prints a line for each new value of the metric (terminal mode).
func (p *sweepProgress) termLine(run trainlib.SweepRunInfo, entry map[string]float64) {
	key := p.metric
	v, ok := entry[key]
	if !ok {
		key = "eval_" + p.metric
		if v, ok = entry[key]; !ok {
			return
		}
	}
	if p.w == nil {
		cfg := TrainingProgress{w: os.Stderr}
		for _, o := range p.opts {
			o(&cfg)
		}
		p.w = cfg.w
	}
	fmt.Fprintf(p.w, "  %s step %d/%d: %s %s\n", run.ID, int(entry["step"]), run.MaxSteps, key, formatCell(v))
}

// draw redraws the bar, and the charts and table when all is set.
func (p *sweepProgress) draw(all bool) {
	p.lastDraw = p.now()
	p.fe.update(p.ids[0], p.barHTML())
	if all {
		p.fe.update(p.ids[1], p.chartsHTML())
		if p.table != nil {
			p.fe.update(p.ids[2], p.table.HTML())
		}
	}
}

// barHTML shows which run trains and how far it is.
func (p *sweepProgress) barHTML() string {
	ended := p.ended
	var b strings.Builder
	b.WriteString(`<div class="embedtune-progress">`)
	fmt.Fprintf(&b, `<b>Sweep</b> <progress value='%d' max='%d' style='width:200px; height:20px; vertical-align: middle;'></progress> %d of %d runs ended`,
		ended, max(p.total, 1), ended, p.total)
	if c := p.current; c != nil {
		fmt.Fprintf(&b, ` — training <b>%s</b> <progress value='%d' max='%d' style='width:150px; height:16px; vertical-align: middle;'></progress> step %d/%d`,
			html.EscapeString(c.Label), p.step, max(c.MaxSteps, 1), p.step, c.MaxSteps)
	}
	b.WriteString("</div>")
	return b.String()
}

// chartsHTML draws the overlaid training loss and metric of the runs that logged them.
func (p *sweepProgress) chartsHTML() string {
	if p.chartErr != nil {
		return charts.MissingLibraryHTML(p.chartErr)
	}
	names := slices.SortedFunc(maps.Keys(p.runs), func(a, b string) int { return p.runs[a].index - p.runs[b].index })
	keys := []string{"loss"}
	if p.metric != "" && p.metric != "loss" {
		keys = append(keys, p.metric, "eval_"+p.metric)
	}
	var out strings.Builder
	drawn := 0
	for _, key := range keys {
		if drawn == 2 {
			break
		}
		var runs []charts.Run
		for _, n := range names {
			v := p.runs[n]
			if pts, err := charts.Series(v.history, key); err == nil && hasFinite(pts) {
				runs = append(runs, charts.Run{Name: v.label, History: v.history})
			}
		}
		if len(runs) == 0 {
			continue
		}
		title := "Training loss by run"
		if key != "loss" {
			title = charts.MetricLabel("x_"+strings.TrimPrefix(key, "eval_")) + " by run"
		}
		c, err := charts.Runs(key, runs, charts.WithTitle(title), charts.WithAnimation(false), charts.WithMaxStep(p.maxSteps),
			charts.WithSize("900px", "360px"))
		if err != nil {
			out.WriteString(errorHTML(err))
			continue
		}
		out.WriteString(c.HTML())
		drawn++
	}
	return out.String()
}

// hasFinite reports whether some point has a finite value.
func hasFinite(pts []charts.Point) bool {
	for _, pt := range pts {
		if !math.IsNaN(pt.Value) && !math.IsInf(pt.Value, 0) {
			return true
		}
	}
	return false
}

// SweepCharts returns the charts of a sweep's results (what `embedtune sweep` writes to sweep.html):
// every run's training loss overlaid, every run's metric overlaid (when it is evaluated), the metric
// against each parameter, and a parallel-coordinates chart of the parameters and the metric.
func SweepCharts(s *trainlib.Sweep, res *sweep.Results) ([]*charts.Chart, error) {
	var out []*charts.Chart
	var runs []charts.Run
	for _, row := range res.Rows {
		if h := s.RunLogHistory(row.Index); len(h) > 0 {
			runs = append(runs, charts.Run{Name: row.Run + " " + sweep.Label(row.Params, res.Parameters), History: h})
		}
	}
	metricKey := res.Metric
	for _, key := range []string{"loss", res.Metric, "eval_" + res.Metric} {
		var with []charts.Run
		for _, r := range runs {
			if pts, err := charts.Series(r.History, key); err == nil && hasFinite(pts) {
				with = append(with, r)
			}
		}
		if len(with) == 0 || (key != "loss" && len(out) == 2) {
			continue
		}
		title := "Training loss by run"
		if key != "loss" {
			title = charts.MetricLabel("x_"+strings.TrimPrefix(key, "eval_")) + " by run"
			metricKey = key
		}
		c, err := charts.Runs(key, with, charts.WithTitle(title))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	names := make([]string, len(res.Rows))
	metric := make([]float64, len(res.Rows))
	values := make([][]any, len(res.Rows))
	for i, row := range res.Rows {
		names[i] = row.Run
		metric[i] = math.NaN()
		if row.FinalMetric != nil {
			metric[i] = *row.FinalMetric
		}
		for _, p := range res.Parameters {
			values[i] = append(values[i], row.Params[p])
		}
	}
	for k, p := range res.Parameters {
		col := make([]any, len(values))
		for i := range values {
			col[i] = values[i][k]
		}
		c, err := charts.MetricVsParameter(p, metricKey, names, col, metric)
		if err != nil {
			continue // no run has a metric yet
		}
		out = append(out, c)
	}
	if len(res.Parameters) > 0 {
		c, err := charts.Parallel(res.Parameters, metricKey, names, values, metric)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
