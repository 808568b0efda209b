package datasets

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets of the dataset readers. Every reader must reject bad input with an error naming the
// file; a dataset it accepts must come back unchanged from the writers (JSON Lines and Parquet), so
// `embedtune data convert` and Save never alter what was read.

// sameDataset fails unless a and b have the same columns, types and values.
func sameDataset(t *testing.T, what string, a, b *Dataset) {
	t.Helper()
	if !reflect.DeepEqual(a.Columns(), b.Columns()) || !reflect.DeepEqual(a.Types(), b.Types()) || a.Len() != b.Len() {
		t.Fatalf("%s changed the table: columns %v %v, %d rows → columns %v %v, %d rows", what, a.Columns(), a.Types(), a.Len(), b.Columns(), b.Types(), b.Len())
	}
	for i := 0; i < a.Len(); i++ {
		ra, _ := a.Row(i)
		rb, _ := b.Row(i)
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("%s changed row %d:\n%#v\n%#v", what, i, ra, rb)
		}
	}
}

// checkRoundTrips writes d as JSON Lines and as Parquet and reads both back.
func checkRoundTrips(t *testing.T, d *Dataset) {
	t.Helper()
	var jl bytes.Buffer
	if err := d.writeJSONLines(&jl); err != nil {
		if strings.Contains(err.Error(), "JSON cannot represent") {
			return // NaN or ±Inf read from CSV: refused by the JSON writer, with the column named.
		}
		t.Fatalf("an accepted dataset cannot be written as JSON Lines: %v", err)
	}
	back, _, err := readJSONLines(bytes.NewReader(jl.Bytes()), "again.jsonl", nil)
	if err != nil {
		t.Fatalf("the JSON Lines written are rejected: %v\n%s", err, jl.Bytes())
	}
	if d.Len() > 0 { // JSON Lines hold no column names without rows.
		sameDataset(t, "JSON Lines write → read", d, back)
	}
	var pq bytes.Buffer
	if err := d.writeParquet(&pq); err != nil {
		if len(d.Columns()) == 0 && strings.Contains(err.Error(), "without any column") {
			return
		}
		t.Fatalf("an accepted dataset cannot be written as Parquet: %v", err)
	}
	back, _, err = readParquetFrom(bytes.NewReader(pq.Bytes()), int64(pq.Len()), "again.parquet", nil)
	if err != nil {
		t.Fatalf("the Parquet written is rejected: %v", err)
	}
	sameDataset(t, "Parquet write → read", d, back)
}

// nameInError fails unless err starts with the file name.
func nameInError(t *testing.T, err error, name string) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), name+": ") {
		t.Fatalf("error does not start with the file name %s: %v", name, err)
	}
}

func addTextSeeds(f *testing.F, files ...string) {
	for _, p := range files {
		if b, err := os.ReadFile(filepath.Join("testdata/reference/text", p)); err == nil {
			f.Add(b)
		}
	}
}

func FuzzReadJSONLines(f *testing.F) {
	addTextSeeds(f, "mixed.jsonl", "lines.json")
	f.Add([]byte("\xef\xbb\xbf{\"q\": \"a\", \"n\": 1, \"x\": 1.5, \"b\": true, \"l\": [\"a\"], \"j\": {\"k\": [1]}}\r\n\n{\"q\": null, \"n\": 2}\n"))
	f.Add([]byte(`{"a": 1}` + "\n" + `{"a": "x"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := readJSONLines(bytes.NewReader(data), "fuzz.jsonl", nil)
		if err != nil {
			nameInError(t, err, "fuzz.jsonl")
			return
		}
		checkRoundTrips(t, d)
	})
}

func FuzzReadJSON(f *testing.F) {
	addTextSeeds(f, "array.json", "field.json", "lines.json")
	f.Add([]byte(`{"version": 1, "data": [{"a": "x"}, {"a": "y", "b": 2}]}`))
	f.Add([]byte(`[{"a": [1, 2]}, {"a": null}]`))
	f.Add([]byte(`{"a": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := readJSON(bytes.NewReader(data), "fuzz.json", "", nil)
		if err != nil {
			nameInError(t, err, "fuzz.json")
			return
		}
		checkRoundTrips(t, d)
	})
}

func FuzzReadCSV(f *testing.F) {
	for _, p := range []string{"types.csv", "pairs.tsv"} {
		if b, err := os.ReadFile(filepath.Join("testdata/reference/text", p)); err == nil {
			f.Add(b, strings.HasSuffix(p, ".tsv"))
		}
	}
	f.Add([]byte("a,b,c\n1,2.5,x\n,\"q\"\"t\",true\n"), false)
	f.Add([]byte("q\tc\nwhat\tthat\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, tab bool) {
		sep, name := ',', "fuzz.csv"
		if tab {
			sep, name = '\t', "fuzz.tsv"
		}
		d, _, err := readCSV(bytes.NewReader(data), name, sep, nil)
		if err != nil {
			nameInError(t, err, name)
			return
		}
		checkRoundTrips(t, d)
	})
}

func FuzzReadParquet(f *testing.F) {
	for _, p := range []string{"hf_types.parquet", "pyarrow_v2_zstd.parquet", "timestamp.parquet"} {
		if b, err := os.ReadFile(filepath.Join("testdata/reference", p)); err == nil {
			f.Add(b)
		}
	}
	small, _ := FromColumns(Col("q", []string{"a", "b"}), Col("n", []int64{1, 2}))
	var buf bytes.Buffer
	small.writeParquet(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := readParquetFrom(bytes.NewReader(data), int64(len(data)), "fuzz.parquet", nil)
		if err != nil {
			nameInError(t, err, "fuzz.parquet")
			return
		}
		checkRoundTrips(t, d)
	})
}

