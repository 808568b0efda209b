package trainlib

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/sweep"
)

// runTimer measures each run of a sweep (from its first to its last event).
type runTimer struct {
	BaseSweepCallback
	start time.Time
	took  []time.Duration
}

func (r *runTimer) OnRunBegin(*Sweep, SweepRunInfo) { r.start = time.Now() }

func (r *runTimer) OnRunEnd(*Sweep, sweep.Row, []map[string]float64) {
	if !r.start.IsZero() {
		r.took = append(r.took, time.Since(r.start))
		r.start = time.Time{}
	}
}

// BenchmarkSweepCompileOnce measures the claim that N runs of the same shapes cost at most N steady-state
// runs plus one compilation: an 8-run learning-rate sweep of the tiny fixture (12 steps, 4 evaluations
// each) against the same runs trained each as a sweep of its own (fresh graphs, what happens without
// sharing). It reports
//
//	first-run-s, steady-run-s  the first run (compiles) and the median of the others
//	compile-s                  first − steady: the compilation the sharing pays once
//	sweep-s                    the whole 8-run sweep
//	bound-ratio                sweep-s / (8·steady + compile): ≤ 1 when the claim holds (noise aside)
//	unshared-run-s             the median run trained with graphs of its own (every run compiles)
//
// Run on both engines: go test -run '^$' -bench SweepCompileOnce -benchtime 1x ./trainlib/
// (GOMLX_BACKEND selects the engine; compilation dominates on XLA).
func BenchmarkSweepCompileOnce(b *testing.B) {
	const n = 8
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf("%.1e", 1e-4*float64(i+1))
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := sweepSpec(b, filepath.Join(b.TempDir(), "sweep"), fmt.Sprintf(
			"method: grid\nmetric: {name: eval_dev_cosine_ndcg@10, goal: maximize}\nparameters: {learning_rate: {values: [%s]}}\n", strings.Join(values, ", ")))
		timer := &runTimer{}
		s, err := LoadSweep(path, WithSweepLog(nil), WithSweepCallbacks(timer))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		b.StopTimer()
		steady := median(timer.took[1:])
		compile := timer.took[0] - steady
		b.ReportMetric(timer.took[0].Seconds(), "first-run-s")
		b.ReportMetric(steady.Seconds(), "steady-run-s")
		b.ReportMetric(compile.Seconds(), "compile-s")
		b.ReportMetric(total.Seconds(), "sweep-s")
		b.ReportMetric(total.Seconds()/(n*steady.Seconds()+compile.Seconds()), "bound-ratio")

		var unshared []time.Duration
		for k := 0; k < 3; k++ { // Each its own sweep with its own graph cache.
			path := sweepSpec(b, filepath.Join(b.TempDir(), "alone"), fmt.Sprintf(
				"method: grid\nmetric: {name: eval_dev_cosine_ndcg@10, goal: maximize}\nparameters: {learning_rate: {values: [%s]}}\n", values[k]))
			t := &runTimer{}
			s, err := LoadSweep(path, WithSweepLog(nil), WithSweepCallbacks(t))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			unshared = append(unshared, t.took...)
		}
		b.ReportMetric(median(unshared).Seconds(), "unshared-run-s")
		b.StartTimer()
	}
}

// median returns the middle duration.
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
