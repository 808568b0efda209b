package evaluation

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// parityFile is the JSON written by tests/reference/eval_parity.py.
type parityFile struct {
	SentenceTransformers string       `json:"sentence_transformers"`
	Cases                []parityCase `json:"cases"`
}

type parityCase struct {
	Title        string               `json:"title"`
	Options      parityOptions        `json:"options"`
	Queries      map[string][]float32 `json:"queries"`
	Corpus       map[string][]float32 `json:"corpus"`
	RelevantDocs map[string][]string  `json:"relevant_docs"`
	Expected     *parityExpected      `json:"expected,omitempty"`
}

type parityOptions struct {
	Name               string   `json:"name,omitempty"`
	AccuracyAtK        []int    `json:"accuracy_at_k,omitempty"`
	PrecisionRecallAtK []int    `json:"precision_recall_at_k,omitempty"`
	MRRAtK             []int    `json:"mrr_at_k,omitempty"`
	NDCGAtK            []int    `json:"ndcg_at_k,omitempty"`
	MAPAtK             []int    `json:"map_at_k,omitempty"`
	ScoreFunctions     []string `json:"score_functions,omitempty"`
	MainScoreFunction  string   `json:"main_score_function,omitempty"`
	ModelSimilarity    string   `json:"model_similarity,omitempty"`
	CorpusChunkSize    int      `json:"corpus_chunk_size,omitempty"`
	TruncateDim        int      `json:"truncate_dim,omitempty"`
	UnknownIDs         string   `json:"unknown_ids,omitempty"`
}

type parityExpected struct {
	Metrics       map[string]float64 `json:"metrics"`
	PrimaryMetric string             `json:"primary_metric"`
	CSV           string             `json:"csv"`
	Predictions   map[string][]struct {
		QueryID string      `json:"query_id"`
		Results []RankedDoc `json:"results"`
	} `json:"predictions"`
}

// irOptions maps the case's sentence-transformers arguments to IROptions.
func (c *parityCase) irOptions(t *testing.T) IROptions {
	t.Helper()
	o := IROptions{
		Name: c.Options.Name,
		KValues: KValues{AccuracyAtK: c.Options.AccuracyAtK, PrecisionRecallAtK: c.Options.PrecisionRecallAtK,
			MRRAtK: c.Options.MRRAtK, NDCGAtK: c.Options.NDCGAtK, MAPAtK: c.Options.MAPAtK},
		CorpusChunkSize: c.Options.CorpusChunkSize,
		TruncateDim:     c.Options.TruncateDim,
		// Small search chunks so that padding, chunk merging and ties across chunks are exercised.
		Search: SearchOptions{QueryChunkSize: 8, CorpusChunkSize: 32},
	}
	fns := c.Options.ScoreFunctions
	if len(fns) == 0 {
		fns = []string{"cosine"}
		if c.Options.ModelSimilarity != "" {
			fns = []string{c.Options.ModelSimilarity}
		}
	}
	for _, f := range fns {
		fn, err := ParseScoreFunction(f)
		if err != nil {
			t.Fatal(err)
		}
		o.ScoreFunctions = append(o.ScoreFunctions, fn)
	}
	o.MainScoreFunction = ScoreFunction(c.Options.MainScoreFunction)
	if c.Options.UnknownIDs != "" {
		p, err := ParseUnknownIDPolicy(c.Options.UnknownIDs)
		if err != nil {
			t.Fatal(err)
		}
		o.UnknownIDs = p
	}
	return o
}

func (c *parityCase) relevant() map[string]map[string]bool {
	rel := map[string]map[string]bool{}
	for q, docs := range c.RelevantDocs {
		rel[q] = set(docs...)
	}
	return rel
}

