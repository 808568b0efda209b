// Package evaluation measures sentence-embedding models for retrieval, with the metrics, keys and
// files of sentence-transformers 6.2's evaluators, so that the numbers mean what they mean in Python.
//
//   - [InformationRetrievalEvaluator]: encodes queries and a corpus with a model ([Encoder]; a
//     *model.SentenceTransformer is one), retrieves by exact search and reports accuracy@k,
//     precision@k, recall@k, MRR@k, NDCG@k and MAP@k per score function (cosine, dot), keyed
//     "{name}_{fn}_{metric}@{k}", with sentence-transformers' primary metric, CSV and predictions.
//   - [EvaluateEmbeddings]: the same metrics from precomputed embeddings (bring your own).
//   - [SequentialEvaluator]: several evaluators as one, with "sequential_score".
//   - [NanoBEIREvaluator]: an InformationRetrievalEvaluator per NanoBEIR (or any BEIR) set and the
//     metrics averaged over them ("NanoBEIR_mean_cosine_ndcg@10"): the out-of-domain check to run
//     beside the in-domain evaluator (trainlib.OutOfDomainGuard warns when it falls).
//   - [CompareRetrieval]: a base and a fine-tuned model side by side (top-k documents, rank of the
//     relevant document before and after, wins / losses / ties), as text or notebook HTML.
//   - [Search] / [Searcher]: exact top-k search as chunked matrix products on the GoMLX backend,
//     with memory bounded by the chunk sizes (1M × 768 corpora included).
//
// The Trainer calls any [Evaluator] at evaluation steps and logs its metrics prefixed with "eval_";
// a [RunInfo] in the context tells evaluators where to write their files.
//
// Example (precomputed embeddings):
//
//	queries := map[string][]float32{"q1": {1, 0}, "q2": {0, 1}}
//	corpus := map[string][]float32{"d1": {0.9, 0.1}, "d2": {0.1, 0.9}, "d3": {0.7, 0.7}}
//	relevant := map[string]map[string]bool{"q1": {"d1": true}, "q2": {"d3": true}}
//	r, err := evaluation.EvaluateEmbeddings(ctx, queries, corpus, relevant, evaluation.IROptions{})
//	if err != nil { return err }
//	fmt.Println(r.PrimaryMetric, r.Metrics[r.PrimaryMetric]) // cosine_ndcg@10 0.8154648767857288
package evaluation
