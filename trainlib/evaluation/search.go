package evaluation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Default chunk sizes of [Search] and [Searcher]. A query chunk times a corpus chunk of scores
// (256 × 16384 float32 = 16 MiB) plus one corpus chunk (16384 × 768 float32 = 48 MiB) is all the
// memory a search needs beyond its inputs and results.
const (
	DefaultQueryChunkSize  = 256
	DefaultCorpusChunkSize = 16384
)

// Hit is one retrieved corpus entry: its index in the corpus (in the order the corpus was given) and
// its similarity to the query, as computed in float32 like sentence-transformers does.
type Hit struct {
	Index int     `json:"index"`
	Score float32 `json:"score"`
}

// SearchOptions configures [Search] and [NewSearcher]. The zero value means the defaults.
type SearchOptions struct {
	// Context cancels a long search between chunks. Default: context.Background().
	Context context.Context

	// Backend runs the matrix products. Default: backend.Default().
	Backend compute.Backend

	// ScoreFunction is Cosine (default) or DotScore.
	ScoreFunction ScoreFunction

	// QueryChunkSize is the number of queries per matrix product (default DefaultQueryChunkSize).
	// Smaller query sets use the next power of two at or above their size.
	QueryChunkSize int

	// CorpusChunkSize is the number of corpus vectors per matrix product (default
	// DefaultCorpusChunkSize). Smaller corpora use the next power of two at or above their size.
	CorpusChunkSize int

	// Graphs, when set, shares the score graph through this cache, so that repeated searches (an
	// evaluator at every evaluation step of every run of a sweep) compile it once per chunk shape.
	// The IR evaluator uses the model's (model.SentenceTransformer.SharedGraphs) when it has one.
	Graphs *model.GraphCache
}

