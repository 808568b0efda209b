package evaluation

import (
	"errors"
	"fmt"
	"slices"
)

// KValues holds the cutoffs of each retrieval metric, named like sentence-transformers'
// InformationRetrievalEvaluator arguments. A nil list means the sentence-transformers default.
type KValues struct {
	AccuracyAtK        []int // accuracy_at_k, default [1, 3, 5, 10]
	PrecisionRecallAtK []int // precision_recall_at_k, default [1, 3, 5, 10]
	MRRAtK             []int // mrr_at_k, default [10]
	NDCGAtK            []int // ndcg_at_k, default [10]
	MAPAtK             []int // map_at_k, default [100]
}

// DefaultKValues returns sentence-transformers' defaults.
func DefaultKValues() KValues {
	return KValues{
		AccuracyAtK:        []int{1, 3, 5, 10},
		PrecisionRecallAtK: []int{1, 3, 5, 10},
		MRRAtK:             []int{10},
		NDCGAtK:            []int{10},
		MAPAtK:             []int{100},
	}
}

// withDefaults replaces nil lists by the defaults (an empty non-nil list stays empty and fails Validate).
func (kv KValues) withDefaults() KValues {
	d := DefaultKValues()
	if kv.AccuracyAtK == nil {
		kv.AccuracyAtK = d.AccuracyAtK
	}
	if kv.PrecisionRecallAtK == nil {
		kv.PrecisionRecallAtK = d.PrecisionRecallAtK
	}
	if kv.MRRAtK == nil {
		kv.MRRAtK = d.MRRAtK
	}
	if kv.NDCGAtK == nil {
		kv.NDCGAtK = d.NDCGAtK
	}
	if kv.MAPAtK == nil {
		kv.MAPAtK = d.MAPAtK
	}
	return kv
}

// lists returns the lists with their sentence-transformers argument names.
func (kv KValues) lists() []struct {
	name string
	ks   []int
} {
	return []struct {
		name string
		ks   []int
	}{
		{"accuracy_at_k", kv.AccuracyAtK},
		{"precision_recall_at_k", kv.PrecisionRecallAtK},
		{"mrr_at_k", kv.MRRAtK},
		{"ndcg_at_k", kv.NDCGAtK},
		{"map_at_k", kv.MAPAtK},
	}
}

// Validate checks that every list is non-empty, positive and free of duplicates (sentence-transformers
// would count a duplicated k twice in accuracy and MRR).
func (kv KValues) Validate() error {
	for _, l := range kv.lists() {
		if len(l.ks) == 0 {
			return fmt.Errorf("%s is empty: give at least one k", l.name)
		}
		for i, k := range l.ks {
			if k <= 0 {
				return fmt.Errorf("%s: k must be > 0, got %d", l.name, k)
			}
			if slices.Contains(l.ks[:i], k) {
				return fmt.Errorf("%s: k=%d is listed twice", l.name, k)
			}
		}
	}
	return nil
}

// MaxK is the largest k over all lists: the depth of retrieval the metrics need.
func (kv KValues) MaxK() int {
	m := 0
	for _, l := range kv.lists() {
		for _, k := range l.ks {
			m = max(m, k)
		}
	}
	return m
}

// IRScores holds the metrics of one score function, each keyed by k, averaged over the queries
// that have at least one relevant document.
type IRScores struct {
	Accuracy  map[int]float64 `json:"accuracy@k"`
	Precision map[int]float64 `json:"precision@k"`
	Recall    map[int]float64 `json:"recall@k"`
	NDCG      map[int]float64 `json:"ndcg@k"`
	MRR       map[int]float64 `json:"mrr@k"`
	MAP       map[int]float64 `json:"map@k"`
}

