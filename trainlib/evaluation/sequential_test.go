package evaluation

import (
	"context"
	"strings"
	"testing"
)

// fixedEvaluator returns fixed metrics.
type fixedEvaluator struct {
	name, primary string
	metrics       map[string]float64
}

func (f fixedEvaluator) Evaluate(context.Context, Encoder) (map[string]float64, error) {
	out := map[string]float64{}
	for k, v := range f.metrics {
		out[k] = v
	}
	return out, nil
}
func (f fixedEvaluator) PrimaryMetric() string { return f.primary }
func (f fixedEvaluator) Name() string          { return f.name }

func TestSequentialEvaluator(t *testing.T) {
	queries, corpus, relevant := stTestData()
	ks := KValues{AccuracyAtK: []int{1}, PrecisionRecallAtK: []int{1}, MRRAtK: []int{1}, NDCGAtK: []int{1}, MAPAtK: []int{1}}
	irA, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{Name: "a", KValues: ks})
	if err != nil {
		t.Fatal(err)
	}
	other := fixedEvaluator{name: "b", primary: "b_score", metrics: map[string]float64{"b_score": 0.25, "b_other": 3}}
	single := fixedEvaluator{name: "c", metrics: map[string]float64{"c_only": 0.5}}

	for _, tc := range []struct {
		name string
		evs  []Evaluator
		agg  func([]float64) float64
		want map[string]float64
	}{
		{"default aggregation is the last primary metric", []Evaluator{irA, other}, nil,
			map[string]float64{"a_cosine_ndcg@1": 1, "a_cosine_recall@1": 0.9, "b_score": 0.25, "b_other": 3, "sequential_score": 0.25}},
		{"mean aggregation", []Evaluator{irA, other}, MeanScore, map[string]float64{"sequential_score": (1 + 0.25) / 2}},
		{"an evaluator without primary metric and one metric", []Evaluator{other, single}, nil, map[string]float64{"c_only": 0.5, "sequential_score": 0.5}},
		{"no evaluators", nil, nil, map[string]float64{"sequential_score": 0}},
		{"nested sequential evaluators", []Evaluator{NewSequentialEvaluator([]Evaluator{other}, nil), single}, MeanScore,
			map[string]float64{"b_score": 0.25, "c_only": 0.5, "sequential_score": 0.375}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSequentialEvaluator(tc.evs, tc.agg)
			got, err := s.Evaluate(context.Background(), keywordEncoder{})
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range tc.want {
				if g, ok := got[k]; !ok || !approxEqual(g, w, 1e-12) {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
				}
			}
			if s.PrimaryMetric() != "sequential_score" || s.Name() != "" {
				t.Errorf("primary %q name %q", s.PrimaryMetric(), s.Name())
			}
		})
	}

	// Errors: colliding keys, and a primary metric that is not returned.
	irUnnamed1, _ := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{KValues: ks})
	irUnnamed2, _ := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{KValues: ks})
	for _, tc := range []struct {
		name string
		evs  []Evaluator
		want string
	}{
		{"same keys", []Evaluator{irUnnamed1, irUnnamed2}, `metric "cosine_`},
		{"missing primary metric", []Evaluator{fixedEvaluator{name: "z", primary: "z_x", metrics: map[string]float64{"z_y": 1}}},
			`evaluator 0 ("z") did not return its primary metric "z_x"`},
		{"several metrics and no primary", []Evaluator{fixedEvaluator{name: "z", metrics: map[string]float64{"z_y": 1, "z_w": 2}}},
			`did not return its primary metric ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSequentialEvaluator(tc.evs, nil).Evaluate(context.Background(), keywordEncoder{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