// Search returns, for every query, the k corpus entries with the highest score, best first: exact
// (brute-force) search done as chunked matrix products on the backend.
//
// Ordering is a total order: score descending, then corpus index ascending. This is the order
// sentence-transformers 6.2 InformationRetrievalEvaluator reports (it re-selects ties at the top-k
// boundary by (-score, corpus_id), so its results do not depend on corpus_chunk_size); pass the
// corpus sorted by id to reproduce its tie order exactly. torch.topk(sorted=False) itself breaks
// ties arbitrarily, which is why sentence-transformers added that re-selection.
//
// When k exceeds the corpus size every entry is returned. Embeddings must be finite and all of the
// same dimension; violations are errors naming the row.
//
// Cosine similarity is computed as sentence-transformers' cos_sim: each vector is divided by
// max(‖v‖₂, 1e-12) before the dot product, so a zero vector scores 0 against everything.
func Search(queries, corpus [][]float32, k int, opts SearchOptions) ([][]Hit, error) {
	s, err := NewSearcher(queries, k, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Add(corpus); err != nil {
		return nil, err
	}
	return s.Results()
}

// Searcher is an incremental exact top-k search: the queries are fixed at creation, corpus vectors
// arrive in blocks through [Searcher.Add] (their indices continue from one block to the next), and
// [Searcher.Results] returns the top k per query over everything added. Memory stays bounded by
// the chunk sizes whatever the corpus size, so a corpus can be encoded and searched block by block.
//
// Each corpus chunk is padded to a fixed shape, so one search compiles exactly one graph:
// scores[q, c] = Σ_d query[q, d] · corpus[c, d], a [QueryChunk, D] × [CorpusChunk, D]ᵀ product.
// Top-k selection runs on the host over each score row with a bounded heap (O(CorpusChunk) per
// row), in parallel over rows. (The pure-Go backend's Sort evaluates an interpreted comparator per
// comparison, which makes a graph TopK far slower than this linear scan.)
//
// A Searcher is not safe for concurrent use.
type Searcher struct {
	ctx        context.Context
	backend    compute.Backend
	fn         ScoreFunction
	k          int
	dim        int
	numQueries int
	qChunk     int
	cChunk     int

	queryTensors []*tensors.Tensor
	exec         *graph.Exec
	sharedExec   bool // exec belongs to a model.GraphCache: Close leaves it
	heaps        []hitHeap

	chunk       *tensors.Tensor // [cChunk, dim], the corpus chunk being filled, reused for every chunk.
	pendingRows int
	added       int // corpus rows added so far (index of the next row).
	flushed     int // corpus rows already scored.
	closed      bool
}

// NewSearcher prepares a search of the given queries for the top k corpus entries.
func NewSearcher(queries [][]float32, k int, opts SearchOptions) (*Searcher, error) {
	if k <= 0 {
		return nil, fmt.Errorf("search: k must be > 0, got %d", k)
	}
	if len(queries) == 0 {
		return nil, errors.New("search: no query embeddings")
	}
	fn := opts.ScoreFunction
	if fn == "" {
		fn = Cosine
	}
	if err := fn.Validate(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	qChunk, err := chunkSize("QueryChunkSize", opts.QueryChunkSize, DefaultQueryChunkSize, len(queries))
	if err != nil {
		return nil, err
	}
	dim := len(queries[0])
	if dim == 0 {
		return nil, errors.New("search: query embedding 0 is empty")
	}
	if err := checkVectors("query", queries, dim); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	b := opts.Backend
	if b == nil {
		if b, err = backend.Default(); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	s := &Searcher{
		ctx: ctx, backend: b, fn: fn, k: k, dim: dim, numQueries: len(queries), qChunk: qChunk,
		heaps: make([]hitHeap, len(queries)),
	}
	// The corpus chunk size is fixed at the first Add (it depends on the corpus size when small).
	s.cChunk = opts.CorpusChunkSize
	if s.cChunk < 0 {
		return nil, fmt.Errorf("search: CorpusChunkSize must be >= 0 (0 = default %d), got %d", DefaultCorpusChunkSize, s.cChunk)
	}
	for start := 0; start < len(queries); start += qChunk {
		end := min(start+qChunk, len(queries))
		t, err := s.newChunkTensor(qChunk, queries[start:end])
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("search: query chunk at %d: %w", start, err)
		}
		s.queryTensors = append(s.queryTensors, t)
	}
	build := func() (*graph.Exec, error) {
		if opts.Graphs == nil {
			return graph.NewExec(b, scoreGraph)
		}
		return graph.NewExec(b, func(q, c *graph.Node) *graph.Node {
			opts.Graphs.CountBuild()
			return scoreGraph(q, c)
		})
	}
	var exec *graph.Exec
	if opts.Graphs != nil {
		exec, err = opts.Graphs.Exec(fmt.Sprintf("search score %p", b), build)
		s.sharedExec = true
	} else {
		exec, err = build()
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("search: building the score graph: %w", err)
	}
	s.exec = exec
	return s, nil
}

// scoreGraph computes scores[q, c] = Σ_d queries[q, d] · corpus[c, d].
func scoreGraph(queries, corpus *graph.Node) *graph.Node {
	return graph.Dot(queries, corpus).General([]int{1}, nil, []int{1}, nil)
}

// chunkSize resolves a chunk-size option: the configured (or default) size, reduced to the next
// power of two at or above n when n is smaller, so small inputs are not padded to huge shapes while
// the number of distinct compiled shapes stays logarithmic.
func chunkSize(name string, configured, def, n int) (int, error) {
	if configured < 0 {
		return 0, fmt.Errorf("search: %s must be >= 0 (0 = default %d), got %d", name, def, configured)
	}
	size := configured
	if size == 0 {
		size = def
	}
	if n < size {
		p := 1
		for p < n {
			p <<= 1
		}
		size = min(size, p)
	}
	return size, nil
}

// checkVectors verifies that every vector has dimension dim and only finite values.
func checkVectors(what string, vecs [][]float32, dim int) error {
	for i, v := range vecs {
		if len(v) != dim {
			return fmt.Errorf("%s embedding %d has dimension %d, expected %d", what, i, len(v), dim)
		}
		for j, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%s embedding %d has a non-finite value %v at position %d", what, i, x, j)
			}
		}
	}
	return nil
}

// newChunkTensor creates a [rows, dim] float32 tensor holding vecs (normalized for cosine),
// zero-padded to rows. On backends with shared buffers it is filled in place, without a copy.
func (s *Searcher) newChunkTensor(rows int, vecs [][]float32) (*tensors.Tensor, error) {
	t, err := tensors.FromShapeForBackend(s.backend, 0, shapes.Make(dtypes.Float32, rows, s.dim))
	if err != nil {
		return nil, err
	}
	err = tensors.MutableFlatData(t, func(flat []float32) {
		for i, v := range vecs {
			s.fillRow(flat[i*s.dim:(i+1)*s.dim], v)
		}
		clear(flat[len(vecs)*s.dim:])
	})
	if err != nil {
		_ = t.FinalizeAll()
		return nil, err
	}
	return t, nil
}

// fillRow copies v into dst, L2-normalized when the score function is cosine.
func (s *Searcher) fillRow(dst, v []float32) {
	if s.fn != Cosine {
		copy(dst, v)
		return
	}
	normalizeInto(dst, v)
}

// normalizeInto writes v / max(‖v‖₂, 1e-12) into dst (torch.nn.functional.normalize's formula;
// the norm is accumulated in float64).
func normalizeInto(dst, v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	norm := float32(math.Sqrt(ss))
	if norm < 1e-12 {
		norm = 1e-12
	}
	for i, x := range v {
		dst[i] = x / norm
	}
}

