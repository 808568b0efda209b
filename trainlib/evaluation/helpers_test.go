package evaluation

import (
	"fmt"
	"math"
	"strings"

	"github.com/embedtune/embedtune/trainlib/model"
)

// keywordEncoder is the test double of sentence-transformers' own evaluator test
// (tests/evaluation/test_information_retrieval_evaluator.py, mock_model): a text's embedding is the
// sum of the one-hot vectors of the keywords it contains.
type keywordEncoder struct {
	similarity string          // SimilarityFnName, "" for none
	calls      *[]encodeRecord // records calls when non-nil
}

type encodeRecord struct {
	kind  string // "encode", "query" or "document"
	texts []string
	opts  model.EncodeOptions
}

var stKeywords = []string{"pokemon", "car", "vehicle", "fruit", "vegetable"}

func (k keywordEncoder) Encode(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	k.record("encode", texts, opts)
	return k.embed(texts), nil
}

func (k keywordEncoder) record(kind string, texts []string, opts *model.EncodeOptions) {
	if k.calls != nil {
		*k.calls = append(*k.calls, encodeRecord{kind, append([]string(nil), texts...), *opts})
	}
}

func (k keywordEncoder) embed(texts []string) [][]float32 {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, len(stKeywords))
		for j, kw := range stKeywords {
			if strings.Contains(t, kw) {
				v[j]++
			}
		}
		out[i] = v
	}
	return out
}

// keywordQDEncoder adds EncodeQuery / EncodeDocument and a similarity name to keywordEncoder.
type keywordQDEncoder struct{ keywordEncoder }

func (k keywordQDEncoder) EncodeQuery(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	k.record("query", texts, opts)
	return k.embed(texts), nil
}

func (k keywordQDEncoder) EncodeDocument(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	k.record("document", texts, opts)
	return k.embed(texts), nil
}

func (k keywordQDEncoder) SimilarityFnName() string { return k.similarity }

// mapEncoder returns fixed embeddings per text; unknown texts are an error.
type mapEncoder map[string][]float32

func (m mapEncoder) Encode(texts []string, _ *model.EncodeOptions) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, ok := m[t]
		if !ok {
			return nil, fmt.Errorf("mapEncoder: unknown text %q", t)
		}
		out[i] = v
	}
	return out, nil
}

// stTestData is the data of sentence-transformers' evaluator test (fixture test_data).
func stTestData() (queries, corpus map[string]string, relevant map[string]map[string]bool) {
	queries = map[string]string{
		"0": "What is a pokemon?", "1": "What is a vegetable?", "2": "What is a fruit?",
		"3": "What is a vehicle?", "4": "What is a car?",
	}
	corpus = map[string]string{
		"0": "A pokemon is a fictional creature", "1": "A vegetable is a plant", "2": "A fruit is a plant",
		"3": "A vehicle is a machine", "4": "A car is a vehicle",
	}
	relevant = map[string]map[string]bool{
		"0": {"0": true}, "1": {"1": true}, "2": {"2": true}, "3": {"3": true, "4": true}, "4": {"4": true},
	}
	return queries, corpus, relevant
}

// set builds a relevance set.
func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// approxEqual compares floats with an absolute tolerance.
func approxEqual(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