// FuzzParseObject: the JSON Lines fast path accepts exactly the objects encoding/json accepts and
// finds the same keys and values.
func FuzzParseObject(f *testing.F) {
	f.Add([]byte(`{"question": "What is \"x\"?", "n": -12.5e3, "ok": true, "l": ["a", "b"], "m": {"k": [null, 1]}}`))
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","a":1}`))
	f.Add([]byte(` {} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		type kv struct {
			k string
			v string
		}
		var fast, slow []kv
		err := parseObject(b, func(k string, v []byte) error { fast = append(fast, kv{k, string(v)}); return nil })
		body := trimJSONSpace(b)
		valid := json.Valid(b) && len(body) > 0 && body[0] == '{'
		if (err == nil) != valid {
			t.Fatalf("parseObject error %v, but encoding/json says valid object = %v", err, valid)
		}
		if !valid {
			return
		}
		if err := scanObject(body, func(k string, v []byte) error { slow = append(slow, kv{k, string(v)}); return nil }); err != nil {
			t.Fatalf("scanObject: %v", err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast path %q, encoding/json path %q", fast, slow)
		}
	})
}

func FuzzReadQrels(f *testing.F) {
	f.Add([]byte("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n\"q 2\"\td1\t2\n"))
	f.Add([]byte("\ufeffquery-id\tcorpus-id\tscore\r\nq\td\t1\r\nq\td\t1\r\n"))
	f.Add([]byte("query-id\tcorpus-id\tscore\nq\td\t1\nq\td\t2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := readQrels(bytes.NewReader(data), "fuzz.tsv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "datasets: fuzz.tsv: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(q.QueryIDs) != len(q.Scores) || len(q.QueryIDs) == 0 {
			t.Fatalf("%d query ids for %d judged queries", len(q.QueryIDs), len(q.Scores))
		}
		var buf bytes.Buffer
		buf.WriteString("query-id\tcorpus-id\tscore\n")
		for _, qid := range q.QueryIDs {
			if q.Scores[qid] == nil || qid == "" {
				t.Fatalf("query %q listed without judgements", qid)
			}
			for doc, s := range q.Scores[qid] {
				if doc == "" {
					t.Fatalf("query %q judges an empty document id", qid)
				}
				w := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
				buf.WriteString(w(qid) + "\t" + w(doc) + "\t" + json.Number(strings.TrimSpace(jsonInt(s))).String() + "\n")
			}
		}
		back, err := readQrels(&buf, "again.tsv")
		if err != nil {
			t.Fatalf("qrels written back are rejected: %v", err)
		}
		if !reflect.DeepEqual(back.Scores, q.Scores) {
			t.Fatalf("write → read changed the judgements: %v → %v", q.Scores, back.Scores)
		}
	})
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// FuzzLoadBEIR loads BEIR folders with arbitrary corpus, queries and qrels files. What loads must be
// consistent: every relevant document is in the corpus, every judged query in the queries.
func FuzzLoadBEIR(f *testing.F) {
	f.Add([]byte(`{"_id": "d1", "title": "T", "text": "x"}`+"\n"+`{"_id": 2, "text": "y"}`+"\n"),
		[]byte(`{"_id": "q1", "text": "what"}`+"\n"),
		[]byte("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\t2\t0\n"))
	f.Add([]byte(`{"_id": "d", "text": null}`), []byte(`{"_id": "q", "text": "x"}`), []byte("query-id\tcorpus-id\tscore\nq\td\t1\n"))
	f.Fuzz(func(t *testing.T, corpus, queries, qrels []byte) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "qrels"), 0o755)
		for p, data := range map[string][]byte{"corpus.jsonl": corpus, "queries.jsonl": queries, "qrels/test.tsv": qrels} {
			if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ir, err := LoadBEIR(dir, "test")
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error does not name the folder's file: %v", err)
			}
			return
		}
		if len(ir.CorpusIDs) != len(ir.Corpus) || len(ir.QueryIDs) != len(ir.Queries) {
			t.Fatalf("id lists (%d, %d) differ from the maps (%d, %d)", len(ir.CorpusIDs), len(ir.QueryIDs), len(ir.Corpus), len(ir.Queries))
		}
		for q, docs := range ir.RelevantDocs {
			if _, ok := ir.Queries[q]; !ok {
				t.Fatalf("relevant documents for query %q, which is not loaded", q)
			}
			for d := range docs {
				if _, ok := ir.Corpus[d]; !ok {
					t.Fatalf("query %q: relevant document %q is not in the corpus", q, d)
				}
			}
		}
	})
}

// FuzzSelectDataFiles resolves splits from a README.md (its YAML "configs") and a repository's file
// list (one path per line), as for a Hub dataset. The files chosen must come from the list.
func FuzzSelectDataFiles(f *testing.F) {
	f.Add([]byte("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\n  - split: test\n    path: data/test.jsonl\n---\n# x\n"),
		"data/train-00000-of-00001.parquet\ndata/test.jsonl\nREADME.md")
	f.Add([]byte{}, "train.csv\nvalidation.csv\ntest/a.jsonl")
	f.Add([]byte("---\nconfigs: [{config_name: a, default: true, data_files: x.json}, {config_name: b, data_files: {split: s, path: [y/*.txt]}}]\n---\n"), "x.json\ny/1.txt")
	f.Fuzz(func(t *testing.T, readme []byte, list string) {
		files := strings.Split(list, "\n")
		df, err := selectDataFiles(files, readme, "", "fuzz-dataset")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz-dataset: ") {
				t.Fatalf("error does not name the dataset: %v", err)
			}
			return
		}
		listed := map[string]bool{}
		for _, p := range files {
			listed[p] = true
		}
		for split, fs := range df.files {
			for _, p := range fs {
				if !listed[p] {
					t.Fatalf("split %q uses %q, which is not a file of the repository", split, p)
				}
			}
		}
	})
}

// TestInvalidUTF8IsAnError: bytes that are not UTF-8 are refused in every format, naming the file and
// the line (found by FuzzReadJSON, FuzzReadJSONLines and FuzzReadCSV: they used to be kept in memory and
// then replaced by U+FFFD when saved, changing the data on conversion).
func TestInvalidUTF8IsAnError(t *testing.T) {
	big := strings.Repeat(`{"a": "é"}`+"\n", 200000) // beyond one read buffer: the check spans Read calls
	for _, tc := range []struct {
		name, content, want string
	}{
		{"x.jsonl", "{\"a\": \"ok\"}\n{\"a\": \"\x80\"}\n", "x.jsonl: line 2: invalid UTF-8 (byte 0x80)"},
		{"x.json", "[{\"a\": \"ok\"},\n {\"\xa9\": 1}]", "x.json: line 2: invalid UTF-8 (byte 0xa9)"},
		{"x.json", big + "{\"a\": \"\xe9\"}\n", "x.json: line 200001: invalid UTF-8 (byte 0xe9)"},
		{"x.csv", "a,b\nok,\"x\ny\xff\"\n", "x.csv: line 3: invalid UTF-8 (byte 0xff)"},
		{"x.txt", "fine\n\xc3(\n", "x.txt: line 2: invalid UTF-8 (byte 0xc3)"},
	} {
		p := filepath.Join(t.TempDir(), tc.name)
		os.WriteFile(p, []byte(tc.content), 0o644)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	p := filepath.Join(t.TempDir(), "ok.json")
	os.WriteFile(p, []byte(big), 0o644)
	if d, err := Load(p); err != nil || d.Len() != 200000 {
		t.Errorf("valid UTF-8 spanning reads: %v", err)
	}
}
