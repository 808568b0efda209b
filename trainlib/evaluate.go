package trainlib

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/sampler"
)

// evaluate computes the eval loss (if there is an eval dataset) and the evaluator's metrics,
// logs them with the "eval_" prefix and returns them. With InterruptInFlight the measurement runs in
// its own goroutine and a cancelled context abandons it (nothing is logged; the caller writes the
// checkpoint of the step just completed).
func (r *run) evaluate() (map[string]float64, error) {
	start := time.Now()
	var m measured
	if !r.st.keepInputs {
		m = r.measure()
	} else {
		done := make(chan measured, 1)
		go func() { done <- r.measure() }()
		select {
		case m = <-done:
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		}
	}
	if m.err != nil {
		return nil, m.err
	}
	metrics := m.metrics
	secs := time.Since(start).Seconds()
	metrics["eval_runtime"] = math.Round(secs*1e4) / 1e4
	if m.samples > 0 {
		metrics["eval_samples_per_second"] = math.Round(float64(m.samples)/secs*1e3) / 1e3
		metrics["eval_steps_per_second"] = math.Round(float64(m.batches)/secs*1e3) / 1e3
	}
	r.log(maps.Clone(metrics))
	for _, cb := range r.cbs {
		cb.OnEvaluate(r.state, r.a, metrics)
	}
	return metrics, nil
}

// measured is what one evaluation computed.
type measured struct {
	metrics          map[string]float64
	samples, batches int
	err              error
}

// measure computes the eval loss and the evaluator's metrics; it changes nothing in the run.
func (r *run) measure() measured {
	a := r.a
	out := measured{metrics: map[string]float64{}}
	fail := func(err error) measured { out.err = err; return out }
	if r.eval != nil {
		es, err := sampler.New(a.BatchSampler, r.eval, a.PerDeviceEvalBatchSize, a.DataloaderDropLast, a.Seed)
		if err != nil {
			return fail(err)
		}
		var sum float64
		for _, group := range r.evalGroups(es.Batches(0)) {
			if err := r.ctx.Err(); err != nil {
				return fail(err)
			}
			var all []int
			for _, rows := range group {
				all = append(all, rows...)
			}
			b, err := r.eval.batch(r.model, a, all)
			if err != nil {
				return fail(err)
			}
			var ls []float64
			if len(group) > 1 {
				ls, err = r.st.evalLosses(r.ts, b)
			} else {
				var l float64
				l, err = r.st.evalLoss(b)
				ls = []float64{l}
			}
			if err != nil {
				return fail(fmt.Errorf("evaluation at step %d: %w", r.state.GlobalStep, err))
			}
			for i, rows := range group {
				sum += ls[i] * float64(len(rows))
				out.samples += len(rows)
				out.batches++
			}
		}
		if out.samples > 0 {
			out.metrics["eval_loss"] = sum / float64(out.samples)
		}
	}
	if r.evaluator != nil && r.st.dev != nil {
		if err := r.st.lendReplicas(r.ts); err != nil {
			return fail(err)
		}
	}
	if r.evaluator != nil {
		ctx := evaluation.WithRunInfo(r.ctx, evaluation.RunInfo{Epoch: r.state.Epoch, Steps: r.state.GlobalStep})
		em, err := r.evaluator.Evaluate(ctx, r.model)
		if err != nil {
			return fail(fmt.Errorf("evaluator at step %d: %w", r.state.GlobalStep, err))
		}
		for k, v := range em {
			if !strings.HasPrefix(k, "eval_") {
				k = "eval_" + k
			}
			out.metrics[k] = v
		}
	}
	return out
}

// evalGroups groups the eval batches for the devices: n consecutive batches of the same size run
// at once, one per device (stepper.evalLosses); the others (a shorter last batch, or all of them on
// one device) run alone.
func (r *run) evalGroups(batches [][]int) [][][]int {
	n := 1
	if r.st.dev != nil {
		n = r.st.dev.n
	}
	var out [][][]int
	for len(batches) > 0 {
		k := 1
		if len(batches) >= n {
			k = n
			for _, b := range batches[1:n] {
				if len(b) != len(batches[0]) {
					k = 1
				}
			}
		}
		out = append(out, batches[:k])
		batches = batches[k:]
	}
	return out
}

// updateBest tracks metric_for_best_model; it reports whether the metric improved.
func (r *run) updateBest(metrics map[string]float64) (bool, error) {
	a, s := r.a, r.state
	key := a.MetricForBestModel
	if !strings.HasPrefix(key, "eval_") {
		key = "eval_" + key
	}
	v, ok := metrics[key]
	if !ok {
		return false, fmt.Errorf("metric_for_best_model %q is not among the evaluation metrics %v", a.MetricForBestModel, slices.Sorted(maps.Keys(metrics)))
	}
	// transformers' _determine_best_metric: a first value is compared with ∓inf, so NaN never counts
	// (the best stays unset rather than ∓inf, which JSON cannot hold).
	best := math.Inf(-1)
	if !*a.GreaterIsBetter {
		best = math.Inf(1)
	}
	if s.BestMetric != nil {
		best = *s.BestMetric
	}
	better := (*a.GreaterIsBetter && v > best) || (!*a.GreaterIsBetter && v < best)
	if better {
		s.BestMetric = &v
		if a.SaveStrategy != SaveStrategyNo {
			step := s.GlobalStep
			s.BestGlobalStep = &step
		}
	}
	return better, nil
}

// bestCheckpoint returns the folder of the best step's checkpoint when it exists or is the one being
// written (transformers sets best_model_checkpoint while saving, so a best step that was never
// saved names no checkpoint).
func (r *run) bestCheckpoint() *string {
	s := r.state
	if r.a.MetricForBestModel == "" || s.BestGlobalStep == nil || *s.BestGlobalStep == 0 {
		return s.BestModelCheckpoint
	}
	dir := filepath.Join(r.a.OutputDir, fmt.Sprintf("%s%d", checkpointPrefix, *s.BestGlobalStep))
	if *s.BestGlobalStep == s.GlobalStep {
		return &dir
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return &dir
	}
	return s.BestModelCheckpoint
}
