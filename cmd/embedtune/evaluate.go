package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/model"
)

const evaluateSynopsis = `(--query-embeddings Q.jsonl --corpus-embeddings C.jsonl --qrels QRELS.tsv | --model M (--beir DIR [--split test] | --dataset SOURCE)) [flags]

Computes sentence-transformers' InformationRetrievalEvaluator metrics and prints them as one JSON
object: {"name", "queries", "corpus", "primary_metric", "metrics": {"cosine_ndcg@10": ...}, "data_check"}.

  precomputed embeddings  JSON Lines {"id": "...", "embedding": [...]} per query / document, and BEIR
                          qrels (TSV with the header query-id, corpus-id, score; score > 0 is relevant)
  a model                 --model (folder or Hub id) on a BEIR folder (corpus.jsonl, queries.jsonl,
                          qrels/SPLIT.tsv) or on a (question, context) dataset (file, folder or Hub id)`

// kList is a comma-separated list of positive, distinct k values (a flag.Value).
type kList struct{ ks []int }

func (l *kList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(l.ks))
	for i, k := range l.ks {
		parts[i] = strconv.Itoa(k)
	}
	return strings.Join(parts, ",")
}

func (l *kList) Set(s string) error {
	var ks []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		k, err := strconv.Atoi(part)
		if err != nil || k <= 0 {
			return fmt.Errorf("%q is not a positive integer (want e.g. 1,3,5,10)", part)
		}
		if slices.Contains(ks, k) {
			return fmt.Errorf("k=%d is listed twice", k)
		}
		ks = append(ks, k)
	}
	l.ks = ks
	return nil
}

// evaluateFlags holds the flags of `embedtune evaluate`.
type evaluateFlags struct {
	queryEmb, corpusEmb, qrels     string
	modelPath, beir, dataset       string
	split, queryColumn, contextCol string
	name, scoreFns, mainScoreFn    string
	unknownIDs, outputDir          string
	batchSize, corpusChunk, trunc  int
	queryPrompt, queryPromptName   string
	corpusPrompt, corpusPromptName string
	writePredictions               bool
	acc, pr, mrr, ndcg, mapK       kList
}

func (f *evaluateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.queryEmb, "query-embeddings", "", "JSON Lines of query embeddings {\"id\", \"embedding\"}")
	fs.StringVar(&f.corpusEmb, "corpus-embeddings", "", "JSON Lines of corpus embeddings {\"id\", \"embedding\"}")
	fs.StringVar(&f.qrels, "qrels", "", "BEIR qrels TSV (query-id, corpus-id, score) for the precomputed embeddings")
	fs.StringVar(&f.modelPath, "model", "", "model folder or Hub id to encode the queries and corpus with")
	fs.StringVar(&f.beir, "beir", "", "BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv), with --model")
	fs.StringVar(&f.dataset, "dataset", "", "(question, context) dataset: file, folder or Hub id, with --model")
	fs.StringVar(&f.split, "split", "", "split of --beir (default test) or --dataset (default: the dataset's)")
	fs.StringVar(&f.queryColumn, "query-column", "question", "query column of --dataset")
	fs.StringVar(&f.contextCol, "context-column", "context", "context (document) column of --dataset")
	f.acc = kList{[]int{1, 3, 5, 10}}
	f.pr = kList{[]int{1, 3, 5, 10}}
	f.mrr = kList{[]int{10}}
	f.ndcg = kList{[]int{10}}
	f.mapK = kList{[]int{100}}
	fs.Var(&f.acc, "accuracy-at-k", "k values of accuracy@k (accuracy_at_k)")
	fs.Var(&f.pr, "precision-recall-at-k", "k values of precision@k and recall@k (precision_recall_at_k)")
	fs.Var(&f.mrr, "mrr-at-k", "k values of MRR@k (mrr_at_k)")
	fs.Var(&f.ndcg, "ndcg-at-k", "k values of NDCG@k (ndcg_at_k); the primary metric uses the largest")
	fs.Var(&f.mapK, "map-at-k", "k values of MAP@k (map_at_k)")
	fs.StringVar(&f.name, "name", "", "evaluation name: prefixes the metric keys ({name}_cosine_ndcg@10) and file names")
	fs.StringVar(&f.scoreFns, "score-functions", "", "comma-separated score functions, cosine and/or dot (default: the model's similarity; cosine for embeddings)")
	fs.StringVar(&f.mainScoreFn, "main-score-function", "", "score function of the primary metric (default: the best NDCG)")
	fs.StringVar(&f.unknownIDs, "unknown-ids", "error", "judgements naming ids absent from the queries or corpus: error, skip (count and drop them) or keep (sentence-transformers: they stay relevant)")
	fs.IntVar(&f.batchSize, "batch-size", evaluation.DefaultIRBatchSize, "encode batch size (batch_size)")
	fs.IntVar(&f.corpusChunk, "corpus-chunk-size", evaluation.DefaultIRCorpusChunkSize, "corpus texts encoded and searched at a time (corpus_chunk_size)")
	fs.IntVar(&f.trunc, "truncate-dim", 0, "keep the first N embedding dimensions (truncate_dim); 0 keeps all")
	fs.StringVar(&f.queryPrompt, "query-prompt", "", "prompt prepended to queries (query_prompt)")
	fs.StringVar(&f.queryPromptName, "query-prompt-name", "", "model prompt name for queries (query_prompt_name)")
	fs.StringVar(&f.corpusPrompt, "corpus-prompt", "", "prompt prepended to documents (corpus_prompt)")
	fs.StringVar(&f.corpusPromptName, "corpus-prompt-name", "", "model prompt name for documents (corpus_prompt_name)")
	fs.StringVar(&f.outputDir, "output-dir", "", "also write sentence-transformers' CSV and the JSON results into this folder")
	fs.BoolVar(&f.writePredictions, "write-predictions", false, "with --output-dir, also write the rankings as JSON Lines (write_predictions)")
}

