package parity

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/internal/steptimer"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sampler"
)

// Hyperparameters of the fine-tuning comparison (issue 7), identical on both sides.
const (
	ftBatch       = 16
	ftLR          = 2e-5
	ftWarmupRatio = 0.1
	ftSeed        = 42
	ftScale       = 20.0
	ftEvalName    = "squad"
)

// Tolerances of the fine-tuning comparison.
const (
	// beforeTolerance bounds |ours − Python| of every held-out metric of the untouched base model:
	// embeddings agree to 1e-5, so rankings can only differ at near-ties.
	beforeTolerance = 2e-3
	// gainTolerance is issue 7's goal: our nDCG@10 gain within ±0.01 of Python's.
	gainTolerance = 0.01
	// deterministicLossTolerance bounds the per-step loss difference when both sides train on the
	// same batches without dropout: only float32 rounding (different kernels and summation orders)
	// separates the two trajectories (issue 12: 1e-5 on every engine).
	deterministicLossTolerance = 1e-5
)

// squadSplit is the fine-tuning data: training pairs from the first articles, a retrieval
// evaluation on the held-out last articles.
type squadSplit struct {
	trainArticles  int
	heldArticles   int
	trainQ, trainC []string
	queries        map[string]string
	corpus         map[string]string
	relevant       map[string]map[string]bool
}

