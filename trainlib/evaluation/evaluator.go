package evaluation

import (
	"context"

	"github.com/embedtune/embedtune/trainlib/model"
)

// Encoder turns texts into embeddings; *model.SentenceTransformer implements it.
type Encoder interface {
	Encode(texts []string, opts *model.EncodeOptions) ([][]float32, error)
}

// QueryEncoder is implemented by encoders with a query-specific encode (sentence-transformers'
// encode_query: the model's "query" prompt when no prompt is given). Evaluators use it for queries
// when available, else Encode.
type QueryEncoder interface {
	EncodeQuery(texts []string, opts *model.EncodeOptions) ([][]float32, error)
}

// DocumentEncoder is implemented by encoders with a document-specific encode (sentence-transformers'
// encode_document: the model's "document", "passage" or "corpus" prompt when no prompt is given).
// Evaluators use it for corpus texts when available, else Encode.
type DocumentEncoder interface {
	EncodeDocument(texts []string, opts *model.EncodeOptions) ([][]float32, error)
}

// SimilarityNamer is implemented by encoders that declare their similarity function
// (sentence-transformers' similarity_fn_name: "cosine", "dot", ...). An
// InformationRetrievalEvaluator without explicit ScoreFunctions scores with it, as
// sentence-transformers does; other encoders are scored with cosine similarity.
type SimilarityNamer interface {
	SimilarityFnName() string
}

// Evaluator computes metrics of a model. The Trainer calls it at evaluation steps and logs every
// metric with the "eval_" prefix; metric_for_best_model may name any returned key.
type Evaluator interface {
	// Evaluate encodes the evaluator's data with m and returns its metrics, keyed like
	// sentence-transformers (e.g. "cosine_ndcg@10", or "{name}_cosine_ndcg@10" when named).
	Evaluate(ctx context.Context, m Encoder) (map[string]float64, error)

	// PrimaryMetric is the full key of the metric that summarizes the evaluation (e.g.
	// "{name}_cosine_ndcg@10"). It can be "" before the first Evaluate when it depends on the
	// model (see InformationRetrievalEvaluator.PrimaryMetric).
	PrimaryMetric() string

	// Name is the evaluator's name ("" when unnamed); it prefixes its metric keys.
	Name() string
}

// RunInfo tells evaluators where a training run stands, for the files they write: with a non-empty
// OutputPath, evaluators that write results (CSV, JSON, predictions) write them into that folder,
// one CSV row per call labelled with Epoch and Steps, as sentence-transformers' evaluators do when
// called with output_path, epoch and steps.
type RunInfo struct {
	OutputPath string
	// Epoch is the (fractional) epoch; -1 (the default outside training) means "not in training".
	Epoch float64
	// Steps is the global step; -1 (the default) means "end of epoch" / "not in training".
	Steps int
}

type runInfoKey struct{}

// WithRunInfo returns a context carrying info for the evaluators called with it.
func WithRunInfo(ctx context.Context, info RunInfo) context.Context {
	return context.WithValue(ctx, runInfoKey{}, info)
}

// RunInfoFrom returns the RunInfo carried by ctx, or {"" , -1, -1} when there is none.
func RunInfoFrom(ctx context.Context) RunInfo {
	if ctx != nil {
		if info, ok := ctx.Value(runInfoKey{}).(RunInfo); ok {
			return info
		}
	}
	return RunInfo{Epoch: -1, Steps: -1}
}
