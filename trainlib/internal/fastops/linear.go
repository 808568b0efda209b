package fastops

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// Linear returns y = x·Wᵀ + b for x [..., in], W [out, in] (PyTorch's nn.Linear layout) and b
// [out] (nil for no bias). Its gradient, with T = x's leading dimensions flattened:
//
//	dx = dy·W,   dW = dyᵀ·x,   db = 1ᵀ·dy  (column sums of dy)
//
// each computed as one matrix product. For dW, which contracts the rows, the smaller of dy and x
// is transposed explicitly (x when equal, whose transpose the Go backend's node deduplication then
// shares between the layers reading the same x, like query/key/value); GoMLX's own gradient would
// have the backend transpose both. db uses ColumnSums. BenchmarkLinearLayouts (package model)
// measures these layouts against the alternatives; see trainlib/backend/MATMUL.md.
func Linear(x, w, b *Node) *Node {
	in, out := w.Shape().Dimensions[1], w.Shape().Dimensions[0]
	lead := x.Shape().Dimensions[:x.Rank()-1]
	rows := x.Shape().Size() / in
	inputs := []*Node{x, w, b}
	forward := func(ins []*Node) *Node {
		xf := Reshape(ins[0], rows, in)
		y := dense(xf, ins[1], ins[2])
		return Reshape(y, append(append([]int{}, lead...), out)...)
	}
	backward := func(_, dy *Node) []*Node {
		xf, dyf := Reshape(x, rows, in), Reshape(dy, rows, out)
		dx := Reshape(DotGeneral(dyf, []int{1}, nil, w, []int{0}, nil), x.Shape().Dimensions...)
		var dw *Node
		if out < in {
			dw = DotGeneral(Transpose(dyf, 0, 1), []int{1}, nil, xf, []int{0}, nil)
		} else {
			dw = Transpose(DotGeneral(Transpose(xf, 0, 1), []int{1}, nil, dyf, []int{0}, nil), 0, 1)
		}
		var db *Node
		if b != nil {
			db = Reshape(ColumnSums(dyf), out)
		}
		return []*Node{dx, dw, db}
	}
	return CustomVJP(inputs, forward, backward)
}

// ColumnSums returns 1ᵀ·x [1, cols] for x [rows, cols], as a matrix product: the Go backend's
// matmul kernel sums columns an order of magnitude faster than its generic reduction.
func ColumnSums(x *Node) *Node {
	ones := Ones(x.Graph(), shapes.Make(x.DType(), 1, x.Shape().Dimensions[0]))
	return DotGeneral(ones, []int{1}, nil, x, []int{0}, nil)
}

// dense returns x·Wᵀ + b for x [rows, in] and W [out, in] with the backend's fused dense
// operation (bias added in place) when it has one. Autodiff through it is never used (Linear's
// gradient is its own).
func dense(x, w, b *Node) *Node {
	y, _ := InternalFusedOpCaller(func() *Node {
		return BackendFusedDense(x, w, b, compute.DenseConfig{WeightLayout: compute.DenseLayoutOutputsInput})
	}, func() *Node {
		y := DotGeneral(x, []int{1}, nil, w, []int{1}, nil)
		if b != nil {
			y = Add(y, ExpandLeftToRank(b, 2))
		}
		return y
	}, true)
	return y
}