// Add appends corpus vectors (indices continue after those added before) and scores every full
// corpus chunk. It fails on a dimension mismatch or a non-finite value, naming the corpus index.
func (s *Searcher) Add(corpus [][]float32) error {
	if s.closed {
		return errors.New("search: Add after Close")
	}
	for i, v := range corpus {
		if len(v) != s.dim {
			return fmt.Errorf("search: corpus embedding %d has dimension %d, expected %d (the query dimension)", s.added+i, len(v), s.dim)
		}
		for j, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("search: corpus embedding %d has a non-finite value %v at position %d", s.added+i, x, j)
			}
		}
	}
	if len(corpus) == 0 {
		return nil
	}
	if s.chunk == nil {
		size, err := chunkSize("CorpusChunkSize", s.cChunk, DefaultCorpusChunkSize, len(corpus))
		if err != nil {
			return err
		}
		s.cChunk = size
		if s.chunk, err = tensors.FromShapeForBackend(s.backend, 0, shapes.Make(dtypes.Float32, s.cChunk, s.dim)); err != nil {
			return fmt.Errorf("search: corpus chunk tensor: %w", err)
		}
	}
	for len(corpus) > 0 {
		n := min(len(corpus), s.cChunk-s.pendingRows)
		err := tensors.MutableFlatData(s.chunk, func(flat []float32) {
			for i, v := range corpus[:n] {
				row := s.pendingRows + i
				s.fillRow(flat[row*s.dim:(row+1)*s.dim], v)
			}
		})
		if err != nil {
			return fmt.Errorf("search: corpus chunk tensor: %w", err)
		}
		s.pendingRows += n
		s.added += n
		corpus = corpus[n:]
		if s.pendingRows == s.cChunk {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush scores the pending corpus chunk against every query chunk and updates the heaps.
func (s *Searcher) flush() error {
	if s.pendingRows == 0 {
		return nil
	}
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	rows := s.pendingRows
	if rows < s.cChunk { // Zero the padding rows of the last, partial chunk: they score 0 and are skipped.
		if err := tensors.MutableFlatData(s.chunk, func(flat []float32) { clear(flat[rows*s.dim:]) }); err != nil {
			return fmt.Errorf("search: corpus chunk tensor: %w", err)
		}
	}
	ct := s.chunk
	for qi, qt := range s.queryTensors {
		if err := s.ctx.Err(); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		out, err := s.exec.Call(qt, ct)
		if err != nil {
			return fmt.Errorf("search: scoring query chunk %d against corpus rows %d..%d: %w", qi, s.flushed, s.flushed+rows-1, err)
		}
		qStart := qi * s.qChunk
		qRows := min(s.qChunk, s.numQueries-qStart)
		var selErr error
		err = tensors.ConstFlatData(out[0], func(scores []float32) {
			selErr = s.selectTopK(scores, qStart, qRows, rows)
		})
		for _, o := range out {
			_ = o.FinalizeAll()
		}
		if err != nil {
			return fmt.Errorf("search: reading scores: %w", err)
		}
		if selErr != nil {
			return selErr
		}
	}
	s.flushed += rows
	s.pendingRows = 0
	return nil
}

// selectTopK merges one [qChunk, cChunk] score block into the per-query heaps, in parallel over rows.
func (s *Searcher) selectTopK(scores []float32, qStart, qRows, cRows int) error {
	workers := min(runtime.GOMAXPROCS(0), qRows)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := w; r < qRows; r += workers {
				row := scores[r*s.cChunk : r*s.cChunk+cRows]
				if err := s.heaps[qStart+r].offerRow(row, s.flushed, s.k); err != nil {
					errs[w] = fmt.Errorf("search: query %d: %w", qStart+r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Results scores any pending corpus vectors and returns the top k hits per query, best first
// (score descending, then corpus index ascending). It fails when no corpus vector was added.
func (s *Searcher) Results() ([][]Hit, error) {
	if s.closed {
		return nil, errors.New("search: Results after Close")
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	if s.added == 0 {
		return nil, errors.New("search: empty corpus")
	}
	out := make([][]Hit, len(s.heaps))
	for i := range s.heaps {
		hits := append([]Hit(nil), s.heaps[i].hits...)
		sort.Slice(hits, func(a, b int) bool { return hitBefore(hits[a], hits[b]) })
		out[i] = hits
	}
	return out, nil
}

// Close releases the compiled graph and the query tensors. It is safe to call more than once.
func (s *Searcher) Close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, t := range s.queryTensors {
		_ = t.FinalizeAll()
	}
	s.queryTensors = nil
	if s.chunk != nil {
		_ = s.chunk.FinalizeAll()
		s.chunk = nil
	}
	if s.exec != nil && !s.sharedExec {
		s.exec.Finalize()
	}
}
