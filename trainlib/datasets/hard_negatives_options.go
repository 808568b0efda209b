package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/embedtune/embedtune/trainlib/evaluation"
)

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type SamplingStrategy -setting sampling_strategy
//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type OutputFormat -setting output_format

// SamplingStrategy says how MineHardNegatives picks negatives among the candidates: sentence-transformers'
// sampling_strategy.
type SamplingStrategy string

// The sampling strategies.
const (
	// SamplingRandom draws num_negatives candidates at random (Python's random.sample, see MineOptions.Seed),
	// then orders them by score.
	SamplingRandom SamplingStrategy = "random"
	// SamplingTop takes the num_negatives best-scoring candidates (the default).
	SamplingTop SamplingStrategy = "top"
)

// OutputFormat is the shape of MineHardNegatives' dataset: sentence-transformers' output_format.
type OutputFormat string

// The output formats (columns without / with output_scores).
const (
	// OutputTriplet: (anchor, positive, negative[, scores]), one row per negative; MultipleNegativesRankingLoss
	// takes it as is.
	OutputTriplet OutputFormat = "triplet"
	// OutputNTuple: (anchor, positive, negative_1, …, negative_n[, scores]), one row per (anchor, positive) that
	// found all num_negatives negatives; MultipleNegativesRankingLoss takes it as is.
	OutputNTuple OutputFormat = "n-tuple"
	// OutputLabeledPair: (anchor, document, label | score), label 1 for positives and 0 for negatives.
	OutputLabeledPair OutputFormat = "labeled-pair"
	// OutputLabeledList: (anchor, [positive, negatives…], labels | scores).
	OutputLabeledList OutputFormat = "labeled-list"
)

// Defaults of MineOptions, as in sentence-transformers' mine_hard_negatives.
const (
	DefaultMineNumNegatives = 3
	DefaultMineBatchSize    = 32
	// DefaultMineChunkSize is the number of corpus (and query) texts encoded and searched at a time.
	DefaultMineChunkSize = 16384
)

// Ptr returns a pointer to v, for optional settings such as MineOptions' scores and margins.
func Ptr[T any](v T) *T { return &v }

