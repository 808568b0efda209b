package evaluation

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/embedtune/embedtune/trainlib/model"
)

// InformationRetrievalEvaluator is sentence-transformers' InformationRetrievalEvaluator: it encodes
// the queries and the corpus with the model, retrieves the top max-k corpus entries of every query by
// exact search and reports accuracy@k, precision@k, recall@k, MRR@k, NDCG@k and MAP@k (see
// [ComputeIRMetrics]) for every score function, over the queries that have a relevant document.
//
// Ids are ordered deterministically (sorted), which does not change any metric: rankings are by
// score, ties broken by ascending corpus id, as in sentence-transformers 6.2.
//
// It is safe for concurrent use.
type InformationRetrievalEvaluator struct {
	opts        IROptions
	data        *irData
	queryTexts  []string // aligned with data.queryIDs
	corpusTexts []string // aligned with data.corpusIDs
	textOf      map[string]string

	mu         sync.Mutex
	primary    string          // fixed at the first evaluation, as sentence-transformers does
	primaryFns []ScoreFunction // the score functions primary was chosen among
}

// NewInformationRetrievalEvaluator builds the evaluator from queries (query id → text), corpus
// (corpus id → text) and relevantDocs (query id → set of relevant corpus ids; an entry counts when
// its value is true). Queries without relevant documents are not evaluated. It fails on an empty
// corpus, no evaluable query, invalid options, and (by default) judgements naming unknown ids.
func NewInformationRetrievalEvaluator(queries, corpus map[string]string, relevantDocs map[string]map[string]bool,
	opts IROptions) (*InformationRetrievalEvaluator, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", errorPrefix("information retrieval evaluator", opts.Name), err)
	}
	d, err := prepareIRData(slices.Sorted(maps.Keys(queries)), slices.Sorted(maps.Keys(corpus)), relevantDocs, o.UnknownIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", errorPrefix("information retrieval evaluator", opts.Name), err)
	}
	e := &InformationRetrievalEvaluator{opts: o, data: d, textOf: make(map[string]string, len(d.queryIDs))}
	for _, q := range d.queryIDs {
		e.queryTexts = append(e.queryTexts, queries[q])
		e.textOf[q] = queries[q]
	}
	for _, c := range d.corpusIDs {
		e.corpusTexts = append(e.corpusTexts, corpus[c])
	}
	if p := primaryMetricIfKnown(o); p != "" {
		e.primary = metricPrefix(o.Name) + p
	}
	return e, nil
}

// primaryMetricIfKnown returns the primary metric when it does not depend on the scores.
func primaryMetricIfKnown(o IROptions) string {
	maxK := slices.Max(o.NDCGAtK)
	switch {
	case o.MainScoreFunction != "":
		return fmt.Sprintf("%s_ndcg@%d", o.MainScoreFunction, maxK)
	case len(o.ScoreFunctions) == 1:
		return fmt.Sprintf("%s_ndcg@%d", o.ScoreFunctions[0], maxK)
	}
	return ""
}

// Name returns the evaluator's name.
func (e *InformationRetrievalEvaluator) Name() string { return e.opts.Name }

// PrimaryMetric returns "{name}_{fn}_ndcg@{max ndcg k}". As in sentence-transformers it is fixed at
// the first evaluation (by MainScoreFunction, or the score function with the highest NDCG); before
// it, it is known only when MainScoreFunction is set or ScoreFunctions has one entry, else "".
func (e *InformationRetrievalEvaluator) PrimaryMetric() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.primary
}

// NumQueries is the number of evaluated queries (those with a relevant document).
func (e *InformationRetrievalEvaluator) NumQueries() int { return len(e.data.queryIDs) }

// NumCorpus is the number of corpus entries.
func (e *InformationRetrievalEvaluator) NumCorpus() int { return len(e.data.corpusIDs) }

// DataCheck reports what was found in the relevance judgements.
func (e *InformationRetrievalEvaluator) DataCheck() DataCheck { return e.data.check }

