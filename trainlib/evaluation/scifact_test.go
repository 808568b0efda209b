package evaluation

import (
	"bufio"
	"context"
	"encoding/json"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
)

// sciFactDim is the dimension of the hashing embeddings used on SciFact.
const sciFactDim = 384

// hashingEncoder is a deterministic bag-of-words embedder for tests (real weights are another
// issue): each lower-cased alphanumeric token adds ±1 at position hash(token) mod dim.
type hashingEncoder struct{ dim int }

func (h hashingEncoder) Encode(texts []string, _ *model.EncodeOptions) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, h.dim)
		for _, tok := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			f := fnv.New32a()
			f.Write([]byte(tok))
			x := f.Sum32()
			sign := float32(1)
			if x&(1<<31) != 0 {
				sign = -1
			}
			v[int(x%uint32(h.dim))] += sign
		}
		out[i] = v
	}
	return out, nil
}

// readSciFact reads BEIR SciFact's corpus (title + " " + text, trimmed, as in MTEB), queries and
// test qrels (score > 0 is relevant).
func readSciFact(t *testing.T, dir string) (queries, corpus map[string]string, rel map[string]map[string]bool) {
	t.Helper()
	readJSONL := func(name string, fn func(id, title, text string)) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var rec struct{ ID, Title, Text string }
			var raw map[string]any
			if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			rec.ID, _ = raw["_id"].(string)
			rec.Title, _ = raw["title"].(string)
			rec.Text, _ = raw["text"].(string)
			fn(rec.ID, rec.Title, rec.Text)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	corpus, queries, rel = map[string]string{}, map[string]string{}, map[string]map[string]bool{}
	readJSONL("corpus.jsonl", func(id, title, text string) { corpus[id] = strings.TrimSpace(title + " " + text) })
	readJSONL("queries.jsonl", func(id, _, text string) { queries[id] = text })
	b, err := os.ReadFile(filepath.Join(dir, "qrels", "test.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) != 3 || f[2] == "0" {
			continue
		}
		if rel[f[0]] == nil {
			rel[f[0]] = map[string]bool{}
		}
		rel[f[0]][f[1]] = true
	}
	return queries, corpus, rel
}

// TestSciFact runs the evaluator on BEIR SciFact (5,183 documents, 300 test queries) with the
// hashing embedder: it must complete and report all 15 default metrics, the same through the model
// and from precomputed embeddings. TestParityLive runs sentence-transformers on the same embeddings.
func TestSciFact(t *testing.T) {
	dir := testutil.SharedData(t, "beir-scifact")
	queries, corpus, rel := readSciFact(t, dir)
	enc := hashingEncoder{dim: sciFactDim}
	ev, err := NewInformationRetrievalEvaluator(queries, corpus, rel, IROptions{Name: "scifact-test"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.NumQueries() != 300 || ev.NumCorpus() != 5183 {
		t.Fatalf("%d queries, %d documents; want 300 and 5183", ev.NumQueries(), ev.NumCorpus())
	}
	start := time.Now()
	r, err := ev.Run(context.Background(), enc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SciFact with a 384-d hashing bag of words (%v): %s", time.Since(start).Round(time.Millisecond), fmtMetrics(r))
	if len(r.Metrics) != 15 || r.PrimaryMetric != "scifact-test_cosine_ndcg@10" {
		t.Errorf("metrics %v primary %q", r.Keys(), r.PrimaryMetric)
	}
	for k, v := range r.Metrics {
		if !(v >= 0 && v <= 1) {
			t.Errorf("%s = %v out of [0, 1]", k, v)
		}
	}
	// Lexical overlap retrieves SciFact's claims' evidence far better than chance (~0.002 NDCG@10).
	if v := r.Metrics["scifact-test_cosine_ndcg@10"]; v < 0.2 {
		t.Errorf("NDCG@10 = %v: bag-of-words retrieval should reach well above 0.2", v)
	}

	// The precomputed-embeddings path gives the same metrics from the same embeddings.
	c := sciFactCase(queries, corpus, rel, enc)
	byo, err := EvaluateEmbeddings(context.Background(), c.Queries, c.Corpus, c.relevant(), IROptions{Name: "scifact-test"})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Metrics {
		if byo.Metrics[k] != v {
			t.Errorf("%s: %v from the model, %v from precomputed embeddings", k, v, byo.Metrics[k])
		}
	}
}

// sciFactCase is the SciFact evaluation with the hashing embedder as a parity case
// (tests/reference/eval_parity.py runs sentence-transformers on it in TestParityLive).
func sciFactCase(queries, corpus map[string]string, rel map[string]map[string]bool, enc hashingEncoder) *parityCase {
	c := &parityCase{Title: "BEIR SciFact test split, 384-d hashing bag of words", Options: parityOptions{Name: "scifact-test"},
		Queries: map[string][]float32{}, Corpus: map[string][]float32{}, RelevantDocs: map[string][]string{}}
	for q, text := range queries {
		if len(rel[q]) > 0 {
			emb, _ := enc.Encode([]string{text}, nil)
			c.Queries[q] = emb[0]
		}
	}
	for id, text := range corpus {
		emb, _ := enc.Encode([]string{text}, nil)
		c.Corpus[id] = emb[0]
	}
	for q, docs := range rel {
		for d := range docs {
			c.RelevantDocs[q] = append(c.RelevantDocs[q], d)
		}
	}
	return c
}

func fmtMetrics(r *IRResult) string {
	var parts []string
	for _, k := range r.Keys() {
		parts = append(parts, strings.TrimPrefix(k, metricPrefix(r.Name))+"="+pyFloat(r.Metrics[k])[:min(6, len(pyFloat(r.Metrics[k])))])
	}
	return strings.Join(parts, " ")
}
