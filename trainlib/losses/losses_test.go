package losses

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/backend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// refCase is one loss evaluation; expected values come from sentence-transformers' own loss
// classes (tests/reference/loss_reference.py), stored in testdata/loss_reference.json.
type refCase struct {
	Name       string         `json:"name"`
	Loss       string         `json:"loss"`
	Params     map[string]any `json:"params"`
	Embeddings [][][]float64  `json:"embeddings"`
	Labels     []float64      `json:"labels"`
	Want       float64        `json:"want_loss"`
	WantGrads  [][][]float64  `json:"want_grads"`
}

const fixturePath = "testdata/loss_reference.json"

// makeCases builds the reference inputs: pairs, hard negatives, dot similarity, symmetric and
// multi-direction variants, hardness weighting, and CoSENT with tied scores.
func makeCases() []refCase {
	rng := rand.New(rand.NewPCG(7, 11))
	mat := func(b, d int) [][]float64 {
		m := make([][]float64, b)
		for i := range m {
			m[i] = make([]float64, d)
			for j := range m[i] {
				m[i][j] = rng.NormFloat64()
			}
		}
		return m
	}
	cols := func(n, b, d int) [][][]float64 {
		out := make([][][]float64, n)
		for i := range out {
			out[i] = mat(b, d)
		}
		return out
	}
	mnrl := "MultipleNegativesRankingLoss"
	return []refCase{
		{Name: "mnrl-pairs", Loss: mnrl, Embeddings: cols(2, 6, 8)},
		{Name: "mnrl-hard-negatives", Loss: mnrl, Embeddings: cols(4, 5, 8)},
		{Name: "mnrl-dot-scale1", Loss: mnrl, Params: map[string]any{"scale": 1.0, "similarity_fct": "dot_score"}, Embeddings: cols(2, 4, 8)},
		{Name: "mnrl-scale50", Loss: mnrl, Params: map[string]any{"scale": 50.0}, Embeddings: cols(3, 4, 8)},
		{Name: "mnrl-all-directions-joint", Loss: mnrl, Params: map[string]any{"directions": []string{"query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc"}}, Embeddings: cols(3, 5, 8)},
		{Name: "mnrl-per-direction", Loss: mnrl, Params: map[string]any{"directions": []string{"query_to_doc", "doc_to_query"}, "partition_mode": "per_direction"}, Embeddings: cols(3, 4, 8)},
		{Name: "mnrl-hardness-in-batch", Loss: mnrl, Params: map[string]any{"hardness_mode": "in_batch_negatives", "hardness_strength": 9.0}, Embeddings: cols(3, 4, 8)},
		{Name: "mnrl-hardness-hard", Loss: mnrl, Params: map[string]any{"hardness_mode": "hard_negatives", "hardness_strength": 5.0}, Embeddings: cols(3, 4, 8)},
		{Name: "mnrl-hardness-all", Loss: mnrl, Params: map[string]any{"hardness_mode": "all_negatives", "hardness_strength": 2.0}, Embeddings: cols(4, 4, 8)},
		{Name: "mnsrl", Loss: "MultipleNegativesSymmetricRankingLoss", Embeddings: cols(2, 6, 8)},
		{Name: "cosent", Loss: "CoSENTLoss", Embeddings: cols(2, 6, 8), Labels: []float64{0.1, 0.9, 0.5, 0.5, 0.0, 1.0}},
		{Name: "cosent-scale5", Loss: "CoSENTLoss", Params: map[string]any{"scale": 5.0}, Embeddings: cols(2, 5, 8), Labels: []float64{3, 1, 2, 2, 5}},
		{Name: "matryoshka-mnrl", Loss: "MatryoshkaLoss", Params: map[string]any{"loss": map[string]any{"name": mnrl},
			"matryoshka_dims": []int{8, 6, 3}, "matryoshka_weights": []float64{1, 0.5, 2}}, Embeddings: cols(3, 5, 8)},
		{Name: "matryoshka-dot-unsorted", Loss: "MatryoshkaLoss", Params: map[string]any{"loss": map[string]any{"name": mnrl,
			"params": map[string]any{"similarity_fct": "dot_score", "scale": 1.0}}, "matryoshka_dims": []int{2, 8, 5}}, Embeddings: cols(2, 4, 8)},
		{Name: "matryoshka-cosent", Loss: "MatryoshkaLoss", Params: map[string]any{"loss": map[string]any{"name": "CoSENTLoss"},
			"matryoshka_dims": []int{4, 8}, "matryoshka_weights": []float64{0.3, 1}}, Embeddings: cols(2, 6, 8), Labels: []float64{0.1, 0.9, 0.5, 0.5, 0.0, 1.0}},
	}
}

