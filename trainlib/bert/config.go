// Package bert implements the BERT encoder (Devlin et al., 2019) as GoMLX graph functions, with the
// exact parameter names, shapes and numerics of Hugging Face transformers' BertModel, so
// checkpoints load unchanged and outputs match PyTorch to float tolerance.
//
// For a batch of token ids X ∈ ℕ^{B×L} with attention mask M ∈ {0,1}^{B×L}:
//
//	h⁰ = LayerNorm(E_word[X] + E_pos[0..L) + E_type[T])
//	for each layer l:
//	  Q,K,V = h W_{q,k,v}ᵀ + b                      (split into n heads of size d = H/n)
//	  A     = softmax(Q Kᵀ/√d  masked where M=0) V    (heads concatenated)
//	  a     = LayerNorm(A W_oᵀ + b_o + h)
//	  hˡ    = LayerNorm(act(a W_iᵀ + b_i) W_2ᵀ + b_2 + a)
//
// LayerNorm(x) = (x-μ)/√(σ²+ε)·γ + β with the biased variance σ², act is GELU (erf form) unless
// config.json says otherwise. Linear weights are stored [out, in] as in PyTorch.
//
// In float32 (the default compute dtype) the linear layers, LayerNorm, GELU and attention come from
// trainlib/internal/fastops: the backend's fused forward operations with closed-form gradients and
// matrix products laid out for the pure-Go backend's kernels (see its documentation; the
// benchmarks in trainlib/model and trainlib measure them). Mixed precision keeps the plain
// formulation.
package bert

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is the subset of a Hugging Face BertConfig (config.json) the encoder uses. Unknown
// fields are preserved in Extra so that saving writes them back unchanged.
type Config struct {
	ModelType                 string  `json:"model_type"`
	VocabSize                 int     `json:"vocab_size"`
	HiddenSize                int     `json:"hidden_size"`
	NumHiddenLayers           int     `json:"num_hidden_layers"`
	NumAttentionHeads         int     `json:"num_attention_heads"`
	IntermediateSize          int     `json:"intermediate_size"`
	HiddenAct                 string  `json:"hidden_act"`
	HiddenDropoutProb         float64 `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
	MaxPositionEmbeddings     int     `json:"max_position_embeddings"`
	TypeVocabSize             int     `json:"type_vocab_size"`
	InitializerRange          float64 `json:"initializer_range"`
	LayerNormEps              float64 `json:"layer_norm_eps"`
	PadTokenID                int     `json:"pad_token_id"`
	PositionEmbeddingType     string  `json:"position_embedding_type,omitempty"`

	// Extra holds every other config.json field verbatim (architectures, torch_dtype, ...).
	Extra map[string]json.RawMessage `json:"-"`
}

// DefaultConfig returns bert-base-uncased's hyperparameters (also BAAI/bge-base-en-v1.5's).
func DefaultConfig() Config {
	return Config{
		ModelType: "bert", VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
		IntermediateSize: 3072, HiddenAct: "gelu", HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1,
		MaxPositionEmbeddings: 512, TypeVocabSize: 2, InitializerRange: 0.02, LayerNormEps: 1e-12,
		PositionEmbeddingType: "absolute",
	}
}

var knownConfigFields = map[string]bool{
	"model_type": true, "vocab_size": true, "hidden_size": true, "num_hidden_layers": true,
	"num_attention_heads": true, "intermediate_size": true, "hidden_act": true, "hidden_dropout_prob": true,
	"attention_probs_dropout_prob": true, "max_position_embeddings": true, "type_vocab_size": true,
	"initializer_range": true, "layer_norm_eps": true, "pad_token_id": true, "position_embedding_type": true,
}

// ParseConfig decodes config.json content; name is used in error messages. Missing fields take
// BertConfig's defaults, as transformers does.
func ParseConfig(name string, data []byte) (*Config, error) {
	cfg := DefaultConfig()
	cfg.PositionEmbeddingType = ""
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	cfg.Extra = map[string]json.RawMessage{}
	for k, v := range all {
		if !knownConfigFields[k] {
			cfg.Extra[k] = v
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &cfg, nil
}

// LoadConfig reads and validates a config.json file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading model config: %w", err)
	}
	return ParseConfig(path, data)
}

// Validate checks the configuration describes a BERT encoder this package can run.
func (c *Config) Validate() error {
	switch c.ModelType {
	case "bert", "":
	default:
		return fmt.Errorf("model_type %q is not supported: embedtune runs BERT encoders (model_type \"bert\")", c.ModelType)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings}, {"type_vocab_size", c.TypeVocabSize},
	} {
		if f.v <= 0 {
			return fmt.Errorf("field %q must be a positive integer, got %d", f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if _, err := activation(c.HiddenAct); err != nil {
		return fmt.Errorf("field \"hidden_act\": %w", err)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("position_embedding_type %q is not supported (only \"absolute\")", c.PositionEmbeddingType)
	}
	if c.LayerNormEps <= 0 {
		return fmt.Errorf("field \"layer_norm_eps\" must be positive, got %g", c.LayerNormEps)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"hidden_dropout_prob", c.HiddenDropoutProb}, {"attention_probs_dropout_prob", c.AttentionProbsDropoutProb}} {
		if p.v < 0 || p.v >= 1 {
			return fmt.Errorf("field %q must be in [0, 1), got %g", p.name, p.v)
		}
	}
	return nil
}

// HeadDim returns hidden_size / num_attention_heads.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// MarshalJSON writes the known fields followed by the preserved extra ones, keys sorted.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range c.Extra {
		m[k] = v
	}
	type plain Config
	known, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	var km map[string]json.RawMessage
	if err := json.Unmarshal(known, &km); err != nil {
		return nil, err
	}
	for k, v := range km {
		m[k] = v
	}
	return json.Marshal(m)
}

// MatmulFLOPs returns the floating-point operations (a multiply-add counts as two) of the
// encoder's matrix multiplications for one sequence of seqLen tokens:
//
//	layers · ( 2·L·(4·H² + 2·H·I)  +  4·L²·H )
//
// the first term being the six linear layers of a block (query, key, value, attention output:
// H×H; intermediate and output: H×I) and the second the attention products Q·Kᵀ and P·V
// (2·L²·H each, over all heads). Embeddings, LayerNorm, softmax, GELU and biases are not
// counted; they are O(L·H) per layer. Benchmarks divide it by time to report GFLOP/s.
func (c *Config) MatmulFLOPs(seqLen int) float64 {
	L, H, I := float64(seqLen), float64(c.HiddenSize), float64(c.IntermediateSize)
	return float64(c.NumHiddenLayers) * (2*L*(4*H*H+2*H*I) + 4*L*L*H)
}
