package evaluation

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSentenceTransformersExpectations reproduces test_metrices of sentence-transformers'
// tests/evaluation/test_information_retrieval_evaluator.py: same data, same one-hot keyword model,
// same options, same expected values (precision@3 = 0.4 because 6 of 15 retrieved documents are
// relevant; recall@1 = 0.9, the mean of four 1s and one 0.5), and the key set of test_simple.
func TestSentenceTransformersExpectations(t *testing.T) {
	queries, corpus, relevant := stTestData()
	ev, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{
		Name: "test",
		KValues: KValues{
			AccuracyAtK: []int{1, 3}, PrecisionRecallAtK: []int{1, 3}, MRRAtK: []int{3}, NDCGAtK: []int{3}, MAPAtK: []int{5},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx := WithRunInfo(context.Background(), RunInfo{OutputPath: out, Epoch: -1, Steps: -1})
	got, err := ev.Evaluate(ctx, keywordEncoder{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"test_cosine_accuracy@1":  1.0,
		"test_cosine_accuracy@3":  1.0,
		"test_cosine_precision@1": 1.0,
		"test_cosine_precision@3": 0.4,
		"test_cosine_recall@1":    0.9,
		"test_cosine_recall@3":    1.0,
		"test_cosine_ndcg@3":      1.0,
		"test_cosine_mrr@3":       1.0,
		"test_cosine_map@5":       1.0,
	}
	if len(got) != len(want) {
		t.Errorf("got keys %v, want exactly %v", slices.Sorted(mapsKeys(got)), slices.Sorted(mapsKeys(want)))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !approxEqual(g, w, 1e-9) {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	if p := ev.PrimaryMetric(); p != "test_cosine_ndcg@3" {
		t.Errorf("primary metric %q, want test_cosine_ndcg@3", p)
	}
	csv, err := os.ReadFile(filepath.Join(out, "Information-Retrieval_evaluation_test_results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := "epoch,steps,cosine-Accuracy@1,cosine-Accuracy@3,cosine-Precision@1,cosine-Recall@1,cosine-Precision@3,cosine-Recall@3,cosine-MRR@3,cosine-NDCG@3,cosine-MAP@5\n" +
		"-1,-1,1.0,1.0,1.0,0.9,0.39999999999999997,1.0,1.0,1.0,1.0\n" // np.mean([1/3, 1/3, 1/3, 2/3, 1/3]) is 0.39999999999999997
	if string(csv) != wantCSV {
		t.Errorf("CSV:\n%s\nwant:\n%s", csv, wantCSV)
	}
	if _, err := os.Stat(filepath.Join(out, "Information-Retrieval_evaluation_test_results.json")); err != nil {
		t.Errorf("JSON results not written: %v", err)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestMetricsHandComputed checks the metric definitions on small cases computed by hand, through
// EvaluateEmbeddings with 1-D dot-product embeddings (the score of a document is its value).
func TestMetricsHandComputed(t *testing.T) {
	l3, l5 := math.Log2(3), math.Log2(5)
	one := map[string][]float32{"q": {1}}
	corpus5 := map[string][]float32{"a": {5}, "b": {4}, "c": {3}, "d": {2}, "e": {1}}
	ks := KValues{AccuracyAtK: []int{1, 3}, PrecisionRecallAtK: []int{3, 10}, MRRAtK: []int{10}, NDCGAtK: []int{10}, MAPAtK: []int{2, 100}}
	tests := []struct {
		name     string
		queries  map[string][]float32
		corpus   map[string][]float32
		relevant map[string]map[string]bool
		policy   UnknownIDPolicy
		want     map[string]float64
	}{
		{
			name: "several relevant documents, k beyond the corpus", queries: one, corpus: corpus5,
			relevant: map[string]map[string]bool{"q": set("b", "d")},
			want: map[string]float64{
				"dot_accuracy@1": 0, "dot_accuracy@3": 1,
				"dot_precision@3": 1.0 / 3, "dot_recall@3": 0.5,
				"dot_precision@10": 0.2, "dot_recall@10": 1, // precision divides by k even with 5 documents
				"dot_mrr@10":  0.5,
				"dot_ndcg@10": (1/l3 + 1/l5) / (1 + 1/l3),
				"dot_map@2":   0.25, // (1/2) / min(2, 2)
				"dot_map@100": (1.0/2 + 2.0/4) / 2,
			},
		},
		{
			name: "queries without relevant documents are not counted", queries: map[string][]float32{"q": {1}, "r": {-1}, "s": {1}},
			corpus:   corpus5,
			relevant: map[string]map[string]bool{"q": set("a"), "r": {}, "s": {"a": false}},
			want: map[string]float64{
				"dot_accuracy@1": 1, "dot_accuracy@3": 1, "dot_precision@3": 1.0 / 3, "dot_recall@3": 1,
				"dot_precision@10": 0.1, "dot_recall@10": 1, "dot_mrr@10": 1, "dot_ndcg@10": 1, "dot_map@2": 1, "dot_map@100": 1,
			},
		},
		{
			name: "ties are broken by ascending corpus id", queries: map[string][]float32{"q": {0}},
			corpus:   map[string][]float32{"z": {7}, "b": {7}, "a": {7}, "c": {7}},
			relevant: map[string]map[string]bool{"q": set("c")},
			want: map[string]float64{
				"dot_accuracy@1": 0, "dot_accuracy@3": 1, "dot_precision@3": 1.0 / 3, "dot_recall@3": 1, // order a, b, c, z
				"dot_precision@10": 0.1, "dot_recall@10": 1, "dot_mrr@10": 1.0 / 3, "dot_ndcg@10": 1 / math.Log2(4),
				"dot_map@2": 0, "dot_map@100": 1.0 / 3,
			},
		},
		{
			name: "ndcg ideal DCG is capped at k relevant documents", queries: one, corpus: corpus5,
			relevant: map[string]map[string]bool{"q": set("a", "b", "c", "d", "e")},
			want: map[string]float64{
				"dot_accuracy@1": 1, "dot_accuracy@3": 1, "dot_precision@3": 1, "dot_recall@3": 0.6,
				"dot_precision@10": 0.5, "dot_recall@10": 1, "dot_mrr@10": 1, "dot_ndcg@10": 1, "dot_map@2": 1, "dot_map@100": 1,
			},
		},
		{
			name: "unknown relevant ids kept count in |rel| (sentence-transformers)", queries: one, corpus: corpus5,
			relevant: map[string]map[string]bool{"q": set("a", "zz"), "other": set("a")}, policy: UnknownIDsKeep,
			want: map[string]float64{
				"dot_accuracy@1": 1, "dot_accuracy@3": 1, "dot_precision@3": 1.0 / 3, "dot_recall@3": 0.5,
				"dot_precision@10": 0.1, "dot_recall@10": 0.5, "dot_mrr@10": 1, "dot_ndcg@10": 1 / (1 + 1/l3),
				"dot_map@2": 0.5, "dot_map@100": 0.5,
			},
		},
		{
			name: "unknown relevant ids skipped", queries: one, corpus: corpus5,
			relevant: map[string]map[string]bool{"q": set("a", "zz"), "other": set("a")}, policy: UnknownIDsSkip,
			want: map[string]float64{
				"dot_accuracy@1": 1, "dot_accuracy@3": 1, "dot_precision@3": 1.0 / 3, "dot_recall@3": 1,
				"dot_precision@10": 0.1, "dot_recall@10": 1, "dot_mrr@10": 1, "dot_ndcg@10": 1, "dot_map@2": 1, "dot_map@100": 1,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := EvaluateEmbeddings(context.Background(), tc.queries, tc.corpus, tc.relevant,
				IROptions{KValues: ks, ScoreFunctions: []ScoreFunction{DotScore}, UnknownIDs: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Metrics) != len(tc.want) {
				t.Errorf("got %d metrics %v, want %d", len(r.Metrics), r.Keys(), len(tc.want))
			}
			for k, w := range tc.want {
				if g, ok := r.Metrics[k]; !ok || !approxEqual(g, w, 1e-12) {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
				}
			}
			if r.PrimaryMetric != "dot_ndcg@10" {
				t.Errorf("primary metric %q", r.PrimaryMetric)
			}
		})
	}
}

// TestDataCheckCounts checks the counts reported for skipped and kept unknown ids.
func TestDataCheckCounts(t *testing.T) {
	q := map[string][]float32{"q1": {1}, "q2": {1}}
	c := map[string][]float32{"a": {1}, "b": {2}}
	rel := map[string]map[string]bool{"q1": set("a", "x", "y"), "q2": set("z"), "nope": set("a", "b")}
	for _, tc := range []struct {
		policy    UnknownIDPolicy
		want      DataCheck
		wantQuery []string
	}{
		{UnknownIDsSkip, DataCheck{UnknownQueryJudgements: 2, UnknownCorpusJudgements: 3, QueriesWithoutRelevant: 1, Policy: "skip"}, []string{"q1"}},
		{UnknownIDsKeep, DataCheck{UnknownQueryJudgements: 2, UnknownCorpusJudgements: 3, QueriesWithoutRelevant: 0, Policy: "keep"}, []string{"q1", "q2"}},
	} {
		r, err := EvaluateEmbeddings(context.Background(), q, c, rel, IROptions{UnknownIDs: tc.policy})
		if err != nil {
			t.Fatal(err)
		}
		if r.Check != tc.want || !slices.Equal(r.QueryIDs, tc.wantQuery) {
			t.Errorf("%v: check %+v queries %v, want %+v %v", tc.policy, r.Check, r.QueryIDs, tc.want, tc.wantQuery)
		}
	}
}

// TestEvaluatorEncodesLikeSentenceTransformers checks what the encoder receives: queries through
// EncodeQuery and documents through EncodeDocument when implemented, with the prompts, batch size
// and truncate_dim, the corpus in chunks of CorpusChunkSize, and the model's similarity as the
// score function.
func TestEvaluatorEncodesLikeSentenceTransformers(t *testing.T) {
	queries, corpus, relevant := stTestData()
	var calls []encodeRecord
	ev, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{
		BatchSize: 7, CorpusChunkSize: 2, QueryPrompt: "query: ", CorpusPromptName: "document", TruncateDim: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev.PrimaryMetric() != "" {
		t.Errorf("primary metric before the first evaluation = %q, want \"\" (depends on the model)", ev.PrimaryMetric())
	}
	m := keywordQDEncoder{keywordEncoder{similarity: "dot", calls: &calls}}
	got, err := ev.Evaluate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["dot_ndcg@10"]; !ok || len(got) != 15 {
		t.Errorf("metrics %v: want the 15 default dot_ metrics", slices.Sorted(mapsKeys(got)))
	}
	if ev.PrimaryMetric() != "dot_ndcg@10" {
		t.Errorf("primary metric %q", ev.PrimaryMetric())
	}
	var kinds []string
	for _, c := range calls {
		kinds = append(kinds, c.kind)
		if c.opts.BatchSize != 7 || c.opts.TruncateDim != 4 {
			t.Errorf("%s call options %+v", c.kind, c.opts)
		}
		switch c.kind {
		case "query":
			if c.opts.Prompt != "query: " || c.opts.PromptName != "" {
				t.Errorf("query prompt %+v", c.opts)
			}
		case "document":
			if c.opts.Prompt != "" || c.opts.PromptName != "document" || len(c.texts) > 2 {
				t.Errorf("document call %+v", c)
			}
		}
	}
	if want := []string{"query", "document", "document", "document"}; !slices.Equal(kinds, want) {
		t.Errorf("calls %v, want %v", kinds, want)
	}
	// Encode is used when EncodeQuery / EncodeDocument are absent; cosine by default.
	calls = nil
	got, err = ev.Evaluate(context.Background(), keywordEncoder{calls: &calls})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["cosine_ndcg@10"]; !ok {
		t.Errorf("metrics %v: want cosine_ metrics", slices.Sorted(mapsKeys(got)))
	}
	if ev.PrimaryMetric() != "cosine_ndcg@10" {
		t.Errorf("primary metric after a model with another similarity: %q", ev.PrimaryMetric())
	}
	for _, c := range calls {
		if c.kind != "encode" {
			t.Errorf("call through %s, want encode", c.kind)
		}
	}
}

// TestPrimaryMetricChoice checks sentence-transformers' rule: the main score function when given,
// else the one with the best NDCG at the largest k, fixed at the first evaluation.
func TestPrimaryMetricChoice(t *testing.T) {
	// Dot favours the long vector "big"; cosine ranks "right" first: cosine wins on NDCG.
	q := map[string][]float32{"q": {1, 0}}
	c := map[string][]float32{"right": {1, 0}, "big": {3, 3}, "x": {0, 1}}
	rel := map[string]map[string]bool{"q": set("right")}
	ks := KValues{NDCGAtK: []int{1, 2}}
	for _, tc := range []struct {
		name string
		opts IROptions
		want string
	}{
		{"best ndcg wins", IROptions{Name: "v", KValues: ks, ScoreFunctions: []ScoreFunction{DotScore, Cosine}}, "v_cosine_ndcg@2"},
		{"main score function", IROptions{Name: "v", KValues: ks, ScoreFunctions: []ScoreFunction{DotScore, Cosine}, MainScoreFunction: DotScore}, "v_dot_ndcg@2"},
		{"unnamed", IROptions{KValues: ks, ScoreFunctions: []ScoreFunction{Cosine, DotScore}}, "cosine_ndcg@2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := EvaluateEmbeddings(context.Background(), q, c, rel, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.PrimaryMetric != tc.want {
				t.Errorf("primary %q, want %q", r.PrimaryMetric, tc.want)
			}
			if _, ok := r.Metrics[r.PrimaryMetric]; !ok {
				t.Errorf("primary metric %q is not a returned key", r.PrimaryMetric)
			}
		})
	}
	// The evaluator keeps the first choice even when another score function wins later.
	texts := map[string]string{"q": "q"}
	corpus := map[string]string{"right": "right", "big": "big", "x": "x"}
	ev, err := NewInformationRetrievalEvaluator(texts, corpus, rel, IROptions{KValues: ks, ScoreFunctions: []ScoreFunction{DotScore, Cosine}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Evaluate(context.Background(), mapEncoder{"q": {1, 0}, "right": {1, 0}, "big": {3, 3}, "x": {0, 1}}); err != nil {
		t.Fatal(err)
	}
	if ev.PrimaryMetric() != "cosine_ndcg@2" {
		t.Fatalf("first primary %q", ev.PrimaryMetric())
	}
	// Now dot ranks "right" first (3 > 1) and cosine ranks "big" first (1 > 0.95).
	if _, err := ev.Evaluate(context.Background(), mapEncoder{"q": {1, 0}, "right": {3, 1}, "big": {1, 0}, "x": {0, 1}}); err != nil {
		t.Fatal(err)
	}
	if ev.PrimaryMetric() != "cosine_ndcg@2" {
		t.Errorf("primary changed to %q; sentence-transformers keeps the first choice", ev.PrimaryMetric())
	}
}

// TestOutputFiles checks the CSV rows appended across calls with epoch/steps, the JSON file, the
// predictions, and that a CSV written with other columns is refused.
func TestOutputFiles(t *testing.T) {
	queries, corpus, relevant := stTestData()
	ev, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{
		KValues:          KValues{AccuracyAtK: []int{1}, PrecisionRecallAtK: []int{1}, MRRAtK: []int{1}, NDCGAtK: []int{1}, MAPAtK: []int{1}},
		WritePredictions: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, ri := range []RunInfo{{dir, 0.5, 10}, {dir, 1, 20}} {
		if _, err := ev.Evaluate(WithRunInfo(context.Background(), ri), keywordEncoder{}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "Information-Retrieval_evaluation_results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "epoch,steps,cosine-Accuracy@1,cosine-Precision@1,cosine-Recall@1,cosine-MRR@1,cosine-NDCG@1,cosine-MAP@1\n" +
		"0.5,10,1.0,1.0,0.9,1.0,1.0,1.0\n1.0,20,1.0,1.0,0.9,1.0,1.0,1.0\n"
	if string(b) != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", b, want)
	}
	js, err := os.ReadFile(filepath.Join(dir, "Information-Retrieval_evaluation_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"epoch": 1`, `"steps": 20`, `"primary_metric": "cosine_ndcg@1"`, `"cosine_recall@1": 0.9`} {
		if !strings.Contains(string(js), s) {
			t.Errorf("JSON lacks %s:\n%s", s, js)
		}
	}
	pred, err := os.ReadFile(filepath.Join(dir, "Information-Retrieval_evaluation_predictions_cosine.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(pred)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], `{"query_id":"0","query":"What is a pokemon?","results":[{"corpus_id":"0","score":1}]}`) {
		t.Errorf("predictions:\n%s", pred)
	}
	// Another evaluator with other columns must not append to that CSV.
	ev2, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ev2.Evaluate(WithRunInfo(context.Background(), RunInfo{OutputPath: dir, Epoch: -1, Steps: -1}), keywordEncoder{})
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("mismatched CSV header: err = %v", err)
	}
}

// TestResultJSONKeyOrder checks that the JSON object lists metrics in sentence-transformers' order.
func TestResultJSONKeyOrder(t *testing.T) {
	queries, corpus, relevant := stTestData()
	ev, err := NewInformationRetrievalEvaluator(queries, corpus, relevant, IROptions{Name: "n",
		KValues: KValues{AccuracyAtK: []int{3, 1}, PrecisionRecallAtK: []int{1}, MRRAtK: []int{1}, NDCGAtK: []int{1}, MAPAtK: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ev.Run(context.Background(), keywordEncoder{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `"metrics":{"n_cosine_accuracy@3":1,"n_cosine_accuracy@1":1,"n_cosine_precision@1":1,"n_cosine_recall@1":0.9,"n_cosine_ndcg@1":1,"n_cosine_mrr@1":1,"n_cosine_map@1":1}`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON %s\nwant it to contain %s", b, want)
	}
}
