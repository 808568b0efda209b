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
// logs them with the "eval_" prefix and returns them.
func (r *run) evaluate() (map[string]float64, error) {
	a := r.a
	start := time.Now()
	metrics := map[string]float64{}
	samples, batches := 0, 0
	if r.eval != nil {
		es, err := sampler.New(a.BatchSampler, r.eval, a.PerDeviceEvalBatchSize, a.DataloaderDropLast, a.Seed)
		if err != nil {
			return nil, err
		}
		var sum float64
		for _, rows := range es.Batches(0) {
			b, err := r.eval.batch(r.model, a, rows)
			if err != nil {
				return nil, err
			}
			l, err := r.st.evalLoss(b)
			if err != nil {
				return nil, fmt.Errorf("evaluation at step %d: %w", r.state.GlobalStep, err)
			}
			sum += l * float64(len(rows))
			samples += len(rows)
			batches++
		}
		if samples > 0 {
			metrics["eval_loss"] = sum / float64(samples)
		}
	}
	if r.evaluator != nil {
		ctx := evaluation.WithRunInfo(r.ctx, evaluation.RunInfo{Epoch: r.state.Epoch, Steps: r.state.GlobalStep})
		em, err := r.evaluator.Evaluate(ctx, r.model)
		if err != nil {
			return nil, fmt.Errorf("evaluator at step %d: %w", r.state.GlobalStep, err)
		}
		for k, v := range em {
			if !strings.HasPrefix(k, "eval_") {
				k = "eval_" + k
			}
			metrics[k] = v
		}
	}
	secs := time.Since(start).Seconds()
	metrics["eval_runtime"] = math.Round(secs*1e4) / 1e4
	if samples > 0 {
		metrics["eval_samples_per_second"] = math.Round(float64(samples)/secs*1e3) / 1e3
		metrics["eval_steps_per_second"] = math.Round(float64(batches)/secs*1e3) / 1e3
	}
	r.log(maps.Clone(metrics))
	for _, cb := range r.cbs {
		cb.OnEvaluate(r.state, a, metrics)
	}
	return metrics, nil
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
