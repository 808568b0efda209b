package datasets

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

func mustLoad(t *testing.T, src string, opts ...Option) *Dataset {
	t.Helper()
	d, err := Load(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func strs(t *testing.T, d *Dataset, col string) []string {
	t.Helper()
	c, err := d.Column(col)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, c.Len())
	for i := range out {
		out[i] = cellText(c.Value(i))
	}
	return out
}

func TestLoadLocalFormats(t *testing.T) {
	dir := t.TempDir()
	want := "[What is X?, Why Y?]|[ctx one, ctx two]"
	files := map[string]string{
		"a.jsonl":    "\ufeff{\"question\": \"What is X?\", \"context\": \"ctx one\"}\r\n\r\n{\"question\": \"Why Y?\", \"context\": \"ctx two\"}",
		"b.json":     "\ufeff[\r\n {\"question\": \"What is X?\", \"context\": \"ctx one\"},\r\n {\"question\": \"Why Y?\", \"context\": \"ctx two\"}]",
		"c.json":     `{"version": 2, "data": [{"question": "What is X?", "context": "ctx one"}, {"question": "Why Y?", "context": "ctx two"}]}`,
		"d.csv":      "\ufeffquestion,context\r\nWhat is X?,ctx one\r\nWhy Y?,ctx two\r\n",
		"e.tsv":      "question\tcontext\nWhat is X?\tctx one\nWhy Y?\tctx two",
		"f.ndjson":   "{\"question\": \"What is X?\", \"context\": \"ctx one\"}\n{\"question\": \"Why Y?\", \"context\": \"ctx two\"}\n",
		"g.json":     "{\"question\": \"What is X?\", \"context\": \"ctx one\"}\n{\"question\": \"Why Y?\", \"context\": \"ctx two\"}\n",
		"h.jsonl.gz": "",
	}
	for name, content := range files {
		if name == "h.jsonl.gz" {
			continue
		}
		testutil.WriteFile(t, dir, name, content)
	}
	d := mustLoad(t, filepath.Join(dir, "a.jsonl"))
	if err := d.Save(filepath.Join(dir, "p.parquet")); err != nil {
		t.Fatal(err)
	}
	gzPath := filepath.Join(dir, "h.jsonl.gz")
	writeGzip(t, gzPath, files["f.ndjson"])
	for _, name := range []string{"a.jsonl", "b.json", "c.json", "d.csv", "e.tsv", "f.ndjson", "g.json", "h.jsonl.gz", "p.parquet"} {
		t.Run(name, func(t *testing.T) {
			d := mustLoad(t, filepath.Join(dir, name))
			got := "[" + strings.Join(strs(t, d, "question"), ", ") + "]|[" + strings.Join(strs(t, d, "context"), ", ") + "]"
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
			if c := strings.Join(d.Columns(), ","); c != "question,context" {
				t.Errorf("columns %s", c)
			}
		})
	}
}

func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	good := mustParquet(t, dir)
	raw, _ := os.ReadFile(good)
	testutil.WriteFile(t, dir, "truncated.parquet", string(raw[:len(raw)/2]))
	testutil.WriteFile(t, dir, "garbage.parquet", strings.Repeat("not parquet at all ", 20))
	corrupt := append([]byte(nil), raw...)
	for i := 4; i < len(corrupt)/2; i++ { // Page data and headers, keeping the magic and the footer.
		corrupt[i] ^= 0x5a
	}
	testutil.WriteFile(t, dir, "corrupt-pages.parquet", string(corrupt))
	testutil.WriteFile(t, dir, "ragged.csv", "a,b\n1,2\n3,4,5\n")
	testutil.WriteFile(t, dir, "bad.jsonl", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3,}\n")
	testutil.WriteFile(t, dir, "notobject.jsonl", "{\"a\": 1}\n[1, 2]\n")
	testutil.WriteFile(t, dir, "mixed.jsonl", "{\"a\": 1}\n{\"a\": \"text\"}\n")
	testutil.WriteFile(t, dir, "dupkey.jsonl", "{\"a\": 1, \"a\": 2}\n")
	testutil.WriteFile(t, dir, "bad.json", `[{"a": 1}, {"a": 2]`)
	testutil.WriteFile(t, dir, "empty.csv", "")
	testutil.WriteFile(t, dir, "data.xml", "<a/>")
	testutil.WriteFile(t, dir, "splits/train.jsonl", `{"a": 1}`)
	testutil.WriteFile(t, dir, "splits/test.jsonl", `{"a": 2}`)
	testutil.WriteFile(t, dir, "ts/x.parquet", "")

	tests := []struct {
		name string
		src  string
		opts []Option
		want []string
	}{
		{"unknown split", "splits", []Option{WithSplit("validation")}, []string{`unknown split "validation"`, `["train", "test"]`}},
		{"unknown split of a file", "bad.jsonl", []Option{WithSplit("test")}, []string{`unknown split "test"`, `["train"]`}},
		{"missing column", "splits", []Option{WithColumns("b")}, []string{`no column "b"`, `["a"]`}},
		{"missing column (parquet)", "good.parquet", []Option{WithColumns("question", "answer")}, []string{`no column "answer"`, `["question", "context"]`}},
		{"truncated parquet", "truncated.parquet", nil, []string{"truncated.parquet", "Parquet"}},
		{"not parquet", "garbage.parquet", nil, []string{"garbage.parquet", "not a valid Parquet file"}},
		{"corrupt parquet pages", "corrupt-pages.parquet", nil, []string{"corrupt-pages.parquet", "corrupt Parquet"}},
		{"ragged csv", "ragged.csv", nil, []string{"ragged.csv", "line 3", "wrong number of fields"}},
		{"bad json line", "bad.jsonl", nil, []string{"bad.jsonl", "line 3", "invalid JSON"}},
		{"json line not an object", "notobject.jsonl", nil, []string{"notobject.jsonl", "line 2", "expected a JSON object"}},
		{"mixed types", "mixed.jsonl", nil, []string{"mixed.jsonl", "line 2", `key "a"`, "string value after int64 values"}},
		{"duplicate key", "dupkey.jsonl", nil, []string{"dupkey.jsonl", "line 1", `key "a" appears twice`}},
		{"bad json array", "bad.json", nil, []string{"bad.json", "invalid JSON"}},
		{"empty csv", "empty.csv", nil, []string{"empty.csv", "header"}},
		{"unknown extension", "data.xml", nil, []string{"data.xml", "unknown format"}},
		{"missing file", "nope.jsonl", nil, []string{"nope.jsonl", "no such file"}},
		{"no split train and several splits", "splits", []Option{WithSplit("")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Load(filepath.Join(dir, tc.src), tc.opts...)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if d.Len() != 1 {
					t.Errorf("default split has %d rows", d.Len())
				}
				return
			}
			if err == nil {
				t.Fatalf("no error (got %d rows)", d.Len())
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(content))
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptParquetNeverPanics flips bytes all over a valid file: every load must return rows
// or an error.
func TestCorruptParquetNeverPanics(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(mustParquet(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "flipped.parquet")
	for pos := 0; pos < len(raw); pos += max(1, len(raw)/300) {
		b := append([]byte(nil), raw...)
		b[pos] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("byte %d flipped: panic %v", pos, r)
				}
			}()
			d, err := Load(p)
			if err == nil && d.Len() != 300 {
				t.Errorf("byte %d flipped: %d rows and no error", pos, d.Len())
			}
		}()
	}
}

// mustParquet writes a small (question, context) Parquet file, good.parquet.
func mustParquet(t *testing.T, dir string) string {
	t.Helper()
	qs := make([]string, 300)
	cs := make([]string, 300)
	for i := range qs {
		qs[i] = strings.Repeat("question words ", i%7+1)
		cs[i] = strings.Repeat("context text ", i%13+1)
	}
	d, err := FromColumns(Col("question", qs), Col("context", cs))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "good.parquet")
	if err := d.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFromHub(t *testing.T) {
	srv := hubtest.NewServer(t)
	src := t.TempDir()
	train, _ := FromColumns(Col("question", []string{"q1", "q2", "q3"}), Col("context", []string{"c1", "c2", "c1"}))
	test, _ := FromColumns(Col("question", []string{"t1"}), Col("context", []string{"tc"}))
	for name, d := range map[string]*Dataset{"train": train, "test": test} {
		if err := d.Save(filepath.Join(src, "data", name+"-00000-of-00001.parquet")); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WriteFile(t, src, "README.md", "---\nlicense: mit\n---\n# QA pairs\n")
	srv.AddFolder(hub.Dataset, "org/qa", src)
	srv.AddRepo(hub.Dataset, "org/evil", []hubtest.File{{Path: "../escape.jsonl", Content: []byte(`{"a": 1}`)}})
	cache := t.TempDir()
	client := func(t *testing.T, opts ...hub.Option) *hub.Client {
		c, err := hub.NewClient(append([]hub.Option{hub.WithEndpoint(srv.URL), hub.WithCacheDir(cache), hub.WithRetry(1, 0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()

	d, err := LoadContext(ctx, "org/qa", WithHubClient(client(t)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || strings.Join(strs(t, d, "question"), ",") != "q1,q2,q3" {
		t.Fatalf("train split: %v", d)
	}
	splits, err := Splits(ctx, "org/qa", WithHubClient(client(t)))
	if err != nil || strings.Join(splits, ",") != "train,test" {
		t.Fatalf("splits %v, %v", splits, err)
	}
	// Only the README and the train shard were downloaded.
	gets := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" && strings.Contains(r.Path, "test-00000") {
			gets++
		}
	}
	if gets != 0 {
		t.Error("the test split was downloaded to load train")
	}

	t.Run("offline from the cache", func(t *testing.T) {
		d, err := LoadContext(ctx, "org/qa", WithHubClient(client(t, hub.WithOffline(true))))
		if err != nil || d.Len() != 3 {
			t.Fatalf("offline load: %v", err)
		}
		_, err = LoadContext(ctx, "org/qa", WithSplit("test"), WithHubClient(client(t, hub.WithOffline(true))))
		if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "test-00000-of-00001.parquet") {
			t.Errorf("uncached split offline: %v", err)
		}
	})
	t.Run("unknown split", func(t *testing.T) {
		_, err := LoadContext(ctx, "org/qa", WithSplit("dev"), WithHubClient(client(t)))
		if err == nil || !strings.Contains(err.Error(), `["train", "test"]`) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("repo not found", func(t *testing.T) {
		_, err := LoadContext(ctx, "org/missing", WithHubClient(client(t)))
		if !errors.Is(err, hub.ErrRepoNotFound) || !strings.Contains(err.Error(), `"org/missing"`) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("file name escaping the cache", func(t *testing.T) {
		_, err := LoadContext(ctx, "org/evil", WithHubClient(client(t)))
		if err == nil || !strings.Contains(err.Error(), "unsafe file name") {
			t.Errorf("error %v", err)
		}
		if _, serr := os.Stat(filepath.Join(filepath.Dir(cache), "escape.jsonl")); serr == nil {
			t.Error("file written outside the cache")
		}
	})
}
