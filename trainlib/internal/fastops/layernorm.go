package fastops

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// LayerNorm normalizes the last axis of x, as torch.nn.LayerNorm:
//
//	y = n·γ + β,   n = (x − μ)·r,   r = 1/√(σ² + ε),
//
// μ and σ² the mean and biased variance over the last axis (H values), γ and β of shape [H]. Its
// gradient, with g = dy·γ and means over the last axis:
//
//	dx = r·(g − mean(g) − n·mean(g·n)),   dγ = Σ_rows dy·n,   dβ = Σ_rows dy.
func LayerNorm(x, gamma, beta *Node, eps float64) *Node {
	axis := x.Rank() - 1
	forward := func(ins []*Node) *Node {
		x, gamma, beta := ins[0], ins[1], ins[2]
		y, _ := InternalFusedOpCaller(func() *Node {
			return BackendFusedLayerNorm(x, []int{axis}, eps, gamma, beta)
		}, func() *Node {
			n, _ := normalize(x, eps)
			return Add(Mul(n, ExpandLeftToRank(gamma, x.Rank())), ExpandLeftToRank(beta, x.Rank()))
		}, true)
		return y
	}
	backward := func(_, dy *Node) []*Node {
		n, r := normalize(x, eps)
		g := Mul(dy, ExpandLeftToRank(gamma, x.Rank()))
		meanG := ReduceAndKeep(g, ReduceMean, -1)
		meanGN := ReduceAndKeep(Mul(g, n), ReduceMean, -1)
		dx := Mul(Sub(Sub(g, meanG), Mul(n, meanGN)), r)
		H := x.Shape().Dimensions[axis]
		rows := x.Shape().Size() / H
		dGamma := Reshape(ColumnSums(Reshape(Mul(dy, n), rows, H)), H)
		dBeta := Reshape(ColumnSums(Reshape(dy, rows, H)), H)
		return []*Node{dx, dGamma, dBeta}
	}
	return CustomVJP([]*Node{x, gamma, beta}, forward, backward)
}

// normalize returns n = (x − μ)·r and r = 1/√(σ² + ε) (with a kept last axis of size 1).
func normalize(x *Node, eps float64) (n, r *Node) {
	centered := Sub(x, ReduceAndKeep(x, ReduceMean, -1))
	variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
	r = Inverse(Sqrt(AddScalar(variance, eps)))
	return Mul(centered, r), r
}