// Evaluate implements Evaluator: [InformationRetrievalEvaluator.Run] returning the metrics only.
func (e *InformationRetrievalEvaluator) Evaluate(ctx context.Context, m Encoder) (map[string]float64, error) {
	r, err := e.Run(ctx, m)
	if err != nil {
		return nil, err
	}
	return r.Metrics, nil
}

// Run evaluates m and returns the full result. When ctx carries a RunInfo with an OutputPath it also
// writes the CSV row, the JSON results and (with WritePredictions) the predictions there.
func (e *InformationRetrievalEvaluator) Run(ctx context.Context, m Encoder) (*IRResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	fail := func(err error) (*IRResult, error) {
		return nil, fmt.Errorf("%s: %w", errorPrefix("information retrieval evaluator", e.opts.Name), err)
	}
	if m == nil {
		return fail(fmt.Errorf("no model to evaluate"))
	}
	fns, err := e.scoreFunctionsFor(m)
	if err != nil {
		return fail(err)
	}
	qSide, dSide := modelEncoders(m, e.opts.QueryPrompt, e.opts.QueryPromptName, e.opts.CorpusPrompt, e.opts.CorpusPromptName)
	base := model.EncodeOptions{Context: ctx, BatchSize: e.opts.BatchSize, TruncateDim: e.opts.TruncateDim}
	qEmb, err := encodeChecked(qSide.encode, "query", e.data.queryIDs, e.queryTexts, qSide.options(base), e.opts.TruncateDim, 0)
	if err != nil {
		return fail(err)
	}
	dim := len(qEmb[0])
	dOpts := dSide.options(base)
	block := func(start, end int) ([][]float32, error) {
		return encodeChecked(dSide.encode, "corpus", e.data.corpusIDs[start:end], e.corpusTexts[start:end], dOpts, e.opts.TruncateDim, dim)
	}
	so := e.opts.Search
	if g, ok := m.(interface{ SharedGraphs() *model.GraphCache }); ok && so.Graphs == nil {
		so.Graphs = g.SharedGraphs() // nil unless the model shares its graphs (a sweep's runs)
	}
	hits, err := rankQueries(ctx, qEmb, len(e.data.corpusIDs), e.opts.CorpusChunkSize, block, fns, e.opts.MaxK(), so)
	if err != nil {
		return fail(err)
	}
	r, err := newIRResult(e.opts.Name, e.data, len(e.data.corpusIDs), fns, hits, e.data.corpusIDs, e.opts.KValues, e.opts.MainScoreFunction)
	if err != nil {
		return fail(err)
	}
	e.mu.Lock()
	// Like sentence-transformers: chosen once, re-chosen only when the model's similarity changes.
	if e.primary == "" || (e.opts.ScoreFunctions == nil && !slices.Equal(e.primaryFns, fns)) {
		e.primary = r.PrimaryMetric
		e.primaryFns = fns
	}
	r.PrimaryMetric = e.primary
	e.mu.Unlock()
	if err := writeOutputs(ctx, r, e.opts, e.textOf); err != nil {
		return fail(err)
	}
	return r, nil
}

// scoreFunctionsFor returns the configured score functions, else the model's similarity, else cosine.
func (e *InformationRetrievalEvaluator) scoreFunctionsFor(m Encoder) ([]ScoreFunction, error) {
	fns := e.opts.ScoreFunctions
	if fns == nil {
		fns = []ScoreFunction{Cosine}
		if name := modelSimilarity(m); name != "" {
			fn, err := ParseScoreFunction(name)
			if err != nil {
				return nil, fmt.Errorf("the model's similarity function: %w; set IROptions.ScoreFunctions", err)
			}
			fns = []ScoreFunction{fn}
		}
	}
	if e.opts.MainScoreFunction != "" && !slices.Contains(fns, e.opts.MainScoreFunction) {
		return nil, fmt.Errorf("MainScoreFunction %q is not among the evaluated score functions %v", e.opts.MainScoreFunction, fns)
	}
	return fns, nil
}

