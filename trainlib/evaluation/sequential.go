package evaluation

import (
	"context"
	"fmt"
)

// SequentialScoreKey is the key of a SequentialEvaluator's aggregated score and its primary metric.
const SequentialScoreKey = "sequential_score"

// SequentialEvaluator is sentence-transformers' SequentialEvaluator: it runs its evaluators one after
// the other, returns the union of their metrics plus "sequential_score" = MainScore(primary metric
// of each evaluator, in order), and its primary metric is "sequential_score".
type SequentialEvaluator struct {
	evaluators []Evaluator
	mainScore  func(scores []float64) float64
}

// NewSequentialEvaluator combines evaluators. mainScore aggregates their primary metrics; nil means
// sentence-transformers' default, the last one (e.g. pass [MeanScore] for the mean).
func NewSequentialEvaluator(evaluators []Evaluator, mainScore func(scores []float64) float64) *SequentialEvaluator {
	if mainScore == nil {
		mainScore = LastScore
	}
	return &SequentialEvaluator{evaluators: append([]Evaluator(nil), evaluators...), mainScore: mainScore}
}

// LastScore returns the last score: SequentialEvaluator's default aggregation.
func LastScore(scores []float64) float64 { return scores[len(scores)-1] }

// MeanScore returns the mean of the scores.
func MeanScore(scores []float64) float64 {
	s := 0.0
	for _, x := range scores {
		s += x
	}
	return s / float64(len(scores))
}

// Evaluators returns the combined evaluators.
func (s *SequentialEvaluator) Evaluators() []Evaluator {
	return append([]Evaluator(nil), s.evaluators...)
}

// Name returns "" (a SequentialEvaluator has no name; its evaluators prefix their own keys).
func (s *SequentialEvaluator) Name() string { return "" }

// PrimaryMetric returns "sequential_score".
func (s *SequentialEvaluator) PrimaryMetric() string { return SequentialScoreKey }

// Evaluate runs every evaluator in order. Each one's score is its metric PrimaryMetric() (read after
// it ran), or its only metric when it has no primary metric. With no evaluators the score is 0.
// Two evaluators returning the same key (e.g. two unnamed evaluators) are an error, where
// sentence-transformers would silently keep the last value: give them distinct names.
func (s *SequentialEvaluator) Evaluate(ctx context.Context, m Encoder) (map[string]float64, error) {
	results := map[string]float64{}
	owner := map[string]int{}
	scores := make([]float64, 0, len(s.evaluators))
	for i, ev := range s.evaluators {
		metrics, err := ev.Evaluate(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("sequential evaluator: evaluator %d (%q): %w", i, ev.Name(), err)
		}
		key := ev.PrimaryMetric()
		if key == "" && len(metrics) == 1 {
			for k := range metrics {
				key = k
			}
		}
		score, ok := metrics[key]
		if !ok {
			return nil, fmt.Errorf("sequential evaluator: evaluator %d (%q) did not return its primary metric %q", i, ev.Name(), key)
		}
		scores = append(scores, score)
		for k, v := range metrics {
			if k == SequentialScoreKey {
				continue // A nested SequentialEvaluator's score: replaced by this one's, as in sentence-transformers.
			}
			if j, dup := owner[k]; dup {
				return nil, fmt.Errorf("sequential evaluator: metric %q of evaluator %d (%q) is also returned by evaluator %d; give the evaluators distinct names",
					k, i, ev.Name(), j)
			}
			owner[k] = i
			results[k] = v
		}
	}
	main := 0.0
	if len(scores) > 0 {
		main = s.mainScore(scores)
	}
	results[SequentialScoreKey] = main
	return results, nil
}
