package evaluation

import "testing"

func TestEvaluatorFingerprint(t *testing.T) {
	queries := map[string]string{"q1": "capital of India?", "q2": "longest river?"}
	corpus := map[string]string{"d1": "New Delhi is the capital.", "d2": "The Ganges is long.", "d3": "Unrelated."}
	rel := map[string]map[string]bool{"q1": {"d1": true}, "q2": {"d2": true}}
	mk := func(q, c map[string]string, r map[string]map[string]bool, o IROptions) string {
		t.Helper()
		e, err := NewInformationRetrievalEvaluator(q, c, r, o)
		if err != nil {
			t.Fatal(err)
		}
		return e.Fingerprint()
	}
	base := mk(queries, corpus, rel, IROptions{Name: "dev"})
	if mk(queries, corpus, rel, IROptions{Name: "dev", BatchSize: 7, CorpusChunkSize: 2}) != base {
		t.Error("batch and chunk sizes changed the fingerprint")
	}
	with := func(f func(q, c map[string]string, r map[string]map[string]bool, o *IROptions)) string {
		q, c, r := map[string]string{}, map[string]string{}, map[string]map[string]bool{}
		for k, v := range queries {
			q[k] = v
		}
		for k, v := range corpus {
			c[k] = v
		}
		for k, v := range rel {
			r[k] = map[string]bool{}
			for d := range v {
				r[k][d] = true
			}
		}
		o := IROptions{Name: "dev"}
		f(q, c, r, &o)
		return mk(q, c, r, o)
	}
	for name, f := range map[string]func(q, c map[string]string, r map[string]map[string]bool, o *IROptions){
		"query text":  func(q, _ map[string]string, _ map[string]map[string]bool, _ *IROptions) { q["q1"] = "capital?" },
		"corpus text": func(_, c map[string]string, _ map[string]map[string]bool, _ *IROptions) { c["d3"] = "Other." },
		"corpus size": func(_, c map[string]string, _ map[string]map[string]bool, _ *IROptions) { c["d4"] = "More." },
		"judgements":  func(_, _ map[string]string, r map[string]map[string]bool, _ *IROptions) { r["q2"]["d3"] = true },
		"name":        func(_, _ map[string]string, _ map[string]map[string]bool, o *IROptions) { o.Name = "test" },
		"prompt":      func(_, _ map[string]string, _ map[string]map[string]bool, o *IROptions) { o.QueryPrompt = "q: " },
	} {
		if with(f) == base {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
	}
}
