package trainlib

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/internal/lockfile"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// Files of a run's folder written by the sweep.
const (
	runRecordFile   = "sweep_run.json"      // the run's row, once it ended
	runProgressFile = "sweep_progress.json" // its parameters and metric so far, while it trains
)

// runRecord is a run's sweep_run.json: its row and the metric the row measures.
type runRecord struct {
	sweep.Row
	Metric string     `json:"metric"`
	Goal   sweep.Goal `json:"goal"`
}

// runProgress is a run's sweep_progress.json, read by processes whose runs depend on it.
type runProgress struct {
	Params  map[string]any `json:"params"`
	Metric  string         `json:"metric"`
	History []float64      `json:"metric_history"`
}

// readJSON decodes path into v; ok is false when it is missing or unreadable.
func readJSONOK(path string, v any) bool {
	data, err := os.ReadFile(path)
	return err == nil && json.Unmarshal(data, v) == nil
}

// writeJSON writes v atomically.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicio.WriteFile(path, append(data, '\n'), 0o644)
}

// readRecord returns run i's record, or nil when the run has none or an unreadable one (then the run
// counts as not ended: running the sweep resumes it from its newest checkpoint, and ends with the same
// row).
func (s *Sweep) readRecord(i int) *runRecord {
	var r runRecord
	if !readJSONOK(filepath.Join(s.runDir(i), runRecordFile), &r) || r.Run != s.RunID(i) || !r.Status.Ended() {
		return nil
	}
	return &r
}

// readProgress returns run i's progress file, or nil.
func (s *Sweep) readProgress(i int) *runProgress {
	var p runProgress
	if !readJSONOK(filepath.Join(s.runDir(i), runProgressFile), &p) {
		return nil
	}
	return &p
}

// RunLogHistory returns the log history run i saved (its trainer_state.json), or nil before it ended.
func (s *Sweep) RunLogHistory(i int) []map[string]float64 {
	var st TrainerState
	if !readJSONOK(filepath.Join(s.runDir(i), trainerStateFile), &st) {
		return nil
	}
	return st.LogHistory
}

// runOne trains run i unless it has ended, and reports whether it has ended. A run another process
// holds is skipped (false) unless wait is set: then its lock is waited for, and the run taken over
// if that process died before ending it.
func (s *Sweep) runOne(ctx context.Context, i int, wait bool) (bool, error) {
	if rec := s.readRecord(i); rec != nil {
		s.notifyEnded(i, rec)
		return true, nil
	}
	if err := os.MkdirAll(filepath.Join(s.OutputDir, "runs"), 0o755); err != nil {
		return false, err
	}
	lock := filepath.Join(s.OutputDir, "runs", "."+s.RunID(i)+".lock")
	unlock, err := lockfile.TryLock(lock)
	if held, ok := errors.AsType[*lockfile.HeldError](err); ok {
		if !wait {
			s.logf("%s is being trained by process %d: going on with the next run", s.RunID(i), held.PID)
			return false, nil
		}
		s.logf("%s is being trained by process %d: waiting for it", s.RunID(i), held.PID)
		unlock, err = lockfile.Lock(ctx, lock)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("%w: %v", ErrSweepInterrupted, err)
		}
		return false, err
	}
	defer unlock()
	if rec := s.readRecord(i); rec != nil { // Ended while we waited for the lock.
		s.notifyEnded(i, rec)
		return true, nil
	}
	rec, hist, err := s.train(ctx, i)
	if err != nil {
		return false, err
	}
	if err := writeJSON(filepath.Join(s.runDir(i), runRecordFile), rec); err != nil {
		return false, fmt.Errorf("%s: writing its record: %w", s.RunID(i), err)
	}
	s.logf("%s", s.progressLine(rec))
	for _, cb := range s.callbacks() {
		cb.OnRunEnd(s, rec.Row, hist)
	}
	return true, nil
}

// notifyEnded tells the callbacks about a run that had already ended.
func (s *Sweep) notifyEnded(i int, rec *runRecord) {
	cbs := s.callbacks()
	if len(cbs) == 0 {
		return
	}
	hist := s.RunLogHistory(i)
	for _, cb := range cbs {
		cb.OnRunEnd(s, rec.Row, hist)
	}
}

