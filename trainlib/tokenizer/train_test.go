package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const trainedDir = "testdata/trained"

// trainCorpus is the committed corpus of the trained fixture: the SQuAD texts of testdata/hf/fixtures.json.
func trainCorpus(t testing.TB) []string {
	f := loadFixtures(t)
	var texts []string
	for _, c := range f.Cases {
		if strings.HasPrefix(c.Name, "squad_") {
			texts = append(texts, c.Text)
		}
	}
	return texts
}

// TestTrainWordPieceGolden retrains the committed tokenizer in testdata/trained and requires identical
// files (deterministic training). EMBEDTUNE_UPDATE_TESTDATA=1 rewrites them; then rerun
// tests/reference/gen_tokenizer_fixtures.py so that testdata/hf/trained.json holds Hugging Face's ids for them.
func TestTrainWordPieceGolden(t *testing.T) {
	v, err := TrainWordPiece(trainCorpus(t), 2000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != 2000 {
		t.Fatalf("trained %d tokens, want 2000", len(v.Tokens))
	}
	if os.Getenv("EMBEDTUNE_UPDATE_TESTDATA") == "1" {
		if err := v.Save(trainedDir); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := v.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TokenizerJSONFile, VocabFile, TokenizerConfigFile, SpecialTokensMapFile} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(trainedDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the committed %s (training is not deterministic, or the testdata is stale)", name, filepath.Join(trainedDir, name))
		}
	}
	// Training twice gives the same vocabulary.
	v2, err := TrainWordPiece(trainCorpus(t), 2000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Tokens, v2.Tokens) {
		t.Error("two trainings on the same corpus differ")
	}
}

// TestTrainedTokenizerParity checks our trained tokenizer against Hugging Face's ids for it
// (testdata/hf/trained.json, written by tests/reference/gen_tokenizer_fixtures.py from Tokenizer.from_file,
// AutoTokenizer and SentenceTransformer at max_seq_length 32).
func TestTrainedTokenizerParity(t *testing.T) {
	data, err := os.ReadFile("testdata/hf/trained.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []struct {
			Text string `json:"text"`
			IDs  []int  `json:"ids"`
			ST32 []int  `json:"st_32"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 50 {
		t.Fatalf("trained.json has %d cases", len(fx.Cases))
	}
	v, err := TrainWordPiece(trainCorpus(t), 2000, nil)
	if err != nil {
		t.Fatal(err)
	}
	inMemory, err := v.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	impls := []struct {
		name string
		tk   Tokenizer
	}{{"in-memory", inMemory}}
	for _, impl := range testImpls() {
		tk, err := impl.load(trainedDir, nil)
		if err != nil {
			t.Fatalf("%s: %v", impl.name, err)
		}
		defer tk.Close()
		impls = append(impls, struct {
			name string
			tk   Tokenizer
		}{impl.name, tk})
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			m := &mismatches{t: t}
			for _, c := range fx.Cases {
				got, err := impl.tk.Encode(c.Text, 0)
				m.check("plain "+c.Text, got, err, c.IDs)
				got, err = impl.tk.Encode(c.Text, 32)
				m.check("max_seq_length 32 "+c.Text, got, err, c.ST32)
			}
			m.done()
			sp := impl.tk.Special()
			if sp.PAD != 0 || sp.UNK != 1 || sp.CLS != 2 || sp.SEP != 3 || sp.MASK != 4 {
				t.Errorf("special ids %+v, want PAD 0, UNK 1, CLS 2, SEP 3, MASK 4", sp)
			}
			if impl.tk.VocabSize() != 2000 {
				t.Errorf("VocabSize() = %d, want 2000", impl.tk.VocabSize())
			}
		})
	}
}

func TestTrainWordPieceErrors(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		size  int
		want  string
	}{
		{"vocab too small", []string{"hello"}, 5, "too small"},
		{"empty corpus", nil, 100, "no words"},
		{"only whitespace", []string{" \t\n", ""}, 100, "no words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TrainWordPiece(tc.texts, tc.size, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
