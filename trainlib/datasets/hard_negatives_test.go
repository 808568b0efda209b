package datasets_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
)

// recorder encodes with a model and remembers every text's embedding, per side.
type recorder struct {
	m              *model.SentenceTransformer
	mu             sync.Mutex
	query, doc     map[string][]float32
	queryN, docN   []string
	encodedQueries int
}

func newRecorder(m *model.SentenceTransformer) *recorder {
	return &recorder{m: m, query: map[string][]float32{}, doc: map[string][]float32{}}
}

func (r *recorder) Encode(texts []string, o *model.EncodeOptions) ([][]float32, error) {
	return r.m.Encode(texts, o)
}
func (r *recorder) SimilarityFnName() string { return r.m.SimilarityFn }
func (r *recorder) EncodeQuery(texts []string, o *model.EncodeOptions) ([][]float32, error) {
	return r.record(r.m.EncodeQuery, r.query, &r.queryN, texts, o)
}
func (r *recorder) EncodeDocument(texts []string, o *model.EncodeOptions) ([][]float32, error) {
	return r.record(r.m.EncodeDocument, r.doc, &r.docN, texts, o)
}
func (r *recorder) record(enc func([]string, *model.EncodeOptions) ([][]float32, error), into map[string][]float32,
	order *[]string, texts []string, o *model.EncodeOptions) ([][]float32, error) {
	emb, err := enc(texts, o)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range texts {
		if _, ok := into[t]; !ok && err == nil {
			into[t] = emb[i]
			*order = append(*order, t)
		}
	}
	return emb, err
}

