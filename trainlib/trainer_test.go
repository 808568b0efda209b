package trainlib

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
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
