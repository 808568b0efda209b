package evaluation

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// EvaluateEmbeddings computes the information-retrieval metrics from precomputed embeddings (bring
// your own embeddings): queryEmbeddings and corpusEmbeddings map ids to vectors, relevantDocs maps
// query ids to their relevant corpus ids (an entry counts when true). The metrics, keys, primary
// metric and files are those of [InformationRetrievalEvaluator] with opts; the prompts and batch
// size do not apply, and ScoreFunctions defaults to cosine. Queries are evaluated when they have a
// relevant document; embeddings must be finite and of one dimension.
func EvaluateEmbeddings(ctx context.Context, queryEmbeddings, corpusEmbeddings map[string][]float32,
	relevantDocs map[string]map[string]bool, opts IROptions) (*IRResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	fail := func(err error) (*IRResult, error) {
		return nil, fmt.Errorf("%s: %w", errorPrefix("evaluate embeddings", opts.Name), err)
	}
	o, err := opts.resolve()
	if err != nil {
		return fail(err)
	}
	if o.ScoreFunctions == nil {
		o.ScoreFunctions = []ScoreFunction{Cosine}
		if o.MainScoreFunction != "" && o.MainScoreFunction != Cosine {
			return fail(fmt.Errorf("MainScoreFunction %q is not among the evaluated score functions [cosine]", o.MainScoreFunction))
		}
	}
	d, err := prepareIRData(slices.Sorted(maps.Keys(queryEmbeddings)), slices.Sorted(maps.Keys(corpusEmbeddings)), relevantDocs, o.UnknownIDs)
	if err != nil {
		return fail(err)
	}
	qEmb := make([][]float32, len(d.queryIDs))
	for i, q := range d.queryIDs {
		qEmb[i] = queryEmbeddings[q]
	}
	qEmb = truncate(qEmb, o.TruncateDim)
	if err := checkEmbeddings("query", d.queryIDs, qEmb, 0); err != nil {
		return fail(err)
	}
	dim := len(qEmb[0])
	block := func(start, end int) ([][]float32, error) {
		ids := d.corpusIDs[start:end]
		emb := make([][]float32, len(ids))
		for i, c := range ids {
			emb[i] = corpusEmbeddings[c]
		}
		emb = truncate(emb, o.TruncateDim)
		return emb, checkEmbeddings("corpus", ids, emb, dim)
	}
	hits, err := rankQueries(ctx, qEmb, len(d.corpusIDs), o.CorpusChunkSize, block, o.ScoreFunctions, o.MaxK(), o.Search)
	if err != nil {
		return fail(err)
	}
	r, err := newIRResult(o.Name, d, len(d.corpusIDs), o.ScoreFunctions, hits, d.corpusIDs, o.KValues, o.MainScoreFunction)
	if err != nil {
		return fail(err)
	}
	if err := writeOutputs(ctx, r, o, nil); err != nil {
		return fail(err)
	}
	return r, nil
}
