package bert

import (
	"fmt"
	"math"

	"github.com/embedtune/embedtune/trainlib/internal/fastops"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // Graph-building code reads better with the dot import.
)

// Weights returns the graph node of a parameter given its Hugging Face name.
type Weights func(name string) *Node

// LinearFunc computes x·Wᵀ + b for the linear module named prefix (e.g.
// "encoder.layer.0.attention.self.query"); the default is [Linear]. LoRA adapters plug in here.
type LinearFunc func(prefix string, x *Node) *Node

// Options configures one forward pass.
type Options struct {
	// Train enables dropout (hidden_dropout_prob, attention_probs_dropout_prob), as PyTorch's
	// model.train() does. RNG must then hold a graph RNG state (see graph.RNGStateShape).
	Train bool
	RNG   *Node

	// ComputeDType is the dtype of matrix multiplications: Float32 (default), or BFloat16/Float16
	// for mixed precision like torch.autocast: matmul inputs are cast down, results cast back to
	// float32, and LayerNorm, softmax, GELU and residual sums stay in float32.
	ComputeDType dtypes.DType

	// Linear overrides the linear layers of the encoder (used for LoRA). Nil means [Encoder.Linear].
	// It must read parameters through the encoder's W (gradient checkpointing rebinds it).
	Linear LinearFunc

	// GradientCheckpointing (transformers' gradient_checkpointing) keeps only each layer's input
	// for the backward pass and recomputes the layer's activations from it when its gradient is
	// needed (fastops.Checkpoint): the same gradients with a fraction of the activation memory,
	// for one more forward pass per step. It has no effect without gradients.
	GradientCheckpointing bool
}

// Encoder builds BERT forward passes in a graph.
type Encoder struct {
	Cfg  *Config
	W    Weights
	Opts Options
	rng  *Node
}

// NewEncoder returns an encoder for the config, reading parameters through w.
func NewEncoder(cfg *Config, w Weights, opts Options) *Encoder {
	if opts.ComputeDType == dtypes.InvalidDType {
		opts.ComputeDType = dtypes.Float32
	}
	return &Encoder{Cfg: cfg, W: w, Opts: opts, rng: opts.RNG}
}

// RNG returns the updated RNG state after the dropouts drawn so far.
func (e *Encoder) RNG() *Node { return e.rng }

// Forward returns the last hidden state [B, L, H] (float32) for input ids [B, L] (int32) and
// attention mask [B, L] (any numeric dtype; non-zero = real token). Token types are all 0, as for
// single sentences.
func (e *Encoder) Forward(ids, mask *Node) *Node {
	cfg := e.Cfg
	g := ids.Graph()
	B, L := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	if L > cfg.MaxPositionEmbeddings {
		panic(fmt.Errorf("sequence length %d exceeds max_position_embeddings %d", L, cfg.MaxPositionEmbeddings))
	}
	H := cfg.HiddenSize
	word := Gather(e.W("embeddings.word_embeddings.weight"), Reshape(ids, B, L, 1)) // [B, L, H]
	pos := Slice(e.W("embeddings.position_embeddings.weight"), AxisRange(0, L))     // [L, H]
	typ := Slice(e.W("embeddings.token_type_embeddings.weight"), AxisRange(0, 1))   // [1, H]
	x := Add(word, Reshape(Add(typ, pos), 1, L, H))                                 // [B, L, H]
	x = e.LayerNorm(x, "embeddings.LayerNorm")
	x = e.dropout(x, cfg.HiddenDropoutProb)

	var att attentionMask
	if e.fast() {
		att.bias = fastops.AttentionBias(mask, cfg.NumAttentionHeads, dtypes.Float32) // [B·n, L, L], shared by all layers.
	} else {
		keep := NotEqual(ConvertDType(mask, dtypes.Float32), ScalarZero(g, dtypes.Float32)) // [B, L] bool
		att.keep = BroadcastToDims(Reshape(keep, B, 1, 1, L), B, cfg.NumAttentionHeads, L, L)
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		x = e.layer(l, x, att)
	}
	return x
}

