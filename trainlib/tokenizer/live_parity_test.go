package tokenizer

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLiveParityRegenerate re-runs the Python generators with the reference libraries and requires the
// committed testdata to be exactly what they produce today. It needs Python: set EMBEDTUNE_PYTHON to the
// interpreter of the pinned reference environment ($(scripts/pyenv.sh)); it also needs ../shared/data.
func TestLiveParityRegenerate(t *testing.T) {
	py := os.Getenv("EMBEDTUNE_PYTHON")
	if py == "" {
		t.Skip("EMBEDTUNE_PYTHON not set: skipping the live comparison with Python (set it to $(scripts/pyenv.sh))")
	}
	if testing.Short() {
		t.Skip("-short: skipping the live comparison with Python")
	}
	shared := filepath.Dir(filepath.Dir(sharedModelDir(t))) // <shared>/data
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "..", "..")
	out := t.TempDir()
	cmd := exec.Command(py, filepath.Join(root, "tests", "reference", "gen_tokenizer_fixtures.py"), "--shared", shared, "--check", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_tokenizer_fixtures.py: %v\n%s", err, msg)
	}
	for _, name := range []string{"fixtures.json", "trained.json", filepath.Join("minilm", TokenizerJSONFile)} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "hf", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/hf/%s differs from what the reference libraries produce now; rerun tests/reference/gen_tokenizer_fixtures.py", name)
		}
	}
	cmd = exec.Command(py, filepath.Join(root, "tests", "reference", "gen_tokenizer_unicode_tables.py"))
	tables, err := cmd.Output()
	if err != nil {
		t.Fatalf("gen_tokenizer_unicode_tables.py: %v", err)
	}
	want, err := os.ReadFile("unicode_tables.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tables, want) {
		t.Error("unicode_tables.go differs from the tables measured on the installed tokenizers library; regenerate it")
	}
}
