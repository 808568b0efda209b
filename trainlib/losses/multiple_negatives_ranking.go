package losses

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type Direction -setting directions
//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type PartitionMode -setting partition_mode
//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type HardnessMode -setting hardness_mode

// Direction is an interaction direction of MultipleNegativesRankingLoss (its directions argument,
// sentence-transformers ≥ 5.1); see MNRL for the terms each adds.
type Direction string

// The directions.
const (
	QueryToDoc   Direction = "query_to_doc"
	QueryToQuery Direction = "query_to_query"
	DocToQuery   Direction = "doc_to_query"
	DocToDoc     Direction = "doc_to_doc"
)

// PartitionMode is how MNRL normalizes the scores of several directions (partition_mode).
type PartitionMode string

// The partition modes.
const (
	PartitionJoint        PartitionMode = "joint"         // one softmax over all the directions' terms
	PartitionPerDirection PartitionMode = "per_direction" // one cross-entropy per direction, averaged
)

// HardnessMode selects the negatives that hardness weighting applies to (hardness_mode); "" (Python's
// None) disables it.
type HardnessMode string

// The hardness modes.
const (
	HardnessInBatchNegatives HardnessMode = "in_batch_negatives" // the other rows' positives
	HardnessHardNegatives    HardnessMode = "hard_negatives"     // the explicit negative columns
	HardnessAllNegatives     HardnessMode = "all_negatives"      // both
)

// MNRL is MultipleNegativesRankingLoss (InfoNCE with in-batch negatives).
//
// For a batch of B anchors a_i, positives p_i and k optional hard-negative columns n_i^(1..k),
// with candidates c = [p; n^(1); …; n^(k)] (B(k+1) rows) and s(x, y) = Scale·sim(x, y):
//
//	L = -1/B Σ_i [ s(a_i, p_i) - log Σ_j exp(s(a_i, c_j)) ]
//
// i.e. cross-entropy over the rows of S = s(a, c) with labels 0..B-1. Extra Directions add more
// terms to the softmax denominator ("joint") or average one cross-entropy per direction
// ("per_direction"):
//
//	query_to_query: s(a_i, a_j), j ≠ i      doc_to_query: s(p_i, a_j) (columns of s(a, p))
//	doc_to_doc:     s(p_i, c_j), c_j not from row i
//
// HardnessMode adds HardnessStrength·stopgrad(sim(a_i, c_j)) to negative logits (in-batch,
// explicit hard negatives, or all), as sentence-transformers' hardness weighting.
type MNRL struct {
	model            *model.SentenceTransformer
	Scale            float64
	Similarity       Similarity
	Directions       []Direction
	PartitionMode    PartitionMode // PartitionJoint (default) or PartitionPerDirection
	HardnessMode     HardnessMode  // "" (none) or one of HardnessModeValues
	HardnessStrength float64
	// MiniBatchSize is CachedMultipleNegativesRankingLoss's mini_batch_size: the rows embedded at a
	// time with GradCache (see CachedMultipleNegativesRankingLoss); 0 for the plain loss.
	MiniBatchSize int
	// Gather is sentence-transformers' gather_across_devices: in data-parallel training every
	// device's anchors see all devices' positives and negatives (and anchors, for the
	// query_to_query / doc_to_query directions) as in-batch candidates, so the loss is the one of
	// a single device holding the whole global batch. Without it each device's batch stands alone
	// (per_device_train_batch_size in-batch candidates). It changes nothing on one device.
	Gather bool
	name   string
}

// MNRLOption configures a MultipleNegativesRankingLoss.
type MNRLOption func(*MNRL)

// WithScale sets the logit scale (1/temperature); default 20.
func WithScale(s float64) MNRLOption { return func(l *MNRL) { l.Scale = s } }

// WithSimilarity selects cosine (default) or dot-product similarity.
func WithSimilarity(s Similarity) MNRLOption { return func(l *MNRL) { l.Similarity = s } }

// WithDirections sets the interaction directions (Direction constants or their spellings); QueryToDoc
// must be among them.
func WithDirections[D ~string](d ...D) MNRLOption {
	dirs := make([]Direction, len(d))
	for i, x := range d {
		dirs[i] = Direction(x)
	}
	return func(l *MNRL) { l.Directions = dirs }
}

// WithPartitionMode sets PartitionJoint or PartitionPerDirection (or their spellings).
func WithPartitionMode[M ~string](m M) MNRLOption {
	return func(l *MNRL) { l.PartitionMode = PartitionMode(m) }
}

// WithHardness enables hardness weighting of negatives (a HardnessMode or its spelling).
func WithHardness[M ~string](mode M, strength float64) MNRLOption {
	return func(l *MNRL) { l.HardnessMode, l.HardnessStrength = HardnessMode(mode), strength }
}

// WithGatherAcrossDevices sets gather_across_devices (see MNRL.Gather).
func WithGatherAcrossDevices(on bool) MNRLOption { return func(l *MNRL) { l.Gather = on } }

