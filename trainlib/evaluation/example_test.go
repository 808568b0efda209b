package evaluation_test

import (
	"context"
	"fmt"

	"github.com/embedtune/embedtune/trainlib/evaluation"
)

// Evaluating precomputed embeddings: q1's relevant document ranks first, q2's second.
func ExampleEvaluateEmbeddings() {
	queries := map[string][]float32{"q1": {1, 0}, "q2": {0, 1}}
	corpus := map[string][]float32{"d1": {0.9, 0.1}, "d2": {0.1, 0.9}, "d3": {0.7, 0.7}}
	relevant := map[string]map[string]bool{"q1": {"d1": true}, "q2": {"d3": true}}
	r, err := evaluation.EvaluateEmbeddings(context.Background(), queries, corpus, relevant, evaluation.IROptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.PrimaryMetric, r.Metrics[r.PrimaryMetric])
	fmt.Println("accuracy@1", r.Metrics["cosine_accuracy@1"], "mrr@10", r.Metrics["cosine_mrr@10"])
	// Output:
	// cosine_ndcg@10 0.8154648767857288
	// accuracy@1 0.5 mrr@10 0.75
}

// Exact top-k search on the backend: the best 2 corpus vectors of each query, best first.
func ExampleSearch() {
	queries := [][]float32{{1, 0}, {0, 1}}
	corpus := [][]float32{{0.9, 0.1}, {0.1, 0.9}, {0.7, 0.7}}
	hits, err := evaluation.Search(queries, corpus, 2, evaluation.SearchOptions{ScoreFunction: evaluation.DotScore})
	if err != nil {
		fmt.Println(err)
		return
	}
	for qi, qh := range hits {
		fmt.Printf("query %d: corpus %d (%.2f), corpus %d (%.2f)\n", qi, qh[0].Index, qh[0].Score, qh[1].Index, qh[1].Score)
	}
	// Output:
	// query 0: corpus 0 (0.90), corpus 2 (0.70)
	// query 1: corpus 1 (0.90), corpus 2 (0.70)
}
