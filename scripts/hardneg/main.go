// Command hardneg is the documented run of issue 15: does fine-tuning with mined hard negatives beat
// in-batch negatives alone in the training domain, and what does each do outside it?
//
// On SQuAD v1.1 dev (../shared/data) split by article (the last -held articles are held out: their
// questions are the queries, all their paragraphs the corpus), it fine-tunes the same base model twice
// with MultipleNegativesRankingLoss, the same steps, batch size and seed:
//
//	A. (question, context) pairs: in-batch negatives only;
//	B. the same pairs plus one hard negative each, mined with the base model by
//	   datasets.MineHardNegatives (sentence-transformers' recommended TopK-PercPos: relative_margin
//	   0.05, top sampling; the paragraphs of the training articles are the candidates).
//
// Before and after, it evaluates in domain (held-out SQuAD, nDCG@10) and out of domain (BEIR SciFact
// test from ../shared/data: the Hub's NanoBEIR is used instead when reachable, see -nanobeir), with an
// OutOfDomainGuard warning when SciFact drops by more than -max-drop, and writes the table to -out
// (docs/hard_negatives.md). scripts/hardneg_run.sh runs it with the defaults.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/internal/pyfmt"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hardneg:", err)
		os.Exit(1)
	}
}

type options struct {
	model, squad, beir, out, work                    string
	held, steps, batch, sciQueries, sciOthers, maxSq int
	lr, maxDrop                                      float64
	nanoBEIR                                         bool
}

