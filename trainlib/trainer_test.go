package trainlib

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// pairsDataset turns synthetic pairs into a (question, context) dataset.
func pairsDataset(t testing.TB, pairs []synth.Pair) *datasets.Dataset {
	t.Helper()
	qs, cs := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		qs[i], cs[i] = p.Question, p.Context
	}
	d, err := datasets.FromColumns(datasets.Col("question", qs), datasets.Col("context", cs))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// irEvaluator builds an IR evaluator over pairs (duplicate contexts merged).
func irEvaluator(t testing.TB, d *datasets.Dataset, name string) *evaluation.InformationRetrievalEvaluator {
	t.Helper()
	ir, err := datasets.IRFromPairs(d, datasets.PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := evaluation.NewInformationRetrievalEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs, evaluation.IROptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func tiny(t testing.TB, pooling string) *model.SentenceTransformer {
	t.Helper()
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), pooling, 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainImprovesRetrieval(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	m := tiny(t, "mean")
	train := pairsDataset(t, synth.Pairs(150, 2, 10))
	heldOut := pairsDataset(t, synth.Pairs(60, 2, 99))
	eval := irEvaluator(t, heldOut, "heldout")
	before, err := eval.Evaluate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 40, PerDeviceTrainBatchSize: 16, LearningRate: 5e-4,
		WarmupRatio: 0.1, BatchSampler: "no_duplicates", LoggingSteps: 10, EvalStrategy: "steps", EvalSteps: 30,
		SaveSteps: 30, SaveTotalLimit: 1}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithEvaluator(eval), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Train()
	if err != nil {
		t.Fatal(err)
	}
	after, err := eval.Evaluate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	key := "heldout_cosine_ndcg@10"
	t.Logf("steps %d, training loss %.4f, %s: %.4f → %.4f; history %v", out.GlobalStep, out.TrainingLoss, key, before[key], after[key], tr.State.LogHistory)
	if after[key] < before[key]+0.1 {
		t.Fatalf("held-out %s improved only from %.4f to %.4f", key, before[key], after[key])
	}
}

// squadSplit reads SQuAD v1.1 dev pairs and splits them by article: train on the first articles,
// evaluate on others (no shared contexts).
func squadSplit(t testing.TB, trainArticles, evalArticles, maxEvalRows int) (train, eval *datasets.Dataset) {
	t.Helper()
	d, err := datasets.ReadSQuAD(testutil.SharedData(t, "squad-v1.1/dev-v1.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	titles, _ := d.Column("title")
	order := map[string]int{}
	for i := 0; i < d.Len(); i++ {
		if _, ok := order[titles.Str(i)]; !ok {
			order[titles.Str(i)] = len(order)
		}
	}
	tr := d.Filter(func(r datasets.Row) bool { return order[r["title"].(string)] < trainArticles })
	ev := d.Filter(func(r datasets.Row) bool {
		k := order[r["title"].(string)]
		return k >= trainArticles && k < trainArticles+evalArticles
	})
	if tr, err = tr.Select("question", "context"); err != nil {
		t.Fatal(err)
	}
	if ev, err = ev.Select("question", "context"); err != nil {
		t.Fatal(err)
	}
	if ev.Len() > maxEvalRows {
		ev, _ = ev.Sample(maxEvalRows, 1)
	}
	return tr, ev
}

// TestTrainOnSQuAD trains a random tiny BERT (bert-base-uncased tokenizer) on real Wikipedia
// question/context pairs and expects clearly better retrieval on held-out articles.
func TestTrainOnSQuAD(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	if testing.Short() {
		t.Skip("trains for a minute")
	}
	tokDir := testutil.SharedData(t, "models/all-MiniLM-L6-v2-config")
	m, err := model.New(model.InitConfig{HiddenSize: 64, NumLayers: 2, NumHeads: 4, IntermediateSize: 128,
		MaxPositionEmbeddings: 256, MaxSeqLength: 128, Pooling: []string{"mean"}, TokenizerDir: tokDir, Seed: 5}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	train, held := squadSplit(t, 10, 4, 300)
	eval := irEvaluator(t, held, "squad")
	before, err := eval.Evaluate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 80, PerDeviceTrainBatchSize: 16, LearningRate: 1e-3,
		WarmupRatio: 0.1, BatchSampler: "no_duplicates", LoggingSteps: 10, SaveStrategy: "no"}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	after, err := eval.Evaluate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	var curve []string
	for _, e := range tr.State.LogHistory {
		if l, ok := e["loss"]; ok {
			curve = append(curve, fmt.Sprintf("%g:%.3f", e["step"], l))
		}
	}
	t.Logf("SQuAD: %d train pairs, %d held-out queries; nDCG@10 %.4f → %.4f, MRR@10 %.4f → %.4f; loss curve %v",
		train.Len(), eval.NumQueries(), before["squad_cosine_ndcg@10"], after["squad_cosine_ndcg@10"],
		before["squad_cosine_mrr@10"], after["squad_cosine_mrr@10"], curve)
	if after["squad_cosine_ndcg@10"] < before["squad_cosine_ndcg@10"]+0.05 {
		t.Fatalf("held-out nDCG@10 %.4f → %.4f: no clear improvement", before["squad_cosine_ndcg@10"], after["squad_cosine_ndcg@10"])
	}
}
