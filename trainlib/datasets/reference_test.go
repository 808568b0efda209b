package datasets

// Checks against Hugging Face datasets 4.0.0 (pyarrow 26, fsspec 2025.3): the fixtures in
// testdata/reference were written and described by testdata/reference/make_fixtures.py.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type refDescription struct {
	NumRows  int              `json:"num_rows"`
	Columns  []string         `json:"columns"`
	Types    []string         `json:"types"`
	RowIndex []int            `json:"row_index"`
	Rows     []map[string]any `json:"rows"`
}

func loadRefJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// sameValue compares one of our values with the value datasets gave (decoded with UseNumber).
func sameValue(ours, ref any) bool {
	switch o := ours.(type) {
	case nil:
		return ref == nil
	case string:
		return ref == o
	case bool:
		return ref == o
	case int64:
		n, ok := ref.(json.Number)
		return ok && n.String() == strconv.FormatInt(o, 10) || ok && numberEquals(n, float64(o))
	case float64:
		n, ok := ref.(json.Number)
		return ok && numberEquals(n, o)
	case []string:
		arr, ok := ref.([]any)
		if !ok || len(arr) != len(o) {
			return false
		}
		for i := range o {
			if arr[i] != o[i] {
				return false
			}
		}
		return true
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(o))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return false
		}
		return reflect.DeepEqual(normalizeNumbers(v), normalizeNumbers(ref))
	}
	return false
}

func numberEquals(n json.Number, f float64) bool {
	g, err := strconv.ParseFloat(n.String(), 64)
	return err == nil && g == f
}

// normalizeNumbers makes 1 and 1.0 compare equal.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(x.String(), 64)
		return f
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeNumbers(x[k])
		}
	}
	return v
}

// compareWithReference checks names, types and the sampled rows; allowed lists "column: reason"
// deviations (type differences) that are deliberate and documented.
func compareWithReference(t *testing.T, d *Dataset, ref refDescription, typeDeviations map[string]Type) {
	t.Helper()
	if d.Len() != ref.NumRows {
		t.Fatalf("%d rows, datasets has %d", d.Len(), ref.NumRows)
	}
	if got := strings.Join(d.Columns(), ","); got != strings.Join(ref.Columns, ",") {
		t.Fatalf("columns %s, datasets has %s", got, strings.Join(ref.Columns, ","))
	}
	for j, typ := range d.Types() {
		want := ref.Types[j]
		if dev, ok := typeDeviations[ref.Columns[j]]; ok {
			if typ != dev {
				t.Errorf("column %q: type %s, want the documented %s (datasets: %s)", ref.Columns[j], typ, dev, want)
			}
			continue
		}
		if typ.String() != want {
			t.Errorf("column %q: type %s, datasets has %s", ref.Columns[j], typ, want)
		}
	}
	for k, i := range ref.RowIndex {
		row, err := d.Row(i)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ref.Columns {
			want := ref.Rows[k][c]
			got := row[c]
			if s, ok := got.(string); ok && d.mustType(c) == String {
				if w, ok := want.(json.Number); ok && typeDeviations[c] == String { // kept as text
					if s != w.String() && !strings.HasSuffix(s, w.String()) {
						t.Errorf("row %d, column %q: %q vs datasets %v", i, c, s, want)
					}
					continue
				}
			}
			if !sameValue(got, want) {
				t.Errorf("row %d, column %q: %#v, datasets has %#v", i, c, got, want)
			}
		}
	}
}

func (d *Dataset) mustType(col string) Type {
	i, _ := d.colIndex(col)
	return d.cols[i].typ
}

func TestParquetMatchesDatasets(t *testing.T) {
	var ref map[string]refDescription
	loadRefJSON(t, "parquet_expected.json", &ref)
	if len(ref) == 0 {
		t.Fatal("no reference")
	}
	for name, want := range ref {
		t.Run(name, func(t *testing.T) {
			d, err := Load(filepath.Join("testdata", "reference", name))
			if err != nil {
				t.Fatal(err)
			}
			compareWithReference(t, d, want, nil)
		})
	}
}