// options builds the evaluation options from the flags.
func (f *evaluateFlags) options() (evaluation.IROptions, error) {
	o := evaluation.IROptions{
		Name: f.name,
		KValues: evaluation.KValues{AccuracyAtK: f.acc.ks, PrecisionRecallAtK: f.pr.ks, MRRAtK: f.mrr.ks,
			NDCGAtK: f.ndcg.ks, MAPAtK: f.mapK.ks},
		BatchSize: f.batchSize, CorpusChunkSize: f.corpusChunk, TruncateDim: f.trunc,
		QueryPrompt: f.queryPrompt, QueryPromptName: f.queryPromptName,
		CorpusPrompt: f.corpusPrompt, CorpusPromptName: f.corpusPromptName,
		WritePredictions: f.writePredictions,
	}
	if f.batchSize <= 0 || f.corpusChunk <= 0 {
		return o, fmt.Errorf("--batch-size (%d) and --corpus-chunk-size (%d) must be > 0", f.batchSize, f.corpusChunk)
	}
	if f.trunc < 0 {
		return o, fmt.Errorf("--truncate-dim must be >= 0, got %d", f.trunc)
	}
	if f.scoreFns != "" {
		for _, s := range strings.Split(f.scoreFns, ",") {
			fn, err := evaluation.ParseScoreFunction(strings.TrimSpace(s))
			if err != nil {
				return o, fmt.Errorf("--score-functions: %w", err)
			}
			o.ScoreFunctions = append(o.ScoreFunctions, fn)
		}
	}
	if f.mainScoreFn != "" {
		fn, err := evaluation.ParseScoreFunction(f.mainScoreFn)
		if err != nil {
			return o, fmt.Errorf("--main-score-function: %w", err)
		}
		o.MainScoreFunction = fn
	}
	p, err := evaluation.ParseUnknownIDPolicy(f.unknownIDs)
	if err != nil {
		return o, fmt.Errorf("--unknown-ids: %w", err)
	}
	o.UnknownIDs = p
	if f.writePredictions && f.outputDir == "" {
		return o, errors.New("--write-predictions needs --output-dir")
	}
	return o, nil
}

