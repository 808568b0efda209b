package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadEmbeddings reads arbitrary embedding files (what `embedtune evaluate --query-embeddings`
// reads). Accepted files hold finite vectors of one dimension under distinct ids and read back the
// same after being written again; rejected ones get an error naming the file and line.
func FuzzReadEmbeddings(f *testing.F) {
	f.Add([]byte(`{"id": "q1", "embedding": [0.1, -2e-3, 3]}` + "\n\n" + `{"id": 7, "embedding": [1, 2, 3]}` + "\r\n"))
	f.Add([]byte(`{"id": "a", "embedding": [NaN]}`))
	f.Add([]byte(`{"id": 1.5, "embedding": [1]}`))
	f.Add([]byte(`{"id": "x", "embedding": [1e39]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz/emb.jsonl"
		got, err := readEmbeddings(bytes.NewReader(data), name)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		dim := -1
		var buf bytes.Buffer
		for id, e := range got {
			if dim >= 0 && len(e) != dim || len(e) == 0 {
				t.Fatalf("dimensions differ or are empty: %d, %d", dim, len(e))
			}
			dim = len(e)
			for _, v := range e {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite value accepted for %q", id)
				}
			}
			b, _ := json.Marshal(map[string]any{"id": id, "embedding": e})
			buf.Write(append(b, '\n'))
		}
		back, err := readEmbeddings(&buf, "again.jsonl")
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("write → read changed the embeddings (%v)", err)
		}
	})
}

// readRecordsWhole is the reading rule of readTexts written the direct way (whole input in memory,
// split on "\n"): the reference the streaming reader is fuzzed against.
func readRecordsWhole(data []byte, format string, fields []string, idField string) ([]string, []json.RawMessage, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	lines := []string{}
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	if format == "auto" {
		format = "text"
		for _, l := range lines {
			if t := strings.TrimLeft(l, " \t\r"); t != "" {
				if strings.HasPrefix(t, "{") {
					format = "jsonl"
				}
				break
			}
		}
	}
	if format == "text" {
		if idField != "" {
			return nil, nil, fmt.Errorf("--id-field needs JSON Lines")
		}
		return lines, nil, nil
	}
	out := []string{}
	var ids []json.RawMessage
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		s, id, err := parseRecord([]byte(l), fields, idField)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, s)
		if idField != "" {
			ids = append(ids, id)
		}
	}
	return out, ids, nil
}

// FuzzReadRecords: the streaming input reader of encode, tokenize and train-tokenizer reads exactly
// what the whole-input rule reads, in every format, and names the file and line in its errors.
func FuzzReadRecords(f *testing.F) {
	f.Add([]byte("a\n\nb\r\n"), "auto", "text", "")
	f.Add([]byte("\n"), "text", "text", "")
	f.Add([]byte("\xef\xbb\xbf\n  {\"_id\": 1, \"title\": null, \"text\": \" x \"}\n\n{\"_id\": \"b\", \"text\": \"y\"}"), "auto", "title,text", "_id")
	f.Add([]byte(`{"text": 1}`), "jsonl", "text", "")
	f.Fuzz(func(t *testing.T, data []byte, format, field, idField string) {
		if format != "auto" && format != "text" && format != "jsonl" {
			return
		}
		p := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		texts, ids, err := readRecords(p, format, field, idField)
		var fields []string
		for _, f := range strings.Split(field, ",") {
			fields = append(fields, strings.TrimSpace(f))
		}
		if strings.Contains(","+field+",", ",,") || strings.TrimSpace(field) == "" || slicesHasEmpty(fields) {
			if err == nil {
				t.Fatalf("empty field name in %q accepted", field)
			}
			return
		}
		wantTexts, wantIDs, wantErr := readRecordsWhole(data, format, fields, idField)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("streaming reader: %v; whole-input reader: %v", err, wantErr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), p) || (strings.Contains(wantErr.Error(), "line ") && !strings.Contains(err.Error(), wantErr.Error())) {
				t.Fatalf("error %q, want the file and %q", err, wantErr)
			}
			return
		}
		if !reflect.DeepEqual(texts, wantTexts) || !reflect.DeepEqual(ids, wantIDs) {
			t.Fatalf("streaming reader read %q %q, whole-input reader %q %q", texts, ids, wantTexts, wantIDs)
		}
	})
}

func slicesHasEmpty(s []string) bool {
	for _, x := range s {
		if x == "" {
			return true
		}
	}
	return false
}
