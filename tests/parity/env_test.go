package parity

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/model"
)

// TestMain runs the suite and then, when the real models are configured, writes
// build/parity/results.md and results.json from the parts the tests recorded.
func TestMain(m *testing.M) {
	out, err := outputDir()
	enabled := os.Getenv(envModels) != ""
	if enabled {
		if err != nil {
			fmt.Fprintln(os.Stderr, "parity:", err)
			os.Exit(2)
		}
		// Results of an earlier run must not leak into this run's table.
		for _, f := range []string{"parts", "results.md", "results.json", "loss_curves.html"} {
			if err := os.RemoveAll(filepath.Join(out, f)); err != nil {
				fmt.Fprintln(os.Stderr, "parity:", err)
				os.Exit(2)
			}
		}
		if err := os.MkdirAll(filepath.Join(out, "parts"), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "parity:", err)
			os.Exit(2)
		}
	}
	env := captureEnv()
	code := m.Run()
	if enabled {
		md, err := writeResults(out, env)
		if err != nil {
			fmt.Fprintln(os.Stderr, "parity: writing the results:", err)
			if code == 0 {
				code = 1
			}
		} else if md != "" {
			fmt.Printf("\n%s\n", md)
		}
	}
	os.Exit(code)
}

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// outputDir is $EMBEDTUNE_PARITY_OUT or <repo>/build/parity.
func outputDir() (string, error) {
	if d := os.Getenv(envOut); d != "" {
		return filepath.Abs(d)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "build", "parity"), nil
}

// modelsDir returns $EMBEDTUNE_REAL_MODELS, skipping the test when it is unset.
func modelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(envModels)
	if dir == "" {
		t.Skipf("real-weights parity: $%s is not set; run scripts/parity.sh (it fetches the weights with scripts/fetch_weights.sh and sets it)", envModels)
	}
	return dir
}

// modelDir returns the folder of a real model, failing (not skipping) when $EMBEDTUNE_REAL_MODELS
// is set but the model is not there: a configured parity run must not pass by skipping.
func modelDir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(modelsDir(t), name)
	for _, f := range []string{"modules.json", "model.safetensors", "config.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("$%s=%s, but model %s is missing %s (%v): run scripts/fetch_weights.sh %s",
				envModels, modelsDir(t), name, f, err, name)
		}
	}
	return dir
}

// loadModel loads a real model with our loader and checks it runs on the weights of that folder
// (never random initialization).
func loadModel(t testing.TB, dir string, opts ...model.Option) *model.SentenceTransformer {
	t.Helper()
	m, err := trainlib.LoadModel(dir, append([]model.Option{model.WithLogger(nil)}, opts...)...)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	if !strings.Contains(m.WeightsFrom, filepath.Join(dir, "model.safetensors")) {
		t.Fatalf("model %s reports weights from %q, not %s/model.safetensors", dir, m.WeightsFrom, dir)
	}
	return m
}

// sharedData returns ../shared/data/<rel> (skipping, or failing with $EMBEDTUNE_REQUIRE_SHARED=1).
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	return testutil.SharedData(t, rel)
}

// python runs a script of tests/reference/ with req as JSON on stdin and decodes its JSON stdout.
func python(t testing.TB, script string, req, resp any) {
	t.Helper()
	testutil.PythonJSON(t, "tests/reference/"+script, req, resp)
}

// pythonCached is python with the answer cached in build/parity/cache, keyed by the SHA-256 of key
// (the request without its temporary paths), of the script, of the pinned requirements and of the
// given input files (models, data): a result is reused only for exactly the same inputs and code.
// It reports whether the answer came from the cache.
func pythonCached(t testing.TB, script string, req, key, resp any, inputs ...string) bool {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	reqJSON, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(reqJSON)
	for _, f := range append([]string{filepath.Join(root, "tests", "reference", script), filepath.Join(root, "tests", "reference", "requirements-ref.txt")}, inputs...) {
		if err := hashFile(h, f); err != nil {
			t.Fatalf("cache key: %v", err)
		}
	}
	out, err := outputDir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "cache", strings.TrimSuffix(script, ".py")+"-"+hex.EncodeToString(h.Sum(nil))[:24]+".json")
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, resp); err == nil {
			t.Logf("%s: reusing the cached Python result %s (same request, code and inputs)", script, path)
			return true
		}
	}
	var raw json.RawMessage
	python(t, script, req, &raw)
	if err := json.Unmarshal(raw, resp); err != nil {
		t.Fatalf("%s: decoding output: %v", script, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		if err := atomicio.WriteFile(path, raw, 0o644); err != nil {
			t.Logf("caching %s: %v", path, err)
		}
	}
	return false
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "\x00%s\x00", filepath.Base(path))
	_, err = io.Copy(h, f)
	return err
}

// writeJSON writes v to path atomically.
func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := atomicio.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// vecStats compares embedding lists row by row: the largest absolute component difference and the
// smallest cosine similarity.
func vecStats(t testing.TB, ours [][]float32, ref [][]float64) (maxAbs, minCos float64) {
	t.Helper()
	if len(ours) != len(ref) {
		t.Fatalf("%d embeddings vs %d reference embeddings", len(ours), len(ref))
	}
	minCos = 1
	for i := range ours {
		if len(ours[i]) != len(ref[i]) {
			t.Fatalf("embedding %d: dimension %d vs reference %d", i, len(ours[i]), len(ref[i]))
		}
		var dot, na, nb float64
		for j, v := range ours[i] {
			a, b := float64(v), ref[i][j]
			maxAbs = math.Max(maxAbs, math.Abs(a-b))
			dot += a * b
			na += a * a
			nb += b * b
		}
		minCos = math.Min(minCos, dot/math.Sqrt(na*nb))
	}
	return maxAbs, minCos
}