// progressLine is the one-line summary of a run that ended.
func (s *Sweep) progressLine(rec *runRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d/%d] %s %s: %s", rec.Index+1, s.NumRuns(), rec.Run, sweep.Label(rec.Params, s.Spec.ParameterNames()), rec.Status)
	if rec.FinalMetric != nil {
		fmt.Fprintf(&b, ", %s %.6g (best %.6g at step %d)", rec.Metric, *rec.FinalMetric, *rec.BestMetric, *rec.BestStep)
	}
	fmt.Fprintf(&b, ", %d/%d steps, %.1f s", rec.Steps, rec.MaxSteps, rec.WallSeconds)
	if rec.Reason != "" && rec.Status != sweep.StatusFinished {
		fmt.Fprintf(&b, " — %s", rec.Reason)
	}
	return b.String()
}

// params returns run i's parameters; a Bayesian suggestion waits for runs 0..i-1 to end.
func (s *Sweep) params(ctx context.Context, i int) (map[string]any, error) {
	if s.Spec.Method != sweep.Bayes {
		return s.Spec.Suggest(i, nil)
	}
	if err := s.waitEarlier(ctx, i, "end", func(rec *runRecord, _ *runProgress) bool { return rec != nil }); err != nil {
		return nil, err
	}
	obs := make([]sweep.Observation, i)
	for j := range obs {
		rec := s.readRecord(j)
		obs[j] = sweep.Observation{Params: rec.Params, Status: rec.Status, History: rec.History}
	}
	return s.Spec.Suggest(i, obs)
}

