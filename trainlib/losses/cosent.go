package losses

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// CoSENT is CoSENTLoss (Su, 2022) for (sentence1, sentence2, score) data. With
// s_i = Scale·sim(a_i, b_i) and gold scores y_i:
//
//	L = log(1 + Σ_{i,j: y_i < y_j} exp(s_i - s_j))
//
// i.e. every pair whose gold order is violated by the predicted similarities is penalized.
type CoSENT struct {
	model      *model.SentenceTransformer
	Scale      float64
	Similarity Similarity
}

// CoSENTLoss returns the loss with sentence-transformers' defaults: scale 20, pairwise cosine.
func CoSENTLoss(m *model.SentenceTransformer) *CoSENT {
	return &CoSENT{model: m, Scale: 20, Similarity: CosSim}
}

// Model implements Loss.
func (l *CoSENT) Model() *model.SentenceTransformer { return l.model }

// Name implements Loss.
func (l *CoSENT) Name() string { return "CoSENTLoss" }

// Config implements Loss.
func (l *CoSENT) Config() map[string]any {
	fn := "pairwise_cos_sim"
	if l.Similarity == DotScore {
		fn = "pairwise_dot_score"
	}
	return map[string]any{"scale": l.Scale, "similarity_fct": fn}
}

// Validate implements Loss.
func (l *CoSENT) Validate(numTextColumns int, hasLabels bool) error {
	if numTextColumns != 2 {
		return fmt.Errorf("CoSENTLoss needs exactly 2 text columns (sentence1, sentence2), the dataset has %d", numTextColumns)
	}
	if !hasLabels {
		return fmt.Errorf("CoSENTLoss needs a score column named one of %v", LabelColumns)
	}
	if l.Scale <= 0 {
		return fmt.Errorf("CoSENTLoss: scale must be positive, got %g", l.Scale)
	}
	return l.Similarity.validate()
}

// Compute implements Loss.
func (l *CoSENT) Compute(emb []*Node, labels *Node) *Node {
	return l.ComputeScaled(emb, labels, Scalar(emb[0].Graph(), dtypes.Float32, l.Scale))
}

// LogitScale implements Scaled.
func (l *CoSENT) LogitScale() float64 { return l.Scale }

// ComputeScaled implements Scaled.
func (l *CoSENT) ComputeScaled(emb []*Node, labels, scale *Node) *Node {
	g := emb[0].Graph()
	s := Mul(l.Similarity.Pairwise(emb[0], emb[1]), scale) // [B]
	B := s.Shape().Dimensions[0]
	diff := Sub(Reshape(s, B, 1), Reshape(s, 1, B))                                      // s_i - s_j
	violated := LessThan(Reshape(labels, B, 1), Reshape(labels, 1, B))                   // y_i < y_j
	diff = Where(violated, diff, BroadcastToDims(Infinity(g, dtypes.Float32, -1), B, B)) // Other pairs drop out.
	all := Concatenate([]*Node{Zeros(g, shapes.Make(dtypes.Float32, 1)), Reshape(diff, B*B)}, 0)
	return Reshape(logSumExp(all, 0))
}
