package trainlib

import (
	"fmt"
	"maps"
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
//	loss: {name: MultipleNegativesRankingLoss, scale: 20}  # see BuildLoss (Cached…, MatryoshkaLoss)
//	evaluator: {dataset: {source: ..., columns: [question, context]}, sample: 100, name: dev}  # optional; matryoshka_dims: [...]
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
	// TruncateDim evaluates the first TruncateDim embedding dimensions (truncate_dim).
	TruncateDim int `yaml:"truncate_dim"`
	// MatryoshkaDims evaluates every one of these dimensions (one evaluator per dimension, metrics
	// "dim_{d}_cosine_ndcg@10", …; see evaluation.MatryoshkaEvaluator), e.g. MatryoshkaLoss's
	// matryoshka_dims.
	MatryoshkaDims []int `yaml:"matryoshka_dims"`
}

// LoadRunConfig reads a YAML or JSON run description, rejecting unknown keys.
func LoadRunConfig(path string) (*RunConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
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

// BuildLoss constructs the loss named in a config map: {name, and the loss's parameters with
// sentence-transformers' names}, e.g.
//
//	{name: MultipleNegativesRankingLoss, scale: 20, similarity_fct: cos_sim}
//	{name: CachedMultipleNegativesRankingLoss, mini_batch_size: 32}
//	{name: MatryoshkaLoss, loss: {name: MultipleNegativesRankingLoss}, matryoshka_dims: [768, 512, 256, 128, 64]}
//
// Unknown parameters and parameters of another loss are errors naming them.
func BuildLoss(m *model.SentenceTransformer, spec map[string]any) (losses.Loss, error) {
	if spec == nil {
		spec = map[string]any{"name": "MultipleNegativesRankingLoss"}
	}
	name, _ := spec["name"].(string)
	mnrlKeys := []string{"scale", "similarity_fct", "similarity", "directions", "partition_mode", "hardness_mode", "hardness_strength"}
	allowed := map[string][]string{
		"MultipleNegativesRankingLoss":          mnrlKeys,
		"MultipleNegativesSymmetricRankingLoss": {"scale", "similarity_fct", "similarity"},
		"CachedMultipleNegativesRankingLoss":    append([]string{"mini_batch_size"}, mnrlKeys...),
		"CoSENTLoss":                            {"scale", "similarity_fct", "similarity"},
		"MatryoshkaLoss":                        {"loss", "matryoshka_dims", "matryoshka_weights", "n_dims_per_step"},
	}
	keys, ok := allowed[name]
	if !ok {
		names := slices.Sorted(maps.Keys(allowed))
		return nil, fmt.Errorf("loss %q is not supported (%s)", name, strings.Join(names, ", "))
	}
	var unknown []string
	for k := range spec {
		if k != "name" && !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		if slices.Contains(unknown, "mini_batch_num_tokens") {
			return nil, fmt.Errorf("loss %s: mini_batch_num_tokens is not supported; use mini_batch_size", name)
		}
		return nil, fmt.Errorf("loss %s: unknown parameters %v (valid: %s)", name, unknown, strings.Join(keys, ", "))
	}
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
		return 0, fmt.Errorf("loss %s: parameter %q must be a number, got %v", name, k, v)
	}
	integer := func(k string, def int) (int, error) {
		v, ok := spec[k]
		if !ok {
			return def, nil
		}
		if x, ok := asInt(v); ok {
			return x, nil
		}
		return 0, fmt.Errorf("loss %s: parameter %q must be an integer, got %v", name, k, v)
	}
	if name == "MatryoshkaLoss" {
		return buildMatryoshka(m, spec, integer)
	}
	scale, err := num("scale", 20)
	if err != nil {
		return nil, err
	}
	sim := losses.CosSim
	for _, k := range []string{"similarity_fct", "similarity"} {
		if v, ok := spec[k]; ok {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("loss %s: %s must be a string (cos_sim or dot_score), got %v", name, k, v)
			}
			sim = losses.Similarity(strings.TrimPrefix(s, "pairwise_"))
		}
	}
	if name == "CoSENTLoss" {
		l := losses.CoSENTLoss(m)
		l.Scale = scale
		l.Similarity = sim
		return l, nil
	}
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
	switch name {
	case "MultipleNegativesSymmetricRankingLoss":
		return losses.MultipleNegativesSymmetricRankingLoss(m, opts...), nil
	case "CachedMultipleNegativesRankingLoss":
		mb, err := integer("mini_batch_size", 32)
		if err != nil {
			return nil, err
		}
		return losses.CachedMultipleNegativesRankingLoss(m, append(opts, losses.WithMiniBatchSize(mb))...), nil
	}
	return losses.MultipleNegativesRankingLoss(m, opts...), nil
}