func TestTextFormatsMatchDatasets(t *testing.T) {
	var ref map[string]refDescription
	loadRefJSON(t, "text_expected.json", &ref)
	// Deliberate differences from pandas.read_csv (see readCSV): an integer column with empty fields
	// stays int64 (pandas makes it float64 to hold NaN), integers written with leading zeros stay
	// text, and a column of empty fields is null-typed.
	deviations := map[string]map[string]Type{
		"types.csv": {"count": Int, "code": String, "empty": Null},
	}
	opts := map[string][]Option{"field.json": {WithField("data")}}
	for name, want := range ref {
		t.Run(name, func(t *testing.T) {
			d, err := Load(filepath.Join("testdata", "reference", "text", name), opts[name]...)
			if err != nil {
				t.Fatal(err)
			}
			compareWithReference(t, d, want, deviations[name])
		})
	}
}

func TestSplitSelectionMatchesDatasets(t *testing.T) {
	var ref map[string]struct {
		Files  []string `json:"files"`
		Readme string   `json:"readme"`
		Cases  map[string]struct {
			Config     string              `json:"config"`
			Splits     map[string][]string `json:"splits"`
			SplitOrder []string            `json:"split_order"`
			Error      string              `json:"error"`
		} `json:"cases"`
	}
	loadRefJSON(t, "splits_expected.json", &ref)
	names := make([]string, 0, len(ref))
	for n := range ref {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		layout := ref[name]
		for config, want := range layout.Cases {
			t.Run(name+"/"+config, func(t *testing.T) {
				var readme []byte
				if contains(layout.Files, "README.md") {
					readme = []byte(layout.Readme)
				}
				got, err := selectDataFiles(layout.Files, readme, config, name)
				if want.Error != "" {
					if err == nil {
						t.Fatalf("no error; datasets fails with %s (we chose %+v)", want.Error, got)
					}
					t.Logf("datasets: %s\nours:     %v", want.Error, err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.config != want.Config {
					t.Errorf("config %q, datasets %q", got.config, want.Config)
				}
				if fmt.Sprint(got.splits) != fmt.Sprint(want.SplitOrder) {
					t.Errorf("splits %v, datasets %v", got.splits, want.SplitOrder)
				}
				for s, files := range want.Splits {
					if fmt.Sprint(got.files[s]) != fmt.Sprint(files) {
						t.Errorf("split %q: files %v, datasets %v", s, got.files[s], files)
					}
				}
			})
		}
	}
}

func TestGlobMatchesFsspec(t *testing.T) {
	var ref struct {
		Files   []string       `json:"files"`
		Matches map[string]any `json:"matches"`
	}
	loadRefJSON(t, "glob_expected.json", &ref)
	for pattern, want := range ref.Matches {
		if m, ok := want.(map[string]any); ok {
			if err := validatePattern(pattern); err == nil {
				t.Errorf("pattern %q accepted; fsspec rejects it: %v", pattern, m["error"])
			}
			continue
		}
		var got []string
		for _, f := range ref.Files {
			if globMatch(pattern, f) {
				got = append(got, f)
			}
		}
		sort.Strings(got)
		var exp []string
		for _, x := range want.([]any) {
			exp = append(exp, x.(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("pattern %q: %v, fsspec %v", pattern, got, exp)
		}
	}
}

func TestParquetUnsupportedTypeNamesTheColumn(t *testing.T) {
	p := filepath.Join("testdata", "reference", "timestamp.parquet") // pyarrow: text string, when timestamp[ms]
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), `column "when"`) || !strings.Contains(err.Error(), "WithColumns") {
		t.Fatalf("error %v", err)
	}
	d, err := Load(p, WithColumns("text"))
	if err != nil || d.Len() != 2 || strings.Join(strs(t, d, "text"), ",") != "a,b" {
		t.Fatalf("WithColumns(text): %v", err)
	}
}
