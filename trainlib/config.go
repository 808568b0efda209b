package trainlib

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
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
//	mine_hard_negatives: {num_negatives: 3, range_min: 10, relative_margin: 0.05}  # optional (MineSpec)
//	nano_beir_evaluator: {dataset_names: [scifact], max_drop: 0.01}  # optional out-of-domain guard (NanoBEIRSpec)
//	callbacks: [{name: EarlyStoppingCallback, early_stopping_patience: 3}]  # optional (transformers' names)
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
	// MineHardNegatives, when set, adds mined hard negatives to the train dataset before training.
	MineHardNegatives *MineSpec `yaml:"mine_hard_negatives"`
	// NanoBEIR, when set, evaluates out of domain beside Evaluator and warns when that gets worse.
	NanoBEIR *NanoBEIRSpec `yaml:"nano_beir_evaluator"`
	// Callbacks are transformers callbacks by class name with their arguments (see BuildCallbacks).
	Callbacks []map[string]any `yaml:"callbacks"`
	Args      map[string]any   `yaml:"args"`
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
	return ParseRunConfig(path, data)
}

// RunConfigFromMap builds a run config from a decoded YAML/JSON mapping (e.g. a run config with a
// sweep's parameters applied), with LoadRunConfig's checks; name labels errors.
func RunConfigFromMap(name string, m map[string]any) (*RunConfig, error) {
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ParseRunConfig(name, data)
}

// ParseRunConfig decodes a YAML or JSON run description strictly and checks the required keys; name
// labels errors (the file's path).
func ParseRunConfig(name string, data []byte) (*RunConfig, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	var c RunConfig
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if c.Model == "" {
		return nil, fmt.Errorf("%s: \"model\" is required (a folder or a Hub id)", name)
	}
	if c.TrainDataset.Source == "" {
		return nil, fmt.Errorf("%s: \"train_dataset.source\" is required", name)
	}
	if c.Args == nil {
		return nil, fmt.Errorf("%s: \"args\" (training arguments, at least output_dir) is required", name)
	}
	if c.LoRA != nil {
		// Zero means "the PEFT default" in a Go literal, but a written r: 0 or lora_alpha: 0 is a mistake.
		var raw struct {
			LoRA map[string]any `yaml:"lora"`
		}
		if err := yaml.Unmarshal(data, &raw); err == nil {
			for _, k := range []string{"r", "lora_alpha"} {
				if v, ok := raw.LoRA[k]; ok {
					if f, isNum := v.(float64); (isNum && !(f > 0)) || v == 0 {
						return nil, fmt.Errorf("%s: lora.%s must be positive (got %v)", name, k, v)
					}
				}
			}
		}
	}
	return &c, nil
}