// MineOptions configures MineHardNegatives. Each field is the sentence-transformers argument named
// in parentheses (also its JSON / YAML key, as in a run config's mine_hard_negatives); the zero
// value means its default, and the optional numbers are pointers (nil: not set, as None in Python).
type MineOptions struct {
	// AnchorColumn (anchor_column_name) and PositiveColumn (positive_column_name) name the columns;
	// defaults: the first and the second column. A name that is not a column is an error (Python
	// falls back to the first columns).
	AnchorColumn   string `json:"anchor_column_name" yaml:"anchor_column_name"`
	PositiveColumn string `json:"positive_column_name" yaml:"positive_column_name"`

	// Corpus (corpus) are more candidate documents, searched together with the positives.
	Corpus []string `json:"-" yaml:"-"`

	// RangeMin (range_min) skips the RangeMin best candidates; RangeMax (range_max) considers at most
	// that many. 0 derives RangeMax as sentence-transformers does: RangeMin + NumNegatives +
	// max positives per anchor, or RangeMin + 10·NumNegatives + max positives when a margin or
	// MaxScore is set.
	RangeMin int `json:"range_min" yaml:"range_min"`
	RangeMax int `json:"range_max" yaml:"range_max"`

	// MaxScore (max_score) and MinScore (min_score) discard candidates scoring above / below them.
	MaxScore *float64 `json:"max_score" yaml:"max_score"`
	MinScore *float64 `json:"min_score" yaml:"min_score"`

	// AbsoluteMargin (absolute_margin) discards candidates with score + margin > positive score;
	// RelativeMargin (relative_margin) those with score > positive − |positive|·margin. With several
	// positives the lowest positive score applies.
	AbsoluteMargin *float64 `json:"absolute_margin" yaml:"absolute_margin"`
	RelativeMargin *float64 `json:"relative_margin" yaml:"relative_margin"`

	// NumNegatives (num_negatives) per anchor; default 3.
	NumNegatives int `json:"num_negatives" yaml:"num_negatives"`

	// SamplingStrategy (sampling_strategy): "top" (default) or "random".
	SamplingStrategy SamplingStrategy `json:"sampling_strategy" yaml:"sampling_strategy"`
	// Seed seeds the random strategy's draws: the same negatives as sentence-transformers after
	// random.seed(Seed) (it draws from Python's global random module).
	Seed int64 `json:"seed" yaml:"seed"`

	// QueryPrompt / QueryPromptName (query_prompt / query_prompt_name) and CorpusPrompt /
	// CorpusPromptName (corpus_prompt / corpus_prompt_name) are passed to the encoder: anchors are
	// encoded with EncodeQuery, documents with EncodeDocument, as sentence-transformers does.
	QueryPrompt      string `json:"query_prompt" yaml:"query_prompt"`
	QueryPromptName  string `json:"query_prompt_name" yaml:"query_prompt_name"`
	CorpusPrompt     string `json:"corpus_prompt" yaml:"corpus_prompt"`
	CorpusPromptName string `json:"corpus_prompt_name" yaml:"corpus_prompt_name"`

	// IncludePositives (include_positives) keeps the positives among the candidates (for reranking
	// evaluation sets); it needs OutputFormat "n-tuple".
	IncludePositives bool `json:"include_positives" yaml:"include_positives"`

	// OutputFormat (output_format): "triplet" (default), "n-tuple", "labeled-pair", "labeled-list".
	OutputFormat OutputFormat `json:"output_format" yaml:"output_format"`
	// OutputScores (output_scores) adds the similarity scores (see OutputFormat).
	OutputScores bool `json:"output_scores" yaml:"output_scores"`

	// BatchSize (batch_size) is the encode batch size; default 32.
	BatchSize int `json:"batch_size" yaml:"batch_size"`
	// ChunkSize is the number of texts encoded (and cached) at a time; the corpus is searched chunk
	// by chunk, so memory does not grow with the corpus (see MineHardNegatives). Default 16384.
	ChunkSize int `json:"chunk_size" yaml:"chunk_size"`
	// Search configures the exact search (Backend, QueryChunkSize, CorpusChunkSize; the query chunk
	// plays the role of faiss_batch_size).
	Search evaluation.SearchOptions `json:"-" yaml:"-"`

	// CacheFolder (cache_folder) keeps the embeddings of the anchors and the corpus on disk, keyed by
	// the model's weights, the prompts and the texts, and reuses them when nothing changed (see
	// package trainlib/internal/embcache). "" means ~/.cache/embedtune/embeddings; NoCache turns it
	// off. Only *model.SentenceTransformer encoders are cached.
	CacheFolder string `json:"cache_folder" yaml:"cache_folder"`
	NoCache     bool   `json:"no_cache" yaml:"no_cache"`

	// Context cancels mining between chunks. Default context.Background().
	Context context.Context `json:"-" yaml:"-"`
	// Log receives progress lines and sentence-transformers' verbose messages (nil: silent); the
	// statistics are in the returned MiningReport.
	Log io.Writer `json:"-" yaml:"-"`
}

// resolve validates the options and fills in the defaults that do not depend on the data.
func (o MineOptions) resolve() (MineOptions, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.NumNegatives == 0 {
		o.NumNegatives = DefaultMineNumNegatives
	}
	if o.NumNegatives < 1 {
		bad("num_negatives must be at least 1, got %d", o.NumNegatives)
	}
	if o.SamplingStrategy == "" {
		o.SamplingStrategy = SamplingTop
	}
	if err := o.SamplingStrategy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.OutputFormat == "" {
		o.OutputFormat = OutputTriplet
	}
	if err := o.OutputFormat.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.RangeMin < 0 {
		bad("range_min must be non-negative, got range_min=%d", o.RangeMin)
	}
	if o.RangeMax < 0 {
		bad("range_max must be positive (or 0 to derive it), got range_max=%d", o.RangeMax)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"max_score", o.MaxScore}, {"min_score", o.MinScore}, {"absolute_margin", o.AbsoluteMargin}, {"relative_margin", o.RelativeMargin}} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0)) {
			bad("%s must be a finite number, got %v", f.name, *f.v)
		}
	}
	if o.MaxScore != nil && o.MinScore != nil && *o.MinScore > *o.MaxScore {
		bad("min_score (%g) is larger than max_score (%g): no candidate could be kept", *o.MinScore, *o.MaxScore)
	}
	if o.IncludePositives && o.OutputFormat != OutputNTuple {
		bad("include_positives needs output_format \"n-tuple\" to keep the ranking order, got %q (sentence-transformers switches to n-tuple with a warning)", o.OutputFormat)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultMineBatchSize
	}
	if o.BatchSize < 0 {
		bad("batch_size must be positive, got %d", o.BatchSize)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultMineChunkSize
	}
	if o.ChunkSize < 0 {
		bad("chunk size must be positive, got %d", o.ChunkSize)
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("mine hard negatives: %w", errors.Join(errs...))
	}
	return o, nil
}
