package evaluation

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

func randomVectors(r *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, dim)
		for j := range out[i] {
			out[i][j] = float32(r.NormFloat64())
		}
	}
	return out
}

// referenceScores computes the scores in float64 on the host, one pair at a time.
func referenceScores(q, c []float32, fn ScoreFunction) float64 {
	var dot, nq, nc float64
	for i := range q {
		dot += float64(q[i]) * float64(c[i])
		nq += float64(q[i]) * float64(q[i])
		nc += float64(c[i]) * float64(c[i])
	}
	if fn == Cosine {
		return dot / (math.Max(math.Sqrt(nq), 1e-12) * math.Max(math.Sqrt(nc), 1e-12))
	}
	return dot
}

// TestSearchMatchesBruteForce compares the chunked backend search with a float64 brute force on
// random data, for several chunk sizes (with padding of both query and corpus chunks), k values
// (including k beyond the corpus) and both score functions. Float32 rounding may swap two hits
// whose exact scores differ by less than 1e-5, so positions are compared through their exact scores.
func TestSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	queries := randomVectors(r, 37, 24)
	corpus := randomVectors(r, 301, 24)
	for _, tc := range []struct {
		name       string
		k, qc, cc  int
		fn         ScoreFunction
		wantLength int
	}{
		{"cosine default chunks", 10, 0, 0, Cosine, 10},
		{"dot small chunks", 10, 8, 64, DotScore, 10},
		{"cosine odd chunks", 7, 5, 33, Cosine, 7},
		{"k beyond the corpus", 1000, 16, 128, DotScore, 301},
		{"k equals one chunk", 64, 3, 64, Cosine, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := Search(queries, corpus, tc.k, SearchOptions{ScoreFunction: tc.fn, QueryChunkSize: tc.qc, CorpusChunkSize: tc.cc})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != len(queries) {
				t.Fatalf("%d result lists for %d queries", len(hits), len(queries))
			}
			for qi, qh := range hits {
				ref := make([]float64, len(corpus))
				order := make([]int, len(corpus))
				for i := range corpus {
					ref[i] = referenceScores(queries[qi], corpus[i], tc.fn)
					order[i] = i
				}
				sort.SliceStable(order, func(a, b int) bool { return ref[order[a]] > ref[order[b]] })
				if len(qh) != tc.wantLength {
					t.Fatalf("query %d: %d hits, want %d", qi, len(qh), tc.wantLength)
				}
				seen := map[int]bool{}
				for j, h := range qh {
					if seen[h.Index] {
						t.Fatalf("query %d: corpus %d returned twice", qi, h.Index)
					}
					seen[h.Index] = true
					if d := math.Abs(float64(h.Score) - ref[h.Index]); d > 1e-5 {
						t.Errorf("query %d hit %d: score %v, exact %v", qi, j, h.Score, ref[h.Index])
					}
					if d := math.Abs(ref[h.Index] - ref[order[j]]); d > 1e-5 {
						t.Errorf("query %d position %d: corpus %d (exact %v), brute force has corpus %d (exact %v)",
							qi, j, h.Index, ref[h.Index], order[j], ref[order[j]])
					}
					if j > 0 && !hitBefore(qh[j-1], h) {
						t.Errorf("query %d: hits %d and %d out of order: %+v %+v", qi, j-1, j, qh[j-1], h)
					}
				}
			}
		})
	}
}

