package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
)

// Option configures [Load] and [New].
type Option func(*options)

type options struct {
	ctx          context.Context
	hubOpts      []hub.Option
	backend      compute.Backend
	revision     string
	log          io.Writer
	logSet       bool
	maxSeqLength int
}

// WithBackend runs the model on b instead of backend.Default().
func WithBackend(b compute.Backend) Option { return func(o *options) { o.backend = b } }

// WithRevision selects a Hub revision (branch, tag or commit); default "main".
func WithRevision(rev string) Option { return func(o *options) { o.revision = rev } }

// WithLogger sends informational messages (e.g. "no modules.json: using mean pooling") to w;
// nil silences them. Default: os.Stderr.
func WithLogger(w io.Writer) Option { return func(o *options) { o.log, o.logSet = w, true } }

// WithMaxSeqLength overrides the model's max_seq_length (it cannot exceed max_position_embeddings).
func WithMaxSeqLength(n int) Option { return func(o *options) { o.maxSeqLength = n } }

func makeOptions(opts []Option) (*options, error) {
	o := &options{revision: "main"}
	for _, opt := range opts {
		opt(o)
	}
	if !o.logSet {
		o.log = os.Stderr
	}
	if o.backend == nil {
		b, err := backend.Default()
		if err != nil {
			return nil, err
		}
		o.backend = b
	}
	return o, nil
}

// Load reads a sentence-transformers model from a local folder or a Hugging Face Hub id
// (downloaded into the shared Hugging Face cache, see package hub).
//
// It honours modules.json (Transformer, Pooling, Dense, Normalize), sentence_bert_config.json
// (max_seq_length, do_lower_case), 1_Pooling/config.json, config_sentence_transformers.json
// (prompts, default_prompt_name, similarity_fn_name). A folder without modules.json is treated as
// sentence-transformers does: a plain transformer with mean pooling (a message says so).
func Load(nameOrDir string, opts ...Option) (*SentenceTransformer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	dir, err := resolveModelDir(nameOrDir, o)
	if err != nil {
		return nil, err
	}
	m, err := loadDir(dir, o)
	if err != nil {
		return nil, err
	}
	m.Source = nameOrDir
	return m, nil
}

