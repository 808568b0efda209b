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
// lr is a float32 scalar node and step t (1-based, float32 scalar) the number of this update.
func AdamW(params, grads, m, v []*Node, decay []bool, lr, step *Node, c AdamWConfig) (newP, newM, newV []*Node) {
	g := lr.Graph()
	f := func(x float64) *Node { return Scalar(g, dtypes.Float32, x) }
	bc1 := Sub(f(1), Pow(f(c.Beta1), step))
	bc2sqrt := Sqrt(Sub(f(1), Pow(f(c.Beta2), step)))
	stepSize := Div(lr, bc1)
	newP, newM, newV = make([]*Node, len(params)), make([]*Node, len(params)), make([]*Node, len(params))
	for i, p := range params {
		gi := grads[i]
		if decay[i] && c.WeightDecay != 0 {
			p = Mul(p, Sub(f(1), MulScalar(lr, c.WeightDecay)))
		}
		mi := Add(MulScalar(m[i], c.Beta1), MulScalar(gi, 1-c.Beta1))
		vi := Add(MulScalar(v[i], c.Beta2), MulScalar(Mul(gi, gi), 1-c.Beta2))
		denom := AddScalar(Div(Sqrt(vi), bc2sqrt), c.Epsilon)
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
	norm := GlobalNorm(grads)
	g := norm.Graph()
	coef := Min(Div(Scalar(g, dtypes.Float32, maxNorm), AddScalar(norm, 1e-6)), Scalar(g, dtypes.Float32, 1))
	out := make([]*Node, len(grads))
	for i, gi := range grads {
		out[i] = Mul(gi, coef)
	}
	return out, norm
}
