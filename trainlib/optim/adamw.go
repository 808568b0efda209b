package optim

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// AdamWConfig holds torch.optim.AdamW's hyperparameters (the learning rate is a graph input).
type AdamWConfig struct {
	Beta1, Beta2, Epsilon, WeightDecay float64
}

// AdamW applies one torch.optim.AdamW step (decoupled weight decay, bias-corrected moments) to
// every parameter, in PyTorch's order of operations:
//
//	p ← p·(1 - lr·wd)                          (only where decay[i])
//	m ← β1·m + (1-β1)·g
//	v ← β2·v + (1-β2)·g²
//	p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε)
//
// lr is a float32 scalar node and step t (1-based, float32 scalar) the number of this update. The
// hyperparameters of c become constants of the graph; AdamWWith takes them as nodes.
func AdamW(params, grads, m, v []*Node, decay []bool, lr, step *Node, c AdamWConfig) (newP, newM, newV []*Node) {
	return AdamWWith(params, grads, m, v, decay, lr, step, c.Constants(lr.Graph()))
}

// AdamWNodes are AdamW's hyperparameters as float32 scalar nodes: graph inputs, so that one compiled
// training step serves every value (a hyperparameter sweep), or constants (AdamWConfig.Constants).
// The complements 1-β are separate inputs, computed in float64 like PyTorch's Python floats; a nil
// WeightDecay means no weight decay.
type AdamWNodes struct {
	Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, Epsilon, WeightDecay *Node
}

// Constants returns c as constant nodes of g (WeightDecay nil when it is 0).
func (c AdamWConfig) Constants(g *Graph) AdamWNodes {
	f := func(x float64) *Node { return Scalar(g, dtypes.Float32, x) }
	h := AdamWNodes{Beta1: f(c.Beta1), OneMinusBeta1: f(1 - c.Beta1), Beta2: f(c.Beta2), OneMinusBeta2: f(1 - c.Beta2), Epsilon: f(c.Epsilon)}
	if c.WeightDecay != 0 {
		h.WeightDecay = f(c.WeightDecay)
	}
	return h
}

// Values returns the float32 values of AdamWNodes' inputs, in field order (WeightDecay last).
func (c AdamWConfig) Values() []float32 {
	return []float32{float32(c.Beta1), float32(1 - c.Beta1), float32(c.Beta2), float32(1 - c.Beta2), float32(c.Epsilon), float32(c.WeightDecay)}
}

// AdamWWith is AdamW with the hyperparameters given as nodes.
func AdamWWith(params, grads, m, v []*Node, decay []bool, lr, step *Node, h AdamWNodes) (newP, newM, newV []*Node) {
	g := lr.Graph()
	one := Scalar(g, dtypes.Float32, 1)
	bc1 := Sub(one, Pow(h.Beta1, step))
	bc2sqrt := Sqrt(Sub(one, Pow(h.Beta2, step)))
	stepSize := Div(lr, bc1)
	newP, newM, newV = make([]*Node, len(params)), make([]*Node, len(params)), make([]*Node, len(params))
	for i, p := range params {
		gi := grads[i]
		if decay[i] && h.WeightDecay != nil {
			p = Mul(p, Sub(one, Mul(lr, h.WeightDecay)))
		}
		mi := Add(Mul(m[i], h.Beta1), Mul(gi, h.OneMinusBeta1))
		vi := Add(Mul(v[i], h.Beta2), Mul(Mul(gi, gi), h.OneMinusBeta2))
		denom := Add(Div(Sqrt(vi), bc2sqrt), h.Epsilon)
		newP[i] = Sub(p, Mul(stepSize, Div(mi, denom)))
		newM[i], newV[i] = mi, vi
	}
	return
}

// GlobalNorm returns √(Σ_i ‖g_i‖²) over all gradients (float32 scalar).
func GlobalNorm(grads []*Node) *Node {
	var total *Node
	for _, gi := range grads {
		s := ReduceAllSum(Square(gi))
		if total == nil {
			total = s
		} else {
			total = Add(total, s)
		}
	}
	return Sqrt(total)
}

// ClipByGlobalNorm scales gradients like torch.nn.utils.clip_grad_norm_: with n = GlobalNorm(g),
// every gradient is multiplied by min(1, maxNorm/(n + 1e-6)). It returns the clipped gradients
// and n (the norm before clipping, which the Trainer logs as grad_norm).
func ClipByGlobalNorm(grads []*Node, maxNorm float64) ([]*Node, *Node) {
	g := grads[0].Graph()
	return ClipByGlobalNormNode(grads, Scalar(g, dtypes.Float32, maxNorm))
}

// ClipByGlobalNormNode is ClipByGlobalNorm with maxNorm a float32 scalar node (a graph input).
func ClipByGlobalNormNode(grads []*Node, maxNorm *Node) ([]*Node, *Node) {
	norm := GlobalNorm(grads)
	g := norm.Graph()
	coef := Min(Div(maxNorm, AddScalar(norm, 1e-6)), Scalar(g, dtypes.Float32, 1))
	out := make([]*Node, len(grads))
	for i, gi := range grads {
		out[i] = Mul(gi, coef)
	}
	return out, norm
}
