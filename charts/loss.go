package charts

import "fmt"

// Loss draws the training loss ("loss", averaged over each logging window) and the validation loss
// ("eval_loss") against the optimizer step. Either may be absent (a run without evaluation has no
// validation loss); a history with neither is an error.
func Loss(h LogHistory, options ...Option) (*Chart, error) {
	cfg := newConfig("Loss", options)
	var lines []line
	for _, s := range []struct{ key, name string }{{"loss", "Training loss"}, {"eval_loss", "Validation loss"}} {
		pts, err := Series(h, s.key)
		if err != nil {
			return nil, err
		}
		if len(pts) > 0 {
			lines = append(lines, line{name: s.name, points: pts})
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf(`charts.Loss: the log history (%d entries) has no "loss" or "eval_loss" values`, len(h))
	}
	return lineChart(cfg, "loss", lines)
}
