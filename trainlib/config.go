package trainlib

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"gopkg.in/yaml.v3"
)

// RunConfig is a training run described in YAML or JSON (embedtune train --config run.yaml):
//
//	model: BAAI/bge-base-en-v1.5            # folder or Hub id
//	train_dataset: {source: dipanjanS/india_rag_wikidata, split: train, columns: [question, context]}
//	eval_dataset: {source: ..., split: ..., columns: [...]}            # optional: validation loss
//	loss: {name: MultipleNegativesRankingLoss, scale: 20}
//	evaluator: {dataset: {source: ..., columns: [question, context]}, sample: 100, name: dev}  # optional
//	lora: {r: 8, lora_alpha: 16, target_modules: [query, value]}       # optional: train an adapter
//	args: {output_dir: out, max_steps: 332, per_device_train_batch_size: 16, ...}
type RunConfig struct {
	Model        string         `yaml:"model"`
	TrainDataset DatasetSpec    `yaml:"train_dataset"`
	EvalDataset  *DatasetSpec   `yaml:"eval_dataset"`
	Loss         map[string]any `yaml:"loss"`
	Evaluator    *EvaluatorSpec `yaml:"evaluator"`
	// LoRA, when set, trains a LoRA adapter instead of the whole model (PEFT names: r, lora_alpha,
	// lora_dropout, target_modules, use_rslora).
	LoRA *model.LoRAConfig `yaml:"lora"`
	Args map[string]any    `yaml:"args"`
}

// DatasetSpec names a dataset and the columns to train on (in role order).
type DatasetSpec struct {
	Source  string   `yaml:"source"`
	Split   string   `yaml:"split"`
	Columns []string `yaml:"columns"`
	// Sample keeps n random rows (seeded by SampleSeed, default 42); 0 keeps all.
	Sample     int    `yaml:"sample"`
	SampleSeed uint64 `yaml:"sample_seed"`
}

// EvaluatorSpec builds an InformationRetrievalEvaluator from (question, context) pairs.
type EvaluatorSpec struct {
	Dataset       DatasetSpec `yaml:"dataset"`
	Name          string      `yaml:"name"`
	QueryColumn   string      `yaml:"query_column"`
	ContextColumn string      `yaml:"context_column"`
	QueryPrompt   string      `yaml:"query_prompt"`
	CorpusPrompt  string      `yaml:"corpus_prompt"`
}

// LoadRunConfig reads a YAML or JSON run description, rejecting unknown keys.
func LoadRunConfig(path string) (*RunConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseRunConfig(path, data)
}

// ParseRunConfig decodes a YAML or JSON run description; path names it in errors.
func ParseRunConfig(path string, data []byte) (*RunConfig, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	var c RunConfig
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Model == "" {
		return nil, fmt.Errorf("%s: \"model\" is required (a folder or a Hub id)", path)
	}
	if c.TrainDataset.Source == "" {
		return nil, fmt.Errorf("%s: \"train_dataset.source\" is required", path)
	}
	if c.Args == nil {
		return nil, fmt.Errorf("%s: \"args\" (training arguments, at least output_dir) is required", path)
	}
	return &c, nil
}

// Load reads the dataset, selects its columns and samples it.
func (s DatasetSpec) Load() (*datasets.Dataset, error) {
	var opts []datasets.Option
	if s.Split != "" {
		opts = append(opts, datasets.WithSplit(s.Split))
	}
	d, err := datasets.Load(s.Source, opts...)
	if err != nil {
		return nil, err
	}
	if len(s.Columns) > 0 {
		if d, err = d.Select(s.Columns...); err != nil {
			return nil, err
		}
	}
	if s.Sample > 0 {
		seed := s.SampleSeed
		if seed == 0 {
			seed = 42
		}
		if d, err = d.Sample(s.Sample, seed); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// BuildLoss constructs the loss named in a config map ({name, and parameters}).
func BuildLoss(m *model.SentenceTransformer, spec map[string]any) (losses.Loss, error) {
	if spec == nil {
		spec = map[string]any{"name": "MultipleNegativesRankingLoss"}
	}
	name, _ := spec["name"].(string)
	num := func(k string, def float64) (float64, error) {
		v, ok := spec[k]
		if !ok {
			return def, nil
		}
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case float64:
			return x, nil
		}
		return 0, fmt.Errorf("loss parameter %q must be a number, got %v", k, v)
	}
	known := map[string]bool{"name": true, "scale": true, "similarity": true, "directions": true, "partition_mode": true,
		"hardness_mode": true, "hardness_strength": true}
	var unknown []string
	for k := range spec {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("loss: unknown parameters %v", unknown)
	}
	scale, err := num("scale", 20)
	if err != nil {
		return nil, err
	}
	sim := losses.CosSim
	if s, ok := spec["similarity"].(string); ok {
		sim = losses.Similarity(s)
	}
	switch name {
	case "MultipleNegativesRankingLoss", "MultipleNegativesSymmetricRankingLoss":
		opts := []losses.MNRLOption{losses.WithScale(scale), losses.WithSimilarity(sim)}
		if ds, ok := spec["directions"].([]any); ok {
			var dirs []string
			for _, d := range ds {
				dirs = append(dirs, fmt.Sprint(d))
			}
			opts = append(opts, losses.WithDirections(dirs...))
		}
		if pm, ok := spec["partition_mode"].(string); ok {
			opts = append(opts, losses.WithPartitionMode(pm))
		}
		if hm, ok := spec["hardness_mode"].(string); ok {
			hs, err := num("hardness_strength", 0)
			if err != nil {
				return nil, err
			}
			opts = append(opts, losses.WithHardness(hm, hs))
		}
		if name == "MultipleNegativesSymmetricRankingLoss" {
			return losses.MultipleNegativesSymmetricRankingLoss(m, opts...), nil
		}
		return losses.MultipleNegativesRankingLoss(m, opts...), nil
	case "CoSENTLoss":
		l := losses.CoSENTLoss(m)
		l.Scale = scale
		l.Similarity = sim
		return l, nil
	}
	return nil, fmt.Errorf("loss %q is not supported (MultipleNegativesRankingLoss, MultipleNegativesSymmetricRankingLoss, CoSENTLoss)", name)
}

// BuildEvaluator constructs the IR evaluator of a spec.
func (s *EvaluatorSpec) BuildEvaluator() (*evaluation.InformationRetrievalEvaluator, error) {
	d, err := s.Dataset.Load()
	if err != nil {
		return nil, fmt.Errorf("evaluator dataset: %w", err)
	}
	ir, err := datasets.IRFromPairs(d, datasets.PairsOptions{QueryColumn: s.QueryColumn, ContextColumn: s.ContextColumn})
	if err != nil {
		return nil, fmt.Errorf("evaluator dataset: %w", err)
	}
	return evaluation.NewInformationRetrievalEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs,
		evaluation.IROptions{Name: s.Name, QueryPrompt: s.QueryPrompt, CorpusPrompt: s.CorpusPrompt})
}
