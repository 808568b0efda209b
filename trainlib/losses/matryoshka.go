package losses

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// Matryoshka is MatryoshkaLoss (Kusupati et al., 2022): it trains an inner loss at several
// embedding sizes at once, so that the first d dimensions of an embedding (truncate_dim at encode
// time) keep most of its quality. With dimensions d_1 > … > d_k, weights w_i and
// shrink_d(e) = e[:d] / max(‖e[:d]‖₂, 1e-12) applied to every column's embeddings:
//
//	L = Σ_i w_i · inner(shrink_{d_i}(embeddings), labels)
//
// as sentence-transformers computes it (the full dimension, when listed, is normalized too, which
// matters for dot-product losses). With NDimsPerStep = n > 0 (n_dims_per_step) each training step
// uses n dimensions drawn at random without replacement (uniformly, from the step's RNG state)
// instead of all; evaluation always uses all.
//
// Dims may be given in any order: they are sorted in decreasing order together with their
// weights, as sentence-transformers does. Validate rejects an empty list, non-positive,
// duplicate or too large dimensions (larger than the model's embedding dimension), a weights list
// of another length, negative or non-finite weights and n_dims_per_step values other than -1 and
// 1, 2, ….
//
// Related: InformationRetrievalEvaluator with TruncateDim (evaluation.MatryoshkaEvaluator builds
// one per dimension); CachedMultipleNegativesRankingLoss can be the inner loss.
//
// Example:
//
//	inner := losses.MultipleNegativesRankingLoss(m)
//	loss := losses.MatryoshkaLoss(m, inner, []int{768, 512, 256, 128, 64})
type Matryoshka struct {
	model *model.SentenceTransformer
	// Loss is the inner loss, computed once per dimension.
	Loss Loss
	// Dims are matryoshka_dims; Weights matryoshka_weights (nil: all 1).
	Dims    []int
	Weights []float64
	// NDimsPerStep is n_dims_per_step: -1 (default) uses every dimension at every step.
	NDimsPerStep int
}

// MatryoshkaOption configures a MatryoshkaLoss.
type MatryoshkaOption func(*Matryoshka)

// WithMatryoshkaWeights sets matryoshka_weights, one per dimension (in the order of the dims).
func WithMatryoshkaWeights(w ...float64) MatryoshkaOption {
	return func(l *Matryoshka) { l.Weights = slices.Clone(w) }
}

// WithDimsPerStep sets n_dims_per_step: train n randomly chosen dimensions per step (-1: all).
func WithDimsPerStep(n int) MatryoshkaOption { return func(l *Matryoshka) { l.NDimsPerStep = n } }