// squadPairs returns (question, context) rows of the first SQuAD dev articles, plus a few anchors
// with two positives and a duplicated row, so every path of the miner is exercised.
func squadPairs(t *testing.T, n int) *datasets.Dataset {
	t.Helper()
	d, err := datasets.ReadSQuAD(testutil.SharedData(t, "squad-v1.1/dev-v1.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	qs, _ := d.Column("question")
	cs, _ := d.Column("context")
	var q, c []string
	for i := range n {
		q, c = append(q, qs.Str(i)), append(c, cs.Str(i))
	}
	if n > 0 {
		// Anchors with a second positive (the context of a question further away), and one duplicate row.
		for i := range 5 {
			q, c = append(q, qs.Str(3*i)), append(c, cs.Str(n+40*i))
		}
		q, c = append(q, q[0]), append(c, c[0])
	} else { // four questions on two contexts
		for _, i := range []int{0, 1, 5, 6} {
			q, c = append(q, qs.Str(i)), append(c, cs.Str(i))
		}
	}
	pairs, err := datasets.FromColumns(datasets.Col("query", q), datasets.Col("answer", c))
	if err != nil {
		t.Fatal(err)
	}
	return pairs
}

type mineResult struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	Log     string   `json:"log"`
}

type mineCase struct {
	name string
	seed int64
	opts datasets.MineOptions
}

// pyOptions spells a case's options as mine_hard_negatives' keyword arguments.
func pyOptions(o datasets.MineOptions) map[string]any {
	m := map[string]any{}
	if o.RangeMin != 0 {
		m["range_min"] = o.RangeMin
	}
	if o.RangeMax != 0 {
		m["range_max"] = o.RangeMax
	}
	for k, v := range map[string]*float64{"max_score": o.MaxScore, "min_score": o.MinScore, "absolute_margin": o.AbsoluteMargin, "relative_margin": o.RelativeMargin} {
		if v != nil {
			m[k] = *v
		}
	}
	if o.NumNegatives != 0 {
		m["num_negatives"] = o.NumNegatives
	}
	if o.SamplingStrategy != "" {
		m["sampling_strategy"] = string(o.SamplingStrategy)
	}
	if o.OutputFormat != "" {
		m["output_format"] = string(o.OutputFormat)
	}
	m["output_scores"] = o.OutputScores
	m["include_positives"] = o.IncludePositives
	return m
}

// TestMineHardNegativesMatchesSentenceTransformers mines with our miner and with sentence-transformers'
// mine_hard_negatives on identical embeddings (Python's encode returns ours), for every output format,
// both sampling strategies (random with Python's random seeded as ours), margins, score bounds, range
// windows, include_positives and a separate corpus: the datasets must be identical, row for row.
func TestMineHardNegativesMatchesSentenceTransformers(t *testing.T) {
	m := tinyMineModel(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	pairs := squadPairs(t, 120)
	extra := []string{"An unrelated passage about the weather in Paris.", "Another passage, about rivers and mountains.",
		"The capital of a country is usually its largest city, but not always."}
	cases := []mineCase{
		{name: "defaults"},
		{name: "n-tuple scores window", opts: datasets.MineOptions{OutputFormat: datasets.OutputNTuple, NumNegatives: 5, RangeMin: 2, RangeMax: 20, OutputScores: true}},
		{name: "labeled-pair absolute margin", opts: datasets.MineOptions{OutputFormat: datasets.OutputLabeledPair, AbsoluteMargin: datasets.Ptr(0.0)}},
		{name: "labeled-pair scores", opts: datasets.MineOptions{OutputFormat: datasets.OutputLabeledPair, OutputScores: true, NumNegatives: 2}},
		{name: "labeled-list relative margin max score", opts: datasets.MineOptions{OutputFormat: datasets.OutputLabeledList, RelativeMargin: datasets.Ptr(0.05), MaxScore: datasets.Ptr(0.9), OutputScores: true}},
		{name: "labeled-list labels", opts: datasets.MineOptions{OutputFormat: datasets.OutputLabeledList, NumNegatives: 4, MinScore: datasets.Ptr(0.2)}},
		{name: "random n-tuple", seed: 12, opts: datasets.MineOptions{SamplingStrategy: datasets.SamplingRandom, OutputFormat: datasets.OutputNTuple, RangeMax: 30, NumNegatives: 4}},
		{name: "random triplet min score", seed: 7, opts: datasets.MineOptions{SamplingStrategy: datasets.SamplingRandom, MinScore: datasets.Ptr(0.5), RangeMin: 3, NumNegatives: 3, OutputScores: true}},
		{name: "random big window", seed: 3, opts: datasets.MineOptions{SamplingStrategy: datasets.SamplingRandom, RangeMax: 100, NumNegatives: 10, RelativeMargin: datasets.Ptr(0.1)}},
		{name: "include positives", opts: datasets.MineOptions{IncludePositives: true, OutputFormat: datasets.OutputNTuple, NumNegatives: 4}},
		{name: "triplet scores margin", opts: datasets.MineOptions{AbsoluteMargin: datasets.Ptr(0.02), OutputScores: true, NumNegatives: 2}},
	}
	small := squadPairs(t, 0).Head(4) // 4 anchors, 2 documents: too few candidates for 3 negatives
	type run struct {
		name   string
		pairs  *datasets.Dataset
		corpus []string
		cases  []mineCase
		rec    *recorder
		got    []*datasets.Dataset
		rep    []*datasets.MiningReport
	}
	runs := []*run{{name: "pairs", pairs: pairs, cases: cases}, {name: "pairs+corpus", pairs: pairs, corpus: extra, cases: cases},
		{name: "too small", pairs: small, cases: []mineCase{{name: "too small"}, {name: "too small n-tuple", opts: datasets.MineOptions{OutputFormat: datasets.OutputNTuple}}}}}
	var requests []map[string]any
	for _, r := range runs {
		r.rec = newRecorder(m)
		for _, c := range r.cases {
			o := c.opts
			o.Corpus, o.Seed, o.NoCache = r.corpus, c.seed, true
			d, rep, err := datasets.MineHardNegatives(r.pairs, r.rec, o)
			if err != nil {
				t.Fatalf("%s, %s: %v", r.name, c.name, err)
			}
			r.got, r.rep = append(r.got, d), append(r.rep, rep)
		}
		requests = append(requests, referenceRequest(dir, r.pairs, r.corpus, r.cases, r.rec))
	}
	var want mineReference
	testutil.PythonJSON(t, "tests/reference/mine_reference.py", map[string]any{"requests": requests}, &want)
	for i, r := range runs {
		for j, c := range r.cases {
			name := r.name + ", " + c.name
			compareMined(t, name, r.got[j], want.Responses[i].Results[j])
			compareReport(t, name, r.rep[j], want.Responses[i].Results[j].Log)
		}
	}
	// The too-small corpus: the report says how many anchors went without negatives.
	rep := runs[2].rep[0]
	if rep.MissingSamples() <= 0 || rep.QueriesShort != 4 || !strings.Contains(rep.Warning(), "4 of 4 anchors found fewer than 3 negatives") {
		t.Errorf("too small corpus: missing %d, short %d, warning %q", rep.MissingSamples(), rep.QueriesShort, rep.Warning())
	}
	if nt := runs[2].rep[1]; nt.QueriesDropped != 4 || runs[2].got[1].Len() != 0 || !strings.Contains(nt.Warning(), "4 were dropped from the n-tuple dataset") {
		t.Errorf("too small corpus, n-tuple: dropped %d, rows %d, warning %q", nt.QueriesDropped, runs[2].got[1].Len(), nt.Warning())
	}
	if !slices.Equal(want.Literals["sampling_strategy"], enumStrings(datasets.SamplingStrategyValues())) ||
		!slices.Equal(want.Literals["output_format"], enumStrings(datasets.OutputFormatValues())) {
		t.Errorf("sentence-transformers accepts %v, we %v / %v", want.Literals, datasets.SamplingStrategyValues(), datasets.OutputFormatValues())
	}
}

func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

type mineReference struct {
	Responses []struct {
		Results []mineResult `json:"results"`
	} `json:"responses"`
	Literals map[string][]string `json:"literals"`
}

// referenceRequest is one request of tests/reference/mine_reference.py, with the recorded embeddings.
func referenceRequest(dir string, pairs *datasets.Dataset, corpus []string, cases []mineCase, rec *recorder) map[string]any {
	var rows [][]string
	for _, r := range pairs.All() {
		rows = append(rows, []string{r["query"].(string), r["answer"].(string)})
	}
	vecs := func(texts []string, table map[string][]float32) [][]float32 {
		out := make([][]float32, len(texts))
		for i, s := range texts {
			out[i] = table[s]
		}
		return out
	}
	var pyCases []map[string]any
	for _, c := range cases {
		pyCases = append(pyCases, map[string]any{"seed": c.seed, "options": pyOptions(c.opts)})
	}
	req := map[string]any{"model": dir, "columns": pairs.Columns(), "rows": rows, "cases": pyCases,
		"embeddings": map[string]any{"query_texts": rec.queryN, "queries": vecs(rec.queryN, rec.query),
			"corpus_texts": rec.docN, "corpus": vecs(rec.docN, rec.doc)}}
	if corpus != nil {
		req["corpus"] = corpus
	}
	return req
}

// compareMined checks columns and rows: texts and labels exactly, scores to 1e-5.
func compareMined(t *testing.T, name string, got *datasets.Dataset, want mineResult) {
	t.Helper()
	if !slices.Equal(got.Columns(), want.Columns) {
		t.Errorf("%s: columns %v, sentence-transformers %v", name, got.Columns(), want.Columns)
		return
	}
	if got.Len() != len(want.Rows) {
		t.Errorf("%s: %d rows, sentence-transformers %d", name, got.Len(), len(want.Rows))
	}
	bad := 0
	for i, row := range got.All() {
		if i >= len(want.Rows) || bad > 3 {
			break
		}
		for j, c := range want.Columns {
			g, _ := json.Marshal(row[c])
			w, _ := json.Marshal(want.Rows[i][j])
			if string(g) == string(w) || testutil.JSONClose(g, w, 1e-5) {
				continue
			}
			bad++
			t.Errorf("%s: row %d column %q:\n got %.300s\nwant %.300s", name, i, c, g, w)
		}
	}
}

// compareReport checks our report against sentence-transformers' printed statistics: the same lines,
// numbers to 2e-4 (they are printed with 4 decimals).
func compareReport(t *testing.T, name string, r *datasets.MiningReport, log string) {
	t.Helper()
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if strings.HasPrefix(line, "Negative candidates mined") {
			continue
		}
		want = append(want, line)
	}
	got := strings.Split(r.String(), "\n")
	if len(got) != len(want) {
		t.Errorf("%s: report\n%s\nsentence-transformers printed\n%s", name, r, strings.Join(want, "\n"))
		return
	}
	for i := range got {
		if got[i] == want[i] {
			continue
		}
		gf, wf := strings.Fields(got[i]), strings.Fields(want[i])
		same := len(gf) == len(wf)
		for j := 0; same && j < len(gf); j++ {
			if gf[j] == wf[j] {
				continue
			}
			a, errA := strconv.ParseFloat(gf[j], 64)
			b, errB := strconv.ParseFloat(wf[j], 64)
			same = errA == nil && errB == nil && math.Abs(a-b) <= 2e-4
		}
		if !same {
			t.Errorf("%s: report line %d: %q, sentence-transformers %q", name, i, got[i], want[i])
		}
	}
}

// tinyMineModel is a small random BERT on the shared bert-base-uncased tokenizer.
func tinyMineModel(t *testing.T) *model.SentenceTransformer {
	t.Helper()
	m, err := model.New(model.InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 256, MaxSeqLength: 128, Pooling: []string{"mean"},
		TokenizerDir: testutil.SharedData(t, "models/all-MiniLM-L6-v2-config"), Seed: 5}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMineHardNegativesBadInput: contradictory options and unusable data are errors naming the option
// or the row.
func TestMineHardNegativesBadInput(t *testing.T) {
	m := tinyMineModel(t)
	pairs, err := datasets.FromColumns(datasets.Col("q", []string{"a b", "c d", "e f"}), datasets.Col("p", []string{"x", "y", "z"}))
	if err != nil {
		t.Fatal(err)
	}
	withNull, _ := datasets.FromRows([]datasets.Row{{"q": "a", "p": "x"}, {"q": "b"}}, "q", "p")
	numbers, _ := datasets.FromColumns(datasets.Col("q", []string{"a"}), datasets.Col("n", []int64{1}))
	one, _ := datasets.FromColumns(datasets.Col("q", []string{"a"}))
	tests := []struct {
		name string
		d    *datasets.Dataset
		o    datasets.MineOptions
		want string
	}{
		{"range_min >= range_max", pairs, datasets.MineOptions{RangeMin: 5, RangeMax: 5}, "range_min must be smaller than range_max, got range_min=5 and range_max=5"},
		{"window too small", pairs, datasets.MineOptions{RangeMin: 2, RangeMax: 4, NumNegatives: 3}, "cannot mine 3 negatives per query: only 2 candidates remain"},
		{"negative range_min", pairs, datasets.MineOptions{RangeMin: -1}, "range_min must be non-negative"},
		{"negative num_negatives", pairs, datasets.MineOptions{NumNegatives: -2}, "num_negatives must be at least 1"},
		{"min above max", pairs, datasets.MineOptions{MinScore: datasets.Ptr(0.9), MaxScore: datasets.Ptr(0.5)}, "min_score (0.9) is larger than max_score (0.5)"},
		{"nan margin", pairs, datasets.MineOptions{RelativeMargin: datasets.Ptr(math.NaN())}, "relative_margin must be a finite number"},
		{"strategy", pairs, datasets.MineOptions{SamplingStrategy: "best"}, `sampling_strategy "best" is not valid; use one of "random", "top"`},
		{"format", pairs, datasets.MineOptions{OutputFormat: "pairs"}, `output_format "pairs" is not valid`},
		{"include_positives format", pairs, datasets.MineOptions{IncludePositives: true}, `include_positives needs output_format "n-tuple"`},
		{"unknown column", pairs, datasets.MineOptions{AnchorColumn: "question"}, `anchor_column_name "question" is not a column; the columns are ["q", "p"]`},
		{"same columns", pairs, datasets.MineOptions{AnchorColumn: "q", PositiveColumn: "q"}, "are both \"q\""},
		{"one column", one, datasets.MineOptions{}, "needs an anchor and a positive column"},
		{"null positive", withNull, datasets.MineOptions{}, `row 1: column "p" (positive_column_name) is empty`},
		{"numbers", numbers, datasets.MineOptions{}, `column "n" (positive_column_name) has type int64`},
		{"empty corpus text", pairs, datasets.MineOptions{Corpus: []string{"ok", ""}}, "corpus[1] is empty"},
		{"batch size", pairs, datasets.MineOptions{BatchSize: -1}, "batch_size must be positive"},
	}
	for _, tc := range tests {
		_, _, err := datasets.MineHardNegatives(tc.d, m, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := datasets.MineHardNegatives(pairs.Head(0), m, datasets.MineOptions{}); err == nil || !strings.Contains(err.Error(), "the dataset is empty") {
		t.Errorf("empty dataset: %v", err)
	}
}

// TestMineHardNegativesCache: a second run with the same model and texts reads every embedding from
// the cache (and gives the same dataset); changed weights or prompts encode again.
func TestMineHardNegativesCache(t *testing.T) {
	m := tinyMineModel(t)
	pairs := squadPairs(t, 40)
	dir := t.TempDir()
	o := datasets.MineOptions{CacheFolder: dir, ChunkSize: 16, OutputFormat: datasets.OutputNTuple}
	first, r1, err := datasets.MineHardNegatives(pairs, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if r1.CacheHits != 0 || r1.CacheMisses == 0 {
		t.Fatalf("first run: %d hits, %d misses", r1.CacheHits, r1.CacheMisses)
	}
	second, r2, err := datasets.MineHardNegatives(pairs, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if r2.CacheHits != r1.CacheMisses || r2.CacheMisses != 0 {
		t.Fatalf("second run: %d hits, %d misses; the first computed %d", r2.CacheHits, r2.CacheMisses, r1.CacheMisses)
	}
	a, _ := json.Marshal(first.Head(first.Len()))
	b, _ := json.Marshal(second.Head(second.Len()))
	if string(a) != string(b) {
		t.Fatal("the cached run mined a different dataset")
	}
	o.QueryPrompt = "query: "
	if _, r3, err := datasets.MineHardNegatives(pairs, m, o); err != nil || r3.CacheMisses == 0 {
		t.Fatalf("a new query prompt: %v, %d misses (want the queries encoded again)", err, r3.CacheMisses)
	}
	other := tinyMineModel(t)                                                                  // same architecture, same seed ...
	if err := other.Weights.Values[0].MutableBytes(func(b []byte) { b[0] ^= 1 }); err != nil { // ... one bit changed
		t.Fatal(err)
	}
	if _, r4, err := datasets.MineHardNegatives(pairs, other, o); err != nil || r4.CacheHits != 0 {
		t.Fatalf("changed weights: %v, %d hits (want none)", err, r4.CacheHits)
	}
}