// attentionMask holds the padding mask in the form the layers use: an additive bias for the
// float32 path (fastops.Attention), a boolean mask for mixed precision.
type attentionMask struct{ bias, keep *Node }

// fast reports whether the float32 operations of package fastops (fused forward passes,
// closed-form gradients, matrix products in the pure-Go backend's fast layout) are used; mixed
// precision keeps the plain formulation.
func (e *Encoder) fast() bool { return e.Opts.ComputeDType == dtypes.Float32 }

// layer applies transformer block l, checkpointed when Opts.GradientCheckpointing is set.
func (e *Encoder) layer(l int, x *Node, att attentionMask) *Node {
	if !e.Opts.GradientCheckpointing {
		return e.layerBody(l, x, att)
	}
	w := e.W
	y, rng := fastops.Checkpoint(x, e.rng, w, func(x, rng *Node, weight func(string) *Node) (*Node, *Node) {
		// The block is built twice (forward, then again in the backward pass): both times on this
		// encoder with its parameters and RNG state rebound, restored afterwards.
		savedW, savedRNG := e.W, e.rng
		defer func() { e.W, e.rng = savedW, savedRNG }()
		e.W, e.rng = weight, rng
		y := e.layerBody(l, x, att)
		return y, e.rng
	})
	e.W, e.rng = w, rng
	return y
}

// layerBody builds transformer block l.
func (e *Encoder) layerBody(l int, x *Node, att attentionMask) *Node {
	cfg := e.Cfg
	B, L, H := x.Shape().Dimensions[0], x.Shape().Dimensions[1], cfg.HiddenSize
	n, d := cfg.NumAttentionHeads, cfg.HeadDim()
	p := fmt.Sprintf("encoder.layer.%d.", l)
	var ctx *Node
	if e.fast() {
		// Scaling Q by 1/√d (L·H values) instead of the scores (L²·n values).
		q := Reshape(MulScalar(e.linear(p+"attention.self.query", x), 1/math.Sqrt(float64(d))), B, L, n, d)
		k := Reshape(e.linear(p+"attention.self.key", x), B, L, n, d)
		v := Reshape(e.linear(p+"attention.self.value", x), B, L, n, d)
		drop := e.dropoutMask(shapes.Make(dtypes.Float32, B*n, L, L), cfg.AttentionProbsDropoutProb)
		ctx = Reshape(fastops.Attention(q, k, v, att.bias, drop), B, L, H)
	} else {
		q := Reshape(e.linear(p+"attention.self.query", x), B, L, n, d)
		k := Reshape(e.linear(p+"attention.self.key", x), B, L, n, d)
		v := Reshape(e.linear(p+"attention.self.value", x), B, L, n, d)
		scores := e.matmul("blnd,bmnd->bnlm", q, k) // [B, n, L, L]
		scores = MulScalar(scores, 1/math.Sqrt(float64(d)))
		scores = Where(att.keep, scores, Infinity(x.Graph(), dtypes.Float32, -1)) // Masked keys get exp(-inf)=0.
		probs := Softmax(scores, -1)
		probs = e.dropout(probs, cfg.AttentionProbsDropoutProb)
		ctx = Reshape(e.matmul("bnlm,bmnd->blnd", probs, v), B, L, H)
	}
	a := e.dropout(e.linear(p+"attention.output.dense", ctx), cfg.HiddenDropoutProb)
	a = e.LayerNorm(Add(a, x), p+"attention.output.LayerNorm")
	act, _ := activation(cfg.HiddenAct)
	h := act(e.linear(p+"intermediate.dense", a))
	h = e.dropout(e.linear(p+"output.dense", h), cfg.HiddenDropoutProb)
	return e.LayerNorm(Add(h, a), p+"output.LayerNorm")
}

