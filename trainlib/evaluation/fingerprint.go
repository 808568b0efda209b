package evaluation

import (
	"encoding/json"
	"slices"

	"github.com/embedtune/embedtune/trainlib/cache"
)

// Fingerprint returns a hex SHA-256 of everything the evaluator's metrics depend on besides the model:
// the queries, the corpus, the relevance judgements, the name, the cut-offs, the score functions, the
// prompts and truncate_dim (not batch or chunk sizes, which do not change the metrics). Paired with
// the model's fingerprint (model.SentenceTransformer.Fingerprint) it keys cached evaluation results.
func (e *InformationRetrievalEvaluator) Fingerprint() string {
	h := cache.NewHash()
	part := h.PartString
	o := e.opts
	settings, _ := json.Marshal(map[string]any{"name": o.Name, "k": o.KValues, "score_functions": o.ScoreFunctions,
		"main_score_function": o.MainScoreFunction, "query_prompt": o.QueryPrompt, "query_prompt_name": o.QueryPromptName,
		"corpus_prompt": o.CorpusPrompt, "corpus_prompt_name": o.CorpusPromptName, "truncate_dim": o.TruncateDim})
	part("embedtune-ir-evaluator-1")
	part(string(settings))
	for i, q := range e.data.queryIDs {
		part(q)
		part(e.queryTexts[i])
		rel := make([]string, 0, len(e.data.relevant[i]))
		for d := range e.data.relevant[i] {
			rel = append(rel, d)
		}
		slices.Sort(rel)
		for _, d := range rel {
			part(d)
		}
		part("") // end of the judgements
	}
	for i, c := range e.data.corpusIDs {
		part(c)
		part(e.corpusTexts[i])
	}
	return h.Hex()
}
