package charts

import (
	"fmt"
	"strings"
)

// EvalMetrics draws evaluator metrics against the optimizer step, one line per key. keys are log keys such
// as "eval_cosine_ndcg@10"; nil means every metric in the history (MetricKeys). A requested key that never
// occurs, or a history without any metric, is an error. Lines are labelled as transformers labels its table
// columns (MetricLabel).
func EvalMetrics(h LogHistory, keys []string, options ...Option) (*Chart, error) {
	cfg := newConfig("Evaluation metrics", options)
	if keys == nil {
		keys = MetricKeys(h)
		if len(keys) == 0 {
			return nil, fmt.Errorf(`charts.EvalMetrics: the log history (%d entries) has no evaluator metrics ("eval_*" keys other than eval_loss and timings)`, len(h))
		}
	}
	lines := make([]line, 0, len(keys))
	for _, k := range keys {
		pts, err := Series(h, k)
		if err != nil {
			return nil, err
		}
		if len(pts) == 0 {
			return nil, fmt.Errorf("charts.EvalMetrics: metric %q does not occur in the log history (it has: %s)",
				k, strings.Join(MetricKeys(h), ", "))
		}
		lines = append(lines, line{name: MetricLabel(k), points: pts})
	}
	return lineChart(cfg, "", lines)
}
