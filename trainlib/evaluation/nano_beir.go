package evaluation

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// NanoBEIRDatasets are the short names of the NanoBEIR collection and the names of their splits
// (Nano + the human-readable name), as in sentence-transformers' NanoBEIREvaluator.
var NanoBEIRDatasets = []struct{ Name, Human string }{
	{"climatefever", "ClimateFEVER"}, {"dbpedia", "DBPedia"}, {"fever", "FEVER"}, {"fiqa2018", "FiQA2018"},
	{"hotpotqa", "HotpotQA"}, {"msmarco", "MSMARCO"}, {"nfcorpus", "NFCorpus"}, {"nq", "NQ"},
	{"quoraretrieval", "QuoraRetrieval"}, {"scidocs", "SCIDOCS"}, {"arguana", "ArguAna"}, {"scifact", "SciFact"},
	{"touche2020", "Touche2020"},
}

// NanoBEIRName returns "Nano{Human}" for a NanoBEIR short name (any case), or an error listing them.
func NanoBEIRName(short string) (string, error) {
	for _, d := range NanoBEIRDatasets {
		if strings.EqualFold(d.Name, short) {
			return "Nano" + d.Human, nil
		}
	}
	names := make([]string, len(NanoBEIRDatasets))
	for i, d := range NanoBEIRDatasets {
		names[i] = d.Name
	}
	return "", fmt.Errorf("%q is not a NanoBEIR dataset; the datasets are %s", short, strings.Join(names, ", "))
}

// IRSet is one named retrieval set: queries and corpus by id and the relevant documents of each query
// (an entry counts when true). datasets.LoadNanoBEIR and (*datasets.IRData).Set make them.
type IRSet struct {
	// Name names the set's evaluator and prefixes its metric keys ("NanoSciFact").
	Name         string
	Queries      map[string]string
	Corpus       map[string]string
	RelevantDocs map[string]map[string]bool
	// QueryPrompt and CorpusPrompt, when set, are this set's prompts (sentence-transformers'
	// query_prompts / corpus_prompts by dataset); they override NanoBEIROptions' prompts.
	QueryPrompt, CorpusPrompt string
}

// NanoBEIROptions configures a NanoBEIREvaluator; the fields mirror sentence-transformers'
// NanoBEIREvaluator arguments, and the zero value means its defaults.
type NanoBEIROptions struct {
	// IR holds the options of every per-dataset InformationRetrievalEvaluator: k values, batch size,
	// score functions, main score function, truncate_dim, prompts, CSV and predictions (its Name is
	// ignored: each set's evaluator is named after the set).
	IR IROptions

	// AggregateKey (aggregate_key) names the aggregation: the evaluator is "NanoBEIR_{AggregateKey}"
	// (plus "_{truncate_dim}"); default "mean".
	AggregateKey string
	// AggregateFn (aggregate_fn) combines the per-dataset values of each metric; default the mean.
	AggregateFn func([]float64) float64
	// Prefix replaces "NanoBEIR" in the evaluator's name (for sets that are not NanoBEIR's, such as
	// a local BEIR folder); default "NanoBEIR".
	Prefix string
}

// NanoBEIREvaluator is sentence-transformers' NanoBEIREvaluator: an InformationRetrievalEvaluator per
// set (named after it, e.g. "NanoSciFact"), whose metrics it returns, plus each metric aggregated over
// the sets (the mean by default) under "NanoBEIR_mean_{fn}_{metric}@{k}". Its primary metric is
// "NanoBEIR_mean_{fn}_ndcg@{max k}", fn being the main score function or the one with the best
// aggregated NDCG at the first evaluation. With an output path (RunInfo) it writes each set's files and
// NanoBEIR_evaluation_mean_results.csv.
//
// It measures how a fine-tuned model does outside its training domain: run it beside the in-domain
// evaluator in a SequentialEvaluator, and guard training with trainlib.OutOfDomainGuard. Sets come from
// datasets.LoadNanoBEIR (the Hub's NanoBEIR, as sentence-transformers loads them) or from any local
// BEIR folder ((*datasets.IRData).Set).
//
// It is safe for concurrent use.
type NanoBEIREvaluator struct {
	name       string
	opts       NanoBEIROptions
	evaluators []*InformationRetrievalEvaluator
	names      []string

	mu      sync.Mutex
	primary string
	fns     []ScoreFunction
}

