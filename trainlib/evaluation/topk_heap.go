package evaluation

import (
	"fmt"
	"math"
)

// hitHeap keeps the best k hits of one query seen so far. It is a binary min-heap under the
// ranking order, so its root is the worst kept hit: the lowest score and, among equal scores, the
// highest corpus index.
type hitHeap struct {
	hits []Hit
}

// hitBefore is the ranking order: a ranks before b when its score is higher, or when the scores are
// equal and its corpus index is lower.
func hitBefore(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Index < b.Index
}

// offerRow offers the scores of corpus entries base, base+1, ... to the heap. Because indices only
// grow, a candidate whose score equals the current worst never displaces it, so one comparison
// rejects most candidates.
func (h *hitHeap) offerRow(row []float32, base, k int) error {
	for j, sc := range row {
		if sc != sc || math.IsInf(float64(sc), 0) {
			// Finite embeddings whose dot product overflows float32: NaN (inf - inf) or ±Inf depending
			// on the backend's summation order and use of fused multiply-add; never a valid score.
			return fmt.Errorf("score against corpus entry %d is %v: the dot product overflows float32 (embeddings too large?)", base+j, sc)
		}
		if len(h.hits) < k {
			h.push(Hit{Index: base + j, Score: sc})
			continue
		}
		if sc > h.hits[0].Score {
			h.hits[0] = Hit{Index: base + j, Score: sc}
			h.down(0)
		}
	}
	return nil
}

// worse reports whether hit i ranks after hit j (i belongs nearer the root).
func (h *hitHeap) worse(i, j int) bool { return hitBefore(h.hits[j], h.hits[i]) }

func (h *hitHeap) push(x Hit) {
	h.hits = append(h.hits, x)
	i := len(h.hits) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.worse(i, p) {
			break
		}
		h.hits[i], h.hits[p] = h.hits[p], h.hits[i]
		i = p
	}
}

func (h *hitHeap) down(i int) {
	n := len(h.hits)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.worse(r, l) {
			m = r
		}
		if !h.worse(m, i) {
			return
		}
		h.hits[i], h.hits[m] = h.hits[m], h.hits[i]
		i = m
	}
}