// MatryoshkaLoss wraps loss so that it is trained at every dimension of dims (see Matryoshka).
func MatryoshkaLoss(m *model.SentenceTransformer, loss Loss, dims []int, opts ...MatryoshkaOption) *Matryoshka {
	l := &Matryoshka{model: m, Loss: loss, Dims: slices.Clone(dims), NDimsPerStep: -1}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Model implements Loss.
func (l *Matryoshka) Model() *model.SentenceTransformer { return l.model }

// Name implements Loss.
func (l *Matryoshka) Name() string { return "MatryoshkaLoss" }

// Config implements Loss, with sentence-transformers' keys (dimensions sorted, decreasing).
func (l *Matryoshka) Config() map[string]any {
	dims, weights := l.sorted()
	name := ""
	if l.Loss != nil {
		name = l.Loss.Name()
	}
	return map[string]any{"loss": name, "matryoshka_dims": dims, "matryoshka_weights": weights, "n_dims_per_step": l.NDimsPerStep}
}

// sorted returns the dimensions in decreasing order with their weights (1 when unset).
func (l *Matryoshka) sorted() ([]int, []float64) {
	type dw struct {
		d int
		w float64
	}
	pairs := make([]dw, len(l.Dims))
	for i, d := range l.Dims {
		pairs[i] = dw{d, 1}
		if l.Weights != nil && i < len(l.Weights) {
			pairs[i].w = l.Weights[i]
		}
	}
	slices.SortStableFunc(pairs, func(a, b dw) int { return cmp.Compare(b.d, a.d) })
	dims, weights := make([]int, len(pairs)), make([]float64, len(pairs))
	for i, p := range pairs {
		dims[i], weights[i] = p.d, p.w
	}
	return dims, weights
}

// Validate implements Loss: the inner loss's checks and the options' (see Matryoshka).
func (l *Matryoshka) Validate(numTextColumns int, hasLabels bool) error {
	if l.Loss == nil {
		return fmt.Errorf("MatryoshkaLoss: no inner loss")
	}
	if _, nested := l.Loss.(*Matryoshka); nested {
		return fmt.Errorf("MatryoshkaLoss: the inner loss is a MatryoshkaLoss; give the dimensions to one")
	}
	if l.model != nil && l.Loss.Model() != nil && l.Loss.Model() != l.model {
		return fmt.Errorf("MatryoshkaLoss: the inner %s was built for another model", l.Loss.Name())
	}
	if len(l.Dims) == 0 {
		return fmt.Errorf("MatryoshkaLoss: matryoshka_dims is empty; give at least one dimension, e.g. [768, 512, 256, 128, 64]")
	}
	seen := map[int]bool{}
	for _, d := range l.Dims {
		switch {
		case d <= 0:
			return fmt.Errorf("MatryoshkaLoss: matryoshka_dims must be positive, got %d in %v", d, l.Dims)
		case seen[d]:
			return fmt.Errorf("MatryoshkaLoss: matryoshka_dims lists %d twice (%v)", d, l.Dims)
		case l.model != nil && d > l.model.Dim():
			return fmt.Errorf("MatryoshkaLoss: matryoshka_dims %d is larger than the model's embedding dimension %d (%v)", d, l.model.Dim(), l.Dims)
		}
		seen[d] = true
	}
	if l.Weights != nil {
		if len(l.Weights) != len(l.Dims) {
			return fmt.Errorf("MatryoshkaLoss: matryoshka_weights has %d values for %d matryoshka_dims; give one weight per dimension", len(l.Weights), len(l.Dims))
		}
		for _, w := range l.Weights {
			if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
				return fmt.Errorf("MatryoshkaLoss: matryoshka_weights must be finite and non-negative, got %g in %v", w, l.Weights)
			}
		}
	}
	if l.NDimsPerStep == 0 || l.NDimsPerStep < -1 {
		return fmt.Errorf("MatryoshkaLoss: n_dims_per_step must be -1 (every dimension) or positive, got %d", l.NDimsPerStep)
	}
	if err := l.Loss.Validate(numTextColumns, hasLabels); err != nil {
		return fmt.Errorf("MatryoshkaLoss: %w", err)
	}
	return nil
}

// GradCacheMiniBatchSize implements GradCache: that of the inner loss.
func (l *Matryoshka) GradCacheMiniBatchSize() int { return MiniBatchSize(l.Loss) }

// Compute implements Loss: every dimension, weighted.
func (l *Matryoshka) Compute(emb []*Node, labels *Node) *Node {
	dims, weights := l.sorted()
	terms := make([]*Node, len(dims))
	for i, d := range dims {
		terms[i] = MulScalar(l.Loss.Compute(shrinkAll(emb, d), labels), weights[i])
	}
	return sumNodes(terms)
}

// ComputeTrain implements Stochastic: NDimsPerStep dimensions drawn without replacement (all when
// it is -1 or at least the number of dimensions).
func (l *Matryoshka) ComputeTrain(emb []*Node, labels, rng *Node) (*Node, *Node) {
	dims, weights := l.sorted()
	k, n := l.NDimsPerStep, len(dims)
	if k <= 0 || k >= n {
		return l.Compute(emb, labels), rng
	}
	g := emb[0].Graph()
	rng, u := RandomUniform(rng, shapes.Make(dtypes.Float32, n))
	// Dimension i is drawn when fewer than k draws are smaller than its own: a uniform k-subset.
	below := ConvertDType(LessThan(Reshape(u, 1, n), Reshape(u, n, 1)), dtypes.Int32) // [i, j] = u_j < u_i
	picked := LessThan(ReduceSum(below, 1), Scalar(g, dtypes.Int32, k))               // [n]
	terms := make([]*Node, n)
	for i, d := range dims {
		t := MulScalar(l.Loss.Compute(shrinkAll(emb, d), labels), weights[i])
		terms[i] = Where(Reshape(Slice(picked, AxisElem(i))), t, ZerosLike(t))
	}
	return sumNodes(terms), rng
}

// shrinkAll keeps the first d dimensions of every embedding matrix and L2-normalizes the rows.
func shrinkAll(emb []*Node, d int) []*Node {
	out := make([]*Node, len(emb))
	for c, e := range emb {
		out[c] = normalizeRows(Slice(e, AxisRange(), AxisRange(0, d)))
	}
	return out
}

// sumNodes adds scalar nodes.
func sumNodes(xs []*Node) *Node {
	total := Reshape(xs[0])
	for _, x := range xs[1:] {
		total = Add(total, Reshape(x))
	}
	return total
}