// NewNanoBEIREvaluator builds the evaluator over sets (at least one, with distinct names).
func NewNanoBEIREvaluator(sets []IRSet, opts NanoBEIROptions) (*NanoBEIREvaluator, error) {
	if opts.AggregateKey == "" {
		opts.AggregateKey = "mean"
	}
	if opts.AggregateFn == nil {
		opts.AggregateFn = MeanScore
	}
	if opts.Prefix == "" {
		opts.Prefix = "NanoBEIR"
	}
	name := opts.Prefix + "_" + opts.AggregateKey
	if opts.IR.TruncateDim > 0 {
		name += "_" + strconv.Itoa(opts.IR.TruncateDim)
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("%s: no datasets (sentence-transformers: dataset_names cannot be empty)", name)
	}
	e := &NanoBEIREvaluator{name: name, opts: opts}
	for i, s := range sets {
		if s.Name == "" {
			return nil, fmt.Errorf("%s: dataset %d has no name", name, i)
		}
		setName := s.Name
		if opts.IR.TruncateDim > 0 {
			setName += "_" + strconv.Itoa(opts.IR.TruncateDim)
		}
		if slices.Contains(e.names, setName) {
			return nil, fmt.Errorf("%s: dataset %q is given twice", name, s.Name)
		}
		o := opts.IR
		o.Name = setName
		if s.QueryPrompt != "" {
			o.QueryPrompt = s.QueryPrompt
		}
		if s.CorpusPrompt != "" {
			o.CorpusPrompt = s.CorpusPrompt
		}
		ev, err := NewInformationRetrievalEvaluator(s.Queries, s.Corpus, s.RelevantDocs, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e.evaluators = append(e.evaluators, ev)
		e.names = append(e.names, setName)
	}
	return e, nil
}

// Name returns "NanoBEIR_mean" (see NanoBEIROptions).
func (e *NanoBEIREvaluator) Name() string { return e.name }

// Evaluators returns the per-dataset evaluators.
func (e *NanoBEIREvaluator) Evaluators() []*InformationRetrievalEvaluator {
	return slices.Clone(e.evaluators)
}

// PrimaryMetric returns "NanoBEIR_mean_{fn}_ndcg@{k}"; "" before the first evaluation when it depends
// on the scores.
func (e *NanoBEIREvaluator) PrimaryMetric() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.primary
}

// Evaluate runs every set's evaluator and returns their metrics and the aggregated ones.
func (e *NanoBEIREvaluator) Evaluate(ctx context.Context, m Encoder) (map[string]float64, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	out := map[string]float64{}
	perMetric := map[string][]float64{}
	var fns []ScoreFunction
	for i, ev := range e.evaluators {
		r, err := ev.Run(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if i == 0 {
			fns = r.ScoreFunctions
		}
		prefix := e.names[i] + "_"
		for _, k := range r.Keys() {
			out[k] = r.Metrics[k]
			metric := strings.TrimPrefix(k, prefix)
			perMetric[metric] = append(perMetric[metric], r.Metrics[k])
		}
	}
	agg := make(map[string]float64, len(perMetric))
	for metric, vals := range perMetric {
		agg[metric] = e.opts.AggregateFn(vals)
	}
	kv := e.opts.IR.KValues.withDefaults()
	maxK := slices.Max(kv.NDCGAtK)
	e.mu.Lock()
	if e.primary == "" || !slices.Equal(e.fns, fns) {
		fn := e.opts.IR.MainScoreFunction
		if fn == "" {
			for j, f := range fns {
				if j == 0 || agg[fmt.Sprintf("%s_ndcg@%d", f, maxK)] > agg[fmt.Sprintf("%s_ndcg@%d", fn, maxK)] {
					fn = f
				}
			}
		}
		e.primary = fmt.Sprintf("%s_%s_ndcg@%d", e.name, fn, maxK)
		e.fns = fns
	}
	e.mu.Unlock()
	for metric, v := range agg {
		out[e.name+"_"+metric] = v
	}
	if info := RunInfoFrom(ctx); info.OutputPath != "" && !e.opts.IR.SkipCSV {
		if err := e.writeCSV(info, fns, kv, agg); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	return out, nil
}

// CSVFileName is "NanoBEIR_evaluation_{aggregate_key}_results.csv", as sentence-transformers names it.
func (e *NanoBEIREvaluator) CSVFileName() string {
	return e.opts.Prefix + "_evaluation_" + e.opts.AggregateKey + "_results.csv"
}

// writeCSV appends the aggregated metrics to the CSV, with sentence-transformers' columns.
func (e *NanoBEIREvaluator) writeCSV(info RunInfo, fns []ScoreFunction, kv KValues, agg map[string]float64) error {
	header := []string{"epoch", "steps"}
	row := []string{pyEpoch(info.Epoch), strconv.Itoa(info.Steps)}
	add := func(col, metric string) {
		header = append(header, col)
		row = append(row, pyFloat(agg[metric]))
	}
	for _, fn := range fns {
		for _, k := range kv.AccuracyAtK {
			add(fmt.Sprintf("%s-Accuracy@%d", fn, k), fmt.Sprintf("%s_accuracy@%d", fn, k))
		}
		for _, k := range kv.PrecisionRecallAtK {
			add(fmt.Sprintf("%s-Precision@%d", fn, k), fmt.Sprintf("%s_precision@%d", fn, k))
			add(fmt.Sprintf("%s-Recall@%d", fn, k), fmt.Sprintf("%s_recall@%d", fn, k))
		}
		for _, k := range kv.MRRAtK {
			add(fmt.Sprintf("%s-MRR@%d", fn, k), fmt.Sprintf("%s_mrr@%d", fn, k))
		}
		for _, k := range kv.NDCGAtK {
			add(fmt.Sprintf("%s-NDCG@%d", fn, k), fmt.Sprintf("%s_ndcg@%d", fn, k))
		}
		for _, k := range kv.MAPAtK {
			add(fmt.Sprintf("%s-MAP@%d", fn, k), fmt.Sprintf("%s_map@%d", fn, k))
		}
	}
	return appendCSVRow(info.OutputPath, e.CSVFileName(), header, row)
}
