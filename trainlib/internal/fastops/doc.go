// Package fastops implements the transformer building blocks embedtune's BERT encoder needs
// (linear layers, LayerNorm, GELU, attention) as GoMLX graph functions tuned for the pure-Go
// backend, with exact float32 forward passes and closed-form gradients.
//
// Two things make the difference on the pure-Go backend:
//
//   - Forward passes use the backend's fused operations when it has them (FusedDense with its
//     in-place bias, FusedLayerNorm, FusedGelu, FusedSoftmax; any backend without them gets the
//     plain decomposition), and every gradient is a hand-written closed form instead of the
//     autodiff of the decomposition (which GoMLX otherwise evaluates next to the fused op).
//   - Matrix products are laid out the way the Go backend's kernels are fast. Its kernel for small
//     matrices (per-head attention products) is about 20× slower when the right operand
//     contracts its last axis ("transposed" layout, what Q·Kᵀ and autodiff of attention produce)
//     than when it contracts its first axis after the batch axes, so Attention transposes K and V
//     (L·d values each) instead. Column sums, e.g. bias gradients, are matrix products too.
//
// Gradients are attached with [CustomVJP], which gives a sub-graph with several inputs a custom
// vector-Jacobian product at no run-time cost.
//
// Example (a linear layer followed by GELU and LayerNorm):
//
//	h := fastops.Linear(x, w, b)        // x·Wᵀ + b, W [out, in]
//	h = fastops.Gelu(h)                 // x·Φ(x)
//	y := fastops.LayerNorm(h, gamma, beta, 1e-12)
package fastops
