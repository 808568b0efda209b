package model

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
	"github.com/gomlx/gomlx/core/tensors"
)

// InitConfig describes a freshly initialized model for [New].
type InitConfig struct {
	// BERT hyperparameters; zero values take bert-base's (see bert.DefaultConfig), except
	// VocabSize, which defaults to the tokenizer's vocabulary size.
	HiddenSize, NumLayers, NumHeads, IntermediateSize, MaxPositionEmbeddings, VocabSize int
	// MaxSeqLength defaults to MaxPositionEmbeddings.
	MaxSeqLength int
	// Pooling modes (default ["mean"]) and Normalize (default false).
	Pooling   []string
	Normalize bool
	// TokenizerDir is a folder holding tokenizer.json (and optionally tokenizer_config.json,
	// special_tokens_map.json, vocab.txt), copied into the model.
	TokenizerDir string
	// DoLowerCase makes the model lowercase texts itself (sentence_bert_config.json).
	DoLowerCase bool
	Seed        uint64
}

// New creates a BERT sentence-transformer with Hugging Face's initialization: linear and embedding
// weights ~ N(0, 0.02²) (the padding token's embedding row zeroed), biases 0, LayerNorm γ=1, β=0;
// tensor names exactly as BertModel's. The same seed gives the same weights.
func New(ic InitConfig, opts ...Option) (*SentenceTransformer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if ic.TokenizerDir == "" {
		return nil, fmt.Errorf("init model: a tokenizer folder (with tokenizer.json) is required")
	}
	cfg := bert.DefaultConfig()
	set := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&cfg.HiddenSize, ic.HiddenSize)
	set(&cfg.NumHiddenLayers, ic.NumLayers)
	set(&cfg.NumAttentionHeads, ic.NumHeads)
	set(&cfg.IntermediateSize, ic.IntermediateSize)
	set(&cfg.MaxPositionEmbeddings, ic.MaxPositionEmbeddings)
	m := &SentenceTransformer{Source: "", Dir: "", files: map[string][]byte{}, backend: o.backend, log: o.log,
		SimilarityFn: "cosine", Normalize: ic.Normalize, DoLowerCase: ic.DoLowerCase, Config: &cfg}
	for _, f := range tokenizerFiles {
		if data, err := os.ReadFile(filepath.Join(ic.TokenizerDir, f)); err == nil {
			m.files[f] = data
		}
	}
	tok, err := tokenizer.Load(ic.TokenizerDir, &tokenizer.Options{LowerCase: ic.DoLowerCase})
	if err != nil {
		return nil, fmt.Errorf("init model: %w", err)
	}
	vocab := tok.VocabSize()
	cfg.VocabSize = vocab
	if ic.VocabSize != 0 {
		if ic.VocabSize < vocab {
			return nil, fmt.Errorf("init model: vocab size %d is smaller than the tokenizer's %d tokens", ic.VocabSize, vocab)
		}
		cfg.VocabSize = ic.VocabSize
	}
	cfg.Extra = map[string]json.RawMessage{"architectures": json.RawMessage(`["BertModel"]`)}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("init model: %w", err)
	}
	m.MaxSeqLength = cfg.MaxPositionEmbeddings
	if ic.MaxSeqLength != 0 {
		m.MaxSeqLength = ic.MaxSeqLength
	}
	if m.MaxSeqLength <= 2 || m.MaxSeqLength > cfg.MaxPositionEmbeddings {
		return nil, fmt.Errorf("init model: max_seq_length %d must be in [3, max_position_embeddings=%d]", m.MaxSeqLength, cfg.MaxPositionEmbeddings)
	}
	m.Pooling = PoolingConfig{Modes: ic.Pooling, IncludePrompt: true}
	if len(m.Pooling.Modes) == 0 {
		m.Pooling.Modes = []string{"mean"}
	}
	if err := m.Pooling.validate(); err != nil {
		return nil, fmt.Errorf("init model: %w", err)
	}
	m.Tokenizer = tok
	cfg.PadTokenID = max(m.Tokenizer.Special().PAD, 0)
	rng := rand.New(rand.NewPCG(ic.Seed, 0x9e3779b97f4a7c15))
	w := &Weights{StoredDType: map[string]safetensors.DType{}, Extra: map[string][]safetensors.Tensor{}}
	for _, spec := range cfg.Params() {
		n := 1
		for _, d := range spec.Shape {
			n *= d
		}
		vals := make([]float32, n)
		switch spec.Kind {
		case "normal":
			for i := range vals {
				vals[i] = float32(rng.NormFloat64() * cfg.InitializerRange)
			}
			if spec.Name == "embeddings.word_embeddings.weight" && cfg.PadTokenID >= 0 && cfg.PadTokenID < cfg.VocabSize {
				clear(vals[cfg.PadTokenID*cfg.HiddenSize : (cfg.PadTokenID+1)*cfg.HiddenSize])
			}
		case "ones":
			for i := range vals {
				vals[i] = 1
			}
		}
		w.add(spec.Name, spec.Shape, spec.NoDecay(), tensors.FromFlatDataAndDimensions(vals, spec.Shape...))
	}
	m.Weights = w
	m.WeightsFrom = fmt.Sprintf("random initialization (seed %d)", ic.Seed)
	return m, nil
}
