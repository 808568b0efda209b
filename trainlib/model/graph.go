package model

import (
	"fmt"
	"strings"

	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// ForwardOptions configures the graph of a sentence-embedding forward pass.
type ForwardOptions struct {
	bert.Options
	// PromptLength (an int32 scalar node, or nil) is, when the Pooling module excludes prompts
	// (include_prompt=false), the number of leading tokens ([CLS] and the prompt's pieces, as
	// sentence-transformers counts them) left out of pooling.
	PromptLength *Node
	// LoRAScale (a float32 scalar node, or nil) is the adapter's scaling s = lora_alpha/r given as a
	// graph input, so that one compiled graph serves every lora_alpha (see GraphCache); nil bakes
	// Adapter.Scaling() into the graph as a constant.
	LoRAScale *Node
}

// EmbedGraph builds e(t) for a batch: ids and mask [B, L] → embeddings [B, Dim()] (float32).
// params are the model's weights in Weights order. It returns the embeddings and the encoder
// (whose RNG() holds the updated RNG state after dropout in training mode).
func (m *SentenceTransformer) EmbedGraph(params []*Node, ids, mask *Node, opts ForwardOptions) (*Node, *bert.Encoder) {
	w := m.weightsFunc(params)
	enc := bert.NewEncoder(m.Config, w, opts.Options)
	if a := m.Adapter; a != nil && enc.Opts.Linear == nil {
		scale := a.Scaling()
		enc.Opts.Linear = func(prefix string, x *Node) *Node {
			y := enc.Linear(prefix, x)
			if !a.Targets(prefix) {
				return y
			}
			h := enc.Project(enc.Dropout(x, a.Config.Dropout), enc.W(prefix+".lora_A.weight")) // [.., r]
			update := enc.Project(h, enc.W(prefix+".lora_B.weight"))
			if opts.LoRAScale != nil {
				return Add(y, Mul(update, ConvertDType(opts.LoRAScale, update.DType())))
			}
			return Add(y, MulScalar(update, scale))
		}
	}
	tokens := enc.Forward(ids, mask)
	poolMask := ConvertDType(mask, dtypes.Float32)
	if !m.Pooling.IncludePrompt && opts.PromptLength != nil {
		pos := Iota(ids.Graph(), shapes.Make(dtypes.Int32, mask.Shape().Dimensions...), 1)
		poolMask = Where(GreaterOrEqual(pos, opts.PromptLength), poolMask, ZerosLike(poolMask))
	}
	x := Pool(m.Pooling.Modes, tokens, poolMask)
	for _, d := range m.Dense {
		x = d.apply(x, w, enc)
	}
	if m.Normalize {
		x = normalizeL2(x)
	}
	return x, enc
}

// weightsFunc maps parameter names to the given nodes (laid out as GraphParams); unknown names
// panic inside graph building (a programming error, reported as an error by the executor).
func (m *SentenceTransformer) weightsFunc(params []*Node) bert.Weights {
	return func(name string) *Node {
		if i := m.Weights.Index(name); i >= 0 {
			return params[i]
		}
		if m.Adapter != nil {
			if i := m.Adapter.Weights.Index(name); i >= 0 {
				return params[len(m.Weights.Values)+i]
			}
		}
		panic(fmt.Errorf("model has no tensor %q", name))
	}
}

// normalizeL2 divides each row by max(‖x‖₂, 1e-12), like torch.nn.functional.normalize.
func normalizeL2(x *Node) *Node {
	norm := Sqrt(ReduceAndKeep(Square(x), ReduceSum, -1))
	return Div(x, Max(norm, Scalar(x.Graph(), x.DType(), 1e-12)))
}

// Pool reduces token embeddings [B, L, H] with mask [B, L] (1 = token, 0 = padding or excluded
// prompt) to [B, H·len(modes)], concatenating modes in order, exactly as sentence-transformers'
// Pooling module:
//
//	cls:                  the first position where mask = 1
//	mean:                 Σ mask·x / max(Σ mask, 1e-9)
//	mean_sqrt_len_tokens: Σ mask·x / √max(Σ mask, 1e-9)
//	max:                  max over positions with mask = 1
//	weightedmean:         Σ w·mask·x / max(Σ w·mask, 1e-9), w = position+1
//	lasttoken:            x at the last position where mask = 1
func Pool(modes []string, x, mask *Node) *Node {
	g := x.Graph()
	B, L, H := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2]
	m3 := Reshape(mask, B, L, 1)
	var outs []*Node
	for _, mode := range modes {
		switch mode {
		case "cls":
			first := ArgMax(mask, 1, dtypes.Int32) // First maximum: the first real token.
			outs = append(outs, gatherPositions(x, first))
		case "mean", "mean_sqrt_len_tokens":
			sum := ReduceSum(Mul(x, m3), 1)
			cnt := Max(ReduceAndKeep(mask, ReduceSum, 1), Scalar(g, dtypes.Float32, 1e-9))
			if mode == "mean_sqrt_len_tokens" {
				cnt = Sqrt(cnt)
			}
			outs = append(outs, Div(sum, cnt))
		case "max":
			keep := BroadcastToDims(NotEqual(m3, ZerosLike(m3)), B, L, H)
			masked := Where(keep, x, BroadcastToDims(Infinity(g, dtypes.Float32, -1), B, L, H))
			outs = append(outs, ReduceMax(masked, 1))
		case "weightedmean":
			wts := AddScalar(ConvertDType(Iota(g, mask.Shape(), 1), dtypes.Float32), 1)
			wm := Mul(mask, wts)
			sum := ReduceSum(Mul(x, Reshape(wm, B, L, 1)), 1)
			outs = append(outs, Div(sum, Max(ReduceAndKeep(wm, ReduceSum, 1), Scalar(g, dtypes.Float32, 1e-9))))
		case "lasttoken":
			// Index of the last non-zero mask entry: argmax over positions weighted by (pos+1)·mask.
			pos := AddScalar(ConvertDType(Iota(g, mask.Shape(), 1), dtypes.Float32), 1)
			last := ArgMax(Mul(mask, pos), 1, dtypes.Int32)
			outs = append(outs, gatherPositions(Mul(x, m3), last))
		default:
			panic(fmt.Errorf("unknown pooling mode %q (expected one of %s)", mode, strings.Join(PoolingModes, ", ")))
		}
	}
	if len(outs) == 1 {
		return outs[0]
	}
	return Concatenate(outs, -1)
}

