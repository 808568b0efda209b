package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/model"
)

type idEmbedding struct {
	ID        json.RawMessage `json:"id"`
	Embedding []float32       `json:"embedding"`
}

func readIDEmbeddings(t *testing.T, path string) []idEmbedding {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []idEmbedding
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var r idEmbedding
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		rows = append(rows, r)
	}
	return rows
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestEncodeIDsFieldsAndResume checks --id-field, joined --field lists (BEIR documents: title + " " +
// text) and --resume: a partial output cut in the middle of a line continues to the same result, and
// a partial output of another job is refused.
func TestEncodeIDsFieldsAndResume(t *testing.T) {
	m := tinyModelDir(t, "cls")
	dir := t.TempDir()
	type doc struct {
		ID    any     `json:"_id"`
		Title *string `json:"title"`
		Text  string  `json:"text"`
	}
	title := func(s string) *string { return &s }
	docs := []doc{
		{"d1", title("Kalomi"), "Kalomi is a country whose capital is Tensa."},
		{2, nil, "  A document without a title.  "},
		{"d3", title(""), "An empty title."},
		{"d4", title("Rivers"), "The river Oru flows through Tensa."},
		{5, title("Mountains"), "The highest mountain of Kalomi is Bera, 4200 metres."},
		{"d6", title("Trade"), "Kalomi exports copper and tea."},
		{"d7", title("Language"), "Kalomese is written in a Latin alphabet."},
	}
	in := filepath.Join(dir, "corpus.jsonl")
	var lines []string
	var want []string
	for _, d := range docs {
		b, _ := json.Marshal(d)
		lines = append(lines, string(b))
		tt := ""
		if d.Title != nil {
			tt = *d.Title
		}
		want = append(want, strings.TrimSpace(tt+" "+d.Text))
	}
	os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	lib, err := model.Load(m, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	wantEmb, err := lib.Encode(want, &model.EncodeOptions{Normalize: true, Prompt: "passage: "})
	if err != nil {
		t.Fatal(err)
	}
	args := func(out string, extra ...string) []string {
		return append([]string{"encode", "--model", m, "--input", in, "--output", out, "--id-field", "_id",
			"--field", "title,text", "--normalize", "--prompt", "passage: ", "--batch-size", "2"}, extra...)
	}
	check := func(path string) []idEmbedding {
		t.Helper()
		rows := readIDEmbeddings(t, path)
		if len(rows) != len(docs) {
			t.Fatalf("%s: %d lines for %d documents", path, len(rows), len(docs))
		}
		for i, r := range rows {
			wantID, _ := json.Marshal(docs[i].ID)
			if string(r.ID) != string(wantID) {
				t.Errorf("%s line %d: id %s, want %s", path, i+1, r.ID, wantID)
			}
			if d := maxAbsDiff(r.Embedding, wantEmb[i]); d > 1e-5 {
				t.Errorf("%s line %d: embedding differs from the library's by %g", path, i+1, d)
			}
		}
		return rows
	}

	full := filepath.Join(dir, "full.jsonl")
	if code, _, stderr := cli(args(full)...); code != 0 {
		t.Fatalf("encode: %s", stderr)
	}
	fullRows := check(full)

	out := filepath.Join(dir, "resumed.jsonl")
	if code, _, stderr := cli(args(out, "--resume", "--chunk-size", "3")...); code != 0 || !strings.Contains(stderr, "encode: 7/7 texts") {
		t.Fatalf("encode --resume: status %d, %s", code, stderr)
	}
	check(out)
	for _, p := range []string{out + ".partial", out + ".partial.json"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind after a complete run", p)
		}
	}
	// The same job again finds the output complete; another job (other prompt) encodes again.
	if code, _, stderr := cli(args(out, "--resume")...); code != 0 || !strings.Contains(stderr, "nothing to do") {
		t.Fatalf("re-running a finished job: status %d, %s", code, stderr)
	}
	other := append(args(out, "--resume"), "--prompt", "query: ")
	if code, _, stderr := cli(other...); code != 0 || !strings.Contains(stderr, "encode: 7/7 texts") {
		t.Fatalf("a different job over a finished output: status %d, %s", code, stderr)
	}
	if code, _, stderr := cli(args(out, "--resume")...); code != 0 || !strings.Contains(stderr, "encode: 7/7 texts") {
		t.Fatalf("back to the first job: status %d, %s", code, stderr)
	}

	// An interrupted run: 4 complete lines, the 5th cut short, and the job description.
	job := newEncodeJob(lib, want, idsOf(t, docs), "_id", &model.EncodeOptions{Normalize: true, Prompt: "passage: "})
	writeJob := func(j encodeJob) {
		b, _ := json.Marshal(j)
		os.WriteFile(out+".partial.json", b, 0o644)
	}
	fullData, _ := os.ReadFile(full)
	fl := strings.SplitAfter(string(fullData), "\n")
	cut := strings.Join(fl[:4], "") + fl[4][:20]
	os.Remove(out)
	os.WriteFile(out+".partial", []byte(cut), 0o644)
	writeJob(job)
	code, _, stderr := cli(args(out, "--resume", "--chunk-size", "2")...)
	if code != 0 || !strings.Contains(stderr, "resuming") || !strings.Contains(stderr, "at text 4 of 7") {
		t.Fatalf("resume after a crash: status %d, %s", code, stderr)
	}
	rows := check(out)
	for i := 0; i < 4; i++ {
		if fmt.Sprint(rows[i].Embedding) != fmt.Sprint(fullRows[i].Embedding) {
			t.Errorf("line %d was re-encoded instead of kept", i+1)
		}
	}

	// Partial outputs that must be refused, each with a message naming the problem.
	for _, tc := range []struct {
		name    string
		partial string
		job     func(j encodeJob) encodeJob
		want    string
	}{
		{"other prompt", strings.Join(fl[:2], ""), func(j encodeJob) encodeJob { j.Prompt = "query: "; return j }, "different job (prompt was query: "},
		{"other input", strings.Join(fl[:2], ""), func(j encodeJob) encodeJob { j.InputSHA256 = "00"; return j }, "input_sha256 was 00"},
		{"wrong id", strings.Join(fl[:1], "") + strings.Replace(fl[1], `"id":2`, `"id":3`, 1), func(j encodeJob) encodeJob { return j }, "line 2 has id 3, the input's text 2 has id 2"},
		{"garbage", "not json\n", func(j encodeJob) encodeJob { return j }, "line 1 is not an embedding line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(out+".partial", []byte(tc.partial), 0o644)
			writeJob(tc.job(job))
			code, _, stderr := cli(args(out, "--resume")...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("status %d, stderr %q; want an error containing %q", code, stderr, tc.want)
			}
		})
	}
	os.Remove(out + ".partial")
	os.Remove(out + ".partial.json")

	// Bad flags and input.
	noText := filepath.Join(dir, "notext.jsonl")
	os.WriteFile(noText, []byte(`{"_id": "a", "title": "t", "text": "x"}`+"\n"+`{"_id": "b"}`+"\n"), 0o644)
	badID := filepath.Join(dir, "badid.jsonl")
	os.WriteFile(badID, []byte(`{"_id": [1], "text": "x"}`+"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"encode", "--model", m, "--input", in, "--resume"}, "--resume needs --output FILE"},
		{[]string{"encode", "--model", m, "--input", noText, "--field", "title,text"}, "line 2: none of the fields"},
		{[]string{"encode", "--model", m, "--input", badID, "--id-field", "_id"}, "line 1: id field \"_id\""},
		{[]string{"encode", "--model", m, "--input", in, "--id-field", "_id", "--format", "text"}, "--id-field needs JSON Lines"},
		{[]string{"encode", "--model", m, "--input", in, "--field", "title,,text"}, "empty field name"},
		{[]string{"encode", "--model", m, "--input", in, "--output", out, "--resume", "--chunk-size", "0"}, "--chunk-size must be positive"},
	} {
		code, _, stderr := cli(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d, stderr %q; want %q", tc.args[4:], code, stderr, tc.want)
		}
	}
}

func idsOf[T any](t *testing.T, docs []T) []json.RawMessage {
	t.Helper()
	var ids []json.RawMessage
	for _, d := range docs {
		b, _ := json.Marshal(d)
		var obj map[string]json.RawMessage
		json.Unmarshal(b, &obj)
		ids = append(ids, obj["_id"])
	}
	return ids
}