// buildLoss maps a case to our loss.
func buildLoss(t *testing.T, c refCase) Loss {
	if c.Loss == "MatryoshkaLoss" {
		inner := c.Params["loss"].(map[string]any)
		params, _ := inner["params"].(map[string]any)
		var dims []int
		for _, d := range c.Params["matryoshka_dims"].([]any) {
			dims = append(dims, int(d.(float64)))
		}
		var opts []MatryoshkaOption
		if ws, ok := c.Params["matryoshka_weights"].([]any); ok {
			var weights []float64
			for _, w := range ws {
				weights = append(weights, w.(float64))
			}
			opts = append(opts, WithMatryoshkaWeights(weights...))
		}
		return MatryoshkaLoss(nil, buildLoss(t, refCase{Loss: inner["name"].(string), Params: params}), dims, opts...)
	}
	var opts []MNRLOption
	for k, v := range c.Params {
		switch k {
		case "scale":
			opts = append(opts, WithScale(v.(float64)))
		case "similarity_fct":
			opts = append(opts, WithSimilarity(Similarity(v.(string))))
		case "directions":
			var ds []string
			for _, d := range v.([]any) {
				ds = append(ds, d.(string))
			}
			opts = append(opts, WithDirections(ds...))
		case "partition_mode":
			opts = append(opts, WithPartitionMode(v.(string)))
		case "hardness_mode":
			opts = append(opts, WithHardness(v.(string), c.Params["hardness_strength"].(float64)))
		case "hardness_strength":
		default:
			t.Fatalf("unknown param %q", k)
		}
	}
	switch c.Loss {
	case "MultipleNegativesRankingLoss":
		return MultipleNegativesRankingLoss(nil, opts...)
	case "MultipleNegativesSymmetricRankingLoss":
		return MultipleNegativesSymmetricRankingLoss(nil, opts...)
	case "CoSENTLoss":
		l := CoSENTLoss(nil)
		if s, ok := c.Params["scale"]; ok {
			l.Scale = s.(float64)
		}
		return l
	}
	t.Fatalf("unknown loss %q", c.Loss)
	return nil
}

// paramsJSON converts typed params to the generic JSON form the fixture holds.
func normalizeCases(cs []refCase) []refCase {
	data, _ := json.Marshal(cs)
	var out []refCase
	_ = json.Unmarshal(data, &out)
	return out
}

// evalLoss computes our loss and its gradient w.r.t. every embedding matrix (float32).
func evalLoss(t *testing.T, c refCase) (float64, [][][]float64) {
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	loss := buildLoss(t, c)
	hasLabels := c.Labels != nil
	if err := loss.Validate(len(c.Embeddings), hasLabels); err != nil {
		t.Fatal(err)
	}
	var args []any
	for _, e := range c.Embeddings {
		rows, d := len(e), len(e[0])
		flat := make([]float32, 0, rows*d)
		for _, r := range e {
			for _, v := range r {
				flat = append(flat, float32(v))
			}
		}
		args = append(args, tensors.FromFlatDataAndDimensions(flat, rows, d))
	}
	if hasLabels {
		lab := make([]float32, len(c.Labels))
		for i, v := range c.Labels {
			lab[i] = float32(v)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(lab, len(lab)))
	}
	n := len(c.Embeddings)
	outs, err := ExecOnceN(b, func(inputs []*Node) []*Node {
		var labels *Node
		if hasLabels {
			labels = inputs[n]
		}
		l := loss.Compute(inputs[:n], labels)
		return append([]*Node{l}, Gradient(l, inputs[:n]...)...)
	}, args...)
	if err != nil {
		t.Fatal(err)
	}
	value := float64(tensors.MustCopyFlatData[float32](outs[0])[0])
	grads := make([][][]float64, n)
	for i := range grads {
		flat := tensors.MustCopyFlatData[float32](outs[1+i])
		rows, d := len(c.Embeddings[i]), len(c.Embeddings[i][0])
		grads[i] = make([][]float64, rows)
		for r := range rows {
			grads[i][r] = make([]float64, d)
			for k := range d {
				grads[i][r][k] = float64(flat[r*d+k])
			}
		}
	}
	return value, grads
}

func loadFixture(t *testing.T) []refCase {
	data, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatalf("%v (regenerate with EMBEDTUNE_UPDATE_FIXTURES=1 go test -run TestLossReferenceFixture)", err)
	}
	var cs []refCase
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestLossesMatchSentenceTransformers compares loss values and gradients with the reference.
func TestLossesMatchSentenceTransformers(t *testing.T) {
	for _, c := range loadFixture(t) {
		t.Run(c.Name, func(t *testing.T) {
			got, grads := evalLoss(t, c)
			if d := math.Abs(got - c.Want); d > 1e-4*math.Max(1, math.Abs(c.Want)) {
				t.Errorf("loss = %.7g, sentence-transformers = %.7g", got, c.Want)
			}
			for i := range grads {
				for r := range grads[i] {
					for k := range grads[i][r] {
						if d := math.Abs(grads[i][r][k] - c.WantGrads[i][r][k]); d > 1e-4 {
							t.Fatalf("d loss/d emb[%d][%d][%d] = %.6g, reference %.6g", i, r, k, grads[i][r][k], c.WantGrads[i][r][k])
						}
					}
				}
			}
		})
	}
}

// TestLossReferenceFixture re-runs sentence-transformers on the fixture's inputs and checks the
// stored expectations (EMBEDTUNE_UPDATE_FIXTURES=1 rewrites the fixture from fresh inputs).
func TestLossReferenceFixture(t *testing.T) {
	update := os.Getenv("EMBEDTUNE_UPDATE_FIXTURES") == "1"
	var cases []refCase
	if update {
		cases = normalizeCases(makeCases())
	} else {
		cases = loadFixture(t)
	}
	var resp struct {
		Results []struct {
			Name  string        `json:"name"`
			Loss  float64       `json:"loss"`
			Grads [][][]float64 `json:"grads"`
		} `json:"results"`
	}
	testutil.PythonJSON(t, "tests/reference/loss_reference.py", map[string]any{"cases": cases}, &resp)
	for i, r := range resp.Results {
		if update {
			cases[i].Want, cases[i].WantGrads = r.Loss, r.Grads
			continue
		}
		if math.Abs(r.Loss-cases[i].Want) > 1e-9 {
			t.Errorf("%s: sentence-transformers now gives %.12g, fixture says %.12g", r.Name, r.Loss, cases[i].Want)
		}
	}
	if update {
		data, _ := json.MarshalIndent(cases, "", " ")
		if err := os.WriteFile(fixturePath, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