// waitEarlier waits until ready holds for every run j < i (given its record, or nil, and its progress
// file, or nil), polling the shared folder; what describes the condition for the log.
func (s *Sweep) waitEarlier(ctx context.Context, i int, what string, ready func(*runRecord, *runProgress) bool) error {
	told := map[int]bool{}
	for j := 0; j < i; {
		if rec := s.readRecord(j); ready(rec, s.readProgress(j)) {
			j++
			continue
		}
		if !told[j] {
			told[j] = true
			s.logf("%s waits for %s to %s (it is compared with the runs before it)", s.RunID(i), s.RunID(j), what)
		}
		t := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w while %s waited for %s: %v", ErrSweepInterrupted, s.RunID(i), s.RunID(j), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// metric returns the metric rows measure: the spec's, or by default the evaluator's primary metric
// (maximized), else eval_loss when there is an eval dataset, else the training loss (both minimized).
// primary is the evaluator's primary metric key once known ("" before the first evaluation).
func (s *Sweep) metric(primary string) (string, sweep.Goal) {
	switch {
	case s.Spec.MetricSet:
		return s.Spec.Metric.Name, s.Spec.Metric.Goal
	case s.Base.Evaluator != nil:
		if primary == "" {
			return "", sweep.Maximize
		}
		return "eval_" + strings.TrimPrefix(primary, "eval_"), sweep.Maximize
	case s.Base.EvalDataset != nil:
		return "eval_loss", sweep.Minimize
	}
	return "loss", sweep.Minimize
}

// metricHistory returns the finite values of the metric in a log history (the key, or "eval_"+key)
// and their steps.
func metricHistory(h []map[string]float64, name string) (vals []float64, steps []int) {
	if name == "" {
		return nil, nil
	}
	for _, e := range h {
		v, ok := e[name]
		if !ok {
			v, ok = e["eval_"+name]
		}
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
			steps = append(steps, int(e["step"]))
		}
	}
	return vals, steps
}

// loadDataset loads a dataset once per sweep.
func (s *Sweep) loadDataset(spec DatasetSpec) (*datasets.Dataset, error) {
	key, _ := json.Marshal(spec)
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	if d, ok := s.data[string(key)]; ok {
		return d, nil
	}
	d, err := spec.Load()
	if err != nil {
		return nil, err
	}
	s.data[string(key)] = d
	return d, nil
}

// sweepRunCallback connects a run's trainer to the sweep.
type sweepRunCallback struct {
	BaseCallback
	s        *Sweep
	info     SweepRunInfo
	trainer  *Trainer
	progress string // the run's progress file
	metric   string
	logged   int // metric values written to the progress file
}

func (c *sweepRunCallback) OnTrainBegin(st *TrainerState, _ *TrainingArguments) {
	st.IsHyperParamSearch = true
	name := c.info.ID
	st.TrialName = &name
	st.TrialParams = c.info.Params
	c.info.MaxSteps = st.MaxSteps
	for _, cb := range c.s.callbacks() {
		cb.OnRunBegin(c.s, c.info)
		for _, e := range st.LogHistory { // A resumed run shows its earlier logs first.
			cb.OnRunLog(c.s, c.info, e)
		}
	}
	c.writeProgress(st)
}

func (c *sweepRunCallback) OnLog(st *TrainerState, _ *TrainingArguments, entry map[string]float64) {
	for _, cb := range c.s.callbacks() {
		cb.OnRunLog(c.s, c.info, entry)
	}
	c.writeProgress(st)
}

func (c *sweepRunCallback) OnEvaluate(st *TrainerState, _ *TrainingArguments, _ map[string]float64) {
	if c.metric == "" && c.trainer.Evaluator != nil {
		c.metric, _ = c.s.metric(c.trainer.Evaluator.PrimaryMetric())
	}
	c.writeProgress(st)
}

// writeProgress publishes the run's metric history when it grew (processes running later runs read
// it to compare their runs with this one).
func (c *sweepRunCallback) writeProgress(st *TrainerState) {
	h, _ := metricHistory(st.LogHistory, c.metric)
	if len(h) == c.logged && c.logged > 0 {
		return
	}
	c.logged = len(h)
	_ = writeJSON(c.progress, runProgress{Params: c.info.Params, Metric: c.metric, History: h})
}

// train trains run i and returns its record and log history; an error means the sweep cannot go on
// (it was interrupted) — a run that fails is a record with status failed.
func (s *Sweep) train(ctx context.Context, i int) (*runRecord, []map[string]float64, error) {
	id, dir := s.RunID(i), s.runDir(i)
	params, err := s.params(ctx, i)
	if err != nil {
		return nil, nil, err
	}
	name, goal := s.metric("")
	rec := &runRecord{Row: sweep.Row{Run: id, Index: i, Params: params}, Metric: name, Goal: goal}
	ended := func(status sweep.Status, reason string) (*runRecord, []map[string]float64, error) {
		rec.Status, rec.Reason = status, reason
		if rec.Metric == "" {
			rec.Metric, rec.Goal = s.metric("")
		}
		return rec, nil, nil
	}
	if t := s.Spec.Metric.Target; t != nil {
		if err := s.waitEarlier(ctx, i, "end", func(r *runRecord, _ *runProgress) bool { return r != nil }); err != nil {
			return nil, nil, err
		}
		for j := 0; j < i; j++ {
			if r := s.readRecord(j); r.FinalMetric != nil && s.Spec.Metric.Reached(*r.FinalMetric) {
				return ended(sweep.StatusSkipped, fmt.Sprintf("%s reached metric.target %g", r.Run, *t))
			}
		}
	}
	rc, err := s.runConfig(id, params)
	if err != nil {
		return ended(sweep.StatusFailed, err.Error())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	info := SweepRunInfo{ID: id, Index: i, Params: params, Label: id + " " + sweep.Label(params, s.Spec.ParameterNames())}
	cb := &sweepRunCallback{s: s, info: info, progress: filepath.Join(dir, runProgressFile), metric: name}
	modelOpts := append([]model.Option{model.WithLogger(s.logw)}, s.modelOpts...)
	tr, err := rc.newTrainer(s.loadDataset, s.logw, modelOpts, WithGraphCache(s.graphs), WithoutProgress(), WithCallbacks(cb))
	if err != nil {
		return ended(sweep.StatusFailed, err.Error())
	}
	cb.trainer = tr
	if tr.Evaluator != nil && tr.Evaluator.PrimaryMetric() != "" && name == "" {
		cb.metric, _ = s.metric(tr.Evaluator.PrimaryMetric())
	}
	tr.logf = func(format string, a ...any) { s.logf(id+": "+format, a...) }
	var topts []TrainOption
	if cks, _ := listCheckpoints(dir); len(cks) > 0 {
		topts = append(topts, ResumeFrom("latest"))
		s.logf("%s: resuming from %s", id, filepath.Base(cks[len(cks)-1]))
	} else {
		tr.Args.OverwriteOutputDir = true
	}
	var decision *sweep.Decision
	if h := s.Spec.EarlyTerminate; h != nil {
		topts = append(topts, StopWhen(s.stopRule(ctx, i, h, cb, &decision)))
	}
	start := time.Now()
	out, trainErr := func() (out *TrainOutput, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return tr.Train(append(topts, WithContext(ctx))...)
	}()
	if errors.Is(trainErr, ErrInterrupted) && ctx.Err() != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrSweepInterrupted, id, trainErr)
	}
	rec.Metric = cb.metric
	if rec.Metric == "" {
		rec.Metric, rec.Goal = s.metric("")
	}
	var hist []map[string]float64
	if st := tr.State; st != nil {
		hist = st.LogHistory
		rec.Steps, rec.MaxSteps = st.GlobalStep, st.MaxSteps
		if err := writeJSON(filepath.Join(dir, trainerStateFile), st); err != nil {
			return nil, nil, err
		}
	}
	rec.History, rec.HistorySteps = metricHistory(hist, rec.Metric)
	m := sweep.Metric{Name: rec.Metric, Goal: rec.Goal}
	for k, v := range rec.History {
		if k == 0 || m.Better(v, *rec.BestMetric) {
			best, step := v, rec.HistorySteps[k]
			rec.BestMetric, rec.BestStep = &best, &step
		}
		last := v
		rec.FinalMetric = &last
	}
	rec.WallSeconds = time.Since(start).Seconds()
	switch {
	case trainErr != nil:
		rec.Status, rec.Reason = sweep.StatusFailed, trainErr.Error()
	case decision != nil && decision.Stop:
		rec.Status, rec.Reason = sweep.StatusEarlyTerminated, decision.String(rec.Goal)
	default:
		rec.Status = sweep.StatusFinished
	}
	if out != nil {
		loss := out.TrainingLoss
		rec.TrainLoss = &loss
		rec.WallSeconds = out.Metrics["train_runtime"]
	}
	return rec, hist, nil
}

