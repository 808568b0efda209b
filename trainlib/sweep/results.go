package sweep

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Status is how a run of a sweep stands.
type Status string

// The run statuses.
const (
	StatusPending         Status = "pending"          // not started (or its process died before its first checkpoint)
	StatusRunning         Status = "running"          // being trained by some process
	StatusFinished        Status = "finished"         // trained to max_steps
	StatusEarlyTerminated Status = "early_terminated" // stopped by early_terminate (hyperband)
	StatusFailed          Status = "failed"           // diverged, ran out of memory or errored: Reason says why
	StatusSkipped         Status = "skipped"          // not run: an earlier run reached metric.target
)

// Ended reports whether the run will not change any more.
func (s Status) Ended() bool {
	return s == StatusFinished || s == StatusEarlyTerminated || s == StatusFailed || s == StatusSkipped
}

// Row is one run of a sweep in the results table.
type Row struct {
	Run    string         `json:"run"`   // run id, its folder under output_dir/runs/
	Index  int            `json:"index"` // 0-based
	Params map[string]any `json:"params"`
	Status Status         `json:"status"`
	Reason string         `json:"reason,omitempty"` // why it failed, was stopped or skipped
	// FinalMetric is the last logged value of the sweep's metric, BestMetric the best (goal-wise) and
	// BestStep the optimizer step it was logged at; nil when the run logged none.
	FinalMetric *float64 `json:"final_metric"`
	BestMetric  *float64 `json:"best_metric"`
	BestStep    *int     `json:"best_step"`
	// Steps done and planned (max_steps).
	Steps    int `json:"steps"`
	MaxSteps int `json:"max_steps"`
	// TrainLoss is the run's average training loss (TrainOutput.TrainingLoss), when it ended training.
	TrainLoss *float64 `json:"train_loss"`
	// WallSeconds is the run's training time (train_runtime, over all its resumptions).
	WallSeconds float64 `json:"wall_seconds"`
	// History is the metric's finite values in log order (the hyperband iterations), and
	// HistorySteps their optimizer steps.
	History      []float64 `json:"metric_history"`
	HistorySteps []int     `json:"metric_history_steps"`
}

// Results is a sweep's table: one row per run, and the best run.
type Results struct {
	Name       string   `json:"name,omitempty"`
	Method     Method   `json:"method"`
	Metric     string   `json:"metric"`
	Goal       Goal     `json:"goal"`
	Parameters []string `json:"parameters"`
	Rows       []Row    `json:"runs"`
	// Best is the run id of the best run: the best final metric among the finished and
	// early-terminated runs (ties: the lower index); "" when none has a metric.
	Best string `json:"best"`
}

// PickBest sets Best from the rows.
func (r *Results) PickBest() {
	m := Metric{Name: r.Metric, Goal: r.Goal}
	r.Best = ""
	var best float64
	for _, row := range r.Rows {
		if (row.Status != StatusFinished && row.Status != StatusEarlyTerminated) || row.FinalMetric == nil {
			continue
		}
		if r.Best == "" || m.Better(*row.FinalMetric, best) {
			r.Best, best = row.Run, *row.FinalMetric
		}
	}
}

// BestRow returns the best run's row, or nil.
func (r *Results) BestRow() *Row {
	for i := range r.Rows {
		if r.Rows[i].Run == r.Best && r.Best != "" {
			return &r.Rows[i]
		}
	}
	return nil
}

// WriteJSON writes the table as indented JSON.
func (r *Results) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Columns returns the table's header: run, the parameters, then the outcome (see WriteCSV).
func (r *Results) Columns() []string {
	cols := append([]string{"run"}, r.Parameters...)
	return append(cols, "status", "final_"+r.Metric, "best_"+r.Metric, "best_step", "steps", "train_loss", "wall_seconds", "best", "reason")
}

// Values returns a row's cells under Columns: parameter values as decoded, numbers as float64 or int
// (a missing metric is ""), and text.
func (r *Results) Values(row Row) []any {
	v := []any{row.Run}
	for _, p := range r.Parameters {
		v = append(v, row.Params[p])
	}
	opt := func(x *float64) any {
		if x == nil {
			return ""
		}
		return *x
	}
	var step any = ""
	if row.BestStep != nil {
		step = *row.BestStep
	}
	best := ""
	if row.Run == r.Best {
		best = "*"
	}
	return append(v, string(row.Status), opt(row.FinalMetric), opt(row.BestMetric), step,
		fmt.Sprintf("%d/%d", row.Steps, row.MaxSteps), opt(row.TrainLoss), math.Round(row.WallSeconds*100)/100, best, row.Reason)
}

// Cells renders a row under Columns, numbers in Go's shortest round-trip form (FormatValue).
func (r *Results) Cells(row Row) []string {
	vals := r.Values(row)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = FormatValue(v)
	}
	return out
}

// WriteCSV writes the table as CSV: run, one column per parameter, status, final and best metric,
// best step, steps (done/max), train loss, wall seconds, a "*" on the best run, the reason.
func (r *Results) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns()); err != nil {
		return err
	}
	for _, row := range r.Rows {
		if err := cw.Write(r.Cells(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Label names a run's parameters for legends and progress lines: "learning_rate=1e-05
// per_device_train_batch_size=16", each name shortened to its last dotted part ("loss.scale" →
// "scale") unless that is ambiguous among names.
func Label(params map[string]any, names []string) string {
	short := map[string]int{}
	for _, n := range names {
		short[n[strings.LastIndex(n, ".")+1:]]++
	}
	parts := make([]string, 0, len(names))
	for _, n := range names {
		v, ok := params[n]
		if !ok {
			continue
		}
		s := n[strings.LastIndex(n, ".")+1:]
		if short[s] > 1 {
			s = n
		}
		parts = append(parts, s+"="+FormatValue(v))
	}
	return strings.Join(parts, " ")
}

// FormatValue renders a parameter value for tables and run labels: numbers in their shortest form,
// strings as they are, anything else as JSON.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