// MultipleNegativesRankingLoss returns the loss with sentence-transformers' defaults: scale 20,
// cosine similarity, directions (query_to_doc), joint partition, no hardness weighting.
func MultipleNegativesRankingLoss(m *model.SentenceTransformer, opts ...MNRLOption) *MNRL {
	l := &MNRL{model: m, Scale: 20, Similarity: CosSim, Directions: []Direction{QueryToDoc}, PartitionMode: PartitionJoint, name: "MultipleNegativesRankingLoss"}
	for _, o := range opts {
		o(l)
	}
	return l
}

// MultipleNegativesSymmetricRankingLoss is MNRL with directions (query_to_doc, doc_to_query)
// and one softmax per direction: L = (CE(S) + CE(S[:, :B]ᵀ)) / 2.
func MultipleNegativesSymmetricRankingLoss(m *model.SentenceTransformer, opts ...MNRLOption) *MNRL {
	l := MultipleNegativesRankingLoss(m, append([]MNRLOption{WithDirections(QueryToDoc, DocToQuery), WithPartitionMode(PartitionPerDirection)}, opts...)...)
	l.name = "MultipleNegativesSymmetricRankingLoss"
	return l
}

// Model implements Loss.
func (l *MNRL) Model() *model.SentenceTransformer { return l.model }

// Name implements Loss.
func (l *MNRL) Name() string { return l.name }

// Config implements Loss.
func (l *MNRL) Config() map[string]any {
	c := map[string]any{"scale": l.Scale, "similarity_fct": string(l.Similarity), "gather_across_devices": l.Gather}
	if l.name == cachedMNRLName {
		c["mini_batch_size"] = l.MiniBatchSize
		c["mini_batch_num_tokens"] = nil
	}
	if l.name == "MultipleNegativesRankingLoss" || l.name == cachedMNRLName {
		c["directions"] = l.Directions
		c["partition_mode"] = l.PartitionMode
		c["hardness_mode"] = nilIfEmpty(l.HardnessMode)
		c["hardness_strength"] = l.HardnessStrength
	}
	return c
}

// nilIfEmpty is Python's None for an unset mode.
func nilIfEmpty(m HardnessMode) any {
	if m == "" {
		return nil
	}
	return m
}

// Validate implements Loss.
func (l *MNRL) Validate(numTextColumns int, hasLabels bool) error {
	if numTextColumns < 2 {
		return fmt.Errorf("%s needs at least 2 text columns (anchor, positive[, negatives...]), the dataset has %d", l.name, numTextColumns)
	}
	if err := l.Similarity.validate(); err != nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	hasQD := false
	seen := map[Direction]bool{}
	for _, d := range l.Directions {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		if seen[d] {
			return fmt.Errorf("%s: direction %q given twice", l.name, d)
		}
		seen[d] = true
		hasQD = hasQD || d == QueryToDoc
	}
	if !hasQD {
		return fmt.Errorf("%s: directions must include %q", l.name, QueryToDoc)
	}
	if err := l.PartitionMode.Validate(); err != nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	if l.PartitionMode == PartitionPerDirection && (seen[QueryToQuery] || seen[DocToDoc]) {
		return fmt.Errorf("%s: partition_mode \"per_direction\" is not compatible with query_to_query or doc_to_doc", l.name)
	}
	if l.HardnessMode != "" {
		if err := l.HardnessMode.Validate(); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
	}
	if l.HardnessStrength < 0 {
		return fmt.Errorf("%s: hardness_strength must be non-negative, got %g", l.name, l.HardnessStrength)
	}
	if l.Scale <= 0 {
		return fmt.Errorf("%s: scale must be positive, got %g", l.name, l.Scale)
	}
	switch {
	case l.name == cachedMNRLName && l.MiniBatchSize <= 0:
		return fmt.Errorf("%s: mini_batch_size must be positive, got %d", l.name, l.MiniBatchSize)
	case l.name != cachedMNRLName && l.MiniBatchSize != 0:
		return fmt.Errorf("%s: mini_batch_size (%d) applies to %s only", l.name, l.MiniBatchSize, cachedMNRLName)
	}
	return nil
}

// Compute implements Loss.
func (l *MNRL) Compute(emb []*Node, labels *Node) *Node {
	return l.ComputeScaled(emb, labels, Scalar(emb[0].Graph(), dtypes.Float32, l.Scale))
}

// LogitScale implements Scaled.
func (l *MNRL) LogitScale() float64 { return l.Scale }

// ComputeScaled implements Scaled.
func (l *MNRL) ComputeScaled(emb []*Node, _, scale *Node) *Node { return l.compute(emb, scale, nil) }

// GatherAcrossDevices implements GatheringLoss.
func (l *MNRL) GatherAcrossDevices() bool { return l.Gather }