func run() error {
	var o options
	flag.StringVar(&o.model, "model", filepath.Join(home(), ".cache/embedtune/models/all-MiniLM-L6-v2"), "base model folder or Hub id")
	flag.StringVar(&o.squad, "squad", "../shared/data/squad-v1.1/dev-v1.1.json", "SQuAD v1.1 dev JSON")
	flag.StringVar(&o.beir, "beir", "../shared/data/beir-scifact", "BEIR SciFact folder (out of domain)")
	flag.StringVar(&o.out, "out", "docs/hard_negatives.md", "where to write the results table")
	flag.StringVar(&o.work, "work", "build/hardneg", "working folder (trained models)")
	flag.IntVar(&o.held, "held", 6, "held-out SQuAD articles (the last ones)")
	flag.IntVar(&o.steps, "steps", 150, "training steps of each run")
	flag.IntVar(&o.batch, "batch", 32, "per_device_train_batch_size")
	flag.IntVar(&o.maxSq, "max-seq-length", 128, "max_seq_length for training and evaluation")
	flag.Float64Var(&o.lr, "lr", 5e-5, "learning_rate")
	flag.IntVar(&o.sciQueries, "scifact-queries", 150, "SciFact test queries (0: all 300)")
	flag.IntVar(&o.sciOthers, "scifact-others", 1500, "SciFact documents besides the relevant ones")
	flag.Float64Var(&o.maxDrop, "max-drop", 0.01, "OutOfDomainGuard threshold on the out-of-domain nDCG@10")
	flag.BoolVar(&o.nanoBEIR, "nanobeir", true, "try the Hub's NanoBEIR SciFact first (falls back to -beir)")
	flag.Parse()
	start := time.Now()
	ctx := context.Background()

	// Data: SQuAD split by article.
	squad, err := datasets.ReadSQuAD(o.squad)
	if err != nil {
		return err
	}
	titles, _ := squad.Column("title")
	var order []string
	for i := range squad.Len() {
		if t := titles.Str(i); len(order) == 0 || order[len(order)-1] != t {
			order = append(order, t)
		}
	}
	heldTitles := map[string]bool{}
	for _, t := range order[len(order)-o.held:] {
		heldTitles[t] = true
	}
	train := squad.Filter(func(r datasets.Row) bool { return !heldTitles[r["title"].(string)] })
	held := squad.Filter(func(r datasets.Row) bool { return heldTitles[r["title"].(string)] })
	if train, err = train.Select("question", "context"); err != nil {
		return err
	}
	if held, err = held.Select("question", "context"); err != nil {
		return err
	}
	ir, err := datasets.IRFromPairs(held, datasets.PairsOptions{})
	if err != nil {
		return err
	}
	inDomain, err := evaluation.NewInformationRetrievalEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs, evaluation.IROptions{Name: "squad"})
	if err != nil {
		return err
	}
	spec := trainlib.NanoBEIRSpec{BEIRFolders: []trainlib.BEIRFolderSpec{{Path: o.beir, Name: "SciFact", MaxQueries: o.sciQueries, OtherDocs: o.sciOthers}}}
	if o.nanoBEIR {
		spec.DatasetNames = []string{"scifact"}
	}
	ood, hubErr, err := spec.Build(ctx)
	if err != nil {
		return err
	}
	oodSource := "the Hub's NanoBEIR SciFact"
	if hubErr != nil || !o.nanoBEIR {
		oodSource = fmt.Sprintf("BEIR SciFact test (../shared/data), first %d queries, their relevant documents and %d others", o.sciQueries, o.sciOthers)
		logf("NanoBEIR not used (%v): %s", hubErr, oodSource)
	}
	logf("train: %d pairs from %d articles; held out: %d queries × %d paragraphs from %d articles", train.Len(), len(order)-o.held,
		inDomain.NumQueries(), inDomain.NumCorpus(), o.held)

	load := func() (*model.SentenceTransformer, error) {
		return trainlib.LoadModel(o.model, model.WithMaxSeqLength(o.maxSq), model.WithLogger(nil))
	}
	base, err := load()
	if err != nil {
		return err
	}
	evalBoth := func(m *model.SentenceTransformer) (in, out float64, err error) {
		a, err := inDomain.Evaluate(ctx, m)
		if err != nil {
			return 0, 0, err
		}
		b, err := ood.Evaluate(ctx, m)
		if err != nil {
			return 0, 0, err
		}
		return a[inDomain.PrimaryMetric()], b[ood.PrimaryMetric()], nil
	}
	t0 := time.Now()
	baseIn, baseOut, err := evalBoth(base)
	if err != nil {
		return err
	}
	evalSecs := time.Since(t0).Seconds()
	logf("base: in-domain %s %.4f, out-of-domain %s %.4f (%.0f s)", inDomain.PrimaryMetric(), baseIn, ood.PrimaryMetric(), baseOut, evalSecs)

	// Mining, with the base model.
	t0 = time.Now()
	mined, report, err := datasets.MineHardNegatives(train, base, datasets.MineOptions{NumNegatives: 1,
		RelativeMargin: datasets.Ptr(0.05), CacheFolder: filepath.Join(o.work, "embeddings")})
	if err != nil {
		return err
	}
	mineSecs := time.Since(t0).Seconds()
	logf("mined %d triplets in %.0f s\n%s", mined.Len(), mineSecs, report)
	if w := report.Warning(); w != "" {
		logf("warning: %s", w)
	}

	type result struct {
		name          string
		rows          int
		in, out       float64
		secs, perStep float64
		warnings      []string
	}
	var results []result
	for _, r := range []struct {
		name string
		data *datasets.Dataset
	}{{"A: pairs, in-batch negatives", train}, {"B: pairs + 1 mined hard negative", mined}} {
		m, err := load()
		if err != nil {
			return err
		}
		out := filepath.Join(o.work, strings.ToLower(r.name[:1]))
		os.RemoveAll(out)
		args := trainlib.TrainingArguments{OutputDir: out, MaxSteps: o.steps, PerDeviceTrainBatchSize: o.batch, LearningRate: o.lr,
			WarmupRatio: 0.1, BatchSampler: "no_duplicates", EvalStrategy: "steps", EvalSteps: o.steps, LoggingSteps: max(1, o.steps/10),
			SaveStrategy: "no", Seed: 42}
		guard := trainlib.NewOutOfDomainGuard(m, inDomain, ood, o.maxDrop)
		guard.Baseline = map[string]float64{inDomain.PrimaryMetric(): baseIn, ood.PrimaryMetric(): baseOut}
		seq := evaluation.NewSequentialEvaluator([]evaluation.Evaluator{inDomain, ood}, nil)
		tr, err := trainlib.NewTrainer(m, args, r.data, nil, losses.MultipleNegativesRankingLoss(m), trainlib.WithEvaluator(seq),
			trainlib.WithCallbacks(guard))
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := tr.Train(); err != nil {
			return err
		}
		secs := time.Since(t0).Seconds()
		res := result{name: r.name, rows: r.data.Len(), secs: secs, warnings: guard.Warnings,
			in: guard.Last[inDomain.PrimaryMetric()], out: guard.Last[ood.PrimaryMetric()]}
		for _, e := range tr.State.LogHistory {
			if v, ok := e["eval_runtime"]; ok {
				res.perStep = (secs - v) / float64(o.steps)
			}
		}
		logf("%s: %s", r.name, guard.Summary())
		results = append(results, res)
	}

	// The table.
	b, _ := backend.Default()
	var md strings.Builder
	fmt.Fprintf(&md, "# Hard negatives: in-domain gain and out-of-domain change\n\n")
	fmt.Fprintf(&md, "Regenerate with `scripts/hardneg_run.sh` (%s, %s; %d× %s, load average %s at the end — a shared 2-core machine; backend %s; %.0f minutes in all).\n\n",
		time.Now().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), cpuModel(), loadAvg(), backend.Describe(b), time.Since(start).Minutes())
	fmt.Fprintf(&md, "Base model %s (max_seq_length %d), fine-tuned twice with MultipleNegativesRankingLoss (scale 20), %d steps, batch %d, lr %g, warmup ratio 0.1, NO_DUPLICATES, seed 42, fp32:\n\n",
		filepath.Base(o.model), o.maxSq, o.steps, o.batch, o.lr)
	fmt.Fprintf(&md, "- **A**: %s (question, context) pairs from SQuAD v1.1 dev, %d articles;\n", pyfmt.Thousands(results[0].rows), len(order)-o.held)
	fmt.Fprintf(&md, "- **B**: the same pairs with one hard negative each, mined with the base model by `datasets.MineHardNegatives` (relative_margin 0.05, top; %s triplets, %d anchors dropped for lack of a candidate; %.0f s).\n\n",
		pyfmt.Thousands(results[1].rows), report.QueriesDropped, mineSecs)
	fmt.Fprintf(&md, "In domain: the %d held-out articles (%d questions × %d paragraphs). Out of domain: %s.\n\n", o.held, inDomain.NumQueries(), inDomain.NumCorpus(), oodSource)
	fmt.Fprintf(&md, "| run | in-domain nDCG@10 (SQuAD held out) | Δ vs base | out-of-domain nDCG@10 (SciFact) | Δ vs base | training time (s/step) |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(&md, "| base %s | %.4f | | %.4f | | |\n", filepath.Base(o.model), baseIn, baseOut)
	for _, r := range results {
		fmt.Fprintf(&md, "| %s | %.4f | %+.4f | %.4f | %+.4f | %.0f s (%.2f) |\n", r.name, r.in, r.in-baseIn, r.out, r.out-baseOut, r.secs, r.perStep)
	}
	fmt.Fprintf(&md, "\nMining report (sentence-transformers' statistics):\n\n```\n%s\n```\n", report)
	for _, r := range results {
		for _, w := range r.warnings {
			fmt.Fprintf(&md, "\nOutOfDomainGuard, run %s: %s\n", r.name[:1], w)
		}
	}
	fmt.Print(md.String())
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return atomicio.WriteFile(o.out, []byte(md.String()), 0o644)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "hardneg: "+format+"\n", args...)
}

func home() string {
	h, _ := os.UserHomeDir()
	return h
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
