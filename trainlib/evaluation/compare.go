package evaluation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/embedtune/embedtune/trainlib/model"
)

// Defaults of CompareOptions.
const (
	DefaultCompareK         = 5
	DefaultCompareRankDepth = 100
)

// CompareOptions configures [CompareRetrieval]. The zero value means the defaults.
type CompareOptions struct {
	// K is the number of documents listed per model and query (default 5).
	K int
	// RankDepth is how deep the rank of the relevant documents is looked for (default 100, at least
	// K); a relevant document ranked deeper counts as not found, which is worse than any rank.
	RankDepth int
	// ScoreFunction is the similarity used by both models (default cosine).
	ScoreFunction ScoreFunction
	// BaseName and TunedName title the two columns (default "base" and "fine-tuned").
	BaseName, TunedName string
	// BatchSize, the prompts and TruncateDim are passed to the encoders (as in IROptions).
	BatchSize                                                    int
	QueryPrompt, QueryPromptName, CorpusPrompt, CorpusPromptName string
	TruncateDim                                                  int
	// MaxTextLen is the number of characters of each document shown by String and HTML (default 80;
	// negative shows whole texts).
	MaxTextLen int
	// Search configures the exact search (Backend and chunk sizes).
	Search SearchOptions
}

// Outcome of a query in a comparison: how the fine-tuned model ranks its relevant documents
// compared with the base model.
type Outcome string

// The outcomes. NotJudged is for queries without relevant documents, which are not counted.
const (
	Win       Outcome = "win"
	Loss      Outcome = "loss"
	Tie       Outcome = "tie"
	NotJudged Outcome = ""
)

// RetrievedDoc is one document in a model's top K for a query.
type RetrievedDoc struct {
	CorpusID string  `json:"corpus_id"`
	Text     string  `json:"text"`
	Score    float32 `json:"score"`
	Relevant bool    `json:"relevant"`
}

// QueryComparison is the side-by-side retrieval of one query.
type QueryComparison struct {
	QueryID  string         `json:"query_id"`
	Query    string         `json:"query"`
	Relevant []string       `json:"relevant,omitempty"` // sorted relevant corpus ids
	Base     []RetrievedDoc `json:"base"`
	Tuned    []RetrievedDoc `json:"tuned"`
	// BaseRank and TunedRank are the 1-based ranks of the best-ranked relevant document, 0 when no
	// relevant document is within RankDepth (or the query has none).
	BaseRank  int     `json:"base_rank"`
	TunedRank int     `json:"tuned_rank"`
	Outcome   Outcome `json:"outcome"`
}

// RetrievalComparison is the retrieval of a base and a fine-tuned model side by side. Print it
// (String) in a terminal, or display HTML() in a notebook.
type RetrievalComparison struct {
	BaseName      string            `json:"base_name"`
	TunedName     string            `json:"tuned_name"`
	K             int               `json:"k"`
	RankDepth     int               `json:"rank_depth"`
	ScoreFunction ScoreFunction     `json:"score_function"`
	Queries       []QueryComparison `json:"queries"`
	// Wins, Losses and Ties count the judged queries whose best relevant rank improved, worsened or
	// stayed the same with the fine-tuned model.
	Wins   int `json:"wins"`
	Losses int `json:"losses"`
	Ties   int `json:"ties"`

	maxTextLen int
}

