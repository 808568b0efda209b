package evaluation

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
)

// countingEncoder counts the texts a model encodes.
type countingEncoder struct {
	*model.SentenceTransformer
	texts int
}

func (c *countingEncoder) Encode(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	c.texts += len(texts)
	return c.SentenceTransformer.Encode(texts, opts)
}

func (c *countingEncoder) EncodeQuery(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	c.texts += len(texts)
	return c.SentenceTransformer.EncodeQuery(texts, opts)
}

func (c *countingEncoder) EncodeDocument(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	c.texts += len(texts)
	return c.SentenceTransformer.EncodeDocument(texts, opts)
}

// matryoshkaData is a small retrieval set from synthetic (question, context) pairs.
func matryoshkaData() (queries, corpus map[string]string, relevant map[string]map[string]bool) {
	queries, corpus, relevant = map[string]string{}, map[string]string{}, map[string]map[string]bool{}
	for i, p := range synth.Pairs(40, 2, 21) {
		q, c := fmt.Sprintf("q%d", i), fmt.Sprintf("c%d", i)
		queries[q], corpus[c] = p.Question, p.Context
		relevant[q] = map[string]bool{c: true}
	}
	return queries, corpus, relevant
}

// TestMatryoshkaEvaluatorMatchesSeparateEvaluators checks, on a model, that the metrics of every
// dimension equal those of a separate InformationRetrievalEvaluator with that truncate_dim (value
// for value), and that every text is encoded once.
func TestMatryoshkaEvaluatorMatchesSeparateEvaluators(t *testing.T) {
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	queries, corpus, relevant := matryoshkaData()
	dims := []int{32, 16, 8}
	ev, err := NewMatryoshkaEvaluator(queries, corpus, relevant, dims, IROptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingEncoder{SentenceTransformer: m}
	got, err := ev.Evaluate(context.Background(), counter)
	if err != nil {
		t.Fatal(err)
	}
	if counter.texts != len(queries)+len(corpus) {
		t.Errorf("encoded %d texts for %d queries and %d documents: not once each", counter.texts, len(queries), len(corpus))
	}
	n := 1
	for _, d := range dims {
		sep, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{Name: fmt.Sprintf("dim_%d", d), TruncateDim: d})
		if err != nil {
			t.Fatal(err)
		}
		want, err := sep.Evaluate(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, separate evaluator %v", k, got[k], v)
			}
		}
		n += len(want)
	}
	if len(got) != n {
		t.Errorf("%d metrics, want %d (the separate evaluators' and sequential_score)", len(got), n)
	}
}

// TestMatryoshkaEvaluatorMatchesSentenceTransformers checks keys, values and the primary metric
// against sentence-transformers' recipe (an InformationRetrievalEvaluator per dimension with
// truncate_dim, in a SequentialEvaluator) on the same embeddings, given to both sides by a model
// that looks each text's embedding up.
func TestMatryoshkaEvaluatorMatchesSentenceTransformers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const dim = 16
	emb := map[string][]float32{}
	queries, corpus, relevant := map[string]string{}, map[string]string{}, map[string]map[string]bool{}
	for i := range 60 {
		c := fmt.Sprintf("doc %d", i)
		corpus[fmt.Sprintf("c%d", i)] = c
		emb[c] = randomVector(r, dim)
	}
	rel := map[string][]string{}
	for i := range 30 {
		q := fmt.Sprintf("query %d", i)
		queries[fmt.Sprintf("q%d", i)] = q
		target := emb[corpus[fmt.Sprintf("c%d", 2*i)]]
		v := randomVector(r, dim)
		for j := range v {
			v[j] = target[j] + 0.8*v[j]
		}
		emb[q] = v
		ids := []string{fmt.Sprintf("c%d", 2*i)}
		if i%3 == 0 {
			ids = append(ids, fmt.Sprintf("c%d", 2*i+1))
		}
		rel[fmt.Sprintf("q%d", i)] = ids
		relevant[fmt.Sprintf("q%d", i)] = map[string]bool{}
		for _, id := range ids {
			relevant[fmt.Sprintf("q%d", i)][id] = true
		}
	}
	dims := []int{16, 8, 4}
	ev, err := NewMatryoshkaEvaluator(queries, corpus, relevant, dims, IROptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ev.Evaluate(context.Background(), lookupEncoder(emb))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Metrics map[string]float64 `json:"metrics"`
		Primary string             `json:"primary_metric"`
	}
	testutil.PythonJSON(t, "tests/reference/matryoshka_eval_reference.py",
		map[string]any{"embeddings": emb, "queries": queries, "corpus": corpus, "relevant_docs": rel, "dims": dims}, &ref)
	if ev.PrimaryMetric() != ref.Primary {
		t.Errorf("primary metric %q, sentence-transformers %q", ev.PrimaryMetric(), ref.Primary)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(ref.Metrics))) {
		t.Fatalf("keys differ:\nours   %v\nPython %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(ref.Metrics)))
	}
	for k, want := range ref.Metrics {
		if math.Abs(got[k]-want) > 1e-6 {
			t.Errorf("%s = %.7f, sentence-transformers %.7f", k, got[k], want)
		}
	}
	if got["dim_16_cosine_ndcg@10"] == got["dim_4_cosine_ndcg@10"] {
		t.Errorf("truncation changes nothing: ndcg@10 %v at 16 and 4 dimensions", got["dim_4_cosine_ndcg@10"])
	}
	t.Logf("%d metrics equal sentence-transformers' (cosine_ndcg@10 at 16/8/4 dimensions: %.4f %.4f %.4f; sequential_score %.4f)",
		len(got), got["dim_16_cosine_ndcg@10"], got["dim_8_cosine_ndcg@10"], got["dim_4_cosine_ndcg@10"], got[SequentialScoreKey])
}

// lookupEncoder embeds each text with its given embedding.
type lookupEncoder map[string][]float32

func (l lookupEncoder) Encode(texts []string, _ *model.EncodeOptions) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, ok := l[t]
		if !ok {
			return nil, fmt.Errorf("no embedding for %q", t)
		}
		out[i] = v
	}
	return out, nil
}

func randomVector(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestMatryoshkaEvaluatorErrors checks bad dimensions, a TruncateDim and a model smaller than a
// dimension.
func TestMatryoshkaEvaluatorErrors(t *testing.T) {
	queries, corpus, relevant := matryoshkaData()
	for _, c := range []struct {
		dims []int
		opts IROptions
		want string
	}{
		{nil, IROptions{}, "no dimensions"},
		{[]int{32, 0}, IROptions{}, "dimensions must be positive, got 0"},
		{[]int{32, 16, 32}, IROptions{}, "dimension 32 is listed twice"},
		{[]int{32, 16}, IROptions{TruncateDim: 8}, "TruncateDim (8) must be 0"},
	} {
		if _, err := NewMatryoshkaEvaluator(queries, corpus, relevant, c.dims, c.opts, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %+v: error %v, want %q", c.dims, c.opts, err, c.want)
		}
	}
	ev, err := NewMatryoshkaEvaluator(queries, corpus, relevant, []int{64, 32}, IROptions{Name: "dev"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := []string{ev.Evaluators()[0].Name(), ev.Evaluators()[1].Name()}; names[0] != "dev_dim_64" || names[1] != "dev_dim_32" {
		t.Errorf("names %v", names)
	}
	_, err = ev.Evaluate(context.Background(), keywordEncoder{})
	if err == nil || !strings.Contains(err.Error(), "embeddings have 5 dimensions, fewer than the evaluated dimension 64") {
		t.Errorf("a 5-dimensional model at dimension 64: %v", err)
	}
}
