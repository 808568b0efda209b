package fastops

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// Gelu returns x·Φ(x) = x/2·(1 + erf(x/√2)), the exact GELU (PyTorch's default, transformers'
// "gelu"). Its gradient, with u = x/√2:
//
//	dx = dy·(Φ(x) + x·φ(x)) = dy/2·(1 + erf(u) + u·e^(−u²)·2/√π).
func Gelu(x *Node) *Node {
	forward := func(ins []*Node) *Node {
		y, _ := InternalFusedOpCaller(func() *Node { return BackendFusedGelu(ins[0], true) },
			func() *Node { return geluDecomposed(ins[0]) }, true)
		return y
	}
	backward := func(_, dy *Node) []*Node {
		u := MulScalar(x, 1/math.Sqrt2)
		e := Exp(Neg(Square(u)))
		d := Add(OnePlus(Erf(u)), MulScalar(Mul(u, e), 2/math.Sqrt(math.Pi)))
		return []*Node{Mul(MulScalar(dy, 0.5), d)}
	}
	return CustomVJP([]*Node{x}, forward, backward)
}

// geluDecomposed is x/2·(1 + erf(x/√2)) from elementary operations.
func geluDecomposed(x *Node) *Node {
	return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))))
}
