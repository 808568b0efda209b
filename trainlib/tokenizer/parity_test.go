package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// testImpl is one implementation under test.
type testImpl struct {
	name     string
	load     func(dir string, opts *Options) (Tokenizer, error)
	fromJSON func(name string, data []byte, opts *Options) (Tokenizer, error)
}

// fixtureCase is one text of testdata/hf/fixtures.json (see tests/reference/gen_tokenizer_fixtures.py).
type fixtureCase struct {
	Name     string `json:"name"`
	Text     string `json:"text"`
	BytesB64 string `json:"bytes_b64"`
	IDs      []int  `json:"ids"`
	ST128    []int  `json:"st_128"`
	ST256    []int  `json:"st_256"`
	ST512    []int  `json:"st_512"`
}

// input is what the Go side tokenizes: the raw bytes for the invalid UTF-8 cases (Python tokenized their
// errors="replace" decoding, Text), the text otherwise.
func (c fixtureCase) input(t *testing.T) string {
	if c.BytesB64 == "" {
		return c.Text
	}
	b, err := base64.StdEncoding.DecodeString(c.BytesB64)
	if err != nil {
		t.Fatalf("case %s: bad bytes_b64: %v", c.Name, err)
	}
	return string(b)
}

// stIDs returns what sentence-transformers produced at max_seq_length L.
func (c fixtureCase) stIDs(L int) []int {
	st := map[int][]int{128: c.ST128, 256: c.ST256, 512: c.ST512}[L]
	if st != nil {
		return st
	}
	return c.IDs
}