// loadDir loads a model from a local folder. A sentence-transformers adapter folder (LoRA:
// adapter_config.json without config.json) loads its base model, then the adapter.
func loadDir(dir string, o *options) (*SentenceTransformer, error) {
	if fileExists(filepath.Join(dir, "adapter_config.json")) && !fileExists(filepath.Join(dir, "config.json")) {
		var ac struct {
			Base     string `json:"base_model_name_or_path"`
			PeftType string `json:"peft_type"`
		}
		if err := readJSONFile(filepath.Join(dir, "adapter_config.json"), &ac); err != nil {
			return nil, err
		}
		if ac.PeftType != "LORA" {
			return nil, fmt.Errorf("%s: peft_type %q is not supported (only LORA)", filepath.Join(dir, "adapter_config.json"), ac.PeftType)
		}
		if ac.Base == "" {
			return nil, fmt.Errorf("%s: base_model_name_or_path is empty: the adapter's base model is unknown", filepath.Join(dir, "adapter_config.json"))
		}
		baseDir, err := resolveModelDir(ac.Base, o)
		if err != nil {
			return nil, fmt.Errorf("adapter %s: base model: %w", dir, err)
		}
		m, err := loadDir(baseDir, o)
		if err != nil {
			return nil, fmt.Errorf("adapter %s: base model %s: %w", dir, ac.Base, err)
		}
		m.Source = ac.Base
		if err := m.loadAdapter(dir); err != nil {
			return nil, err
		}
		m.Dir = dir
		return m, nil
	}
	m := &SentenceTransformer{Dir: dir, files: map[string][]byte{}, backend: o.backend, log: o.log, SimilarityFn: "cosine"}
	mods, err := readModules(dir)
	noModules := errors.Is(err, fs.ErrNotExist)
	if err != nil && !noModules {
		return nil, err
	}
	if noModules {
		m.logf("no sentence-transformers model found in %s (no modules.json): creating one with mean pooling, as sentence-transformers does", dir)
		mods = []moduleEntry{{Idx: 0, Name: "0", Path: "", Type: typeTransformer}, {Idx: 1, Name: "1", Path: "1_Pooling", Type: typePooling}}
	}
	tdir := filepath.Join(dir, mods[0].Path)
	if m.Config, err = bert.LoadConfig(filepath.Join(tdir, "config.json")); err != nil {
		return nil, err
	}
	if err := m.loadTransformerSettings(tdir, o); err != nil {
		return nil, err
	}
	for _, mod := range mods[1:] {
		mdir := filepath.Join(dir, mod.Path)
		switch moduleKind(mod.Type) {
		case "Pooling":
			if len(m.Pooling.Modes) > 0 {
				return nil, fmt.Errorf("%s: more than one Pooling module", filepath.Join(dir, "modules.json"))
			}
			if noModules {
				m.Pooling = PoolingConfig{Modes: []string{"mean"}, IncludePrompt: true}
				continue
			}
			if m.Pooling, err = parsePoolingConfig(filepath.Join(mdir, "config.json"), m.Config.HiddenSize); err != nil {
				return nil, err
			}
		case "Dense":
			d, err := readDenseConfig(mdir, mod.Path)
			if err != nil {
				return nil, err
			}
			m.Dense = append(m.Dense, d)
		case "Normalize":
			m.Normalize = true
		case "Transformer":
			return nil, fmt.Errorf("%s: more than one Transformer module", filepath.Join(dir, "modules.json"))
		}
	}
	if len(m.Pooling.Modes) == 0 {
		return nil, fmt.Errorf("%s: no Pooling module: embedtune needs one to turn token embeddings into a sentence embedding", filepath.Join(dir, "modules.json"))
	}
	in := m.Config.HiddenSize * len(m.Pooling.Modes)
	for _, d := range m.Dense {
		if d.InFeatures != in {
			return nil, fmt.Errorf("%s/config.json: in_features is %d but the previous module outputs %d dimensions", filepath.Join(dir, d.Path), d.InFeatures, in)
		}
		in = d.OutFeatures
	}
	if err := m.loadSTConfig(dir); err != nil {
		return nil, err
	}
	if card, err := os.ReadFile(filepath.Join(dir, "README.md")); err == nil {
		m.files["README.md"] = card // saved back unchanged unless the model is trained (see Save)
	}
	if m.Weights, err = loadWeights(m, tdir, dir); err != nil {
		return nil, err
	}
	if fileExists(filepath.Join(tdir, "adapter_config.json")) {
		if err := m.loadAdapter(tdir); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readJSONFile decodes a JSON file into v, naming the file in errors.
func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	return nil
}

// tokenizerFiles are copied verbatim from the source folder when the model is saved.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "added_tokens.json"}

// loadTransformerSettings reads sentence_bert_config.json, the tokenizer and its files.
func (m *SentenceTransformer) loadTransformerSettings(tdir string, o *options) error {
	var sbc sentenceBertConfig
	sbcPath := filepath.Join(tdir, "sentence_bert_config.json")
	if fileExists(sbcPath) {
		all, err := readJSONWithExtra(sbcPath, &sbc)
		if err != nil {
			return err
		}
		delete(all, "max_seq_length")
		delete(all, "do_lower_case")
		sbc.Extra = all
		raw, _ := json.Marshal(all)
		m.files["sentence_bert_config.extra"] = raw
	}
	for _, f := range tokenizerFiles {
		if data, err := os.ReadFile(filepath.Join(tdir, f)); err == nil {
			m.files[f] = data
		}
	}
	if _, ok := m.files["tokenizer.json"]; !ok {
		return fmt.Errorf("no tokenizer in %s: expected tokenizer.json (the fast-tokenizer file Hugging Face saves with every model)", tdir)
	}
	if sbc.DoLowerCase != nil {
		m.DoLowerCase = *sbc.DoLowerCase
	}
	tok, err := tokenizer.Load(tdir, &tokenizer.Options{LowerCase: m.DoLowerCase})
	if err != nil {
		return err
	}
	m.Tokenizer = tok
	// max_seq_length: sentence_bert_config.json, else the tokenizer's model_max_length, capped by
	// max_position_embeddings (sentence-transformers' rule).
	m.MaxSeqLength = m.Config.MaxPositionEmbeddings
	if sbc.MaxSeqLength != nil {
		m.MaxSeqLength = *sbc.MaxSeqLength
	} else if mml := tok.Info().ModelMaxLength; mml > 0 && mml < m.MaxSeqLength {
		m.MaxSeqLength = mml
	}
	if o.maxSeqLength > 0 {
		m.MaxSeqLength = o.maxSeqLength
	}
	if m.MaxSeqLength <= 2 || m.MaxSeqLength > m.Config.MaxPositionEmbeddings {
		return fmt.Errorf("%s: max_seq_length %d must be in [3, max_position_embeddings=%d]", sbcPath, m.MaxSeqLength, m.Config.MaxPositionEmbeddings)
	}
	return nil
}

// loadSTConfig reads config_sentence_transformers.json (optional).
func (m *SentenceTransformer) loadSTConfig(dir string) error {
	path := filepath.Join(dir, "config_sentence_transformers.json")
	if !fileExists(path) {
		return nil
	}
	var c stConfig
	if _, err := readJSONWithExtra(path, &c); err != nil {
		return err
	}
	raw, _ := os.ReadFile(path)
	m.files["config_sentence_transformers.json"] = raw
	m.Prompts = c.Prompts
	if c.DefaultPromptName != nil && *c.DefaultPromptName != "" {
		m.DefaultPromptName = *c.DefaultPromptName
		if _, ok := m.Prompts[m.DefaultPromptName]; !ok {
			return fmt.Errorf("%s: default_prompt_name %q is not one of the prompts %v", path, m.DefaultPromptName, slices.Sorted(maps.Keys(m.Prompts)))
		}
	}
	if c.SimilarityFnName != nil && *c.SimilarityFnName != "" {
		m.SimilarityFn = *c.SimilarityFnName
		ok := false
		for _, s := range SimilarityFunctions {
			ok = ok || s == m.SimilarityFn
		}
		if !ok {
			return fmt.Errorf("%s: similarity_fn_name %q is not one of %v", path, m.SimilarityFn, SimilarityFunctions)
		}
	}
	return nil
}

// readDenseConfig reads a Dense module's config.json.
func readDenseConfig(mdir, rel string) (*Dense, error) {
	path := filepath.Join(mdir, "config.json")
	var c struct {
		InFeatures         *int    `json:"in_features"`
		OutFeatures        *int    `json:"out_features"`
		Bias               *bool   `json:"bias"`
		ActivationFunction *string `json:"activation_function"`
	}
	all, err := readJSONWithExtra(path, &c)
	if err != nil {
		return nil, err
	}
	if c.InFeatures == nil || c.OutFeatures == nil || *c.InFeatures <= 0 || *c.OutFeatures <= 0 {
		return nil, fmt.Errorf("%s: in_features and out_features must be positive integers", path)
	}
	d := &Dense{Path: filepath.ToSlash(rel), InFeatures: *c.InFeatures, OutFeatures: *c.OutFeatures, Bias: true,
		Activation: "torch.nn.modules.activation.Tanh"}
	if c.Bias != nil {
		d.Bias = *c.Bias
	}
	if c.ActivationFunction != nil {
		d.Activation = *c.ActivationFunction
	}
	if _, err := denseActivation(d.Activation); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range []string{"in_features", "out_features", "bias", "activation_function"} {
		delete(all, k)
	}
	d.extra = all
	return d, nil
}

// loadWeights reads the transformer's tensors (and the Dense modules') into float32 tensors,
// checking every expected tensor exists with the configured shape.
func loadWeights(m *SentenceTransformer, tdir, dir string) (*Weights, error) {
	src, err := openWeights(tdir)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	w := &Weights{StoredDType: map[string]safetensors.DType{}, Extra: map[string][]safetensors.Tensor{}}
	byNorm := map[string]string{}
	for _, n := range src.names() {
		byNorm[normalizeName(n)] = n
	}
	used := map[string]bool{}
	var from []string
	for _, spec := range m.Config.Params() {
		orig, ok := byNorm[spec.Name]
		if !ok {
			if strings.HasPrefix(spec.Name, "pooler.") {
				continue // Optional: BertModel without pooler (add_pooling_layer=False); unused for embeddings.
			}
			return nil, fmt.Errorf("%s: tensor %q is missing (config.json describes %d layers, hidden %d)", src.describ, spec.Name, m.Config.NumHiddenLayers, m.Config.HiddenSize)
		}
		if err := addTensor(w, src, orig, spec.Name, spec.Shape, spec.NoDecay()); err != nil {
			return nil, err
		}
		used[orig] = true
	}
	from = append(from, src.describ)
	for _, n := range src.names() {
		if used[n] {
			continue
		}
		info, _ := src.byName[n].Info(n)
		raw, err := src.byName[n].Raw(n)
		if err != nil {
			return nil, err
		}
		w.Extra[""] = append(w.Extra[""], safetensors.Tensor{Name: n, DType: info.DType, Shape: info.Shape, Data: raw})
	}
	for _, d := range m.Dense {
		dsrc, err := openWeights(filepath.Join(dir, d.Path))
		if err != nil {
			return nil, fmt.Errorf("Dense module %s: %w", d.Path, err)
		}
		err = addTensor(w, dsrc, "linear.weight", d.Path+"/linear.weight", []int{d.OutFeatures, d.InFeatures}, false)
		if err == nil && d.Bias {
			err = addTensor(w, dsrc, "linear.bias", d.Path+"/linear.bias", []int{d.OutFeatures}, true)
		}
		from = append(from, dsrc.describ)
		dsrc.Close()
		if err != nil {
			return nil, err
		}
	}
	m.WeightsFrom = strings.Join(from, ", ")
	return w, nil
}

// addTensor reads one float tensor, checks its shape and appends it to w.
func addTensor(w *Weights, src *tensorSource, orig, name string, shape []int, noDecay bool) error {
	f, ok := src.byName[orig]
	if !ok {
		return fmt.Errorf("%s: tensor %q is missing", src.describ, orig)
	}
	info, _ := f.Info(orig)
	if !slices.Equal(info.Shape, shape) {
		return fmt.Errorf("%s: tensor %q has shape %v, expected %v from the configuration", f.Path(), orig, info.Shape, shape)
	}
	if !info.DType.IsFloat() {
		return fmt.Errorf("%s: tensor %q has dtype %s, expected F32, F16 or BF16", f.Path(), orig, info.DType)
	}
	vals, err := f.Float32(orig)
	if err != nil {
		return err
	}
	w.StoredDType[name] = info.DType
	w.add(name, shape, noDecay, tensors.FromFlatDataAndDimensions(vals, shape...))
	return nil
}

// resolveModelDir returns the local folder for nameOrDir: the folder itself, or the Hub snapshot.
func resolveModelDir(nameOrDir string, o *options) (string, error) {
	if st, err := os.Stat(nameOrDir); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("model %q is a file; expected a sentence-transformers folder or a Hub id", nameOrDir)
		}
		return nameOrDir, nil
	}
	return resolveHub(nameOrDir, o)
}
