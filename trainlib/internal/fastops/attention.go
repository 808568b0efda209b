package fastops

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// AttentionBias turns an attention mask [B, L] (non-zero = real token) into the additive bias
// [B·heads, L, L] of dtype dt that Attention adds to the scores of every query position: 0 for
// real keys and the lowest finite float32 for padding, as transformers' BERT does (a row whose
// keys are all padding then attends uniformly instead of producing NaN). Build it once and share
// it between layers.
func AttentionBias(mask *Node, heads int, dt dtypes.DType) *Node {
	B, L := mask.Shape().Dimensions[0], mask.Shape().Dimensions[1]
	g := mask.Graph()
	keep := NotEqual(mask, ZerosLike(mask))
	bias := Where(keep, Zeros(g, shapes.Make(dt, B, L)), BroadcastToDims(Scalar(g, dt, -math.MaxFloat32), B, L))
	return Reshape(BroadcastToDims(Reshape(bias, B, 1, 1, L), B, heads, L, L), B*heads, L, L)
}

// Attention returns multi-head scaled dot-product attention for q, k, v [B, L, n, d] (n heads of
// size d, q already multiplied by 1/√d), as [B, L, n, d]: per batch element b and head h,
//
//	S = Q·Kᵀ + bias,   P = softmax(S) (over keys),   C = (P ⊙ drop)·V,
//
// with bias [B·n, L, L] from AttentionBias (or nil) and drop [B·n, L, L] a dropout mask already
// scaled by 1/(1−p) (or nil). Its gradient, with P' = P ⊙ drop:
//
//	dP' = dC·Vᵀ,  dP = dP' ⊙ drop,  dS = P⊙dP − P⊙rowsum(P⊙dP)  (P⊙dP = P'⊙dP'),
//	dQ = dS·K,    dK = dSᵀ·Q,        dV = P'ᵀ·dC.
//
// Every product is computed per (b, h) in the Go backend's fast layout (the right operand
// contracting its first axis): K and V are transposed to [d, L] for S = Q·(Kᵀ) and dP' = dC·(Vᵀ),
// and dK, dV are computed transposed (Qᵀ·dS and dCᵀ·P'), never transposing the L×L matrices.
func Attention(q, k, v, bias, drop *Node) *Node {
	dims := q.Shape().Dimensions
	B, L, n, d := dims[0], dims[1], dims[2], dims[3]
	G := B * n
	// heads lays [B, L, n, d] out as [B·n, L, d]; headsT as [B·n, d, L].
	heads := func(x *Node) *Node { return Reshape(TransposeAllAxes(x, 0, 2, 1, 3), G, L, d) }
	headsT := func(x *Node) *Node { return Reshape(TransposeAllAxes(x, 0, 2, 3, 1), G, d, L) }
	// unheads lays [B·n, L, d] back out as [B, L, n, d]; unheadsT does it for [B·n, d, L].
	unheads := func(x *Node) *Node { return TransposeAllAxes(Reshape(x, B, n, L, d), 0, 2, 1, 3) }
	unheadsT := func(x *Node) *Node { return TransposeAllAxes(Reshape(x, B, n, d, L), 0, 3, 1, 2) }
	// bmm multiplies [G, a, c]·[G, c, e] → [G, a, e].
	bmm := func(a, b *Node) *Node { return DotGeneral(a, []int{2}, []int{0}, b, []int{1}, []int{0}) }

	var probs, dropped *Node
	forward := func(ins []*Node) *Node {
		scores := bmm(heads(ins[0]), headsT(ins[1]))
		if bias != nil {
			scores = Add(scores, bias)
		}
		probs = Softmax(scores, -1)
		dropped = probs
		if drop != nil {
			dropped = Mul(probs, drop)
		}
		return unheads(bmm(dropped, heads(ins[2])))
	}
	backward := func(_, dOut *Node) []*Node {
		dDropped := bmm(heads(dOut), headsT(v))
		// dS = P⊙dP − P⊙rowsum(P⊙dP), and P⊙dP = P⊙drop⊙dP' = P'⊙dP'.
		t := Mul(dropped, dDropped)
		dScores := Sub(t, Mul(probs, ReduceAndKeep(t, ReduceSum, -1)))
		dq := unheads(bmm(dScores, heads(k)))
		dk := unheadsT(bmm(headsT(q), dScores))
		dv := unheadsT(bmm(headsT(dOut), dropped))
		return []*Node{dq, dk, dv}
	}
	return CustomVJP([]*Node{q, k, v}, forward, backward)
}
