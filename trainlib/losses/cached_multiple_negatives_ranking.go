package losses

import "github.com/embedtune/embedtune/trainlib/model"

const cachedMNRLName = "CachedMultipleNegativesRankingLoss"

// CachedMultipleNegativesRankingLoss returns MultipleNegativesRankingLoss computed with GradCache
// (Gao et al., 2021), sentence-transformers' CachedMultipleNegativesRankingLoss: the same loss value
// and gradients as MNRL on the same batch (the same options: scale, similarity, directions,
// partition mode, hardness), in memory that grows with the mini-batch instead of the batch, so
// batches far larger than fit in memory train with MNRL's in-batch negatives. Default
// mini_batch_size 32 (WithMiniBatchSize).
//
// A training step then runs in three stages, each column embedded MiniBatchSize rows at a time:
//
//  1. embed every mini-batch without keeping activations (recording each one's dropout RNG state);
//  2. compute the loss on the whole batch's embeddings and its gradient G with respect to them;
//  3. embed every mini-batch again, replaying its RNG state (so dropout draws the same masks), and
//     add the gradient of Σ emb·G (with G that mini-batch's rows) to the parameter gradients.
//
// Only one mini-batch's activations are alive at a time; the cost is a second forward pass (about
// 20–30% more time per step). Each mini-batch is padded to its own length bucket. A batch size that
// is a multiple of the mini-batch size compiles the fewest graphs.
//
// Related: MultipleNegativesRankingLoss (the same loss in one pass); MatryoshkaLoss wraps it like
// any other loss. Inputs as MNRL: (anchor, positive[, negatives...]) columns, no labels.
//
// Example:
//
//	loss := losses.CachedMultipleNegativesRankingLoss(m, losses.WithMiniBatchSize(16))
func CachedMultipleNegativesRankingLoss(m *model.SentenceTransformer, opts ...MNRLOption) *MNRL {
	l := MultipleNegativesRankingLoss(m, append([]MNRLOption{WithMiniBatchSize(32)}, opts...)...)
	l.name = cachedMNRLName
	return l
}

// WithMiniBatchSize sets CachedMultipleNegativesRankingLoss's mini_batch_size: the rows embedded
// at a time (default 32). Larger is faster, smaller uses less memory.
func WithMiniBatchSize(n int) MNRLOption { return func(l *MNRL) { l.MiniBatchSize = n } }

// GradCacheMiniBatchSize implements GradCache: MiniBatchSize (0 for the plain loss).
func (l *MNRL) GradCacheMiniBatchSize() int { return l.MiniBatchSize }