// checkParity evaluates the case in Go and compares with sentence-transformers' results: the same
// metric keys and values (1e-12), primary metric, CSV text (to the last digit), and top-20 rankings
// (see compareRankings).
func checkParity(t *testing.T, c *parityCase) {
	t.Helper()
	opts := c.irOptions(t)
	dir := t.TempDir()
	ctx := WithRunInfo(context.Background(), RunInfo{OutputPath: dir, Epoch: -1, Steps: -1})
	r, err := EvaluateEmbeddings(ctx, c.Queries, c.Corpus, c.relevant(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Expected
	if len(r.Metrics) != len(want.Metrics) {
		t.Errorf("%d metrics %v, sentence-transformers has %d", len(r.Metrics), r.Keys(), len(want.Metrics))
	}
	for k, w := range want.Metrics {
		g, ok := r.Metrics[k]
		if !ok || !approxEqual(g, w, 1e-12) {
			t.Errorf("%s = %v (present %v), sentence-transformers %v", k, g, ok, w)
		}
	}
	if r.PrimaryMetric != want.PrimaryMetric {
		t.Errorf("primary metric %q, sentence-transformers %q", r.PrimaryMetric, want.PrimaryMetric)
	}
	csv, err := os.ReadFile(filepath.Join(dir, r.CSVFileName()))
	if err != nil {
		t.Fatal(err)
	}
	if string(csv) != want.CSV {
		t.Errorf("CSV differs:\n%s\nsentence-transformers:\n%s", csv, want.CSV)
	}
	for fn, preds := range want.Predictions {
		rankings := r.Rankings[ScoreFunction(fn)]
		if len(preds) != len(r.QueryIDs) {
			t.Errorf("%s: %d queries, sentence-transformers %d", fn, len(r.QueryIDs), len(preds))
			continue
		}
		for qi, p := range preds {
			if p.QueryID != r.QueryIDs[qi] {
				t.Fatalf("%s: query %d is %q, sentence-transformers %q", fn, qi, r.QueryIDs[qi], p.QueryID)
			}
			got := rankings[qi][:min(len(rankings[qi]), len(p.Results))]
			if msg := compareRankings(got, p.Results); msg != "" {
				t.Errorf("%s query %q: %s", fn, p.QueryID, msg)
			}
		}
	}
}

// scoreTol is how far a float32 score may be from sentence-transformers' own: 1e-6 relative (absolute
// below 1). Dot products summed in another order (torch's kernel vs ours, AVX2 vs AVX-512 lanes) differ
// in their last bits, a few ulps, and an ulp grows with the score (4.8e-7 at 7.5).
func scoreTol(want float32) float64 { return 1e-6 * max(1, math.Abs(float64(want))) }

// compareRankings checks a ranking against sentence-transformers': the same ids in the same order,
// scores within scoreTol. Because of those last bits, two neighbours whose reference scores differ by
// less than scoreTol (but are not exactly equal) may come in the other order; exactly equal reference
// scores are ties and must be ordered by id.
func compareRankings(got, want []RankedDoc) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d hits, sentence-transformers %d", len(got), len(want))
	}
	refScore := map[string]float32{}
	for _, d := range want {
		refScore[d.CorpusID] = d.Score
	}
	for j := range got {
		if math.Abs(float64(got[j].Score-want[j].Score)) > scoreTol(want[j].Score) {
			return fmt.Sprintf("hit %d score %v (%s), sentence-transformers %v (%s)", j, got[j].Score, got[j].CorpusID, want[j].Score, want[j].CorpusID)
		}
		if got[j].CorpusID == want[j].CorpusID {
			continue
		}
		ref, ok := refScore[got[j].CorpusID]
		if !ok {
			ref = got[j].Score // cut off by the 20-hit depth of the reference
		}
		if ref == want[j].Score || math.Abs(float64(ref-want[j].Score)) > scoreTol(want[j].Score) {
			return fmt.Sprintf("hit %d is %s (score %v), sentence-transformers %s (score %v)", j, got[j].CorpusID, got[j].Score, want[j].CorpusID, want[j].Score)
		}
	}
	return ""
}

// TestParityFixture compares with sentence-transformers' InformationRetrievalEvaluator results stored
// in testdata/st_ir_parity.json by tests/reference/eval_parity.py (random Gaussian cases, integer embeddings
// with many exact ties, several score functions and k lists, truncate_dim, relevant ids missing from
// the corpus, k beyond the corpus, and the data of sentence-transformers' own evaluator test).
func TestParityFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "st_ir_parity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f parityFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 5 || !strings.HasPrefix(f.SentenceTransformers, "6.") {
		t.Fatalf("fixture has %d cases from sentence-transformers %q", len(f.Cases), f.SentenceTransformers)
	}
	for i := range f.Cases {
		t.Run(f.Cases[i].Title, func(t *testing.T) { checkParity(t, &f.Cases[i]) })
	}
}

// TestParityLive runs tests/reference/eval_parity.py (sentence-transformers itself) on fresh random cases and,
// when ../shared/data has it, on BEIR SciFact embedded by the hashing embedder, and compares. It
// needs the Python reference environment (skipped otherwise, see testutil.Python).
func TestParityLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the live Python parity run")
	}
	testutil.Python(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "cases.json")
	args := []string{"--seed", "7", "--out", out}
	scifact := filepath.Join(filepath.Dir(testutil.RepoRoot(t)), "shared", "data", "beir-scifact")
	if _, err := os.Stat(scifact); err == nil {
		queries, corpus, rel := readSciFact(t, scifact)
		c := sciFactCase(queries, corpus, rel, hashingEncoder{dim: sciFactDim})
		b, err := json.Marshal(map[string]any{"cases": []*parityCase{c}})
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(tmp, "given.json")
		if err := os.WriteFile(in, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--input", in)
	} else {
		t.Logf("no SciFact parity case: %v", err)
	}
	testutil.RunPython(t, "tests/reference/eval_parity.py", args...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var f parityFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for i := range f.Cases {
		t.Run(f.Cases[i].Title, func(t *testing.T) { checkParity(t, &f.Cases[i]) })
	}
}