// ComputeIRMetrics computes sentence-transformers' retrieval metrics (InformationRetrievalEvaluator
// .compute_metrics). rankings[i] lists the corpus ids retrieved for query i, best first, at least
// kv.MaxK() of them unless the corpus is smaller; relevant[i] is the non-empty set of ids relevant to
// query i (ids absent from the corpus still count in |rel|, as in sentence-transformers). With top_k
// the first k ids of a ranking and rel_j = 1 when its j-th id (1-based) is relevant:
//
//	accuracy@k  = mean over queries of [any rel_j = 1 for j ≤ k]
//	precision@k = mean of Σ_{j≤k} rel_j / k           (k even when fewer ids were retrieved)
//	recall@k    = mean of Σ_{j≤k} rel_j / |rel|
//	mrr@k       = mean of 1 / (first j ≤ k with rel_j = 1), 0 when none
//	ndcg@k      = mean of DCG / IDCG, DCG = Σ_{j≤k} rel_j / log2(j+1), IDCG = Σ_{j≤min(k,|rel|)} 1 / log2(j+1)
//	map@k       = mean of Σ_{j≤k, rel_j=1} (Σ_{i≤j} rel_i / j) / min(k, |rel|)
func ComputeIRMetrics(rankings [][]string, relevant []map[string]bool, kv KValues) (*IRScores, error) {
	kv = kv.withDefaults()
	if err := kv.Validate(); err != nil {
		return nil, err
	}
	if len(rankings) != len(relevant) {
		return nil, fmt.Errorf("metrics: %d rankings for %d relevant sets", len(rankings), len(relevant))
	}
	if len(rankings) == 0 {
		return nil, errors.New("metrics: no queries with relevant documents")
	}
	// discounts[j] = 1 / log2(j + 2), the DCG weight of (0-based) rank j.
	discounts := make([]float64, slices.Max(kv.NDCGAtK))
	for j := range discounts {
		discounts[j] = 1 / log2Int(j+2)
	}
	hits := map[int]float64{}
	mrr := map[int]float64{}
	prec := map[int][]float64{}
	rec := map[int][]float64{}
	ndcg := map[int][]float64{}
	ap := map[int][]float64{}
	for qi, ranking := range rankings {
		rel := relevant[qi]
		nRel := 0
		for _, ok := range rel {
			if ok {
				nRel++
			}
		}
		if nRel == 0 {
			return nil, fmt.Errorf("metrics: query %d has no relevant document", qi)
		}
		isRel := make([]bool, len(ranking))
		for j, id := range ranking {
			isRel[j] = rel[id]
		}
		for _, k := range kv.AccuracyAtK {
			if slices.Contains(top(isRel, k), true) {
				hits[k]++
			}
		}
		for _, k := range kv.PrecisionRecallAtK {
			n := countTrue(top(isRel, k))
			prec[k] = append(prec[k], float64(n)/float64(k))
			rec[k] = append(rec[k], float64(n)/float64(nRel))
		}
		for _, k := range kv.MRRAtK {
			if j := slices.Index(top(isRel, k), true); j >= 0 {
				mrr[k] += 1 / float64(j+1)
			}
		}
		for _, k := range kv.NDCGAtK {
			dcg := 0.0
			for j, r := range top(isRel, k) {
				if r {
					dcg += discounts[j]
				}
			}
			idcg := 0.0
			for j := range min(k, nRel) {
				idcg += discounts[j]
			}
			ndcg[k] = append(ndcg[k], dcg/idcg)
		}
		for _, k := range kv.MAPAtK {
			correct, sum := 0, 0.0
			for j, r := range top(isRel, k) {
				if r {
					correct++
					sum += float64(correct) / float64(j+1)
				}
			}
			ap[k] = append(ap[k], sum/float64(min(k, nRel)))
		}
	}
	n := float64(len(rankings))
	out := &IRScores{
		Accuracy: map[int]float64{}, Precision: map[int]float64{}, Recall: map[int]float64{},
		NDCG: map[int]float64{}, MRR: map[int]float64{}, MAP: map[int]float64{},
	}
	for _, k := range kv.AccuracyAtK {
		out.Accuracy[k] = hits[k] / n
	}
	for _, k := range kv.PrecisionRecallAtK {
		out.Precision[k] = mean(prec[k])
		out.Recall[k] = mean(rec[k])
	}
	for _, k := range kv.MRRAtK {
		out.MRR[k] = mrr[k] / n
	}
	for _, k := range kv.NDCGAtK {
		out.NDCG[k] = mean(ndcg[k])
	}
	for _, k := range kv.MAPAtK {
		out.MAP[k] = mean(ap[k])
	}
	return out, nil
}

func top(xs []bool, k int) []bool { return xs[:min(k, len(xs))] }

func countTrue(xs []bool) int {
	n := 0
	for _, x := range xs {
		if x {
			n++
		}
	}
	return n
}

// mean is numpy.mean: the sum by numpy's pairwise summation divided by the count, so that the
// averages match sentence-transformers' (which calls np.mean) to the last bit.
func mean(xs []float64) float64 {
	return pairwiseSum(xs) / float64(len(xs))
}

// pairwiseSum is numpy's pairwise_sum for float64: a plain loop below 8 values, eight interleaved
// accumulators up to 128 values, and recursive halving (at multiples of 8) beyond.
func pairwiseSum(xs []float64) float64 {
	n := len(xs)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range xs {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], xs[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += xs[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += xs[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(xs[:n2]) + pairwiseSum(xs[n2:])
}

// metricEntries lists (metric name, k, value) in sentence-transformers' key order: accuracy,
// precision, recall, ndcg, mrr, map, each in its k-list order.
func (s *IRScores) metricEntries(kv KValues) []metricEntry {
	var out []metricEntry
	add := func(name string, ks []int, m map[int]float64) {
		for _, k := range ks {
			out = append(out, metricEntry{name, k, m[k]})
		}
	}
	add("accuracy", kv.AccuracyAtK, s.Accuracy)
	add("precision", kv.PrecisionRecallAtK, s.Precision)
	add("recall", kv.PrecisionRecallAtK, s.Recall)
	add("ndcg", kv.NDCGAtK, s.NDCG)
	add("mrr", kv.MRRAtK, s.MRR)
	add("map", kv.MAPAtK, s.MAP)
	return out
}

type metricEntry struct {
	name  string
	k     int
	value float64
}