// buildMatryoshka builds a MatryoshkaLoss from its spec (the inner loss under "loss").
func buildMatryoshka(m *model.SentenceTransformer, spec map[string]any, integer func(string, int) (int, error)) (losses.Loss, error) {
	innerSpec, ok := spec["loss"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("loss MatryoshkaLoss: \"loss\" must hold the inner loss, e.g. {name: MultipleNegativesRankingLoss}; got %v", spec["loss"])
	}
	inner, err := BuildLoss(m, innerSpec)
	if err != nil {
		return nil, fmt.Errorf("loss MatryoshkaLoss: inner loss: %w", err)
	}
	rawDims, ok := spec["matryoshka_dims"].([]any)
	if !ok {
		return nil, fmt.Errorf("loss MatryoshkaLoss: matryoshka_dims must be a list of dimensions, e.g. [768, 512, 256, 128, 64]; got %v", spec["matryoshka_dims"])
	}
	dims := make([]int, len(rawDims))
	for i, v := range rawDims {
		d, ok := asInt(v)
		if !ok {
			return nil, fmt.Errorf("loss MatryoshkaLoss: matryoshka_dims[%d] must be an integer, got %v", i, v)
		}
		dims[i] = d
	}
	var opts []losses.MatryoshkaOption
	if v, ok := spec["matryoshka_weights"]; ok && v != nil {
		raw, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("loss MatryoshkaLoss: matryoshka_weights must be a list of numbers, got %v", v)
		}
		weights := make([]float64, len(raw))
		for i, w := range raw {
			switch x := w.(type) {
			case int:
				weights[i] = float64(x)
			case float64:
				weights[i] = x
			default:
				return nil, fmt.Errorf("loss MatryoshkaLoss: matryoshka_weights[%d] must be a number, got %v", i, w)
			}
		}
		opts = append(opts, losses.WithMatryoshkaWeights(weights...))
	}
	n, err := integer("n_dims_per_step", -1)
	if err != nil {
		return nil, err
	}
	return losses.MatryoshkaLoss(m, inner, dims, append(opts, losses.WithDimsPerStep(n))...), nil
}

// asInt converts a decoded YAML/JSON number that holds an integer.
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

// BuildEvaluator constructs the IR evaluator of a spec (a MatryoshkaEvaluator with matryoshka_dims).
func (s *EvaluatorSpec) BuildEvaluator() (evaluation.Evaluator, error) {
	d, err := s.Dataset.Load()
	if err != nil {
		return nil, fmt.Errorf("evaluator dataset: %w", err)
	}
	ir, err := datasets.IRFromPairs(d, datasets.PairsOptions{QueryColumn: s.QueryColumn, ContextColumn: s.ContextColumn})
	if err != nil {
		return nil, fmt.Errorf("evaluator dataset: %w", err)
	}
	opts := evaluation.IROptions{Name: s.Name, QueryPrompt: s.QueryPrompt, CorpusPrompt: s.CorpusPrompt, TruncateDim: s.TruncateDim}
	if len(s.MatryoshkaDims) > 0 {
		if s.TruncateDim != 0 {
			return nil, fmt.Errorf("evaluator: truncate_dim and matryoshka_dims exclude each other (matryoshka_dims evaluates each dimension)")
		}
		ev, err := evaluation.NewMatryoshkaEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs, s.MatryoshkaDims, opts, nil)
		if err != nil {
			return nil, fmt.Errorf("evaluator.matryoshka_dims: %w", err)
		}
		return ev, nil
	}
	ev, err := evaluation.NewInformationRetrievalEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs, opts)
	if err != nil {
		return nil, fmt.Errorf("evaluator: %w", err)
	}
	return ev, nil
}
