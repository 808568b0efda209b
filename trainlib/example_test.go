package trainlib_test

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// fineTune is the tour of the README and of the package documentation (tests/readme keeps them
// identical): the steps of the sentence-transformers tutorial "fine-tune an embedding model for RAG", which
// trains BAAI/bge-base-en-v1.5 on dipanjanS/india_rag_wikidata for 332 steps.
func fineTune(modelName, datasetName, outputDir string, maxSteps int) (*trainlib.TrainOutput, error) {
	ds, err := trainlib.LoadDataset(datasetName, datasets.WithSplit("train")) // a Hub id or local files
	if err != nil {
		return nil, err
	}
	pairs, err := ds.Select("question", "context") // (anchor, positive) pairs
	if err != nil {
		return nil, err
	}
	train, test, err := pairs.TrainTestSplit(0.1, 42)
	if err != nil {
		return nil, err
	}
	ir, err := datasets.IRFromPairs(test, datasets.PairsOptions{})
	if err != nil {
		return nil, err
	}
	evaluator, err := evaluation.NewInformationRetrievalEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs,
		evaluation.IROptions{Name: "dev"})
	if err != nil {
		return nil, err
	}
	model, err := trainlib.LoadModel(modelName) // a Hub id or a folder; the Hugging Face cache is shared with Python
	if err != nil {
		return nil, err
	}
	loss := losses.MultipleNegativesRankingLoss(model)
	args := trainlib.TrainingArguments{OutputDir: outputDir, MaxSteps: maxSteps, PerDeviceTrainBatchSize: 16,
		LearningRate: 3e-6, WarmupRatio: 0.1, BatchSampler: "no_duplicates", EvalStrategy: "steps",
		EvalSteps: 20, SaveSteps: 100, SaveTotalLimit: 2, LoggingSteps: 20}
	trainer, err := trainlib.NewTrainer(model, args, train, nil, loss, trainlib.WithEvaluator(evaluator))
	if err != nil {
		return nil, err
	}
	// display.AttachProgress(trainer) // in a notebook or a terminal: live progress bar, log table and loss chart
	return trainer.Train() // checkpoints every 100 steps (the last 2 kept); the model is saved in OutputDir
}

// Example runs the tour on stand-ins small enough for a test: a tiny random BERT (hidden size 32, 2
// layers) for BAAI/bge-base-en-v1.5, 400 synthetic (question, context) pairs in a JSON Lines file for
// dipanjanS/india_rag_wikidata, and 40 steps. The fine-tuned folder is a sentence-transformers model.
func Example() {
	dir, err := os.MkdirTemp("", "embedtune-tour-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	modelName, datasetName := tourInputs(dir)

	out, err := fineTune(modelName, datasetName, filepath.Join(dir, "bge-base-finetuned"), 40)
	if err != nil {
		log.Fatal(err)
	}
	tuned, err := trainlib.LoadTrainedModel(filepath.Join(dir, "bge-base-finetuned"), model.WithLogger(nil))
	if err != nil {
		log.Fatal(err)
	}
	checkpoints, _ := filepath.Glob(filepath.Join(dir, "bge-base-finetuned", "checkpoint-*"))
	state, err := trainlib.ReadTrainerState(checkpoints[len(checkpoints)-1])
	if err != nil {
		log.Fatal(err)
	}
	evaluations := 0
	for _, entry := range state.LogHistory {
		if _, ok := entry["eval_dev_cosine_ndcg@10"]; ok {
			evaluations++
		}
	}
	fmt.Println("steps:", out.GlobalStep, "evaluations:", evaluations, "checkpoints:", len(checkpoints))
	fmt.Println("embedding dimension of the fine-tuned model:", tuned.Dim())
	// Output:
	// steps: 40 evaluations: 2 checkpoints: 1
	// embedding dimension of the fine-tuned model: 32
}

// tourInputs writes the tour's stand-in model folder and dataset file into dir.
func tourInputs(dir string) (modelName, datasetName string) {
	m, err := synth.TinyModel(filepath.Join(dir, "tokenizer"), "cls", 1, model.WithLogger(nil))
	if err != nil {
		log.Fatal(err)
	}
	modelName = filepath.Join(dir, "tiny-bert")
	if err := m.Save(modelName); err != nil {
		log.Fatal(err)
	}
	datasetName = filepath.Join(dir, "pairs.jsonl")
	f, err := os.Create(datasetName)
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, p := range synth.Pairs(200, 2, 7) {
		if err := enc.Encode(map[string]string{"question": p.Question, "context": p.Context}); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	return modelName, datasetName
}
