package evaluation

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/model"
)

// TestEvaluateEmbeddingsBadInput checks that every invalid input of the precomputed-embeddings
// evaluation is a clear error naming the offending id, field or value.
func TestEvaluateEmbeddingsBadInput(t *testing.T) {
	nan := float32(math.NaN())
	q := map[string][]float32{"q1": {1, 0}, "q2": {0, 1}}
	c := map[string][]float32{"a": {1, 0}, "b": {0, 1}}
	rel := map[string]map[string]bool{"q1": set("a"), "q2": set("b")}
	for _, tc := range []struct {
		name     string
		q, c     map[string][]float32
		rel      map[string]map[string]bool
		opts     IROptions
		wantErrs []string
	}{
		{"unknown query id in relevant docs", q, c, map[string]map[string]bool{"q1": set("a"), "q9": set("a"), "q8": set("b")}, IROptions{},
			[]string{"2 judgement(s) name a query id that is not among the 2 queries", `"q8", "q9"`}},
		{"unknown corpus id in relevant docs", q, c, map[string]map[string]bool{"q1": set("a", "zz")}, IROptions{},
			[]string{"1 judgement(s) name a corpus id that is not among the 2 corpus entries", `"zz"`}},
		{"empty corpus", q, map[string][]float32{}, rel, IROptions{}, []string{"the corpus is empty"}},
		{"no queries", map[string][]float32{}, c, rel, IROptions{UnknownIDs: UnknownIDsKeep}, []string{"there are no queries"}},
		{"no query with a relevant document", q, c, map[string]map[string]bool{"q1": {"a": false}}, IROptions{},
			[]string{"none of the 2 queries has a relevant document"}},
		{"k zero", q, c, rel, IROptions{KValues: KValues{AccuracyAtK: []int{1, 0}}}, []string{"accuracy_at_k: k must be > 0, got 0"}},
		{"k negative", q, c, rel, IROptions{KValues: KValues{MAPAtK: []int{-5}}}, []string{"map_at_k: k must be > 0, got -5"}},
		{"empty k list", q, c, rel, IROptions{KValues: KValues{NDCGAtK: []int{}}}, []string{"ndcg_at_k is empty"}},
		{"duplicate k", q, c, rel, IROptions{KValues: KValues{MRRAtK: []int{10, 5, 10}}}, []string{"mrr_at_k: k=10 is listed twice"}},
		{"NaN in a corpus embedding", q, map[string][]float32{"a": {1, 0}, "b": {nan, 1}}, rel, IROptions{},
			[]string{`corpus embedding of "b" has a non-finite value NaN at position 0`}},
		{"Inf in a query embedding", map[string][]float32{"q1": {1, float32(math.Inf(-1))}, "q2": {0, 1}}, c, rel, IROptions{},
			[]string{`query embedding of "q1" has a non-finite value -Inf at position 1`}},
		{"corpus dimension differs from the queries'", q, map[string][]float32{"a": {1, 0}, "b": {0, 1, 2}}, rel, IROptions{},
			[]string{`corpus embedding of "b" has dimension 3, expected 2`}},
		{"query dimensions differ", map[string][]float32{"q1": {1, 0}, "q2": {1}}, c, rel, IROptions{},
			[]string{`query embedding of "q2" has dimension 1, expected 2`}},
		{"empty embedding", map[string][]float32{"q1": {}, "q2": {}}, c, rel, IROptions{}, []string{`query embedding of "q1" is empty`}},
		{"unknown score function", q, c, rel, IROptions{ScoreFunctions: []ScoreFunction{"manhattan"}}, []string{`unknown score function "manhattan"`}},
		{"empty score functions", q, c, rel, IROptions{ScoreFunctions: []ScoreFunction{}}, []string{"ScoreFunctions is empty"}},
		{"main score function not evaluated", q, c, rel, IROptions{ScoreFunctions: []ScoreFunction{Cosine}, MainScoreFunction: DotScore},
			[]string{`MainScoreFunction "dot" is not among ScoreFunctions`}},
		{"negative chunk size", q, c, rel, IROptions{CorpusChunkSize: -1}, []string{"must be >= 0"}},
		{"invalid policy", q, c, rel, IROptions{UnknownIDs: 7}, []string{"invalid UnknownIDs policy 7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EvaluateEmbeddings(context.Background(), tc.q, tc.c, tc.rel, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// badEncoder returns a fixed number of embeddings or an error.
type badEncoder struct {
	n   int
	err error
	sim string
}

func (b badEncoder) Encode(texts []string, _ *model.EncodeOptions) ([][]float32, error) {
	if b.err != nil {
		return nil, b.err
	}
	out := make([][]float32, b.n)
	for i := range out {
		out[i] = []float32{1, 2}
	}
	return out, nil
}

func (b badEncoder) SimilarityFnName() string { return b.sim }

// TestEvaluatorBadInput checks construction and model errors of the model-based evaluator.
func TestEvaluatorBadInput(t *testing.T) {
	queries, corpus, relevant := stTestData()
	if _, err := NewInformationRetrievalEvaluator(queries, map[string]string{}, relevant, IROptions{Name: "x"}); err == nil ||
		!strings.Contains(err.Error(), `information retrieval evaluator "x": the corpus is empty`) {
		t.Errorf("empty corpus: %v", err)
	}
	if _, err := NewInformationRetrievalEvaluator(queries, corpus, map[string]map[string]bool{"0": set("nope")}, IROptions{}); err == nil ||
		!strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown corpus id: %v", err)
	}
	ev, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		m    Encoder
		want string
	}{
		{"nil model", nil, "no model to evaluate"},
		{"encoder error", badEncoder{err: boom}, "encoding 5 query texts: boom"},
		{"wrong number of embeddings", badEncoder{n: 1}, "encoding 5 query texts returned 1 embeddings"},
		{"unsupported model similarity", badEncoder{n: 5, sim: "manhattan"}, `the model's similarity function: unknown score function "manhattan"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ev.Evaluate(context.Background(), tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if tc.name == "encoder error" && !errors.Is(err, boom) {
				t.Errorf("the encoder's error is not wrapped: %v", err)
			}
		})
	}
}
