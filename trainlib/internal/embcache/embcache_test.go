package embcache_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/internal/embcache"
	"github.com/embedtune/embedtune/trainlib/model"
)

func tiny(t *testing.T, seed uint64) *model.SentenceTransformer {
	t.Helper()
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", seed, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEncoderCachesAndNumPyReads: a second identical call is read back (same values), the file is a
// NumPy array numpy.load reads, a damaged file is recomputed, and another side or model misses.
func TestEncoderCachesAndNumPyReads(t *testing.T) {
	m := tiny(t, 1)
	dir := t.TempDir()
	e, err := embcache.New(m, dir)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"alpha beta", "gamma", "delta epsilon zeta"}
	opts := &model.EncodeOptions{Normalize: true}
	a, err := e.EncodeDocument(texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.EncodeDocument(texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if h, ms := e.Stats(); h != 1 || ms != 1 {
		t.Fatalf("stats %d hits %d misses, want 1 and 1", h, ms)
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("row %d read back differs", i)
		}
	}
	direct, _ := m.EncodeDocument(texts, opts)
	for i := range a {
		if !slices.Equal(a[i], direct[i]) {
			t.Fatalf("row %d differs from the model's own encode", i)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.npy"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	var npy struct {
		Arrays []struct {
			Shape  []int     `json:"shape"`
			DType  string    `json:"dtype"`
			Values []float64 `json:"values"`
		} `json:"arrays"`
	}
	if err := json.Unmarshal(testutil.RunPython(t, "tests/reference/npy_read.py", files[0]), &npy); err != nil {
		t.Fatal(err)
	}
	got := npy.Arrays[0]
	if !slices.Equal(got.Shape, []int{3, m.Dim()}) || got.DType != "float32" {
		t.Fatalf("numpy sees shape %v dtype %s", got.Shape, got.DType)
	}
	for i, v := range got.Values {
		if float32(v) != a[i/m.Dim()][i%m.Dim()] {
			t.Fatalf("numpy value %d = %v, ours %v", i, v, a[i/m.Dim()][i%m.Dim()])
		}
	}
	// A truncated file is a miss, recomputed and rewritten.
	if err := os.Truncate(files[0], 100); err != nil {
		t.Fatal(err)
	}
	c, err := e.EncodeDocument(texts, opts)
	if err != nil || !slices.Equal(c[2], a[2]) {
		t.Fatalf("after damage: %v", err)
	}
	if h, ms := e.Stats(); h != 1 || ms != 2 {
		t.Fatalf("after damage: %d hits %d misses, want 1 and 2", h, ms)
	}
	// The query side, another model: misses.
	if _, err := e.EncodeQuery(texts, opts); err != nil {
		t.Fatal(err)
	}
	e2, err := embcache.New(tiny(t, 2), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.EncodeDocument(texts, opts); err != nil {
		t.Fatal(err)
	}
	if h, _ := e2.Stats(); h != 0 {
		t.Fatal("another model's embeddings were read from the cache")
	}
	fa, _ := embcache.Fingerprint(m)
	fb, _ := embcache.Fingerprint(tiny(t, 1))
	if fa != fb {
		t.Fatal("the same model (same seed, tokenizer folder elsewhere) has another fingerprint")
	}
}
