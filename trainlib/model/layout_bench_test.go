package model_test

import (
	"testing"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// BenchmarkLinearLayouts compares, on an encode batch's linear-layer shapes (T = 4096 tokens),
// the ways a linear layer's three matrix products can be laid out for the pure-Go backend, whose
// kernels accept lhs [M, K] with rhs either [K, N] ("N": non-transposed) or [N, K] ("T":
// transposed). Every variant computes the same product and includes, in its time, the explicit
// transposes it needs (a weight transpose is O(out·in), negligible next to O(T·out·in)).
//
//	fwd-T   x[T,in]·W[out,in]ᵀ              (what fastops.Linear does)
//	fwd-N   x[T,in]·(Wᵀ)[in,out]
//	dx-N    dy[T,out]·W[out,in]             (what fastops.Linear does)
//	dx-T    dy[T,out]·(Wᵀ)[in,out]ᵀ
//	dW-N    (dyᵀ)[out,T]·x[T,in]            (what fastops.Linear does when out < in)
//	dW-NT   ((xᵀ)[in,T]·dy[T,out])ᵀ         (what fastops.Linear does otherwise)
//	dW-T    (dyᵀ)[out,T]·(xᵀ)[in,T]ᵀ
//	dW-auto dy[T,out]ᵀ·x[T,in] left to the backend (it transposes both operands)
func BenchmarkLinearLayouts(b *testing.B) {
	be, err := backend.Default()
	if err != nil {
		b.Fatal(err)
	}
	T := benchBatch * benchSeqLen
	type variant struct {
		name  string
		a, c  []int // operand shapes
		build func(a, c *graph.Node) *graph.Node
	}
	dot := func(a *graph.Node, ac int, c *graph.Node, cc int) *graph.Node {
		return graph.DotGeneral(a, []int{ac}, nil, c, []int{cc}, nil)
	}
	tr := func(x *graph.Node) *graph.Node { return graph.Transpose(x, 0, 1) }
	for _, s := range benchShapes {
		H, I := s.hidden, s.intermediate
		for _, lin := range []struct {
			name    string
			out, in int
		}{{"HxH", H, H}, {"up", I, H}, {"down", H, I}} {
			out, in := lin.out, lin.in
			flops := 2 * float64(T*out*in)
			variants := []variant{
				{"fwd-T", []int{T, in}, []int{out, in}, func(x, w *graph.Node) *graph.Node { return dot(x, 1, w, 1) }},
				{"fwd-N", []int{T, in}, []int{out, in}, func(x, w *graph.Node) *graph.Node { return dot(x, 1, tr(w), 0) }},
				{"dx-N", []int{T, out}, []int{out, in}, func(dy, w *graph.Node) *graph.Node { return dot(dy, 1, w, 0) }},
				{"dx-T", []int{T, out}, []int{out, in}, func(dy, w *graph.Node) *graph.Node { return dot(dy, 1, tr(w), 1) }},
				{"dW-N", []int{T, out}, []int{T, in}, func(dy, x *graph.Node) *graph.Node { return dot(tr(dy), 1, x, 0) }},
				{"dW-NT", []int{T, out}, []int{T, in}, func(dy, x *graph.Node) *graph.Node { return tr(dot(tr(x), 1, dy, 0)) }},
				{"dW-T", []int{T, out}, []int{T, in}, func(dy, x *graph.Node) *graph.Node { return dot(tr(dy), 1, tr(x), 1) }},
				{"dW-auto", []int{T, out}, []int{T, in}, func(dy, x *graph.Node) *graph.Node { return dot(dy, 0, x, 0) }},
			}
			for _, v := range variants {
				b.Run(s.name+"/"+lin.name+"/"+v.name, func(b *testing.B) {
					exec, err := graph.NewExec(be, v.build)
					if err != nil {
						b.Fatal(err)
					}
					x := tensors.FromShape(shapes.Make(dtypes.Float32, v.a...))
					y := tensors.FromShape(shapes.Make(dtypes.Float32, v.c...))
					run := func() {
						res, err := exec.Exec(x, y)
						if err != nil {
							b.Fatal(err)
						}
						res[0].FinalizeAll()
					}
					run()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						run()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
