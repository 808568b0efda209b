package evaluation

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"

	"github.com/embedtune/embedtune/trainlib/model"
)

// MatryoshkaEvaluator evaluates retrieval at several embedding sizes, the way sentence-transformers'
// Matryoshka recipes do: one InformationRetrievalEvaluator per dimension d, named "dim_{d}" (or
// "{name}_dim_{d}" when IROptions.Name is set) with truncate_dim d, in a SequentialEvaluator. Its
// metrics are theirs — "dim_768_cosine_ndcg@10", "dim_64_cosine_ndcg@10", … — plus
// "sequential_score", the main score of the dimensions' primary metrics (by default the last
// dimension's, as sentence-transformers' SequentialEvaluator).
//
// The texts are encoded once per evaluation, at full size, and each dimension's evaluator gets them
// truncated: the metrics equal those of the separate evaluators, which would encode everything once
// per dimension. The full-size embeddings of the queries and the corpus are held during one
// evaluation.
//
// Example (the metrics of MatryoshkaLoss's dimensions after training):
//
//	ev, err := evaluation.NewMatryoshkaEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs,
//		[]int{768, 512, 256, 128, 64}, evaluation.IROptions{}, nil)
type MatryoshkaEvaluator struct {
	seq  *SequentialEvaluator
	dims []int
}

// NewMatryoshkaEvaluator builds the evaluator for dims (positive, distinct, in the order they are
// reported); opts configures every dimension's InformationRetrievalEvaluator (its TruncateDim must
// be 0: each dimension sets its own). mainScore aggregates the dimensions' primary metrics in
// order (nil: the last one).
func NewMatryoshkaEvaluator(queries, corpus map[string]string, relevantDocs map[string]map[string]bool,
	dims []int, opts IROptions, mainScore func(scores []float64) float64) (*MatryoshkaEvaluator, error) {
	if err := checkMatryoshkaDims(dims); err != nil {
		return nil, err
	}
	if opts.TruncateDim != 0 {
		return nil, fmt.Errorf("matryoshka evaluator: TruncateDim (%d) must be 0: each of the dimensions %v is its own truncate_dim", opts.TruncateDim, dims)
	}
	evs := make([]Evaluator, len(dims))
	for i, d := range dims {
		o := opts
		o.TruncateDim = d
		o.Name = fmt.Sprintf("dim_%d", d)
		if opts.Name != "" {
			o.Name = opts.Name + "_" + o.Name
		}
		ev, err := NewInformationRetrievalEvaluator(queries, corpus, relevantDocs, o)
		if err != nil {
			return nil, err
		}
		evs[i] = ev
	}
	return &MatryoshkaEvaluator{seq: NewSequentialEvaluator(evs, mainScore), dims: slices.Clone(dims)}, nil
}

// checkMatryoshkaDims requires positive, distinct dimensions.
func checkMatryoshkaDims(dims []int) error {
	if len(dims) == 0 {
		return fmt.Errorf("matryoshka evaluator: no dimensions; give e.g. [768, 512, 256, 128, 64]")
	}
	seen := map[int]bool{}
	for _, d := range dims {
		if d <= 0 {
			return fmt.Errorf("matryoshka evaluator: dimensions must be positive, got %d in %v", d, dims)
		}
		if seen[d] {
			return fmt.Errorf("matryoshka evaluator: dimension %d is listed twice in %v", d, dims)
		}
		seen[d] = true
	}
	return nil
}

// Dims returns the evaluated dimensions, in order.
func (e *MatryoshkaEvaluator) Dims() []int { return slices.Clone(e.dims) }

// Evaluators returns the dimensions' InformationRetrievalEvaluators, in order.
func (e *MatryoshkaEvaluator) Evaluators() []Evaluator { return e.seq.Evaluators() }

// Name returns "" (the dimensions' evaluators prefix their own keys).
func (e *MatryoshkaEvaluator) Name() string { return "" }

// PrimaryMetric returns "sequential_score".
func (e *MatryoshkaEvaluator) PrimaryMetric() string { return e.seq.PrimaryMetric() }

// Evaluate encodes the texts once and evaluates every dimension (see MatryoshkaEvaluator). A model
// whose embeddings are smaller than a dimension is an error.
func (e *MatryoshkaEvaluator) Evaluate(ctx context.Context, m Encoder) (map[string]float64, error) {
	if m == nil {
		return nil, fmt.Errorf("matryoshka evaluator: no model to evaluate")
	}
	return e.seq.Evaluate(ctx, newEmbeddingMemo(m, slices.Max(e.dims)))
}

// embeddingMemo answers each encode call (the same texts with the same options but TruncateDim) once,
// at full size, and serves truncated copies; it forwards what the evaluators ask of the model (query
// and document encoding, the similarity function). Whole calls are remembered, not single texts, so
// every embedding is the one a separate evaluator gets (a text's embedding depends slightly on the
// batch it is padded with).
type embeddingMemo struct {
	m       Encoder
	largest int
	mu      sync.Mutex
	store   map[memoKey][][]float32
}

type memoKey struct {
	side               int // 0 Encode, 1 EncodeQuery, 2 EncodeDocument
	prompt, promptName string
	normalize          bool
	batchSize          int
	texts              [sha256.Size]byte
}

func newEmbeddingMemo(m Encoder, largest int) *embeddingMemo {
	return &embeddingMemo{m: m, largest: largest, store: map[memoKey][][]float32{}}
}

// Encode implements Encoder.
func (c *embeddingMemo) Encode(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return c.encode(0, c.m.Encode, texts, opts)
}

// EncodeQuery implements QueryEncoder (Encode when the model has no query encoding).
func (c *embeddingMemo) EncodeQuery(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	if qe, ok := c.m.(QueryEncoder); ok {
		return c.encode(1, qe.EncodeQuery, texts, opts)
	}
	return c.Encode(texts, opts)
}

// EncodeDocument implements DocumentEncoder (Encode when the model has no document encoding).
func (c *embeddingMemo) EncodeDocument(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	if de, ok := c.m.(DocumentEncoder); ok {
		return c.encode(2, de.EncodeDocument, texts, opts)
	}
	return c.Encode(texts, opts)
}

// SimilarityFnName implements SimilarityNamer: the model's ("" when it declares none).
func (c *embeddingMemo) SimilarityFnName() string { return modelSimilarity(c.m) }

func (c *embeddingMemo) encode(side int, fn encodeFunc, texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	var o model.EncodeOptions
	if opts != nil {
		o = *opts
	}
	h := sha256.New()
	for _, t := range texts {
		fmt.Fprintf(h, "%d:%s", len(t), t)
	}
	key := memoKey{side: side, prompt: o.Prompt, promptName: o.PromptName, normalize: o.Normalize, batchSize: o.BatchSize}
	h.Sum(key.texts[:0])
	c.mu.Lock()
	emb, ok := c.store[key]
	c.mu.Unlock()
	if !ok {
		full := o
		full.TruncateDim = 0
		var err error
		if emb, err = fn(texts, &full); err != nil {
			return nil, err
		}
		if len(emb) != len(texts) {
			return nil, fmt.Errorf("encoding %d texts returned %d embeddings", len(texts), len(emb))
		}
		for _, e := range emb {
			if len(e) < c.largest {
				return nil, fmt.Errorf("the model's embeddings have %d dimensions, fewer than the evaluated dimension %d", len(e), c.largest)
			}
		}
		c.mu.Lock()
		c.store[key] = emb
		c.mu.Unlock()
	}
	return truncate(emb, o.TruncateDim), nil
}
