package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
)

const mineSynopsis = `--model M --dataset SOURCE --output OUT [flags]

Adds hard negatives to (anchor, positive) pairs like sentence-transformers' mine_hard_negatives (same
options and results) and writes the mined dataset (format by extension: .jsonl .json .parquet .csv .tsv).
The statistics sentence-transformers prints go to stderr (--report also writes them as JSON). Anchors
that found fewer negatives than asked are reported, never dropped silently. Embeddings are cached on
disk by content, so mining again with the same model and texts does not encode again.`

// optFloat is an optional float flag (unset: nil, as None in Python).
type optFloat struct{ v **float64 }

func (f optFloat) String() string {
	if f.v == nil || *f.v == nil {
		return ""
	}
	return strconv.FormatFloat(**f.v, 'g', -1, 64)
}

func (f optFloat) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*f.v = &x
	return nil
}

// runMine: embedtune mine-negatives.
func runMine(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mine-negatives", mineSynopsis, stderr)
	var spec trainlib.MineSpec
	var sf sourceFlags
	sf.register(fs)
	modelPath := fs.String("model", "", "model folder or Hub id to embed with (required)")
	source := fs.String("dataset", "", "(anchor, positive) pairs: file, folder or Hub id (required)")
	output := fs.String("output", "", "where to write the mined dataset (required)")
	report := fs.String("report", "", "also write the statistics as JSON to this file")
	corpus := fs.String("corpus", "", "more candidate documents: a dataset (file, folder or Hub id) ...")
	corpusCol := fs.String("corpus-column", "text", "... and its text column")
	o := &spec.MineOptions
	fs.StringVar(&o.AnchorColumn, "anchor-column", "", "anchor column (anchor_column_name; default: the first column)")
	fs.StringVar(&o.PositiveColumn, "positive-column", "", "positive column (positive_column_name; default: the second column)")
	fs.IntVar(&o.RangeMin, "range-min", 0, "skip the best range_min candidates (range_min)")
	fs.IntVar(&o.RangeMax, "range-max", 0, "consider at most range_max candidates (range_max; 0: derived as sentence-transformers does)")
	fs.Var(optFloat{&o.MaxScore}, "max-score", "discard candidates scoring above (max_score)")
	fs.Var(optFloat{&o.MinScore}, "min-score", "discard candidates scoring below (min_score)")
	fs.Var(optFloat{&o.AbsoluteMargin}, "absolute-margin", "discard candidates with score + margin > the positive's score (absolute_margin)")
	fs.Var(optFloat{&o.RelativeMargin}, "relative-margin", "discard candidates with score > positive − |positive|·margin (relative_margin)")
	fs.IntVar(&o.NumNegatives, "num-negatives", datasets.DefaultMineNumNegatives, "negatives per anchor (num_negatives)")
	strategy := fs.String("sampling-strategy", string(datasets.SamplingTop), "top or random (sampling_strategy)")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the random strategy: Python's random.seed(seed) draws")
	fs.StringVar(&o.QueryPrompt, "query-prompt", "", "prompt prepended to anchors (query_prompt)")
	fs.StringVar(&o.QueryPromptName, "query-prompt-name", "", "model prompt name for anchors (query_prompt_name)")
	fs.StringVar(&o.CorpusPrompt, "corpus-prompt", "", "prompt prepended to documents (corpus_prompt)")
	fs.StringVar(&o.CorpusPromptName, "corpus-prompt-name", "", "model prompt name for documents (corpus_prompt_name)")
	fs.BoolVar(&o.IncludePositives, "include-positives", false, "keep the positives among the candidates (include_positives; needs n-tuple)")
	format := fs.String("output-format", string(datasets.OutputTriplet), "triplet, n-tuple, labeled-pair or labeled-list (output_format)")
	fs.BoolVar(&o.OutputScores, "output-scores", false, "add the similarity scores (output_scores)")
	fs.IntVar(&o.BatchSize, "batch-size", datasets.DefaultMineBatchSize, "encode batch size (batch_size)")
	fs.IntVar(&o.ChunkSize, "chunk-size", datasets.DefaultMineChunkSize, "texts encoded and searched at a time (bounds memory)")
	fs.StringVar(&o.CacheFolder, "cache-folder", "", "embedding cache folder (default ~/.cache/embedtune/embeddings)")
	fs.BoolVar(&o.NoCache, "no-cache", false, "do not read or write the embedding cache")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see --help)", fs.Arg(0))
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--model", *modelPath}, {"--dataset", *source}, {"--output", *output}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s required", strings.Join(missing, ", "))
	}
	var err error
	if o.SamplingStrategy, err = datasets.ParseSamplingStrategy(*strategy); err != nil {
		return fmt.Errorf("--sampling-strategy: %w", err)
	}
	if o.OutputFormat, err = datasets.ParseOutputFormat(*format); err != nil {
		return fmt.Errorf("--output-format: %w", err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--num-negatives", o.NumNegatives}, {"--batch-size", o.BatchSize}, {"--chunk-size", o.ChunkSize}} {
		if f.v <= 0 { // 0 would mean "the default" in the library
			return fmt.Errorf("%s must be positive, got %d", f.name, f.v)
		}
	}
	if *corpus != "" {
		spec.Corpus = &trainlib.CorpusSpec{DatasetSpec: trainlib.DatasetSpec{Source: *corpus}, Column: *corpusCol}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o.Context = ctx
	var log io.Writer = stderr
	if *quiet {
		log = io.Discard
	}
	pairs, err := datasets.LoadContext(ctx, *source, sf.options()...)
	if err != nil {
		return err
	}
	m, err := model.Load(*modelPath, model.WithLogger(log))
	if err != nil {
		return err
	}
	mined, rep, err := spec.Mine(m, pairs, log)
	if err != nil {
		return err
	}
	if err := mined.Save(*output); err != nil {
		return err
	}
	fmt.Fprintln(stderr, rep.String())
	if w := rep.Warning(); w != "" {
		fmt.Fprintf(stderr, "embedtune mine-negatives: warning: %s\n", w)
	}
	fmt.Fprintf(stderr, "wrote %d rows (%s) to %s\n", mined.Len(), strings.Join(mined.Columns(), ", "), *output)
	if *report != "" {
		data, err := json.MarshalIndent(reportJSON(rep), "", "  ")
		if err != nil {
			return err
		}
		if err := atomicio.WriteFile(*report, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	return nil
}

// reportJSON is the report with its statistics, for --report (NaN and ±Inf of empty score lists as null).
func reportJSON(r *datasets.MiningReport) map[string]any {
	p, n, d := r.Stats()
	stats := func(s datasets.ScoreStats) map[string]any {
		num := func(x float64) any {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil
			}
			return x
		}
		return map[string]any{"count": s.Count, "mean": num(s.Mean), "median": num(s.Median), "std": num(s.Std),
			"min": num(s.Min), "25%": num(s.Q25), "50%": num(s.Q50), "75%": num(s.Q75), "max": num(s.Max)}
	}
	return map[string]any{"report": r, "missing_samples": r.MissingSamples(), "warning": r.Warning(),
		"positive": stats(p), "negative": stats(n), "difference": stats(d)}
}
