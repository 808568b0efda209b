package model_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
)

var pyTexts = []string{"What is the capital of Kalomi?", "", "Kalomi is a country whose capital is Tensa, on the banks of the Ruvor river.",
	"Ünïcödé and 東京 and emoji 🙂", "short"}

func maxDiff(a []float32, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-b[i]))
	}
	if len(a) != len(b) {
		return math.Inf(1)
	}
	return d
}

// TestLoadPythonSavedModel loads folders written by sentence-transformers 6 itself (its module
// names, pooling_mode key, Dense module) and expects the embeddings Python computed.
func TestLoadPythonSavedModel(t *testing.T) {
	tokDir := filepath.Join(t.TempDir(), "tok")
	if err := synth.Tokenizer(tokDir, 600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		pooling   string
		dense     int
		normalize bool
	}{{"cls-dense-normalize", "cls", 16, true}, {"mean", "mean", 0, false}, {"max-dense", "max", 8, false}}
	var reqs []map[string]any
	dirs := make([]string, len(cases))
	for i, tc := range cases {
		dirs[i] = filepath.Join(t.TempDir(), "py")
		reqs = append(reqs, map[string]any{"out": dirs[i], "tokenizer": tokDir, "hidden": 32, "layers": 2,
			"heads": 4, "intermediate": 64, "max_position": 128, "max_seq_length": 40, "pooling": tc.pooling,
			"dense": tc.dense, "normalize": tc.normalize, "texts": pyTexts, "seed": i})
	}
	var refs struct {
		Batch []struct{ Embeddings [][]float64 }
	}
	testutil.PythonJSON(t, "tests/reference/st_make_model.py", map[string]any{"batch": reqs}, &refs)
	for i, tc := range cases {
		dir, ref := dirs[i], refs.Batch[i]
		t.Run(tc.name, func(t *testing.T) {
			m, err := model.Load(dir, model.WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			if m.MaxSeqLength != 40 || len(m.Dense) != map[bool]int{true: 1, false: 0}[tc.dense > 0] || m.Normalize != tc.normalize {
				t.Fatalf("max_seq_length %d, dense %d, normalize %v", m.MaxSeqLength, len(m.Dense), m.Normalize)
			}
			got, err := m.Encode(pyTexts, &model.EncodeOptions{BatchSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			for j := range got {
				if d := maxDiff(got[j], ref.Embeddings[j]); d > 1e-5 {
					t.Errorf("text %d: max |Δ| = %.3g", j, d)
				}
			}
		})
	}
}