// matmul evaluates an einsum in the compute dtype and returns float32.
func (e *Encoder) matmul(eq string, a, b *Node) *Node {
	ct := e.Opts.ComputeDType
	if ct == dtypes.Float32 {
		return Einsum(eq, a, b)
	}
	return ConvertDType(Einsum(eq, ConvertDType(a, ct), ConvertDType(b, ct)), dtypes.Float32)
}

// linear dispatches to the configured LinearFunc.
func (e *Encoder) linear(prefix string, x *Node) *Node {
	if e.Opts.Linear != nil {
		return e.Opts.Linear(prefix, x)
	}
	return e.Linear(prefix, x)
}

// Linear computes x·Wᵀ + b with W = prefix+".weight" [out, in] and b = prefix+".bias" [out],
// contracting x's last axis, in the compute dtype.
func (e *Encoder) Linear(prefix string, x *Node) *Node {
	w := e.W(prefix + ".weight")
	b := e.W(prefix + ".bias")
	if e.fast() {
		return fastops.Linear(x, w, b)
	}
	y := e.Project(x, w)
	return Add(y, ExpandLeftToRank(b, y.Rank()))
}

// Project computes x·Wᵀ (no bias) for W [out, in], contracting x's last axis, in the compute dtype.
func (e *Encoder) Project(x, w *Node) *Node {
	ct := e.Opts.ComputeDType
	if ct == dtypes.Float32 {
		return fastops.Linear(x, w, nil)
	}
	x, w = ConvertDType(x, ct), ConvertDType(w, ct)
	return ConvertDType(DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{1}, nil), dtypes.Float32)
}

// LayerNorm normalizes the last axis: (x-μ)/√(σ²+ε)·γ + β, σ² the biased variance (in float32,
// also under mixed precision).
func (e *Encoder) LayerNorm(x *Node, prefix string) *Node {
	return fastops.LayerNorm(x, e.W(prefix+".weight"), e.W(prefix+".bias"), e.Cfg.LayerNormEps)
}

// dropout zeroes each value with probability p and scales the rest by 1/(1-p) (inverted dropout,
// as torch.nn.Dropout), only in training mode.
func (e *Encoder) dropout(x *Node, p float64) *Node {
	m := e.dropoutMask(x.Shape(), p)
	if m == nil {
		return x
	}
	return Mul(x, m)
}

// dropoutMask draws a dropout mask of the given shape: 1/(1-p) with probability 1-p, else 0. It
// returns nil outside training mode or when p is 0.
func (e *Encoder) dropoutMask(shape shapes.Shape, p float64) *Node {
	if !e.Opts.Train || p == 0 {
		return nil
	}
	if e.rng == nil {
		panic(fmt.Errorf("bert: training-mode forward with dropout %g needs an RNG state", p))
	}
	var u *Node
	e.rng, u = RandomUniform(e.rng, shape)
	g := u.Graph()
	return Where(GreaterOrEqual(u, Scalar(g, shape.DType, p)), Scalar(g, shape.DType, 1/(1-p)), ScalarZero(g, shape.DType))
}

// activation maps config.json's hidden_act to its function.
func activation(name string) (func(*Node) *Node, error) {
	switch name {
	case "gelu", "":
		return fastops.Gelu, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return geluTanh, nil
	case "relu":
		return func(x *Node) *Node { return Max(x, ZerosLike(x)) }, nil
	case "silu", "swish":
		return func(x *Node) *Node { return Mul(x, Sigmoid(x)) }, nil
	}
	return nil, fmt.Errorf("activation %q is not supported (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu)", name)
}

// geluTanh is x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), transformers' "gelu_new".
func geluTanh(x *Node) *Node {
	inner := MulScalar(Add(x, MulScalar(Mul(x, Square(x)), 0.044715)), math.Sqrt(2/math.Pi))
	return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
}

// Dropout applies the encoder's training-mode dropout (a no-op in inference) to x, drawing from
// and advancing the encoder's RNG state; adapters use it for their own dropout.
func (e *Encoder) Dropout(x *Node, p float64) *Node { return e.dropout(x, p) }
