package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

func TestIRFromPairsMergesDuplicates(t *testing.T) {
	// 1,340 rows over 670 contexts, each asked twice; contexts 0 and 1 differ only in spacing, so
	// exact merging keeps 670 documents and whitespace-insensitive merging 669.
	n := 1340
	qs, cs := make([]string, n), make([]string, n)
	for i := range qs {
		k := i / 2
		qs[i] = fmt.Sprintf("question %d", i)
		cs[i] = fmt.Sprintf("context number %d", k)
		if k == 1 {
			cs[i] = "  context   number 0 "
		}
	}
	d, err := FromColumns(Col("question", qs), Col("context", cs))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		norm bool
		docs int
	}{{false, 670}, {true, 669}} {
		ir, err := IRFromPairs(d, PairsOptions{NormalizeSpace: tc.norm})
		if err != nil {
			t.Fatal(err)
		}
		if len(ir.CorpusIDs) != tc.docs || len(ir.Queries) != n || ir.NumRelevant() != n {
			t.Errorf("normalize=%v: %d documents, %d queries, %d pairs", tc.norm, len(ir.CorpusIDs), len(ir.Queries), ir.NumRelevant())
		}
		if err := ir.Validate(); err != nil {
			t.Error(err)
		}
		// Rows 0 and 1 share context 0: both queries point at d0.
		if ir.QueryIDs[0] != "q0" || ir.CorpusIDs[0] != "d0" || !ir.RelevantDocs["q1"]["d0"] || ir.Corpus["d0"] != "context number 0" {
			t.Errorf("ids: %v %v %v", ir.QueryIDs[:2], ir.CorpusIDs[:2], ir.RelevantDocs["q1"])
		}
	}
	// A question asked for two contexts is one query with both documents.
	d2, _ := FromColumns(Col("q", []string{"same", "same", "other"}), Col("c", []string{"A", "B", "A"}))
	ir, err := IRFromPairs(d2, PairsOptions{QueryColumn: "q", ContextColumn: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ir.RelevantIDs("q0")) != "[d0 d1]" || fmt.Sprint(ir.RelevantIDs("q1")) != "[d0]" {
		t.Errorf("relevant: %v", ir.RelevantDocs)
	}
	// Bad input: missing column, empty values.
	if _, err := IRFromPairs(d2, PairsOptions{}); err == nil || !strings.Contains(err.Error(), `no column "question"`) {
		t.Errorf("missing column: %v", err)
	}
	d3, _ := FromRows([]Row{{"question": "x", "context": ""}}, "question", "context")
	if _, err := IRFromPairs(d3, PairsOptions{}); err == nil || !strings.Contains(err.Error(), "row 0: context is empty") {
		t.Errorf("empty context: %v", err)
	}
}

