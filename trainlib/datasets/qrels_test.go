package datasets

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadQrels reads well-formed qrels files, including the variations BEIR's csv-based loader accepts, and
// checks the duplicates rule: the same judgement twice counts once.
func TestReadQrels(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		scores    map[string]map[string]int
		order     []string
	}{
		{"plain", "query-id\tcorpus-id\tscore\nq2\td1\t1\nq1\td1\t0\nq2\td3\t2\n",
			map[string]map[string]int{"q2": {"d1": 1, "d3": 2}, "q1": {"d1": 0}}, []string{"q2", "q1"}},
		{"BOM, CRLF, blank lines, spaces around the score", "\ufeffquery-id\tcorpus-id\tscore\r\n\r\nq1\td1\t 1\r\n\r\n",
			map[string]map[string]int{"q1": {"d1": 1}}, []string{"q1"}},
		{"quoted fields, as Python's csv module reads them", "query-id\tcorpus-id\tscore\n\"q 1\"\t\"d\t1\"\t1\n",
			map[string]map[string]int{"q 1": {"d\t1": 1}}, []string{"q 1"}},
		{"the same judgement twice", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t1\nq1\td1\t1\n",
			map[string]map[string]int{"q1": {"d1": 1, "d2": 1}}, []string{"q1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.tsv")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			q, err := ReadQrels(path)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(q.Scores, tc.scores, maps.Equal) || !slices.Equal(q.QueryIDs, tc.order) {
				t.Errorf("got %v %q, want %v %q", q.Scores, q.QueryIDs, tc.scores, tc.order)
			}
			rel := q.Relevance()
			for qid, docs := range tc.scores {
				for doc, score := range docs {
					if got, ok := rel[qid][doc]; !ok || got != (score > 0) {
						t.Errorf("Relevance()[%q][%q] = %v, %v; score %d", qid, doc, got, ok, score)
					}
				}
			}
		})
	}
}

// TestReadQrelsErrors checks that each malformed file is refused with its name, the line and the problem.
func TestReadQrelsErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"conflicting judgements", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t1\n\nq1\td1\t0\n",
			`line 5: query "q1" and document "d1" are already judged at line 2, with score 1 instead of 0; keep one of the two lines`},
		{"no header", "q1\td1\t1\n", `line 1: want the header query-id<TAB>corpus-id<TAB>score, got "q1\td1\t1"`},
		{"header with another column", "query-id\tcorpus-id\tscore\textra\nq1\td1\t1\n", "line 1: want the header"},
		{"two fields", "query-id\tcorpus-id\tscore\nq1\td1\n", "line 2: 2 tab-separated fields, want query-id, corpus-id and score"},
		{"four fields", "query-id\tcorpus-id\tscore\nq1\td1\t1\tx\n", "line 2: 4 tab-separated fields"},
		{"empty id", "query-id\tcorpus-id\tscore\n\td1\t1\n", "line 2: empty query-id or corpus-id"},
		{"score not an integer", "query-id\tcorpus-id\tscore\nq1\td1\t0.5\n", `line 2: score "0.5" is not an integer`},
		{"empty file", "", "empty qrels file"},
		{"only the header", "query-id\tcorpus-id\tscore\n\n", "no judgements after the header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.tsv")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadQrels(path)
			if err == nil || !strings.Contains(err.Error(), path+": "+tc.want) {
				t.Errorf("err = %v, want %q", err, path+": "+tc.want)
			}
		})
	}
	if _, err := ReadQrels(filepath.Join(t.TempDir(), "missing.tsv")); err == nil || !strings.Contains(err.Error(), "missing.tsv: no such file") {
		t.Errorf("missing file: %v", err)
	}
}