// encodeChecked encodes texts and checks the embeddings: one per text, all of dimension dim (or of
// the first one's when dim is 0), finite. Embeddings longer than truncateDim (> 0) are truncated.
func encodeChecked(enc encodeFunc, what string, ids, texts []string,
	opts *model.EncodeOptions, truncateDim, dim int) ([][]float32, error) {
	emb, err := enc(texts, opts)
	if err != nil {
		return nil, fmt.Errorf("encoding %d %s texts: %w", len(texts), what, err)
	}
	if len(emb) != len(texts) {
		return nil, fmt.Errorf("encoding %d %s texts returned %d embeddings", len(texts), what, len(emb))
	}
	emb = truncate(emb, truncateDim)
	if err := checkEmbeddings(what, ids, emb, dim); err != nil {
		return nil, err
	}
	return emb, nil
}

// truncate keeps the first n dimensions of every embedding (n = 0 keeps all); it does not copy.
func truncate(emb [][]float32, n int) [][]float32 {
	if n <= 0 {
		return emb
	}
	out, copied := emb, false
	for i, v := range emb {
		if len(v) > n {
			if !copied {
				out, copied = slices.Clone(emb), true
			}
			out[i] = v[:n]
		}
	}
	return out
}

// checkEmbeddings verifies dimensions (dim, or the first embedding's when 0) and finiteness, naming ids.
func checkEmbeddings(what string, ids []string, emb [][]float32, dim int) error {
	if len(emb) == 0 {
		return nil
	}
	if dim == 0 {
		dim = len(emb[0])
		if dim == 0 {
			return fmt.Errorf("%s embedding of %q is empty", what, ids[0])
		}
	}
	for i, v := range emb {
		if len(v) != dim {
			return fmt.Errorf("%s embedding of %q has dimension %d, expected %d", what, ids[i], len(v), dim)
		}
		for j, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%s embedding of %q has a non-finite value %v at position %d", what, ids[i], x, j)
			}
		}
	}
	return nil
}

// rankQueries searches the query embeddings against the corpus, produced block by block by block(start,
// end), for every score function, and returns the top k hits per query per function.
func rankQueries(ctx context.Context, queryEmb [][]float32, numCorpus, blockSize int,
	block func(start, end int) ([][]float32, error), fns []ScoreFunction, k int, so SearchOptions) (map[ScoreFunction][][]Hit, error) {
	searchers := make(map[ScoreFunction]*Searcher, len(fns))
	defer func() {
		for _, s := range searchers {
			s.Close()
		}
	}()
	for _, fn := range fns {
		so.Context, so.ScoreFunction = ctx, fn
		s, err := NewSearcher(queryEmb, k, so)
		if err != nil {
			return nil, err
		}
		searchers[fn] = s
	}
	for start := 0; start < numCorpus; start += blockSize {
		end := min(start+blockSize, numCorpus)
		emb, err := block(start, end)
		if err != nil {
			return nil, err
		}
		for _, fn := range fns {
			if err := searchers[fn].Add(emb); err != nil {
				return nil, err
			}
		}
	}
	out := make(map[ScoreFunction][][]Hit, len(fns))
	for _, fn := range fns {
		hits, err := searchers[fn].Results()
		if err != nil {
			return nil, err
		}
		out[fn] = hits
	}
	return out, nil
}

// writeOutputs writes the CSV, JSON and predictions requested by opts when ctx carries an output path.
func writeOutputs(ctx context.Context, r *IRResult, opts IROptions, queryTexts map[string]string) error {
	info := RunInfoFrom(ctx)
	if info.OutputPath == "" {
		return nil
	}
	if !opts.SkipCSV {
		if err := r.WriteCSV(info.OutputPath, info.Epoch, info.Steps); err != nil {
			return err
		}
	}
	if !opts.SkipJSON {
		if err := r.WriteJSON(info.OutputPath, info.Epoch, info.Steps); err != nil {
			return err
		}
	}
	if opts.WritePredictions {
		if err := r.WritePredictions(info.OutputPath, queryTexts); err != nil {
			return err
		}
	}
	return nil
}
