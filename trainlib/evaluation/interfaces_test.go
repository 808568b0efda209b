package evaluation

import "github.com/embedtune/embedtune/trainlib/model"

// The model implements every interface the evaluators use.
var (
	_ Encoder         = (*model.SentenceTransformer)(nil)
	_ QueryEncoder    = (*model.SentenceTransformer)(nil)
	_ DocumentEncoder = (*model.SentenceTransformer)(nil)
	_ SimilarityNamer = (*model.SentenceTransformer)(nil)
	_ Evaluator       = (*InformationRetrievalEvaluator)(nil)
	_ Evaluator       = (*SequentialEvaluator)(nil)
)
