package fastops

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // Graph-building code reads better with the dot import.
)

// Block is a sub-graph that Checkpoint can rebuild: it computes y from x, reads its parameters
// through weight (by name), and threads an optional state (e.g. a dropout RNG state; nil when
// there is none), returning the state after the block.
type Block func(x, state *Node, weight func(name string) *Node) (y, newState *Node)

// Checkpoint returns block(x, state, weight) with gradient checkpointing (activation
// rematerialization, transformers' gradient_checkpointing, torch.utils.checkpoint): the backward
// pass keeps only x and state, and rebuilds the block's intermediate values from them when the
// gradient of y arrives. Gradients are those of the block itself, value for value: the rebuilt
// block is the same computation on the same inputs (a random state replays the same draws).
//
// Memory: the forward pass's intermediate values die at the end of the forward pass; during the
// backward pass one block's intermediate values are alive at a time. Cost: every block's forward
// pass runs twice.
//
// How it works. The forward pass builds the block on identities of x and of every parameter it
// reads (found as it asks for them) and on the identity of its output; the output's custom
// gradient records dy (see [CustomVJP] for why it comes first). When the first input's gradient is
// asked for, the block is built again, from x and state passed through an optimization barrier
// together with dy (so no compiler can merge the copy with the forward pass, nor compute it
// before dy exists) and a scheduling barrier on dy (so the pure-Go backend, which runs operations
// as soon as their inputs are ready, waits for it too); the gradients of Σ y'·dy with respect to
// the copy's x and parameters are the inputs' gradients. The forward pass's own autodiff graph is
// built by GoMLX but never used, and is pruned from the compiled computation.
func Checkpoint(x, state *Node, weight func(name string) *Node, block Block) (y, newState *Node) {
	var (
		raw   []*Node // x, then the parameters in the order the block read them
		names []string
		dy    *Node
		grads []*Node
	)
	gradOf := func(i int) func(_, _ *Node) *Node {
		return func(xi, _ *Node) *Node {
			if dy == nil {
				panic(fmt.Errorf("fastops.Checkpoint: the gradient of input %d was requested before the output's (GoMLX's reverse-mode order is not the one this package relies on)", i))
			}
			if grads == nil {
				grads = recompute(raw, names, state, dy, weight, block)
			}
			return grads[i]
		}
	}
	wrapped := map[string]*Node{}
	raw = append(raw, x)
	names = append(names, "")
	wx := IdentityWithCustomGradient(x, gradOf(0))
	wweight := func(name string) *Node {
		if w, ok := wrapped[name]; ok {
			return w
		}
		p := weight(name)
		raw = append(raw, p)
		names = append(names, name)
		w := IdentityWithCustomGradient(p, gradOf(len(raw)-1))
		wrapped[name] = w
		return w
	}
	out, newState := block(wx, state, wweight)
	y = IdentityWithCustomGradient(out, func(_, v *Node) *Node {
		dy, grads = v, nil
		return v
	})
	return y, newState
}

// recompute rebuilds the block after dy is known and returns the gradients of Σ y·dy with respect
// to x and the parameters (aligned with raw).
func recompute(raw []*Node, names []string, state, dy *Node, weight func(string) *Node, block Block) []*Node {
	dy = StopGradient(dy)
	ins := []*Node{raw[0], dy}
	if state != nil {
		ins = append(ins, state)
	}
	held := OptimizationBarriers(ins...)
	x := SchedulingBarrier(StopGradient(held[0]), dy)
	var st *Node
	if state != nil {
		st = SchedulingBarrier(StopGradient(held[2]), dy)
	}
	read := map[string]bool{}
	y, _ := block(x, st, func(name string) *Node {
		read[name] = true
		return weight(name)
	})
	targets := make([]*Node, len(raw))
	targets[0] = x
	for i := 1; i < len(raw); i++ {
		if !read[names[i]] {
			panic(fmt.Errorf("fastops.Checkpoint: the rebuilt block did not read parameter %q (a block must read the same parameters every time it is built)", names[i]))
		}
		targets[i] = raw[i]
	}
	return Gradient(ReduceAllSum(Mul(y, dy)), targets...)
}
