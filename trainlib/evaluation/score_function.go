package evaluation

import (
	"fmt"
	"slices"
)

// ScoreFunction names a similarity between a query embedding q and a corpus embedding c, spelled as
// in sentence-transformers' SimilarityFunction (these names appear in the metric keys):
//
//	Cosine:   q·c / (max(‖q‖₂, 1e-12) · max(‖c‖₂, 1e-12))
//	DotScore: q·c
type ScoreFunction string

// The supported score functions.
const (
	Cosine   ScoreFunction = "cosine"
	DotScore ScoreFunction = "dot"
)

// Validate reports an error for names other than "cosine" and "dot".
func (f ScoreFunction) Validate() error {
	switch f {
	case Cosine, DotScore:
		return nil
	}
	return fmt.Errorf("unknown score function %q (expected %q or %q)", string(f), Cosine, DotScore)
}

// ParseScoreFunction accepts sentence-transformers' spellings: "cosine", "dot" and "dot_product".
func ParseScoreFunction(s string) (ScoreFunction, error) {
	if s == "dot_product" {
		return DotScore, nil
	}
	f := ScoreFunction(s)
	if err := f.Validate(); err != nil {
		return "", err
	}
	return f, nil
}

// sortedScoreFunctions validates fns and returns them sorted by name without duplicates, the order
// sentence-transformers uses for CSV columns and log output.
func sortedScoreFunctions(fns []ScoreFunction) ([]ScoreFunction, error) {
	out := make([]ScoreFunction, 0, len(fns))
	for _, f := range fns {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}