// Map returns the config as a YAML/JSON mapping (the inverse of RunConfigFromMap).
func (c *RunConfig) Map() (map[string]any, error) {
	data, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Check validates what can be checked without loading anything: the training arguments (names,
// types, values and their combinations) and the loss (name and parameters).
func (c *RunConfig) Check() error {
	a, err := TrainingArgumentsFromMap("args", c.Args)
	if err != nil {
		return err
	}
	if _, err := a.resolved(); err != nil {
		return fmt.Errorf("args: %w", err)
	}
	if _, err := BuildLoss(nil, c.Loss); err != nil {
		return err
	}
	return nil
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
//	{name: MultipleNegativesRankingLoss, gather_across_devices: true}   # with several devices (num_devices)
//	{name: MatryoshkaLoss, loss: {name: MultipleNegativesRankingLoss}, matryoshka_dims: [768, 512, 256, 128, 64]}
//
// Unknown parameters and parameters of another loss are errors naming them.
func BuildLoss(m *model.SentenceTransformer, spec map[string]any) (losses.Loss, error) {
	if len(spec) == 0 {
		spec = map[string]any{"name": "MultipleNegativesRankingLoss"}
	}
	name, _ := spec["name"].(string)
	if _, given := spec["name"]; !given {
		name = "MultipleNegativesRankingLoss" // The default loss, also when only its options are given.
	}
	mnrlKeys := []string{"scale", "similarity_fct", "similarity", "directions", "partition_mode", "hardness_mode", "hardness_strength", "gather_across_devices"}
	allowed := map[string][]string{
		"MultipleNegativesRankingLoss":          mnrlKeys,
		"MultipleNegativesSymmetricRankingLoss": {"scale", "similarity_fct", "similarity", "gather_across_devices"},
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
	if v, ok := spec["gather_across_devices"]; ok {
		on, isBool := v.(bool)
		if !isBool {
			return nil, fmt.Errorf("loss %s: gather_across_devices must be true or false, got %v", name, v)
		}
		opts = append(opts, losses.WithGatherAcrossDevices(on))
	}
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
	return s.buildEvaluator(DatasetSpec.Load)
}

// buildEvaluator is BuildEvaluator with the dataset loaded by load.
func (s *EvaluatorSpec) buildEvaluator(load func(DatasetSpec) (*datasets.Dataset, error)) (evaluation.Evaluator, error) {
	d, err := load(s.Dataset)
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

// BuildCallbacks constructs the callbacks of a run config: each entry is {name: ClassName, and the
// constructor arguments with transformers' names}. Supported: EarlyStoppingCallback
// (early_stopping_patience, default 1; early_stopping_threshold, default 0).
func (c *RunConfig) BuildCallbacks() ([]Callback, error) {
	var out []Callback
	for i, spec := range c.Callbacks {
		name, _ := spec["name"].(string)
		switch name {
		case "EarlyStoppingCallback":
			cb := NewEarlyStoppingCallback(1, 0)
			for k, v := range spec {
				switch k {
				case "name":
				case "early_stopping_patience":
					n, ok := v.(int)
					if !ok {
						return nil, fmt.Errorf("callbacks[%d]: early_stopping_patience must be an integer, got %v", i, v)
					}
					cb.EarlyStoppingPatience = n
				case "early_stopping_threshold":
					x, ok := number(v)
					if !ok {
						return nil, fmt.Errorf("callbacks[%d]: early_stopping_threshold must be a number, got %v", i, v)
					}
					cb.EarlyStoppingThreshold = x
				default:
					return nil, fmt.Errorf("callbacks[%d]: EarlyStoppingCallback has no argument %q (early_stopping_patience, early_stopping_threshold)", i, k)
				}
			}
			out = append(out, cb)
		default:
			return nil, fmt.Errorf("callbacks[%d]: unknown callback %q (supported: EarlyStoppingCallback)", i, name)
		}
	}
	return out, nil
}

// MineSpec is a run config's mine_hard_negatives: sentence-transformers' mine_hard_negatives arguments
// with its keys (range_min, range_max, max_score, min_score, absolute_margin, relative_margin,
// num_negatives, sampling_strategy, output_format, query_prompt, …; see datasets.MineOptions), plus
// the model to mine with and an extra corpus read from a dataset. The mined dataset replaces the train
// dataset (output_format triplet or n-tuple gives MultipleNegativesRankingLoss its negative columns).
type MineSpec struct {
	datasets.MineOptions `yaml:",inline"`
	// Model mines with another model (a folder or Hub id); default: the run's model.
	Model string `yaml:"model"`
	// Corpus adds the texts of one column of a dataset to the candidates (corpus).
	Corpus *CorpusSpec `yaml:"corpus"`
}

// CorpusSpec is a dataset column of texts.
type CorpusSpec struct {
	DatasetSpec `yaml:",inline"`
	// Column holds the texts (default "text").
	Column string `yaml:"column"`
}

// Texts loads the corpus texts.
func (c *CorpusSpec) Texts() ([]string, error) {
	col := c.Column
	if col == "" {
		col = "text"
	}
	d, err := c.Load()
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	column, err := d.Column(col)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", c.Source, err)
	}
	texts, err := column.Strings()
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", c.Source, err)
	}
	return texts, nil
}

// Mine mines hard negatives for train with the spec's model (runModel when it names none); progress
// and the report go to log.
func (s *MineSpec) Mine(runModel *model.SentenceTransformer, train *datasets.Dataset, log io.Writer) (*datasets.Dataset, *datasets.MiningReport, error) {
	m := runModel
	if s.Model != "" {
		var err error
		if m, err = model.Load(s.Model, model.WithLogger(log)); err != nil {
			return nil, nil, fmt.Errorf("mine_hard_negatives.model: %w", err)
		}
	}
	o := s.MineOptions
	if s.Corpus != nil {
		texts, err := s.Corpus.Texts()
		if err != nil {
			return nil, nil, fmt.Errorf("mine_hard_negatives.%w", err)
		}
		o.Corpus = texts
	}
	if o.Log == nil {
		o.Log = log
	}
	return datasets.MineHardNegatives(train, m, o)
}

// NanoBEIRSpec is a run config's nano_beir_evaluator: sentence-transformers' NanoBEIREvaluator
// arguments (dataset_names, dataset_id, query_prompts, corpus_prompts, batch_size, truncate_dim),
// evaluated beside the in-domain evaluator, and the threshold of the OutOfDomainGuard that watches it.
// BEIR folders (beir_folders) stand in for the Hub's NanoBEIR when it cannot be reached, or add sets
// of their own.
type NanoBEIRSpec struct {
	DatasetNames  []string          `yaml:"dataset_names"`
	DatasetID     string            `yaml:"dataset_id"`
	QueryPrompts  map[string]string `yaml:"query_prompts"`
	CorpusPrompts map[string]string `yaml:"corpus_prompts"`
	BatchSize     int               `yaml:"batch_size"`
	TruncateDim   int               `yaml:"truncate_dim"`
	// BEIRFolders are local BEIR folders (corpus.jsonl, queries.jsonl, qrels/{split}.tsv).
	BEIRFolders []BEIRFolderSpec `yaml:"beir_folders"`
	// Fallback uses the BEIR folders only when the Hub's NanoBEIR cannot be loaded (default); false
	// evaluates on both.
	Fallback *bool `yaml:"fallback"`
	// MaxDrop is the OutOfDomainGuard's threshold on the primary metric (default 0.01; negative: no
	// warnings); StopOnDrop also stops training there.
	MaxDrop    *float64 `yaml:"max_drop"`
	StopOnDrop bool     `yaml:"stop_on_drop"`
}

// BEIRFolderSpec is a local BEIR folder, optionally cut down like NanoBEIR (see datasets.IRData.Subset).
type BEIRFolderSpec struct {
	Path string `yaml:"path"`
	// Name names the set's metrics (default: the folder name).
	Name  string `yaml:"name"`
	Split string `yaml:"split"` // default "test"
	// MaxQueries keeps the first queries (0: all) and OtherDocs that many other documents besides
	// their relevant ones (0 with MaxQueries 0: the whole corpus).
	MaxQueries int `yaml:"max_queries"`
	OtherDocs  int `yaml:"other_docs"`
	// QueryPrompt and CorpusPrompt are this set's prompts.
	QueryPrompt  string `yaml:"query_prompt"`
	CorpusPrompt string `yaml:"corpus_prompt"`
}

// Load reads the folder as a named evaluation set.
func (b BEIRFolderSpec) Load() (evaluation.IRSet, error) {
	split := b.Split
	if split == "" {
		split = "test"
	}
	ir, err := datasets.LoadBEIR(b.Path, split)
	if err != nil {
		return evaluation.IRSet{}, err
	}
	if b.MaxQueries > 0 || b.OtherDocs > 0 {
		others := b.OtherDocs
		if b.MaxQueries > 0 && others == 0 {
			others = -1
		}
		ir = ir.Subset(b.MaxQueries, others)
	}
	name := b.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(b.Path))
	}
	set := ir.Set(name)
	set.QueryPrompt, set.CorpusPrompt = b.QueryPrompt, b.CorpusPrompt
	return set, nil
}

// Build loads the sets (the Hub's NanoBEIR, else or also the BEIR folders) and returns the evaluator;
// hubErr is the Hub's error when the folders stood in for it.
func (s *NanoBEIRSpec) Build(ctx context.Context) (ev *evaluation.NanoBEIREvaluator, hubErr error, err error) {
	fallback := s.Fallback == nil || *s.Fallback
	var sets []evaluation.IRSet
	allNano := true
	if len(s.DatasetNames) > 0 {
		nano, err := datasets.LoadNanoBEIR(ctx, s.DatasetNames, s.DatasetID)
		switch {
		case err == nil:
			sets = nano
		case len(s.BEIRFolders) > 0 && fallback:
			hubErr = err
		default:
			return nil, nil, fmt.Errorf("nano_beir_evaluator: %w", err)
		}
	}
	if len(sets) == 0 || !fallback {
		for i, b := range s.BEIRFolders {
			set, err := b.Load()
			if err != nil {
				return nil, hubErr, fmt.Errorf("nano_beir_evaluator.beir_folders[%d]: %w", i, err)
			}
			sets = append(sets, set)
			allNano = false
		}
	}
	if len(sets) == 0 {
		return nil, hubErr, fmt.Errorf("nano_beir_evaluator: no datasets: give dataset_names (NanoBEIR on the Hub) or beir_folders")
	}
	for i := range sets {
		short := strings.TrimPrefix(strings.ToLower(sets[i].Name), "nano")
		for k, p := range s.QueryPrompts {
			if strings.EqualFold(k, short) || strings.EqualFold(k, sets[i].Name) {
				sets[i].QueryPrompt = p
			}
		}
		for k, p := range s.CorpusPrompts {
			if strings.EqualFold(k, short) || strings.EqualFold(k, sets[i].Name) {
				sets[i].CorpusPrompt = p
			}
		}
	}
	opts := evaluation.NanoBEIROptions{IR: evaluation.IROptions{BatchSize: s.BatchSize, TruncateDim: s.TruncateDim}}
	if !allNano {
		opts.Prefix = "BEIR"
	}
	ev, err = evaluation.NewNanoBEIREvaluator(sets, opts)
	return ev, hubErr, err
}

// Guard returns the OutOfDomainGuard of the spec for model m, watching ood beside inDomain (may be nil).
func (s *NanoBEIRSpec) Guard(m *model.SentenceTransformer, inDomain, ood evaluation.Evaluator, out io.Writer) *OutOfDomainGuard {
	maxDrop := 0.01
	if s.MaxDrop != nil {
		maxDrop = *s.MaxDrop
	}
	g := NewOutOfDomainGuard(m, inDomain, ood, maxDrop)
	g.StopTraining, g.Out = s.StopOnDrop, out
	return g
}
