package model

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// parityTexts mixes lengths (including truncation at max_seq_length), accents, CJK and the empty string.
var parityTexts = []string{
	"What is the capital of India?",
	"New Delhi is the capital of India and the seat of all three branches of the Government of India.",
	"",
	"Crème brûlée, naïve café — ÀÉÎÕÜ",
	"東京は日本の首都です。",
	strings.Repeat("A very long passage about Indian history and geography, repeated. ", 30),
	"short",
	"The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.",
	"🙂 emoji and\ttabs\nnewlines",
}

type stResult struct {
	Embeddings [][]float64 `json:"embeddings"`
	InputIDs   [][]int     `json:"input_ids"`
	Dim        int         `json:"dim"`
	MaxSeqLen  int         `json:"max_seq_length"`
}

// tinyModel builds a small random model on the shared bert-base-uncased tokenizer.
func tinyModel(t *testing.T, pooling []string, normalize bool, seed uint64) *SentenceTransformer {
	t.Helper()
	tokDir := testutil.SharedData(t, "models/all-MiniLM-L6-v2-config")
	m, err := New(InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 128, MaxSeqLength: 48, Pooling: pooling, Normalize: normalize,
		TokenizerDir: tokDir, Seed: seed}, WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEncodeMatchesSentenceTransformers saves random models and compares our embeddings with
// Python sentence-transformers' on the same folder, for several pooling modes and batch sizes.
func TestEncodeMatchesSentenceTransformers(t *testing.T) {
	cases := []struct {
		name      string
		pooling   []string
		normalize bool
		batch     int
	}{
		{"cls-normalized-batch1", []string{"cls"}, true, 1},
		{"cls-normalized-padded", []string{"cls"}, true, 8},
		{"mean-batch1", []string{"mean"}, false, 1},
		{"mean-padded", []string{"mean"}, false, 4},
		{"max", []string{"max"}, false, 3},
		{"mean_sqrt_len", []string{"mean_sqrt_len_tokens"}, false, 5},
		{"lasttoken", []string{"lasttoken"}, false, 4},
		{"weightedmean", []string{"weightedmean"}, false, 4},
		{"cls+mean", []string{"cls", "mean"}, false, 16},
	}
	models := make([]*SentenceTransformer, len(cases))
	var reqs []map[string]any
	for i, tc := range cases {
		models[i] = tinyModel(t, tc.pooling, tc.normalize, uint64(i+1))
		dir := filepath.Join(t.TempDir(), "model")
		if err := models[i].Save(dir); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, map[string]any{"model": dir, "texts": parityTexts, "batch_size": tc.batch})
	}
	var refs struct{ Batch []stResult }
	testutil.PythonJSON(t, "tests/reference/st_encode.py", map[string]any{"batch": reqs}, &refs)
	for i, tc := range cases {
		m, ref := models[i], refs.Batch[i]
		t.Run(tc.name, func(t *testing.T) {
			if ref.Dim != m.Dim() || ref.MaxSeqLen != m.MaxSeqLength {
				t.Fatalf("python sees dim %d max_seq_length %d, we have %d %d", ref.Dim, ref.MaxSeqLen, m.Dim(), m.MaxSeqLength)
			}
			for j, text := range parityTexts {
				ids, err := m.Tokenizer.Encode(text, m.MaxSeqLength)
				if err != nil {
					t.Fatal(err)
				}
				if !equalInts(ids, ref.InputIDs[j]) {
					t.Errorf("text %d: ids %v, python %v", j, ids, ref.InputIDs[j])
				}
			}
			got, err := m.Encode(parityTexts, &EncodeOptions{BatchSize: tc.batch})
			if err != nil {
				t.Fatal(err)
			}
			for j := range got {
				if d := maxAbsDiff(got[j], ref.Embeddings[j]); d > 1e-5 {
					t.Errorf("text %d: max |Δ| = %.3g > 1e-5", j, d)
				}
			}
		})
	}
}

func maxAbsDiff(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-b[i]))
	}
	return d
}