func TestSQuADDev(t *testing.T) {
	path := testutil.SharedData(t, "squad-v1.1/dev-v1.1.json")
	d, err := ReadSQuAD(path)
	if err != nil {
		t.Fatal(err)
	}
	// Published: 10,570 validation questions over 48 articles (Rajpurkar et al., 2016; the Hugging
	// Face squad dataset card). Paragraph count computed with Python's json module: 2,067.
	if d.Len() != 10570 {
		t.Errorf("%d questions, want 10570", d.Len())
	}
	titles, _ := d.Unique("title")
	contexts, _ := d.Unique("context")
	if len(titles) != 48 || len(contexts) != 2067 {
		t.Errorf("%d articles, %d contexts; want 48, 2067", len(titles), len(contexts))
	}
	r, _ := d.Row(0)
	if r["title"] != "Super_Bowl_50" || r["question"] != "Which NFL team represented the AFC at Super Bowl 50?" ||
		fmt.Sprint(r["answers"]) != "[Denver Broncos Denver Broncos Denver Broncos]" || r["id"] != "56be4db0acb8001400a502ec" {
		t.Errorf("row 0 = %v", r)
	}
	ir, err := IRFromPairs(d, PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Python: 10,539 distinct questions, 2,067 distinct contexts, 10,541 distinct (question, context).
	if len(ir.Queries) != 10539 || len(ir.Corpus) != 2067 || ir.NumRelevant() != 10541 {
		t.Errorf("IR: %d queries, %d documents, %d pairs", len(ir.Queries), len(ir.Corpus), ir.NumRelevant())
	}
	// Split by article, deterministically.
	byTitle := d.Filter(func(r Row) bool { return r["title"] == "Normans" })
	if byTitle.Len() == 0 {
		t.Error("no Normans questions")
	}
}

func TestBEIRSciFact(t *testing.T) {
	dir := testutil.SharedData(t, "beir-scifact")
	ir, err := LoadBEIR(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Published (BEIR, MTEB): 5,183 documents and 300 test queries; 339 judgments in qrels/test.tsv.
	if len(ir.CorpusIDs) != 5183 || len(ir.QueryIDs) != 300 || ir.NumRelevant() != 339 {
		t.Errorf("%d documents, %d queries, %d relevant pairs", len(ir.CorpusIDs), len(ir.QueryIDs), ir.NumRelevant())
	}
	if err := ir.Validate(); err != nil {
		t.Error(err)
	}
	if ir.QueryIDs[0] != "1" || !ir.RelevantDocs["1"]["31715818"] {
		t.Errorf("first query %q, relevant %v", ir.QueryIDs[0], ir.RelevantDocs["1"])
	}
	doc := "4983"
	if !strings.HasPrefix(ir.Corpus[doc], "Microstructural development of human newborn cerebral white matter assessed in vivo by diffusion tensor magnetic resonance imaging. Alterations") ||
		ir.Titles[doc] == "" || !strings.HasPrefix(ir.Texts[doc], "Alterations of the architecture") {
		t.Errorf("document %s: %q", doc, ir.Corpus[doc][:80])
	}
	train, err := LoadBEIR(dir, "train")
	if err != nil || len(train.QueryIDs) != 809 || train.NumRelevant() != 919 {
		t.Errorf("train: %v", err)
	}
	if _, err := LoadBEIR(dir, "dev"); err == nil || !strings.Contains(err.Error(), `["test", "train"]`) {
		t.Errorf("unknown split: %v", err)
	}
}

func TestBEIRBadInput(t *testing.T) {
	corpus := `{"_id": "d1", "title": "T", "text": "one"}` + "\n" + `{"_id": "d2", "text": "  two  "}` + "\n"
	queries := `{"_id": "q1", "text": "first"}` + "\n" + `{"_id": "q2", "text": "second"}` + "\n"
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"good", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n"}, ""},
		{"bad header", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries,
			"qrels/test.tsv": "q1\td1\t1\n"}, "want the header"},
		{"bad score", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, `line 2: score "high" is not an integer`},
		{"unknown document", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td9\t1\n"}, `document "d9", which is not in corpus.jsonl`},
		{"unknown query", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq7\td1\t1\n"}, `query "q7" is not in queries.jsonl`},
		{"missing corpus", map[string]string{"queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n"}, "corpus.jsonl is missing"},
		{"corpus without text", map[string]string{"corpus.jsonl": `{"_id": "d1", "title": "x"}` + "\n", "queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n"}, `no column "text"`},
		{"duplicate id", map[string]string{"corpus.jsonl": corpus + `{"_id": "d1", "text": "again"}` + "\n", "queries.jsonl": queries,
			"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n"}, `line 3: duplicate _id "d1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				testutil.WriteFile(t, dir, name, content)
			}
			ir, err := LoadBEIR(dir, "test")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Only judged queries; score 0 is not relevant; text = strip(title + " " + text).
			if fmt.Sprint(ir.QueryIDs) != "[q1]" || fmt.Sprint(ir.RelevantIDs("q1")) != "[d1]" || ir.Qrels["q1"]["d2"] != 0 {
				t.Errorf("queries %v, relevant %v", ir.QueryIDs, ir.RelevantDocs)
			}
			if ir.Corpus["d1"] != "T one" || ir.Corpus["d2"] != "two" || ir.Texts["d2"] != "  two  " {
				t.Errorf("corpus %q", ir.Corpus)
			}
		})
	}
}

func TestReadSQuADBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"notjson.json": "{",
		"nodata.json":  `{"version": "1.1"}`,
		"noctx.json":   `{"data": [{"title": "T", "paragraphs": [{"context": "", "qas": []}]}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSQuAD(filepath.Join(dir, name)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
