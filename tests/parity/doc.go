// Package parity checks embedtune against Python sentence-transformers on REAL pretrained models
// (issue 7): the tests in this folder compare, on the same machine,
//
//   - token ids and embeddings of model.Encode with SentenceTransformer.encode (all-MiniLM-L6-v2 and
//     BAAI/bge-small-en-v1.5, SQuAD v1.1 questions and contexts, some longer than max_seq_length):
//     identical ids, max |Δ| ≤ 1e-5 and cosine ≥ 0.99999 per embedding;
//   - a folder saved by our trainer, loaded by Python's SentenceTransformer(dir): same embeddings as
//     our trained model;
//   - fine-tuning with our Trainer and with SentenceTransformerTrainer (MultipleNegativesRankingLoss,
//     scale 20, batch 16, NO_DUPLICATES, lr 2e-5, warmup 0.1, fp32, same steps and seed) on SQuAD
//     pairs split by article: held-out nDCG@10 / MRR@10 / Recall@10 before and after, loss curves,
//     wall time per step;
//   - BEIR SciFact test retrieval scores of our evaluator and encoder against Python's own run and
//     the published MTEB number (nDCG@10 0.71273 for bge-small-en-v1.5);
//   - (benchmarks) training-step time and encode throughput against PyTorch on the same batch shapes.
//
// There is no library code here: the package holds only tests. They skip unless
// $EMBEDTUNE_REAL_MODELS names the folder written by scripts/fetch_weights.sh, and fail when it is set
// but a model is missing. scripts/parity.sh (make parity) fetches the weights, runs everything and
// writes build/parity/results.md (a markdown table), build/parity/results.json and
// build/parity/loss_curves.html:
//
//	scripts/parity.sh           # CI size: about 10 minutes on a busy 2-core machine
//	scripts/parity.sh --full    # the numbers of docs/parity.md: full SciFact, longer fine-tuning, benchmarks
//
// Sizes are documented in sizes_test.go; $EMBEDTUNE_PARITY_FULL=1 selects the full size.
package parity
