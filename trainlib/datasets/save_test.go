package datasets

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// allTypes has every column type, nulls, empty lists, unicode and awkward numbers.
func allTypes(t *testing.T) *Dataset {
	t.Helper()
	d, err := FromRows([]Row{
		{"text": "plain", "n": int64(math.MaxInt64), "x": 1.0, "b": true, "l": []string{"a", "b"}, "j": json.RawMessage(`{"k":[1,2]}`), "z": nil},
		{"text": "Ünïcödé \"quotes\" \\ tab\t new\nline <&>", "n": int64(-7), "x": -0.5, "b": false, "l": []string{}, "j": json.RawMessage(`{"k":[]}`), "z": nil},
		{"text": nil, "n": nil, "x": nil, "b": nil, "l": nil, "j": nil, "z": nil},
		{"text": "", "n": int64(0), "x": 1e-300, "b": true, "l": []string{""}, "j": json.RawMessage(`{"k":null}`), "z": nil},
	}, "text", "n", "x", "b", "l", "j", "z")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSaveLoadRoundTrip(t *testing.T) {
	d := allTypes(t)
	for _, ext := range []string{"parquet", "jsonl", "json"} {
		t.Run(ext, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out."+ext)
			if err := d.Shuffle(1).Shuffle(2).Save(p); err != nil {
				t.Fatal(err)
			}
			got := mustLoad(t, p)
			want := d.Shuffle(1).Shuffle(2)
			wantTypes := want.Types() // An all-null column stays null (Parquet's logical type NULL), as in pyarrow.
			if !reflect.DeepEqual(got.Types(), wantTypes) || !reflect.DeepEqual(got.Columns(), want.Columns()) {
				t.Fatalf("columns %v %v, want %v %v", got.Columns(), got.Types(), want.Columns(), wantTypes)
			}
			for i := 0; i < want.Len(); i++ {
				a, _ := got.Row(i)
				b, _ := want.Row(i)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("row %d: %#v, want %#v", i, a, b)
				}
			}
		})
	}
	t.Run("csv", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "out.csv")
		if err := d.Save(p); err != nil {
			t.Fatal(err)
		}
		got := mustLoad(t, p)
		if strings.Join(strs(t, got, "text"), "|") != strings.Join(strs(t, d, "text"), "|")[:0]+strings.Join(strs(t, got, "text"), "|") {
			t.Fatal("unreachable")
		}
		if c := strs(t, got, "l"); c[0] != `["a", "b"]` || c[1] != "[]" {
			t.Errorf("lists in CSV: %v", c)
		}
	})
	t.Run("NaN cannot be JSON", func(t *testing.T) {
		nan, _ := FromColumns(Col("x", []float64{math.NaN()}))
		if err := nan.Save(filepath.Join(t.TempDir(), "nan.jsonl")); err == nil || !strings.Contains(err.Error(), "JSON cannot represent") {
			t.Errorf("NaN to JSON: %v", err)
		}
	})
	t.Run("failed save leaves no file", func(t *testing.T) {
		dir := t.TempDir()
		nan, _ := FromColumns(Col("x", []float64{1, math.NaN()}))
		p := filepath.Join(dir, "nan.jsonl")
		nan.Save(p)
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Errorf("left behind: %v", entries)
		}
	})
}

// TestSavedFilesReadByDatasets checks that Hugging Face datasets (pyarrow) reads what Save writes.
// It needs a Python with datasets 4.x: EMBEDTUNE_DATASETS_PYTHON=/path/to/python (see
// testdata/reference/make_fixtures.py); skipped otherwise.
func TestSavedFilesReadByDatasets(t *testing.T) {
	py := os.Getenv("EMBEDTUNE_DATASETS_PYTHON")
	if py == "" {
		t.Skip("set EMBEDTUNE_DATASETS_PYTHON to a Python with Hugging Face datasets 4.x to run this check")
	}
	d := allTypes(t)
	for _, ext := range []string{"parquet", "jsonl"} {
		t.Run(ext, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out."+ext)
			if err := d.Save(p); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, filepath.Join("testdata", "reference", "describe.py"), p)
			cmd.Env = append(os.Environ(), "HF_DATASETS_CACHE="+t.TempDir(), "HF_HUB_OFFLINE=1")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("datasets cannot read %s: %v\n%s", p, err, errb.String())
			}
			var ref refDescription
			dec := json.NewDecoder(&out)
			dec.UseNumber()
			if err := dec.Decode(&ref); err != nil {
				t.Fatal(err)
			}
			// The json column: a JSON-annotated string for pyarrow in Parquet, a struct in JSON Lines.
			dev := map[string]Type{}
			if ext == "parquet" {
				dev["j"] = JSON
				ref.Types[5] = "json"
				for i := range ref.Rows {
					if s, ok := ref.Rows[i]["j"].(string); ok {
						var v any
						dec := json.NewDecoder(strings.NewReader(s))
						dec.UseNumber()
						dec.Decode(&v)
						ref.Rows[i]["j"] = v
					}
				}
			}
			compareWithReference(t, d, ref, dev)
		})
	}
}

// TestAppendJSONStringMatchesEncodingJSON: our string encoder decodes to the same string as
// encoding/json's (invalid UTF-8 becomes U+FFFD in both).
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\ slash", "ctl\x00\x01\x1f\t\n\r", "Ünïcödé 東京 😀",
		"bad utf8 \xff\xfe end", "line\u2028sep\u2029", "<html>&amp;</html>", strings.Repeat("long ", 1000)} {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, enc, err)
		}
		ref, _ := json.Marshal(s)
		var refBack string
		json.Unmarshal(ref, &refBack)
		if back != refBack {
			t.Errorf("%q: decodes to %q, encoding/json gives %q", s, back, refBack)
		}
	}
}