// ComputeShard implements GatheringLoss: every column is gathered from all devices, and this
// device's anchors (and, for doc_to_query / doc_to_doc, its positives) are scored against the whole
// global batch, as sentence-transformers does with gather_across_devices.
func (l *MNRL) ComputeShard(emb []*Node, _, scale *Node, shard Shard) *Node {
	if scale == nil {
		scale = Scalar(emb[0].Graph(), dtypes.Float32, l.Scale)
	}
	return l.compute(emb, scale, &shard)
}

// compute is the loss over the rows of emb; with a shard, the candidates (and other anchors) are
// the gathered global batch and row i of this device is global row shard.Offset+i.
func (l *MNRL) compute(emb []*Node, scale *Node, shard *Shard) *Node {
	g := emb[0].Graph()
	q := emb[0]
	B := q.Shape().Dimensions[0]
	qAll, docCols := q, emb[1:]
	BG := B // rows of the global batch
	off := Scalar(g, dtypes.Int32, 0)
	if shard != nil {
		all := shard.Gather(emb...)
		qAll, docCols = all[0], all[1:]
		BG, off = B*shard.Devices, shard.Offset
	}
	docsAll := Concatenate(docCols, 0) // [BG·(k+1), D]
	pos := emb[1]
	nDocCols := len(emb) - 1
	negInf := Infinity(g, dtypes.Float32, -1)
	// eye[i, j]: global column j is this row's own (j == off + i).
	eye := Equal(Add(Iota(g, shapes.Make(dtypes.Int32, B, BG), 0), off), Iota(g, shapes.Make(dtypes.Int32, B, BG), 1)) // [B, BG]
	ownDoc := tileCols(eye, nDocCols)                                                                                  // [B, BG(k+1)]

	type term struct {
		name Direction
		sim  *Node
	}
	var terms []term
	for _, d := range l.Directions {
		switch d {
		case QueryToDoc:
			terms = append(terms, term{d, l.Similarity.Matrix(q, docsAll)})
		case QueryToQuery:
			terms = append(terms, term{d, Where(eye, BroadcastToDims(negInf, B, BG), l.Similarity.Matrix(q, qAll))})
		case DocToQuery:
			terms = append(terms, term{d, Transpose(l.Similarity.Matrix(qAll, pos), 0, 1)})
		case DocToDoc:
			s := Transpose(l.Similarity.Matrix(docsAll, pos), 0, 1) // [B, BG(k+1)]
			terms = append(terms, term{d, Where(ownDoc, BroadcastToDims(negInf, s.Shape().Dimensions...), s)})
		}
	}
	var penalty *Node
	if l.HardnessMode != "" && l.HardnessStrength > 0 {
		qd := StopGradient(terms[0].sim) // query_to_doc is validated present; find it.
		for _, t := range terms {
			if t.name == QueryToDoc {
				qd = StopGradient(t.sim)
			}
		}
		penalty = MulScalar(qd, l.HardnessStrength)
		// exclude marks logits that get no penalty.
		var exclude *Node
		cols := Iota(g, shapes.Make(dtypes.Int32, B, BG*nDocCols), 1)
		inBatchCols := LessThan(cols, Scalar(g, dtypes.Int32, BG))
		switch l.HardnessMode {
		case HardnessHardNegatives:
			exclude = LogicalOr(LogicalNot(ownDoc), inBatchCols)
		case HardnessInBatchNegatives:
			exclude = ownDoc
		case HardnessAllNegatives:
			exclude = LogicalAnd(ownDoc, inBatchCols)
		}
		penalty = Where(exclude, ZerosLike(penalty), penalty)
	}
	for i := range terms {
		terms[i].sim = Mul(terms[i].sim, scale)
		if penalty != nil && terms[i].name == QueryToDoc {
			terms[i].sim = Add(terms[i].sim, penalty)
		}
	}
	var qdScores *Node
	for _, t := range terms {
		if t.name == QueryToDoc {
			qdScores = t.sim
		}
	}
	// The positive logit s(a_i, p_i) is in the first BG columns, at the row's own (never penalized).
	firstBlock := Slice(qdScores, AxisRange(), AxisRange(0, BG))
	positive := ReduceSum(Where(eye, firstBlock, ZerosLike(firstBlock)), -1)
	var logZ *Node
	if l.PartitionMode == PartitionJoint {
		all := make([]*Node, len(terms))
		for i, t := range terms {
			all[i] = t.sim
		}
		logZ = Reshape(logSumExp(Concatenate(all, 1), 1), B)
	} else {
		for _, t := range terms {
			z := Reshape(logSumExp(t.sim, 1), B)
			if logZ == nil {
				logZ = z
			} else {
				logZ = Add(logZ, z)
			}
		}
		logZ = DivScalar(logZ, float64(len(terms)))
	}
	return Neg(ReduceAllMean(Sub(positive, logZ)))
}

// tileCols repeats a [B, B] matrix n times along columns → [B, n·B].
func tileCols(x *Node, n int) *Node {
	if n == 1 {
		return x
	}
	parts := make([]*Node, n)
	for i := range parts {
		parts[i] = x
	}
	return Concatenate(parts, 1)
}
