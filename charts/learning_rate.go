package charts

import "fmt"

// LearningRate draws the learning-rate schedule ("learning_rate" at each logging step) against the
// optimizer step, e.g. the linear warmup then linear decay of transformers' default scheduler.
func LearningRate(h LogHistory, options ...Option) (*Chart, error) {
	cfg := newConfig("Learning rate", options)
	pts, err := Series(h, "learning_rate")
	if err != nil {
		return nil, err
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf(`charts.LearningRate: the log history (%d entries) has no "learning_rate" values`, len(h))
	}
	return lineChart(cfg, "learning rate", []line{{name: "Learning rate", points: pts}})
}