// gatherPositions picks x[b, idx[b], :] for x [B, L, H] and idx [B] → [B, H].
func gatherPositions(x, idx *Node) *Node {
	B, L := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	onehot := OneHot(idx, L, x.DType()) // [B, L]; a matmul-free, differentiable gather.
	return ReduceSum(Mul(x, Reshape(onehot, B, L, 1)), 1)
}

// denseActivation maps a PyTorch activation class path to its function.
func denseActivation(name string) (func(*Node) *Node, error) {
	cls := name[strings.LastIndex(name, ".")+1:]
	switch cls {
	case "Identity":
		return func(x *Node) *Node { return x }, nil
	case "Tanh":
		return Tanh, nil
	case "ReLU":
		return func(x *Node) *Node { return Max(x, ZerosLike(x)) }, nil
	case "Sigmoid":
		return Sigmoid, nil
	case "GELU":
		return func(x *Node) *Node { return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 0.7071067811865476)))) }, nil
	}
	return nil, fmt.Errorf("activation_function %q is not supported (Identity, Tanh, ReLU, Sigmoid, GELU)", name)
}

// apply computes act(x·Wᵀ + b).
func (d *Dense) apply(x *Node, w bert.Weights, enc *bert.Encoder) *Node {
	y := enc.Project(x, w(d.Path+"/linear.weight"))
	if d.Bias {
		y = Add(y, ExpandLeftToRank(w(d.Path+"/linear.bias"), y.Rank()))
	}
	act, _ := denseActivation(d.Activation)
	return act(y)
}
