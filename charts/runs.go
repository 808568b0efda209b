package charts

import "fmt"

// Run is one training run of a sweep: a name for the legend and its log history.
type Run struct {
	Name    string
	History LogHistory
}

// Runs overlays the same logged quantity (key, e.g. "loss", "eval_loss" or "eval_cosine_ndcg@10") of several
// runs, one line per run, to compare the runs of a hyper-parameter sweep. Run names must be non-empty and
// distinct, and every run must have logged key.
func Runs(key string, runs []Run, options ...Option) (*Chart, error) {
	cfg := newConfig(MetricLabel("x_"+key)+" by run", options)
	if len(runs) == 0 {
		return nil, fmt.Errorf("charts.Runs: no runs given")
	}
	seen := map[string]bool{}
	lines := make([]line, 0, len(runs))
	for i, r := range runs {
		if r.Name == "" {
			return nil, fmt.Errorf("charts.Runs: run %d has an empty name", i)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("charts.Runs: two runs are named %q", r.Name)
		}
		seen[r.Name] = true
		pts, err := Series(r.History, key)
		if err != nil {
			return nil, fmt.Errorf("charts.Runs: run %q: %w", r.Name, err)
		}
		if len(pts) == 0 {
			return nil, fmt.Errorf("charts.Runs: run %q has no %q values in its log history (%d entries)", r.Name, key, len(r.History))
		}
		lines = append(lines, line{name: r.Name, points: pts})
	}
	return lineChart(cfg, key, lines)
}
