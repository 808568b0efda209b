package fastops

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // Graph-building code reads better with the dot import.
)

// CustomVJP returns forward(inputs) whose gradient with respect to inputs[i] is backward(out,
// dOut)[i], where out is the returned node and dOut the gradient of the differentiated scalar with
// respect to it. A nil gradient means "no gradient". forward must build the output only from the
// nodes it is given (identities of inputs), with operations GoMLX can differentiate; its own
// autodiff graph is built by GoMLX but never used, so it is pruned from the compiled computation
// and costs nothing at run time — forward's values and backward's formulas are all that execute.
//
// How it works: each input goes through graph.IdentityWithCustomGradient, and so does the output.
// Reverse-mode autodiff visits nodes in decreasing creation order, so the output's identity (the
// newest node) receives dOut before any input's identity is visited; it records dOut, and the
// inputs' custom gradients return backward's results, ignoring the autodiff of forward that
// reached them. Gradient can be called several times on a graph: each pass records its own dOut.
func CustomVJP(inputs []*Node, forward func(ins []*Node) *Node, backward func(out, dOut *Node) []*Node) *Node {
	var (
		out, dOut *Node
		grads     []*Node
	)
	wrapped := make([]*Node, len(inputs))
	for i, x := range inputs {
		if x == nil {
			continue
		}
		wrapped[i] = IdentityWithCustomGradient(x, func(xi, _ *Node) *Node {
			if dOut == nil {
				panic(fmt.Errorf("fastops.CustomVJP: the gradient of input %d was requested before the output's (GoMLX's reverse-mode order is not the one this package relies on)", i))
			}
			if grads == nil {
				grads = backward(out, dOut)
				if len(grads) != len(inputs) {
					panic(fmt.Errorf("fastops.CustomVJP: backward returned %d gradients for %d inputs", len(grads), len(inputs)))
				}
			}
			g := grads[i]
			if g != nil && !g.Shape().Equal(xi.Shape()) {
				panic(fmt.Errorf("fastops.CustomVJP: gradient of input %d has shape %s, want %s", i, g.Shape(), xi.Shape()))
			}
			return g
		})
	}
	out = IdentityWithCustomGradient(forward(wrapped), func(_, v *Node) *Node {
		dOut, grads = v, nil
		return v
	})
	return out
}