// stopRule is run i's early termination (sweep.Hyperband): at each new value of the metric that
// reaches a band, it waits until every earlier run has reached that band or ended, then applies the
// rule. decision receives the decision that stopped the run.
func (s *Sweep) stopRule(ctx context.Context, i int, h *sweep.Hyperband, cb *sweepRunCallback, decision **sweep.Decision) func(*TrainerState) bool {
	judged := -1
	return func(st *TrainerState) bool {
		own, _ := metricHistory(st.LogHistory, cb.metric)
		if len(own) == judged {
			return false
		}
		judged = len(own)
		band := h.Band(len(own))
		if band == 0 {
			return false
		}
		reached := func(r *runRecord, p *runProgress) bool { return r != nil || (p != nil && len(p.History) >= band) }
		if err := s.waitEarlier(ctx, i, fmt.Sprintf("reach evaluation %d", band), reached); err != nil {
			judged = -1 // Interrupted: the loop checks the context next and writes a checkpoint.
			return false
		}
		others := make([][]float64, 0, i)
		for j := 0; j < i; j++ {
			if r := s.readRecord(j); r != nil {
				others = append(others, r.History)
			} else if p := s.readProgress(j); p != nil {
				others = append(others, p.History)
			}
		}
		d := h.Decide(s.Spec.Metric.Goal, own, others) // early_terminate requires an explicit metric

		if d.Stop {
			*decision = &d
		}
		return d.Stop
	}
}