// CompareRetrieval retrieves the top K corpus documents of every query (sorted by id) with the base
// and the tuned model, and, for queries with relevant documents (relevantDocs may be nil), the rank
// of the best-ranked relevant document under each model, counting wins, losses and ties. Judgements
// of queries not in queries are ignored; a relevant id missing from the corpus is an error.
func CompareRetrieval(ctx context.Context, base, tuned Encoder, queries, corpus map[string]string,
	relevantDocs map[string]map[string]bool, opts CompareOptions) (*RetrievalComparison, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	fail := func(err error) (*RetrievalComparison, error) { return nil, fmt.Errorf("compare retrieval: %w", err) }
	o, err := opts.resolve()
	if err != nil {
		return fail(err)
	}
	if base == nil || tuned == nil {
		return fail(errors.New("both a base and a tuned model are needed"))
	}
	if len(queries) == 0 {
		return fail(errors.New("no queries"))
	}
	if len(corpus) == 0 {
		return fail(errors.New("the corpus is empty"))
	}
	qIDs, cIDs := slices.Sorted(maps.Keys(queries)), slices.Sorted(maps.Keys(corpus))
	cmp := &RetrievalComparison{
		BaseName: o.BaseName, TunedName: o.TunedName, K: o.K, RankDepth: o.RankDepth, ScoreFunction: o.ScoreFunction,
		maxTextLen: o.MaxTextLen,
	}
	for _, q := range qIDs {
		qc := QueryComparison{QueryID: q, Query: queries[q]}
		for doc, ok := range relevantDocs[q] {
			if !ok {
				continue
			}
			if _, known := corpus[doc]; !known {
				return fail(fmt.Errorf("relevant document %q of query %q is not in the corpus", doc, q))
			}
			qc.Relevant = append(qc.Relevant, doc)
		}
		slices.Sort(qc.Relevant)
		cmp.Queries = append(cmp.Queries, qc)
	}
	qTexts := make([]string, len(qIDs))
	for i, q := range qIDs {
		qTexts[i] = queries[q]
	}
	cTexts := make([]string, len(cIDs))
	for i, c := range cIDs {
		cTexts[i] = corpus[c]
	}
	depth := min(o.RankDepth, len(cIDs))
	for side, m := range []Encoder{base, tuned} {
		name := []string{o.BaseName, o.TunedName}[side]
		hits, err := o.retrieve(ctx, m, qIDs, qTexts, cIDs, cTexts, depth)
		if err != nil {
			return fail(fmt.Errorf("%s model: %w", name, err))
		}
		for qi := range cmp.Queries {
			qc := &cmp.Queries[qi]
			rel := map[string]bool{}
			for _, d := range qc.Relevant {
				rel[d] = true
			}
			var docs []RetrievedDoc
			rank := 0
			for j, h := range hits[qi] {
				id := cIDs[h.Index]
				if j < o.K {
					docs = append(docs, RetrievedDoc{CorpusID: id, Text: corpus[id], Score: h.Score, Relevant: rel[id]})
				}
				if rank == 0 && rel[id] {
					rank = j + 1
				}
			}
			if side == 0 {
				qc.Base, qc.BaseRank = docs, rank
			} else {
				qc.Tuned, qc.TunedRank = docs, rank
			}
		}
	}
	for qi := range cmp.Queries {
		qc := &cmp.Queries[qi]
		qc.Outcome = outcome(len(qc.Relevant) > 0, qc.BaseRank, qc.TunedRank)
		switch qc.Outcome {
		case Win:
			cmp.Wins++
		case Loss:
			cmp.Losses++
		case Tie:
			cmp.Ties++
		}
	}
	return cmp, nil
}

// outcome compares two best-relevant ranks, 0 meaning "not within the rank depth" (the worst).
func outcome(judged bool, baseRank, tunedRank int) Outcome {
	if !judged {
		return NotJudged
	}
	worst := func(r int) int {
		if r == 0 {
			return int(^uint(0) >> 1)
		}
		return r
	}
	b, t := worst(baseRank), worst(tunedRank)
	switch {
	case t < b:
		return Win
	case t > b:
		return Loss
	}
	return Tie
}

func (o CompareOptions) resolve() (CompareOptions, error) {
	if o.K < 0 || o.RankDepth < 0 || o.BatchSize < 0 || o.TruncateDim < 0 {
		return o, fmt.Errorf("K (%d), RankDepth (%d), BatchSize (%d) and TruncateDim (%d) must be >= 0 (0 = default)",
			o.K, o.RankDepth, o.BatchSize, o.TruncateDim)
	}
	if o.K == 0 {
		o.K = DefaultCompareK
	}
	if o.RankDepth == 0 {
		o.RankDepth = DefaultCompareRankDepth
	}
	o.RankDepth = max(o.RankDepth, o.K)
	if o.ScoreFunction == "" {
		o.ScoreFunction = Cosine
	}
	if err := o.ScoreFunction.Validate(); err != nil {
		return o, err
	}
	if o.BaseName == "" {
		o.BaseName = "base"
	}
	if o.TunedName == "" {
		o.TunedName = "fine-tuned"
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultIRBatchSize
	}
	if o.MaxTextLen == 0 {
		o.MaxTextLen = 80
	}
	return o, nil
}

// retrieve encodes the queries and the corpus with m and returns the top depth hits per query.
func (o CompareOptions) retrieve(ctx context.Context, m Encoder, qIDs, qTexts, cIDs, cTexts []string, depth int) ([][]Hit, error) {
	qSide, dSide := modelEncoders(m, o.QueryPrompt, o.QueryPromptName, o.CorpusPrompt, o.CorpusPromptName)
	base := model.EncodeOptions{Context: ctx, BatchSize: o.BatchSize, TruncateDim: o.TruncateDim}
	qEmb, err := encodeChecked(qSide.encode, "query", qIDs, qTexts, qSide.options(base), o.TruncateDim, 0)
	if err != nil {
		return nil, err
	}
	dOpts := dSide.options(base)
	block := func(start, end int) ([][]float32, error) {
		return encodeChecked(dSide.encode, "corpus", cIDs[start:end], cTexts[start:end], dOpts, o.TruncateDim, len(qEmb[0]))
	}
	hits, err := rankQueries(ctx, qEmb, len(cIDs), DefaultIRCorpusChunkSize, block, []ScoreFunction{o.ScoreFunction}, depth, o.Search)
	if err != nil {
		return nil, err
	}
	return hits[o.ScoreFunction], nil
}
