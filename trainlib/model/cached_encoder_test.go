package model_test

import (
	"testing"

	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestFingerprintFollowsWhatEmbeddingsDependOn(t *testing.T) {
	m := tinyModel(t, "mean")
	fp := func() string {
		t.Helper()
		s, err := m.Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := fp()
	if again := fp(); again != base {
		t.Fatal("fingerprint is not deterministic")
	}
	// Saved and loaded back: same weights and settings, same fingerprint.
	loaded, err := model.Load(saved(t, m), model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if lf, _ := loaded.Fingerprint(); lf != base {
		t.Error("a saved-and-reloaded model has another fingerprint")
	}
	changes := map[string]func(){
		"max_seq_length": func() { m.MaxSeqLength-- },
		"pooling":        func() { m.Pooling.Modes = []string{"cls"} },
		"normalize":      func() { m.Normalize = !m.Normalize },
		"prompts":        func() { m.Prompts = map[string]string{"query": "q: "} },
		"a weight": func() {
			v, _ := tensors.CopyFlatData[float32](m.Weights.Values[3])
			v[0] += 1e-6
			m.Weights.Values[3] = tensors.FromFlatDataAndDimensions(v, m.Weights.Shapes[3]...)
		},
		"an adapter": func() {
			if err := m.AddAdapter(model.LoRAConfig{R: 2}); err != nil {
				t.Fatal(err)
			}
		},
	}
	seen := map[string]string{base: "original"}
	for _, what := range []string{"max_seq_length", "pooling", "normalize", "prompts", "a weight", "an adapter"} {
		changes[what]()
		got := fp()
		if prev, dup := seen[got]; dup {
			t.Errorf("changing %s kept the fingerprint of %s", what, prev)
		}
		seen[got] = what
	}
}

func TestCachedEncoderReturnsStoredEmbeddings(t *testing.T) {
	m := tinyModel(t, "mean")
	store, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.NewCachedEncoder(m, store)
	if err != nil {
		t.Fatal(err)
	}
	want := encode(t, m)
	first, err := c.Encode(texts, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameEmbeddings(t, first, want, 0)
	if st := store.Stats(); st.Misses != 1 || st.Puts != 1 {
		t.Fatalf("first call: %+v", st)
	}
	// A new encoder (a later notebook cell) on a reloaded model finds them, bit for bit.
	loaded, _ := model.Load(saved(t, m), model.WithLogger(nil))
	c2, err := model.NewCachedEncoder(loaded, store)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c2.Encode(texts, &model.EncodeOptions{BatchSize: 1}) // batch size does not matter
	if err != nil {
		t.Fatal(err)
	}
	sameEmbeddings(t, second, want, 0)
	if st := store.Stats(); st.Hits != 1 {
		t.Fatalf("second call missed: %+v", st)
	}
	// Whatever changes the result changes the key.
	for name, o := range map[string]*model.EncodeOptions{
		"prompt":       {Prompt: "query: "},
		"truncate_dim": {TruncateDim: 4},
		"normalize":    {Normalize: true},
	} {
		before := store.Stats().Misses
		got, err := c2.Encode(texts, o)
		if err != nil {
			t.Fatal(err)
		}
		if store.Stats().Misses != before+1 {
			t.Errorf("%s: served from the cache", name)
		}
		direct, _ := loaded.Encode(texts, o)
		sameEmbeddings(t, got, direct, 0)
	}
	// Other texts, other key.
	before := store.Stats().Misses
	if _, err := c2.Encode(texts[:2], nil); err != nil {
		t.Fatal(err)
	}
	if store.Stats().Misses != before+1 {
		t.Error("a sub-list was served from the whole list's entry")
	}
	// EncodeQuery uses the model's query prompt: its own entry, the model's numbers.
	loaded.Prompts = map[string]string{"query": "query: "}
	c3, _ := model.NewCachedEncoder(loaded, store)
	q, _ := c3.EncodeQuery(texts, nil)
	direct, _ := loaded.EncodeQuery(texts, nil)
	sameEmbeddings(t, q, direct, 0)
	plain, _ := c3.Encode(texts, nil)
	if sameVectors(q, plain) {
		t.Error("EncodeQuery returned Encode's embeddings (the query prompt was dropped)")
	}
	if m, _ := c3.Model(); c3.SimilarityFnName() != loaded.SimilarityFn || m != loaded {
		t.Error("wrapper accessors")
	}

	// A lazy encoder loads its model only for a miss.
	loads := 0
	lazy := model.NewLazyCachedEncoder(c2.Fingerprint(), "cosine", func() (*model.SentenceTransformer, error) { loads++; return loaded, nil }, store)
	if _, err := lazy.Encode(texts, nil); err != nil || loads != 0 {
		t.Fatalf("lazy encoder on a hit: err %v, %d loads", err, loads)
	}
	if _, err := lazy.Encode([]string{"a text never encoded"}, nil); err != nil || loads != 1 {
		t.Fatalf("lazy encoder on a miss: err %v, %d loads", err, loads)
	}
}

func sameVectors(a, b [][]float32) bool {
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
