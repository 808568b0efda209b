// Package trainlib fine-tunes sentence-embedding models for retrieval (RAG) in Go, with the names
// and defaults of Python's sentence-transformers, so its tutorial translates cell by cell:
//
//	ds, _ := trainlib.LoadDataset("dipanjanS/india_rag_wikidata", datasets.WithSplit("train"))
//	ds, _ = ds.Select("question", "context")
//	model, _ := trainlib.LoadModel("BAAI/bge-base-en-v1.5")
//	loss := losses.MultipleNegativesRankingLoss(model)
//	args := trainlib.TrainingArguments{OutputDir: "bge-base-finetuned", MaxSteps: 332,
//		PerDeviceTrainBatchSize: 16, LearningRate: 3e-6, WarmupRatio: 0.1,
//		BatchSampler: "no_duplicates", EvalStrategy: "steps", EvalSteps: 20, SaveSteps: 100,
//		SaveTotalLimit: 2, LoggingSteps: 20}
//	trainer, _ := trainlib.NewTrainer(model, args, ds, nil, loss, trainlib.WithEvaluator(evaluator))
//	out, err := trainer.Train()   // live progress and loss chart in a notebook; model saved to OutputDir
//
// Sub-packages: model (load/encode/save sentence-transformers folders), datasets, losses,
// evaluation, sampler, optim, tokenizer, hub (Hugging Face cache), safetensors, bert, backend,
// serve (the OpenAI- and TEI-compatible embedding service).
package trainlib

import (
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
)

// Model is a sentence-transformers model (see package model).
type Model = model.SentenceTransformer

// EncodeOptions configure Model.Encode.
type EncodeOptions = model.EncodeOptions

// LoadModel loads a sentence-transformers model from a folder or a Hugging Face Hub id, like
// SentenceTransformer(name_or_path).
func LoadModel(nameOrDir string, opts ...model.Option) (*Model, error) {
	return model.Load(nameOrDir, opts...)
}

// NewModel creates a randomly initialized BERT sentence-transformers model.
func NewModel(cfg model.InitConfig, opts ...model.Option) (*Model, error) {
	return model.New(cfg, opts...)
}

// Dataset is a columnar dataset (see package datasets).
type Dataset = datasets.Dataset

// LoadDataset loads a Hugging Face Hub dataset or local files, like datasets.load_dataset.
func LoadDataset(source string, opts ...datasets.Option) (*Dataset, error) {
	return datasets.Load(source, opts...)
}

// LoRAConfig configures a LoRA adapter, like peft.LoraConfig: Model.AddAdapter(LoRAConfig{R: 8})
// freezes the base weights and trains only the adapter (see package model).
type LoRAConfig = model.LoRAConfig