type fixtureVariant struct {
	Name            string          `json:"name"`
	Doc             string          `json:"doc"`
	TokenizerConfig json.RawMessage `json:"tokenizer_config"`
	TokenizerPatch  map[string]any  `json:"tokenizer_json_patch"`
	DoLowerCase     bool            `json:"do_lower_case"`
	MaxSeqLength    int             `json:"max_seq_length"`
	Cases           []struct {
		Case *int   `json:"case"`
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"cases"`
}

type fixtureFile struct {
	Versions map[string]string `json:"versions"`
	Cases    []fixtureCase     `json:"cases"`
	Variants []fixtureVariant  `json:"variants"`
}

const minilmDir = "testdata/hf/minilm"

func loadFixtures(t testing.TB) *fixtureFile {
	t.Helper()
	data, err := os.ReadFile("testdata/hf/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtureFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parsing fixtures.json: %v", err)
	}
	if len(f.Cases) < 300 {
		t.Fatalf("fixtures.json has %d cases, expected a few hundred", len(f.Cases))
	}
	return &f
}

// mismatches collects differences and reports the first few.
type mismatches struct {
	t     *testing.T
	n     int
	total int
}

func (m *mismatches) check(what string, got []int, err error, want []int) {
	m.total++
	if err == nil && slices.Equal(got, want) {
		return
	}
	m.n++
	if m.n <= 8 {
		m.t.Errorf("%s:\n got  %v (err %v)\n want %v", what, got, err, want)
	}
}

func (m *mismatches) done() {
	if m.n > 8 {
		m.t.Errorf("... %d mismatches of %d in all", m.n, m.total)
	}
	if m.total == 0 {
		m.t.Fatal("nothing was compared")
	}
}

// TestParityTokenizersPlain compares with Hugging Face tokenizers' Tokenizer.from_file(...).encode(text).
func TestParityTokenizersPlain(t *testing.T) {
	f := loadFixtures(t)
	data, err := os.ReadFile(filepath.Join(minilmDir, TokenizerJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, impl := range testImpls() {
		t.Run(impl.name, func(t *testing.T) {
			tk, err := impl.fromJSON(filepath.Join(minilmDir, TokenizerJSONFile), data, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tk.Close()
			m := &mismatches{t: t}
			for _, c := range f.Cases {
				got, err := tk.Encode(c.input(t), 0)
				m.check(fmt.Sprintf("case %s %q", c.Name, c.Text), got, err, c.IDs)
			}
			m.done()
		})
	}
}

// TestParitySentenceTransformers compares with the ids SentenceTransformer(folder).preprocess(texts) gives
// at max_seq_length 128, 256 and 512 (texts longer than that are cut to exactly max_seq_length ids).
func TestParitySentenceTransformers(t *testing.T) {
	f := loadFixtures(t)
	for _, impl := range testImpls() {
		t.Run(impl.name, func(t *testing.T) {
			tk, err := impl.load(minilmDir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tk.Close()
			m := &mismatches{t: t}
			truncated := 0
			for _, L := range []int{128, 256, 512} {
				for _, c := range f.Cases {
					want := c.stIDs(L)
					if len(c.IDs) > L {
						truncated++
						if len(want) != L {
							t.Fatalf("fixture %s: sentence-transformers gave %d ids at max_seq_length %d", c.Name, len(want), L)
						}
					}
					got, err := tk.Encode(c.input(t), L)
					m.check(fmt.Sprintf("case %s at max_seq_length %d", c.Name, L), got, err, want)
				}
			}
			m.done()
			if truncated < 50 {
				t.Errorf("only %d truncated comparisons; the fixture should exercise truncation", truncated)
			}
			// The batch API gives the same ids.
			texts := make([]string, len(f.Cases))
			for i, c := range f.Cases {
				texts[i] = c.input(t)
			}
			batch, err := tk.EncodeBatch(texts, 128)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range f.Cases {
				if !slices.Equal(batch[i], c.stIDs(128)) {
					t.Fatalf("EncodeBatch case %s: got %v, want %v", c.Name, batch[i], c.stIDs(128))
				}
			}
		})
	}
}

// TestParityVariants covers configuration variants, each checked against sentence-transformers.
func TestParityVariants(t *testing.T) {
	f := loadFixtures(t)
	base, err := os.ReadFile(filepath.Join(minilmDir, TokenizerJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	stm, err := os.ReadFile(filepath.Join(minilmDir, SpecialTokensMapFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Variants {
		dir := t.TempDir()
		var tj map[string]any
		if err := json.Unmarshal(base, &tj); err != nil {
			t.Fatal(err)
		}
		maps.Copy(tj, v.TokenizerPatch)
		writeJSONFile(t, filepath.Join(dir, TokenizerJSONFile), tj)
		if err := os.WriteFile(filepath.Join(dir, TokenizerConfigFile), v.TokenizerConfig, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, SpecialTokensMapFile), stm, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, impl := range testImpls() {
			t.Run(v.Name+"/"+impl.name, func(t *testing.T) {
				tk, err := impl.load(dir, &Options{LowerCase: v.DoLowerCase})
				if err != nil {
					t.Fatal(err)
				}
				defer tk.Close()
				m := &mismatches{t: t}
				for _, c := range v.Cases {
					text := c.Text
					name := fmt.Sprintf("%q", text)
					if c.Case != nil {
						fc := f.Cases[*c.Case]
						text, name = fc.input(t), fc.Name
					}
					got, err := tk.Encode(text, v.MaxSeqLength)
					m.check(fmt.Sprintf("%s (%s)", name, v.Doc), got, err, c.IDs)
				}
				m.done()
			})
		}
	}
}

// TestParitySharedFullTokenizer runs the fixtures on the full, unreduced tokenizer in ../shared/data.
func TestParitySharedFullTokenizer(t *testing.T) {
	dir := sharedModelDir(t)
	f := loadFixtures(t)
	for _, impl := range testImpls() {
		t.Run(impl.name, func(t *testing.T) {
			tk, err := impl.load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tk.Close()
			m := &mismatches{t: t}
			for _, c := range f.Cases {
				got, err := tk.Encode(c.input(t), 0)
				m.check("plain "+c.Name, got, err, c.IDs)
				got, err = tk.Encode(c.input(t), 256)
				m.check("max_seq_length 256 "+c.Name, got, err, c.stIDs(256))
			}
			m.done()
			if n := tk.VocabSize(); n != 30522 {
				t.Errorf("VocabSize() = %d, want 30522", n)
			}
		})
	}
}

// TestSanitizeUTF8MatchesPython checks invalid UTF-8 against Python's bytes.decode("utf-8", "replace").
func TestSanitizeUTF8MatchesPython(t *testing.T) {
	f := loadFixtures(t)
	n := 0
	for _, c := range f.Cases {
		if c.BytesB64 == "" {
			continue
		}
		n++
		if got := sanitizeUTF8(c.input(t)); got != c.Text {
			t.Errorf("%s: sanitizeUTF8 = %q, Python gives %q", c.Name, got, c.Text)
		}
	}
	if n < 5 {
		t.Fatalf("only %d invalid UTF-8 cases in the fixture", n)
	}
}

// sharedModelDir locates ../shared/data/models/all-MiniLM-L6-v2-config next to the repository root, or
// skips.
func sharedModelDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, "..", "shared", "data", "models", "all-MiniLM-L6-v2-config")
			if _, err := os.Stat(filepath.Join(dir, TokenizerJSONFile)); err != nil {
				t.Skipf("shared data not found (%s): skipping the full-tokenizer check", dir)
			}
			return dir
		}
		if filepath.Dir(d) == d {
			t.Skip("repository root (go.mod) not found")
		}
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentEncode runs Encode from several goroutines (run with -race) and expects the sequential ids.
func TestConcurrentEncode(t *testing.T) {
	f := loadFixtures(t)
	for _, impl := range testImpls() {
		tk, err := impl.load(minilmDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 4)
		for g := 0; g < 4; g++ {
			go func(g int) {
				for i := g; i < len(f.Cases); i += 4 {
					c := f.Cases[i]
					got, err := tk.Encode(c.input(t), 128)
					if err != nil || !slices.Equal(got, c.stIDs(128)) {
						errs <- fmt.Errorf("%s: case %s: got %v (%v)", impl.name, c.Name, got, err)
						return
					}
				}
				errs <- nil
			}(g)
		}
		for g := 0; g < 4; g++ {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		tk.Close()
	}
}
