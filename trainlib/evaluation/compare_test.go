package evaluation

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// compareFixture: 2-D embeddings whose cosine rankings are worked out by hand in the comments.
func compareFixture() (queries, corpus map[string]string, rel map[string]map[string]bool, base, tuned mapEncoder) {
	queries = map[string]string{
		"q1": "what is the capital of India?", "q2": "largest city of India", "q3": "capital of France",
		"q4": "unjudged question", "q5": "capital of Germany",
	}
	corpus = map[string]string{
		"d1": "New Delhi is the capital of India.", "d2": "Mumbai is the <b>largest</b> city of India.",
		"d3": "Paris is the capital of France.", "d4": "Berlin is the capital of Germany.",
	}
	rel = map[string]map[string]bool{"q1": set("d1"), "q2": set("d2"), "q3": set("d3"), "q5": set("d4"), "q9": set("d1")}
	base = mapEncoder{
		queries["q1"]: {1, 0}, queries["q2"]: {0, 1}, queries["q3"]: {1, 1}, queries["q4"]: {0.3, 1}, queries["q5"]: {1, 1},
		// q1 (1,0): d2 5.7°, d3 26.6°, d4 45°, d1 90°   → d1 at 4
		// q2 (0,1): d1 0°, d4 45°, d3 63.4°, d2 84.3°   → d2 at 4
		// q3 (1,1): d4 0°, d3 18.4°, d2 39.3°, d1 45°   → d3 at 2
		// q5 (1,1): d4 first                             → d4 at 1
		corpus["d1"]: {0, 1}, corpus["d2"]: {1, 0.1}, corpus["d3"]: {1, 0.5}, corpus["d4"]: {1, 1},
	}
	tuned = mapEncoder{
		queries["q1"]: {1, 0}, queries["q2"]: {0, 1}, queries["q3"]: {1, 1}, queries["q4"]: {0.3, 1}, queries["q5"]: {1, 1},
		// q1 (1,0): d1 0°                                → d1 at 1 (win)
		// q2 (0,1): d3 0°, d2 11.3°, d4 45°, d1 90°      → d2 at 2 (win)
		// q3 (1,1): d4 0°, d2 33.7°, d1 = d3 45° (exact tie, d1 first by id) → d3 at 4 (loss)
		// q5 (1,1): d4 first                             → d4 at 1 (tie)
		corpus["d1"]: {1, 0}, corpus["d2"]: {0.2, 1}, corpus["d3"]: {0, 1}, corpus["d4"]: {1, 1},
	}
	return
}

func TestCompareRetrieval(t *testing.T) {
	queries, corpus, rel, base, tuned := compareFixture()
	cmp, err := CompareRetrieval(context.Background(), base, tuned, queries, corpus, rel, CompareOptions{K: 2, RankDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id              string
		baseTop, tunTop []string
		baseRank, tRank int
		outcome         Outcome
	}
	want := []row{
		{"q1", []string{"d2", "d3"}, []string{"d1", "d4"}, 0, 1, Win},
		{"q2", []string{"d1", "d4"}, []string{"d3", "d2"}, 0, 2, Win},
		{"q3", []string{"d4", "d3"}, []string{"d4", "d2"}, 2, 0, Loss},
		{"q4", nil, nil, 0, 0, NotJudged},
		{"q5", []string{"d4", "d3"}, []string{"d4", "d2"}, 1, 1, Tie},
	}
	if len(cmp.Queries) != len(want) {
		t.Fatalf("%d queries, want %d", len(cmp.Queries), len(want))
	}
	ids := func(docs []RetrievedDoc) []string {
		var out []string
		for _, d := range docs {
			out = append(out, d.CorpusID)
		}
		return out
	}
	for i, w := range want {
		q := cmp.Queries[i]
		if q.QueryID != w.id || q.BaseRank != w.baseRank || q.TunedRank != w.tRank || q.Outcome != w.outcome {
			t.Errorf("%s: ranks %d → %d outcome %q, want %s %d → %d %q", q.QueryID, q.BaseRank, q.TunedRank, q.Outcome, w.id, w.baseRank, w.tRank, w.outcome)
		}
		if w.baseTop != nil && (!slices.Equal(ids(q.Base), w.baseTop) || !slices.Equal(ids(q.Tuned), w.tunTop)) {
			t.Errorf("%s: top %v | %v, want %v | %v", q.QueryID, ids(q.Base), ids(q.Tuned), w.baseTop, w.tunTop)
		}
		for _, d := range append(q.Base, q.Tuned...) {
			if d.Relevant != slices.Contains(q.Relevant, d.CorpusID) || d.Text != corpus[d.CorpusID] {
				t.Errorf("%s: doc %+v", q.QueryID, d)
			}
		}
	}
	if cmp.Wins != 2 || cmp.Losses != 1 || cmp.Ties != 1 {
		t.Errorf("wins/losses/ties %d/%d/%d, want 2/1/1", cmp.Wins, cmp.Losses, cmp.Ties)
	}

	text := cmp.String()
	for _, s := range []string{
		"query q1: what is the capital of India?",
		"base (relevant at >3)", "fine-tuned (relevant at 1)",
		"* 1.0000 d1: New Delhi is the capital of India.",
		"fine-tuned vs base over 4 judged queries: 2 wins, 1 losses, 1 ties",
		"q4     -          -                not judged",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("String() lacks %q:\n%s", s, text)
		}
	}
	h := cmp.HTML()
	for _, s := range []string{"Mumbai is the &lt;b&gt;largest&lt;/b&gt; city of India.", "background:#d9f2d9", "2 wins, 1 losses, 1 ties", "<td "} {
		if !strings.Contains(h, s) {
			t.Errorf("HTML() lacks %q", s)
		}
	}
	if strings.Contains(h, "<b>largest") {
		t.Error("HTML() does not escape document texts")
	}
}

func TestCompareRetrievalBadInput(t *testing.T) {
	queries, corpus, rel, base, tuned := compareFixture()
	for _, tc := range []struct {
		name        string
		base, tuned Encoder
		q, c        map[string]string
		rel         map[string]map[string]bool
		opts        CompareOptions
		want        string
	}{
		{"relevant id not in the corpus", base, tuned, queries, corpus, map[string]map[string]bool{"q1": set("d7")}, CompareOptions{},
			`relevant document "d7" of query "q1" is not in the corpus`},
		{"missing model", base, nil, queries, corpus, rel, CompareOptions{}, "both a base and a tuned model are needed"},
		{"no queries", base, tuned, nil, corpus, rel, CompareOptions{}, "no queries"},
		{"empty corpus", base, tuned, queries, nil, rel, CompareOptions{}, "the corpus is empty"},
		{"negative K", base, tuned, queries, corpus, rel, CompareOptions{K: -1}, "must be >= 0"},
		{"text unknown to the model", base, mapEncoder{}, queries, corpus, rel, CompareOptions{}, "fine-tuned model: encoding 5 query texts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompareRetrieval(context.Background(), tc.base, tc.tuned, tc.q, tc.c, tc.rel, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
