package model_test

import (
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
)

// TestPromptTokenization encodes texts with a prompt through models that Python sentence-transformers built
// with include_prompt true and false (mean pooling, where leaving the prompt's tokens out changes the
// embedding) and expects Python's embeddings: the prompt is prepended before tokenizing, and its tokens
// without [SEP] are left out of the pooling exactly when include_prompt is false.
func TestPromptTokenization(t *testing.T) {
	tokDir := filepath.Join(t.TempDir(), "tok")
	if err := synth.Tokenizer(tokDir, 600); err != nil {
		t.Fatal(err)
	}
	const prompt = "query: what is "
	var reqs []map[string]any
	dirs := map[bool]string{}
	for i, include := range []bool{true, false} {
		dirs[include] = filepath.Join(t.TempDir(), "py")
		reqs = append(reqs, map[string]any{"out": dirs[include], "tokenizer": tokDir, "hidden": 32, "layers": 2,
			"heads": 4, "intermediate": 64, "max_position": 128, "max_seq_length": 40, "pooling": "mean",
			"texts": pyTexts, "seed": i, "include_prompt": include, "prompt": prompt})
	}
	var refs struct {
		Batch []struct{ Embeddings [][]float64 }
	}
	testutil.PythonJSON(t, "tests/reference/st_make_model.py", map[string]any{"batch": reqs}, &refs)
	for i, include := range []bool{true, false} {
		m, err := model.Load(dirs[include], model.WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		if m.Pooling.IncludePrompt != include {
			t.Fatalf("include_prompt %v was read as %v", include, m.Pooling.IncludePrompt)
		}
		ids, promptLen, err := m.Tokenize(pyTexts, prompt, 0)
		if err != nil {
			t.Fatal(err)
		}
		promptIDs, _ := m.Tokenizer.Encode(prompt, 0)
		if want := map[bool]int{true: 0, false: len(promptIDs) - 1}[include]; promptLen != want || len(ids) != len(pyTexts) {
			t.Errorf("include_prompt %v: prompt length %d, want %d", include, promptLen, want)
		}
		got, err := m.Encode(pyTexts, &model.EncodeOptions{Prompt: prompt, BatchSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if d := maxDiff(got[j], refs.Batch[i].Embeddings[j]); d > 1e-5 {
				t.Errorf("include_prompt %v, text %d: max |Δ| = %.3g", include, j, d)
			}
		}
	}
}
