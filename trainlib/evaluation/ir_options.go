package evaluation

import (
	"fmt"
	"slices"
)

// Defaults of IROptions, as in sentence-transformers' InformationRetrievalEvaluator.
const (
	DefaultIRCorpusChunkSize = 50000
	DefaultIRBatchSize       = 32
)

// IROptions configures an information-retrieval evaluation. Every field mirrors an argument of
// sentence-transformers' InformationRetrievalEvaluator (its name in parentheses); the zero value
// means sentence-transformers' defaults.
type IROptions struct {
	// Name (name) prefixes every metric key ("{name}_cosine_ndcg@10") and the file names.
	Name string

	// KValues are the metric cutoffs (accuracy_at_k, precision_recall_at_k, mrr_at_k, ndcg_at_k,
	// map_at_k); nil lists take the defaults [1,3,5,10], [1,3,5,10], [10], [10], [100].
	KValues

	// CorpusChunkSize (corpus_chunk_size) is the number of corpus texts encoded and searched at a
	// time; default 50000.
	CorpusChunkSize int

	// BatchSize (batch_size) is the encode batch size; default 32.
	BatchSize int

	// ScoreFunctions (score_functions) are the similarities to evaluate, each giving its own set of
	// metrics. Default: the model's similarity (see SimilarityNamer), else cosine.
	ScoreFunctions []ScoreFunction

	// MainScoreFunction (main_score_function) selects the score function of the primary metric;
	// default: the one with the highest NDCG@max(NDCGAtK) at the first evaluation.
	MainScoreFunction ScoreFunction

	// QueryPrompt / QueryPromptName (query_prompt / query_prompt_name) and CorpusPrompt /
	// CorpusPromptName (corpus_prompt / corpus_prompt_name) are passed to the encoder.
	QueryPrompt, QueryPromptName, CorpusPrompt, CorpusPromptName string

	// TruncateDim (truncate_dim) keeps the first TruncateDim embedding dimensions; 0 keeps all.
	TruncateDim int

	// SkipCSV disables the CSV (write_csv=False). CSV, JSON and predictions are only written when
	// the context carries a RunInfo with an OutputPath (sentence-transformers' output_path).
	SkipCSV bool
	// SkipJSON disables the JSON results file.
	SkipJSON bool
	// WritePredictions (write_predictions) writes the per-query rankings as JSON Lines.
	WritePredictions bool

	// UnknownIDs says what to do with relevance judgements naming unknown query or corpus ids;
	// default UnknownIDsError.
	UnknownIDs UnknownIDPolicy

	// Search configures the exact search: Backend, QueryChunkSize and CorpusChunkSize (its Context
	// and ScoreFunction are set by the evaluation).
	Search SearchOptions
}

// resolve fills in the defaults and validates the options.
func (o IROptions) resolve() (IROptions, error) {
	o.KValues = o.KValues.withDefaults()
	if err := o.KValues.Validate(); err != nil {
		return o, err
	}
	if o.CorpusChunkSize < 0 || o.BatchSize < 0 || o.TruncateDim < 0 {
		return o, fmt.Errorf("CorpusChunkSize (%d), BatchSize (%d) and TruncateDim (%d) must be >= 0 (0 = default)",
			o.CorpusChunkSize, o.BatchSize, o.TruncateDim)
	}
	if o.CorpusChunkSize == 0 {
		o.CorpusChunkSize = DefaultIRCorpusChunkSize
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultIRBatchSize
	}
	if o.ScoreFunctions != nil {
		if len(o.ScoreFunctions) == 0 {
			return o, fmt.Errorf("ScoreFunctions is empty: give at least one of %q, %q (or nil for the default)", Cosine, DotScore)
		}
		fns, err := sortedScoreFunctions(o.ScoreFunctions)
		if err != nil {
			return o, fmt.Errorf("ScoreFunctions: %w", err)
		}
		o.ScoreFunctions = fns
	}
	if o.MainScoreFunction != "" {
		if err := o.MainScoreFunction.Validate(); err != nil {
			return o, fmt.Errorf("MainScoreFunction: %w", err)
		}
		if o.ScoreFunctions != nil && !slices.Contains(o.ScoreFunctions, o.MainScoreFunction) {
			return o, fmt.Errorf("MainScoreFunction %q is not among ScoreFunctions %v", o.MainScoreFunction, o.ScoreFunctions)
		}
	}
	if o.UnknownIDs < UnknownIDsError || o.UnknownIDs > UnknownIDsKeep {
		return o, fmt.Errorf("invalid UnknownIDs policy %d", int(o.UnknownIDs))
	}
	return o, nil
}