func (s *squad) split(t testing.TB, heldArticles, evalQueries int) *squadSplit {
	t.Helper()
	if heldArticles <= 0 || heldArticles >= len(s.articles) {
		t.Fatalf("held-out articles %d must be in [1, %d)", heldArticles, len(s.articles))
	}
	sp := &squadSplit{trainArticles: len(s.articles) - heldArticles, heldArticles: heldArticles}
	var heldQ, heldC []string
	for i, a := range s.articles {
		for _, p := range a.pairs {
			if i < len(s.articles)-heldArticles {
				sp.trainQ, sp.trainC = append(sp.trainQ, p[0]), append(sp.trainC, p[1])
			} else {
				heldQ, heldC = append(heldQ, p[0]), append(heldC, p[1])
			}
		}
	}
	held, err := datasets.FromColumns(datasets.Col("question", heldQ), datasets.Col("context", heldC))
	if err != nil {
		t.Fatal(err)
	}
	// Every held-out context answers at least one question, so the corpus is all of them.
	ir, err := datasets.IRFromPairs(held, datasets.PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sp.corpus = ir.Corpus
	sp.queries, sp.relevant = map[string]string{}, map[string]map[string]bool{}
	for _, q := range spread(ir.QueryIDs, evalQueries) {
		sp.queries[q] = ir.Queries[q]
		sp.relevant[q] = ir.RelevantDocs[q]
	}
	return sp
}

// irFile is the JSON the Python scripts read: the same queries, corpus and judgements.
type irFile struct {
	Queries      map[string]string   `json:"queries"`
	Corpus       map[string]string   `json:"corpus"`
	RelevantDocs map[string][]string `json:"relevant_docs"`
}

func newIRFile(queries, corpus map[string]string, relevant map[string]map[string]bool) irFile {
	f := irFile{Queries: queries, Corpus: corpus, RelevantDocs: map[string][]string{}}
	for q, docs := range relevant {
		for d, ok := range docs {
			if ok {
				f.RelevantDocs[q] = append(f.RelevantDocs[q], d)
			}
		}
		sort.Strings(f.RelevantDocs[q])
	}
	return f
}

// pairRows lets the Go sampler see the pairs as the trainer does (both text columns).
type pairRows struct{ q, c []string }

func (p pairRows) Len() int                { return len(p.q) }
func (p pairRows) Values(row int) []string { return []string{p.q[row], p.c[row]} }

// ftResponse is tests/reference/parity_finetune.py's result.
type ftResponse struct {
	Before       map[string]float64 `json:"before"`
	After        map[string]float64 `json:"after"`
	LogHistory   []map[string]any   `json:"log_history"`
	StepSeconds  []float64          `json:"step_seconds"`
	TrainRuntime float64            `json:"train_runtime"`
	WarmupSteps  int                `json:"warmup_steps"`
	Optim        string             `json:"optim"`
	Sampler      string             `json:"sampler"`
}

// TestFineTuneParity fine-tunes the same real model on the same SQuAD pairs with our Trainer and
// with SentenceTransformerTrainer, and compares held-out retrieval before and after, the per-step
// losses and the time per step. Loss curves go to build/parity/loss_curves.html.
func TestFineTuneParity(t *testing.T) {
	modelsDir(t)
	sz := currentSize()
	sp := loadSQuAD(t).split(t, sz.FTHeldArticles, sz.FTEvalQueries)
	out, err := outputDir()
	if err != nil {
		t.Fatal(err)
	}
	var lossCharts []*charts.Chart
	for _, ft := range sz.FineTunes {
		t.Run(ft.Model+"/"+ft.Variant, func(t *testing.T) {
			res, ourHist, pyHist := fineTuneBoth(t, ft, sp)
			c, err := charts.Runs("loss", []charts.Run{
				{Name: "embedtune (Go)", History: ourHist},
				{Name: "sentence-transformers (PyTorch)", History: pyHist},
			}, charts.WithTitle(fmt.Sprintf("Training loss, %s, %s (batch %d, lr %g, %d steps)", ft.Model, ft.Variant, ftBatch, ftLR, ft.Steps)))
			if err != nil {
				t.Fatal(err)
			}
			lossCharts = append(lossCharts, c)
			record(t, part{Kind: "finetune", FineTune: res})
		})
	}
	if len(lossCharts) > 0 {
		path := filepath.Join(out, "loss_curves.html")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := charts.WriteHTML(path, "Fine-tuning parity: embedtune vs sentence-transformers", lossCharts...); err != nil {
			t.Logf("loss curves: %v", err) // the page is written even without the echarts library
		}
		t.Logf("loss curves: %s", path)
	}
}

// fineTuneBoth runs one comparison and checks it.
func fineTuneBoth(t *testing.T, ft fineTune, sp *squadSplit) (*fineTuneResult, charts.LogHistory, charts.LogHistory) {
	base := modelDir(t, ft.Model)
	work := t.TempDir()
	dir := base
	if ft.NoDropout {
		dir = withoutDropout(t, base, filepath.Join(work, "model-no-dropout"))
	}
	var opts []model.Option
	if ft.MaxSeq > 0 {
		opts = append(opts, model.WithMaxSeqLength(ft.MaxSeq))
	}
	m := loadModel(t, dir, opts...)

	// Inputs shared with Python.
	trainFile := filepath.Join(work, "train.jsonl")
	var sb strings.Builder
	for i := range sp.trainQ {
		b, _ := json.Marshal(map[string]string{"question": sp.trainQ[i], "context": sp.trainC[i]})
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if err := atomicio.WriteFile(trainFile, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	evalFile := filepath.Join(work, "heldout.json")
	writeJSON(t, evalFile, newIRFile(sp.queries, sp.corpus, sp.relevant))
	batchesFile := ""
	if ft.SameBatches {
		s, err := sampler.New(sampler.NoDuplicates, pairRows{sp.trainQ, sp.trainC}, ftBatch, false, ftSeed)
		if err != nil {
			t.Fatal(err)
		}
		var epochs [][][]int
		for n := 0; n < ft.Steps; {
			e := s.Batches(len(epochs))
			epochs = append(epochs, e)
			n += len(e)
		}
		batchesFile = filepath.Join(work, "batches.json")
		writeJSON(t, batchesFile, epochs)
	}

	// Ours.
	ev, err := evaluation.NewInformationRetrievalEvaluator(sp.queries, sp.corpus, sp.relevant, evaluation.IROptions{Name: ftEvalName})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := ev.Evaluate(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	trainDS, err := datasets.FromColumns(datasets.Col("question", sp.trainQ), datasets.Col("context", sp.trainC))
	if err != nil {
		t.Fatal(err)
	}
	oursDir := filepath.Join(work, "ours")
	args := trainlib.TrainingArguments{OutputDir: oursDir, MaxSteps: ft.Steps, PerDeviceTrainBatchSize: ftBatch,
		LearningRate: ftLR, WarmupRatio: ftWarmupRatio, BatchSampler: sampler.NoDuplicates, Seed: ftSeed,
		LoggingSteps: 1, SaveStrategy: "no"}
	timer := &steptimer.Timer{}
	tr, err := trainlib.NewTrainer(m, args, trainDS, nil, losses.MultipleNegativesRankingLoss(m, losses.WithScale(ftScale)),
		trainlib.WithCallbacks(timer), trainlib.WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	runtime := time.Since(start).Seconds()
	after, err := ev.Evaluate(ctx, m)
	if err != nil {
		t.Fatal(err)
	}

	// Python.
	var py ftResponse
	python(t, "parity_finetune.py", map[string]any{
		"model": dir, "max_seq_length": nilIfZero(ft.MaxSeq), "train_file": trainFile, "eval_file": evalFile,
		"eval_name": ftEvalName, "output_dir": filepath.Join(work, "python"), "batches_file": nilIfEmpty(batchesFile),
		"threads": 2,
		"args": map[string]any{"max_steps": ft.Steps, "per_device_train_batch_size": ftBatch, "learning_rate": ftLR,
			"warmup_ratio": ftWarmupRatio, "seed": ftSeed, "batch_sampler": sampler.NoDuplicates, "scale": ftScale},
	}, &py)

	ourHist := charts.LogHistory{}
	var ourLoss []float64
	for _, e := range tr.State.LogHistory {
		if l, ok := e["loss"]; ok {
			ourHist = append(ourHist, map[string]float64{"step": e["step"], "loss": l})
			ourLoss = append(ourLoss, l)
		}
	}
	pyHist := charts.LogHistory{}
	var pyLoss []float64
	for _, e := range py.LogHistory {
		l, ok1 := e["loss"].(float64)
		s, ok2 := e["step"].(float64)
		if ok1 && ok2 {
			pyHist = append(pyHist, map[string]float64{"step": s, "loss": l})
			pyLoss = append(pyLoss, l)
		}
	}
	if len(ourLoss) != ft.Steps || len(pyLoss) != ft.Steps {
		t.Fatalf("logged losses: ours %d, Python %d, want one per step (%d)", len(ourLoss), len(pyLoss), ft.Steps)
	}
	lossDiff := 0.0
	for i := range ourLoss {
		lossDiff = math.Max(lossDiff, math.Abs(ourLoss[i]-pyLoss[i]))
	}
	res := &fineTuneResult{Run: ft, MaxSeqLength: m.MaxSeqLength, TrainPairs: len(sp.trainQ), TrainArticles: sp.trainArticles, HeldArticles: sp.heldArticles, Queries: len(sp.queries),
		Corpus: len(sp.corpus), WarmupSteps: int(math.Ceil(ftWarmupRatio * float64(ft.Steps))), PyWarmup: py.WarmupSteps,
		PyOptim: py.Optim, LossMaxDiff: lossDiff,
		Ours:   sideResult{Before: before, After: after, Losses: ourLoss, StepSeconds: timer.Seconds, Runtime: runtime},
		Python: sideResult{Before: py.Before, After: py.After, Losses: pyLoss, StepSeconds: py.StepSeconds, Runtime: py.TrainRuntime}}

	// Checks.
	keys := []string{"squad_cosine_ndcg@10", "squad_cosine_mrr@10", "squad_cosine_recall@10"}
	for _, k := range keys {
		if _, ok := py.Before[k]; !ok {
			t.Fatalf("Python metrics lack %q (have %v)", k, mapKeys(py.Before))
		}
		if d := math.Abs(before[k] - py.Before[k]); d > beforeTolerance {
			t.Errorf("base model %s: ours %.5f, Python %.5f (|Δ| %.5f > %g)", k, before[k], py.Before[k], d, beforeTolerance)
		}
	}
	if res.WarmupSteps != py.WarmupSteps {
		t.Errorf("warmup steps: ours %d, Python %d", res.WarmupSteps, py.WarmupSteps)
	}
	nd := keys[0]
	gOurs, gPy := after[nd]-before[nd], py.After[nd]-py.Before[nd]
	t.Logf("%s, %s: %d steps; nDCG@10 ours %.4f → %.4f (%+.4f), Python %.4f → %.4f (%+.4f); gain difference %+.4f; "+
		"MRR@10 ours %.4f → %.4f, Python %.4f → %.4f; loss max |Δ| %.2e; s/step median ours %.2f, Python %.2f (first: %.2f, %.2f); Python optimizer %s",
		ft.Model, ft.Variant, ft.Steps, before[nd], after[nd], gOurs, py.Before[nd], py.After[nd], gPy, gOurs-gPy,
		before[keys[1]], after[keys[1]], py.Before[keys[1]], py.After[keys[1]], lossDiff,
		median(tail(timer.Seconds)), median(tail(py.StepSeconds)), first(timer.Seconds), first(py.StepSeconds), py.Optim)
	t.Logf("losses ours   %s", fmtFloats(ourLoss))
	t.Logf("losses Python %s", fmtFloats(pyLoss))
	if math.Abs(gOurs-gPy) > gainTolerance {
		t.Errorf("nDCG@10 gain: ours %+.4f, Python %+.4f: difference %+.4f beyond ±%g", gOurs, gPy, gOurs-gPy, gainTolerance)
	}
	if ft.SameBatches && ft.NoDropout && lossDiff > deterministicLossTolerance {
		t.Errorf("same batches without dropout: per-step losses differ by up to %.3g (limit %g)", lossDiff, deterministicLossTolerance)
	}
	if ft.SavedFolderCheck {
		res := savedFolderCheck(t, ft.Model, m, oursDir, dir, sp)
		record(t, part{Kind: "saved", Saved: res})
	}
	return res, ourHist, pyHist
}

// savedFolderCheck loads the folder our trainer saved with Python's SentenceTransformer(dir) and
// compares its embeddings with our trained model's, and with the base model's (to show the folder
// holds the trained weights, not the base ones).
func savedFolderCheck(t *testing.T, name string, m *model.SentenceTransformer, savedDir, baseDir string, sp *squadSplit) *savedResult {
	t.Helper()
	// Texts within max_seq_length, so the base model (whose folder may say a larger
	// max_seq_length) sees the same tokens.
	var texts []string
	ids := make([]string, 0, len(sp.queries))
	for q := range sp.queries {
		ids = append(ids, q)
	}
	sort.Strings(ids)
	for _, q := range spread(ids, 16) {
		texts = append(texts, sp.queries[q])
	}
	docIDs := make([]string, 0, len(sp.corpus))
	for d := range sp.corpus {
		docIDs = append(docIDs, d)
	}
	sort.Strings(docIDs)
	for _, d := range docIDs {
		if n, _ := m.Tokenizer.Encode(sp.corpus[d], 0); len(n) <= m.MaxSeqLength && len(texts) < 24 {
			texts = append(texts, sp.corpus[d])
		}
	}
	ours, err := m.Encode(texts, &model.EncodeOptions{BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Batch []stEncodeResponse `json:"batch"`
	}
	python(t, "st_encode.py", map[string]any{"batch": []stEncodeRequest{
		{Model: savedDir, Texts: texts, BatchSize: 32},
		{Model: baseDir, Texts: texts, BatchSize: 32},
	}}, &resp)
	if len(resp.Batch) != 2 {
		t.Fatalf("st_encode.py answered %d results, want 2", len(resp.Batch))
	}
	if got := resp.Batch[0].MaxSeqLength; got != m.MaxSeqLength {
		t.Errorf("saved folder: Python reads max_seq_length %d, ours is %d", got, m.MaxSeqLength)
	}
	maxAbs, minCos := vecStats(t, ours, resp.Batch[0].Embeddings)
	change := 0.0
	for i := range texts {
		for j, v := range resp.Batch[0].Embeddings[i] {
			change = math.Max(change, math.Abs(v-resp.Batch[1].Embeddings[i][j]))
		}
	}
	t.Logf("saved folder %s in Python: %d texts, max |Δ| vs our trained model %.3g, min cosine %.9f; change vs the base model %.3g",
		savedDir, len(texts), maxAbs, minCos, change)
	if maxAbs > maxAbsTolerance || minCos < minCosTolerance {
		t.Errorf("Python's embeddings of our saved folder differ from our trained model's: max |Δ| %.3g, min cosine %.9f", maxAbs, minCos)
	}
	if change < 10*maxAbsTolerance {
		t.Errorf("Python's embeddings of our saved folder are within %.3g of the base model's: the trained weights were not saved?", change)
	}
	return &savedResult{Model: name, Texts: len(texts), MaxAbsDiff: maxAbs, MinCosine: minCos, ChangeVsBase: change}
}

// withoutDropout makes a copy of a model folder (files linked) whose config.json sets
// hidden_dropout_prob and attention_probs_dropout_prob to 0.
func withoutDropout(t testing.TB, src, dst string) string {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "config.json" {
			continue
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s/config.json: %v", src, err)
	}
	for _, k := range []string{"hidden_dropout_prob", "attention_probs_dropout_prob"} {
		if _, ok := cfg[k]; !ok {
			t.Fatalf("%s/config.json has no %s", src, k)
		}
		cfg[k] = 0.0
	}
	writeJSON(t, filepath.Join(dst, "config.json"), cfg)
	return dst
}

func nilIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func fmtFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.4f", x)
	}
	return "[" + strings.Join(s, " ") + "]"
}
