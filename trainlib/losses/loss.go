// Package losses holds the training objectives, one per file, named and parameterized like
// sentence-transformers' losses so Python recipes translate directly:
//
//	loss := losses.MultipleNegativesRankingLoss(model)                 // scale 20, cosine
//	loss := losses.MultipleNegativesSymmetricRankingLoss(model)
//	loss := losses.CoSENTLoss(model)                                   // needs a "score"/"label" column
//	loss := losses.CachedMultipleNegativesRankingLoss(model, losses.WithMiniBatchSize(16)) // GradCache
//	loss := losses.MatryoshkaLoss(model, inner, []int{768, 512, 256, 128, 64})
//
// Column order defines roles, as in sentence-transformers: the first text column is the anchor,
// the second the positive, further ones hard negatives; a column named "label" or "score" (see
// LabelColumns) holds the labels and is never embedded.
package losses

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/model"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// LabelColumns are the column names treated as labels, as sentence-transformers'
// valid_label_columns.
var LabelColumns = []string{"label", "score"}

// IsLabelColumn reports whether a column name denotes labels.
func IsLabelColumn(name string) bool {
	for _, l := range LabelColumns {
		if l == name {
			return true
		}
	}
	return false
}

// Loss is a training objective computed from the embeddings of a batch.
type Loss interface {
	// Model returns the model the loss trains.
	Model() *model.SentenceTransformer
	// Name is the Python class name, e.g. "MultipleNegativesRankingLoss".
	Name() string
	// Config returns the loss parameters (for logs and model cards), like get_config_dict().
	Config() map[string]any
	// Validate checks the loss can run on a dataset with numTextColumns text columns and,
	// hasLabels, a label column.
	Validate(numTextColumns int, hasLabels bool) error
	// Compute returns the scalar loss given one [B, D] embedding matrix per text column (in column
	// order) and the labels [B] (float32; nil when the dataset has none).
	Compute(embeddings []*Node, labels *Node) *Node
}

// Scaled is a Loss whose similarity scale (1/temperature, the "scale" parameter) can be given as a
// graph input instead of a constant: a hyperparameter sweep over the scale then compiles one
// training graph for every value. Compute(e, l) equals ComputeScaled(e, l, scale) with the scale
// as a constant.
type Scaled interface {
	Loss
	// LogitScale returns the loss's scale.
	LogitScale() float64
	// ComputeScaled is Compute with the scale given as a float32 scalar node.
	ComputeScaled(embeddings []*Node, labels, scale *Node) *Node
}

// GradCache is implemented by losses trained with gradient caching (sentence-transformers' Cached…
// losses, see CachedMultipleNegativesRankingLoss): when GradCacheMiniBatchSize is positive, the
// trainer embeds every column that many rows at a time and calls Compute on the batch's embeddings
// without their activations, then back-propagates mini-batch by mini-batch.
type GradCache interface {
	Loss
	// GradCacheMiniBatchSize is the number of rows embedded at a time (mini_batch_size); 0 means the
	// loss is computed in one pass.
	GradCacheMiniBatchSize() int
}

// Stochastic is implemented by losses that draw random numbers in training (MatryoshkaLoss with
// n_dims_per_step): the trainer calls ComputeTrain with the step's RNG state instead of Compute
// (which, in evaluation, is deterministic).
type Stochastic interface {
	Loss
	// ComputeTrain is Compute drawing from the RNG state rng; it returns the advanced state.
	ComputeTrain(embeddings []*Node, labels, rng *Node) (loss, newRNG *Node)
}

// MiniBatchSize returns loss's GradCache mini-batch size, 0 when it is computed in one pass.
func MiniBatchSize(loss Loss) int {
	if c, ok := loss.(GradCache); ok {
		return c.GradCacheMiniBatchSize()
	}
	return 0
}

// Similarity is a pairwise similarity of embedding matrices: [N, D] × [M, D] → [N, M].
type Similarity string

// The similarity functions of sentence_transformers.util.
const (
	CosSim   Similarity = "cos_sim"
	DotScore Similarity = "dot_score"
)

// Matrix computes the similarity matrix. CosSim normalizes rows by max(‖x‖, 1e-12) first.
func (s Similarity) Matrix(a, b *Node) *Node {
	if s == CosSim {
		a, b = normalizeRows(a), normalizeRows(b)
	}
	return Einsum("nd,md->nm", a, b)
}

// Pairwise computes sim(a[i], b[i]) → [N].
func (s Similarity) Pairwise(a, b *Node) *Node {
	if s == CosSim {
		a, b = normalizeRows(a), normalizeRows(b)
	}
	return ReduceSum(Mul(a, b), -1)
}

func (s Similarity) validate() error {
	if s != CosSim && s != DotScore {
		return fmt.Errorf("similarity %q is not supported (use losses.CosSim or losses.DotScore)", string(s))
	}
	return nil
}

// normalizeRows divides each row by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize.
func normalizeRows(x *Node) *Node {
	norm := Sqrt(ReduceAndKeep(Square(x), ReduceSum, -1))
	return Div(x, Max(norm, Scalar(x.Graph(), x.DType(), 1e-12)))
}

// logSumExp is a numerically stable log Σ exp(x) over the given axis, keeping the axis; rows that
// are entirely -inf give -inf.
func logSumExp(x *Node, axis int) *Node {
	m := StopGradient(ReduceAndKeep(x, ReduceMax, axis))
	finite := Where(IsFinite(m), m, ZerosLike(m))
	return Add(Log(ReduceAndKeep(Exp(Sub(x, finite)), ReduceSum, axis)), finite)
}
