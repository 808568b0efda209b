// Package datasets loads training and evaluation data for embedding fine-tuning: Hugging Face Hub
// dataset repositories and local files, into a columnar Dataset that prints as a table in
// notebooks and terminals, plus builders of retrieval evaluation sets.
//
//	ds, err := datasets.Load("dipanjanS/india_rag_wikidata", datasets.WithSplit("train"))
//	ds.Head(10)                                    // HTML table in a notebook, text in a terminal
//	pairs, err := ds.Select("question", "context")
//	eval, err := pairs.Sample(100, 42)
//	ir, err := datasets.IRFromPairs(eval, datasets.PairsOptions{})   // queries, corpus, relevant docs
//
// Sources: a Hub dataset id ("org/name"; downloaded with package hub into the shared Hugging Face
// cache, usable offline with HF_HUB_OFFLINE=1), a file (.parquet, .jsonl/.ndjson, .json holding an
// array, an object with a "data" array, or JSON Lines, .csv, .tsv, .txt; a trailing .gz is
// decompressed), or a folder laid out like a Hub repository. The files of a split are chosen as
// Hugging Face datasets does (README.md `configs:`, data/{split}-NNNNN-of-NNNNN.*, split names in
// folder or file names; see splits.go), which is checked against datasets 4.0.0 in the tests.
//
// Columns are typed (string, int64, float64, bool, list<string>, json for nested values, null)
// and stored column-wise in large immutable arrays; selections (Select, Filter, Shuffle, Sample,
// TrainTestSplit, Head) share them. Loading a million (question, context) rows takes about the
// memory of the text itself (see BenchmarkLoad1MParquet).
//
// Evaluation sets: IRFromPairs turns (question, context) rows into queries, a corpus with
// duplicate contexts merged and the relevant documents of each query; LoadBEIR reads BEIR
// folders (corpus.jsonl, queries.jsonl, qrels/{split}.tsv); ReadSQuAD reads SQuAD JSON files;
// LoadNanoBEIR reads sentence-transformers' NanoBEIR sets from the Hub (IRData.Set and Subset make
// sets of any BEIR folder) for evaluation.NewNanoBEIREvaluator.
//
// Hard negatives: MineHardNegatives adds mined negatives to (anchor, positive) pairs exactly as
// sentence-transformers' mine_hard_negatives does (MineOptions has its options), encoding and
// searching the corpus in chunks so that memory stays bounded on million-passage corpora, with the
// embeddings cached on disk; its triplet and n-tuple outputs are MultipleNegativesRankingLoss's
// hard-negative columns:
//
//	mined, report, err := datasets.MineHardNegatives(pairs, model, datasets.MineOptions{
//		NumNegatives: 1, RelativeMargin: datasets.Ptr(0.05)})
//	fmt.Println(report) // the score statistics sentence-transformers prints; report.Warning() for dropped anchors
package datasets
