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
