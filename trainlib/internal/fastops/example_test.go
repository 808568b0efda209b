package fastops_test

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/fastops"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// A linear layer, GELU and LayerNorm (the values are torch.nn.functional's, checked with PyTorch),
// and a gradient with respect to the weight matrix.
func Example() {
	b, err := backend.New("go")
	if err != nil {
		panic(err)
	}
	outs, err := ExecOnceN(b, func(x, w, bias, gamma, beta *Node) []*Node {
		y := fastops.LayerNorm(fastops.Gelu(fastops.Linear(x, w, bias)), gamma, beta, 1e-5)
		return []*Node{y, Gradient(ReduceAllSum(Mul(y, y)), w)[0]}
	}, [][]float32{{1, 2}, {3, -1}}, [][]float32{{0.5, -0.25}, {1, 1}, {-1, 0.5}}, []float32{0, 0.1, 0.2},
		[]float32{1, 1, 1}, []float32{0, 0, 0})
	if err != nil {
		panic(err)
	}
	fmt.Printf("y = %.4f\n", outs[0].Value())
	fmt.Printf("shape of d/dW = %v\n", outs[1].Shape().Dimensions)
	// Output:
	// y = [[-0.7471 1.4134 -0.6663] [0.4829 0.9097 -1.3926]]
	// shape of d/dW = [3 2]
}