// runEvaluate implements `embedtune evaluate`.
func runEvaluate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evaluate", evaluateSynopsis, stderr)
	var f evaluateFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (all inputs are flags; see --help)", fs.Arg(0))
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if f.outputDir != "" {
		ctx = evaluation.WithRunInfo(ctx, evaluation.RunInfo{OutputPath: f.outputDir, Epoch: -1, Steps: -1})
	}
	embMode := f.queryEmb != "" || f.corpusEmb != "" || f.qrels != ""
	modelMode := f.modelPath != "" || f.beir != "" || f.dataset != ""
	var r *evaluation.IRResult
	switch {
	case embMode && modelMode:
		return errors.New("give either precomputed embeddings (--query-embeddings, --corpus-embeddings, --qrels) or a model (--model with --beir or --dataset), not both")
	case embMode:
		r, err = evaluateEmbeddingFiles(ctx, f, opts)
	case modelMode:
		r, err = evaluateModel(ctx, f, opts, stderr)
	default:
		fs.Usage()
		return errors.New("nothing to evaluate: give --query-embeddings, --corpus-embeddings and --qrels, or --model with --beir or --dataset")
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// evaluateEmbeddingFiles evaluates precomputed embeddings.
func evaluateEmbeddingFiles(ctx context.Context, f evaluateFlags, opts evaluation.IROptions) (*evaluation.IRResult, error) {
	for _, fl := range [][2]string{{"--query-embeddings", f.queryEmb}, {"--corpus-embeddings", f.corpusEmb}, {"--qrels", f.qrels}} {
		if fl[1] == "" {
			return nil, fmt.Errorf("%s is missing: precomputed embeddings need --query-embeddings, --corpus-embeddings and --qrels", fl[0])
		}
	}
	if f.split != "" || f.queryColumn != "question" || f.contextCol != "context" {
		return nil, errors.New("--split, --query-column and --context-column apply to --model evaluations only")
	}
	queries, err := readEmbeddingsJSONL(f.queryEmb)
	if err != nil {
		return nil, err
	}
	corpus, err := readEmbeddingsJSONL(f.corpusEmb)
	if err != nil {
		return nil, err
	}
	qrels, err := datasets.ReadQrels(f.qrels)
	if err != nil {
		return nil, err
	}
	return evaluation.EvaluateEmbeddings(ctx, queries, corpus, qrels.Relevance(), opts)
}

// evaluateModel encodes a BEIR folder or a (question, context) dataset with a model.
func evaluateModel(ctx context.Context, f evaluateFlags, opts evaluation.IROptions, stderr io.Writer) (*evaluation.IRResult, error) {
	switch {
	case f.modelPath == "":
		return nil, errors.New("--beir and --dataset need --model")
	case f.beir == "" && f.dataset == "":
		return nil, errors.New("--model needs --beir DIR or --dataset SOURCE to evaluate on")
	case f.beir != "" && f.dataset != "":
		return nil, errors.New("give --beir or --dataset, not both")
	}
	var queries, corpus map[string]string
	var rel map[string]map[string]bool
	if f.beir != "" {
		split := f.split
		if split == "" {
			split = "test"
		}
		ir, err := datasets.LoadBEIR(f.beir, split)
		if err != nil {
			return nil, err
		}
		queries, corpus, rel = ir.Queries, ir.Corpus, ir.RelevantDocs
	} else {
		var dopts []datasets.Option
		if f.split != "" {
			dopts = append(dopts, datasets.WithSplit(f.split))
		}
		ds, err := datasets.LoadContext(ctx, f.dataset, dopts...)
		if err != nil {
			return nil, err
		}
		ir, err := datasets.IRFromPairs(ds, datasets.PairsOptions{QueryColumn: f.queryColumn, ContextColumn: f.contextCol})
		if err != nil {
			return nil, fmt.Errorf("--dataset %s: %w", f.dataset, err)
		}
		queries, corpus, rel = ir.Queries, ir.Corpus, ir.RelevantDocs
	}
	ev, err := evaluation.NewInformationRetrievalEvaluator(queries, corpus, rel, opts)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(f.modelPath, model.WithLogger(stderr))
	if err != nil {
		return nil, err
	}
	return ev.Run(ctx, m)
}

// nonFinite finds the NaN / Infinity literals Python's json module writes (JSON has none).
var nonFinite = regexp.MustCompile(`[\[,]\s*-?(NaN|Infinity)\s*[,\]]`)

// readEmbeddingsJSONL reads {"id": "...", "embedding": [...]} lines (the id may be a string or an
// integer). Blank lines are skipped; a duplicate id, a missing field, an empty embedding, a
// dimension differing from the first line's, a non-finite value or invalid JSON is an error naming
// the file and line.
func readEmbeddingsJSONL(path string) (map[string][]float32, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	defer fh.Close()
	return readEmbeddings(fh, path)
}

// readEmbeddings is readEmbeddingsJSONL on the content of fh; path names it in errors.
func readEmbeddings(fh io.Reader, path string) (map[string][]float32, error) {
	out := map[string][]float32{}
	firstLine := map[string]int{}
	dim, dimLine := 0, 0
	rd := bufio.NewReaderSize(fh, 1<<20)
	for line := 1; ; line++ {
		b, err := rd.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 {
			id, emb, perr := parseEmbeddingLine(trimmed)
			if perr != nil {
				return nil, fmt.Errorf("%s: line %d: %w", path, line, perr)
			}
			if first, dup := firstLine[id]; dup {
				return nil, fmt.Errorf("%s: line %d: duplicate id %q (first at line %d)", path, line, id, first)
			}
			if dim == 0 {
				dim, dimLine = len(emb), line
			} else if len(emb) != dim {
				return nil, fmt.Errorf("%s: line %d: embedding of %q has dimension %d, but line %d has %d", path, line, id, len(emb), dimLine, dim)
			}
			firstLine[id] = line
			out[id] = emb
		}
		if err == io.EOF {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no embeddings (want JSON Lines {\"id\": ..., \"embedding\": [...]})", path)
	}
	return out, nil
}

// parseEmbeddingLine decodes one JSON Lines record.
func parseEmbeddingLine(b []byte) (string, []float32, error) {
	var rec struct {
		ID        json.RawMessage `json:"id"`
		Embedding *[]float32      `json:"embedding"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		if nonFinite.Match(b) {
			return "", nil, errors.New("the embedding has a non-finite value (NaN or Infinity)")
		}
		return "", nil, fmt.Errorf("invalid JSON (want {\"id\": ..., \"embedding\": [...]}): %w", err)
	}
	id, err := parseID(rec.ID)
	if err != nil {
		return "", nil, err
	}
	if rec.Embedding == nil {
		return "", nil, fmt.Errorf("record %q has no \"embedding\"", id)
	}
	if len(*rec.Embedding) == 0 {
		return "", nil, fmt.Errorf("the embedding of %q is empty", id)
	}
	return id, *rec.Embedding, nil
}

// parseID accepts a JSON string or integer id.
func parseID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New(`missing "id"`)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if _, err := n.Int64(); err == nil {
			return n.String(), nil
		}
	}
	return "", fmt.Errorf(`"id" must be a string or an integer, got %s`, raw)
}