// TestSearchTieOrder checks the documented total order on exact ties: score descending, then
// corpus index ascending, whatever the chunking (ties span chunk boundaries here).
func TestSearchTieOrder(t *testing.T) {
	corpus := [][]float32{{1, 0}, {2, 0}, {1, 0}, {0, 1}, {2, 0}, {1, 0}, {1, 0}, {2, 0}, {0, 0}, {1, 0}}
	queries := [][]float32{{1, 0}, {0, 0}}
	wantDot := [][]int{{1, 4, 7, 0, 2, 5}, {0, 1, 2, 3, 4, 5}} // dot: 2s first, then 1s by index; zero query: all tie
	wantCos := [][]int{{0, 1, 2, 4, 5, 6}, {0, 1, 2, 3, 4, 5}} // cosine: every (1,0)·k vector scores 1
	for _, cc := range []int{0, 1, 3, 4, 16} {
		for fn, want := range map[ScoreFunction][][]int{DotScore: wantDot, Cosine: wantCos} {
			hits, err := Search(queries, corpus, 6, SearchOptions{ScoreFunction: fn, CorpusChunkSize: cc, QueryChunkSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			for qi := range want {
				var got []int
				for _, h := range hits[qi] {
					got = append(got, h.Index)
				}
				if !equalInts(got, want[qi]) {
					t.Errorf("%s corpus chunk %d query %d: %v, want %v", fn, cc, qi, got, want[qi])
				}
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSearcherIncremental checks that adding the corpus in blocks gives the same hits as one Add.
// With the same chunk shape the scores are bit-identical. When the first block is smaller than the
// chunk size, the Searcher uses a smaller chunk (the next power of two, here 8 instead of 16), and a
// matrix product of another shape may sum in another order (XLA CPU does): the hits must be the same
// and the scores equal within float32 rounding of a dot product of 8 terms.
func TestSearcherIncremental(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	queries := randomVectors(r, 9, 8)
	corpus := randomVectors(r, 100, 8)
	whole, err := Search(queries, corpus, 5, SearchOptions{CorpusChunkSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		blocks [][2]int
		tol    float64
	}{
		{[][2]int{{0, 20}, {20, 20}, {20, 57}, {57, 100}}, 0},
		{[][2]int{{0, 7}, {7, 7}, {7, 50}, {50, 100}}, 8 * 6e-8},
	} {
		s, err := NewSearcher(queries, 5, SearchOptions{CorpusChunkSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range c.blocks {
			if err := s.Add(corpus[block[0]:block[1]]); err != nil {
				t.Fatal(err)
			}
		}
		parts, err := s.Results()
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		for qi := range whole {
			for j := range whole[qi] {
				w, p := whole[qi][j], parts[qi][j]
				if w.Index != p.Index || math.Abs(float64(w.Score-p.Score)) > c.tol {
					t.Errorf("blocks %v: query %d hit %d: %+v incremental, %+v at once", c.blocks, qi, j, p, w)
				}
			}
		}
	}
}

// TestSearchBadInput checks that each invalid input is a clear error, not a panic.
func TestSearchBadInput(t *testing.T) {
	ok := [][]float32{{1, 2}, {3, 4}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name            string
		queries, corpus [][]float32
		k               int
		opts            SearchOptions
		want            string
	}{
		{"k zero", ok, ok, 0, SearchOptions{}, "k must be > 0"},
		{"k negative", ok, ok, -3, SearchOptions{}, "k must be > 0"},
		{"no queries", nil, ok, 1, SearchOptions{}, "no query embeddings"},
		{"empty corpus", ok, nil, 1, SearchOptions{}, "empty corpus"},
		{"empty query vector", [][]float32{{}}, ok, 1, SearchOptions{}, "query embedding 0 is empty"},
		{"query dimension mismatch", [][]float32{{1, 2}, {1}}, ok, 1, SearchOptions{}, "query embedding 1 has dimension 1, expected 2"},
		{"corpus dimension mismatch", ok, [][]float32{{1, 2}, {1, 2, 3}}, 1, SearchOptions{}, "corpus embedding 1 has dimension 3, expected 2"},
		{"NaN in query", [][]float32{{1, float32(math.NaN())}}, ok, 1, SearchOptions{}, "query embedding 0 has a non-finite value NaN at position 1"},
		{"Inf in corpus", ok, [][]float32{{1, 2}, {float32(math.Inf(1)), 0}}, 1, SearchOptions{}, "corpus embedding 1 has a non-finite value +Inf at position 0"},
		{"unknown score function", ok, ok, 1, SearchOptions{ScoreFunction: "euclidean"}, `unknown score function "euclidean"`},
		{"negative query chunk", ok, ok, 1, SearchOptions{QueryChunkSize: -1}, "QueryChunkSize must be >= 0"},
		{"negative corpus chunk", ok, ok, 1, SearchOptions{CorpusChunkSize: -1}, "CorpusChunkSize must be >= 0"},
		{"cancelled", ok, ok, 1, SearchOptions{Context: cancelled}, "context canceled"},
		{"overflow to NaN score", [][]float32{{3e38, 3e38}}, [][]float32{{3e38, -3e38}}, 1, SearchOptions{ScoreFunction: DotScore}, "overflows float32"},
		{"overflow to Inf score", [][]float32{{3e38, 3e38}}, [][]float32{{3e38, 3e38}}, 1, SearchOptions{ScoreFunction: DotScore}, "is +Inf: the dot product overflows float32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Search(tc.queries, tc.corpus, tc.k, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestCosineZeroVector checks sentence-transformers' normalization: a zero vector scores 0.
func TestCosineZeroVector(t *testing.T) {
	hits, err := Search([][]float32{{0, 0}}, [][]float32{{1, 0}, {0, 0}}, 2, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits[0] {
		if h.Score != 0 {
			t.Errorf("zero query: score %v against corpus %d, want 0", h.Score, h.Index)
		}
	}
}
