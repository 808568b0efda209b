package fastops_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/fastops"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// randTensor returns a float64 tensor of normal values (scaled), seeded.
func randTensor(r *rand.Rand, scale float64, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64() * scale
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// refAttention is the textbook multi-head attention on [B, L, n, d] inputs.
func refAttention(q, k, v, bias, drop *Node) *Node {
	dims := q.Shape().Dimensions
	B, L, n := dims[0], dims[1], dims[2]
	s := Einsum("blnd,bmnd->bnlm", q, k)
	if bias != nil {
		s = Add(s, Reshape(bias, B, n, L, L))
	}
	e := Exp(Sub(s, ReduceAndKeep(s, ReduceMax, -1)))
	p := Div(e, ReduceAndKeep(e, ReduceSum, -1))
	if drop != nil {
		p = Mul(p, Reshape(drop, B, n, L, L))
	}
	return Einsum("bnlm,bmnd->blnd", p, v)
}

// TestOpsMatchAutodiff compares every op's value and gradients (of a random linear functional of
// the output) with GoMLX's autodiff of the textbook formula, in float64.
func TestOpsMatchAutodiff(t *testing.T) {
	be, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	mask := tensors.FromFlatDataAndDimensions([]float64{1, 1, 1, 1, 1, 1, 0, 0}, 2, 4)
	dropVals := make([]float64, 2*3*4*4)
	for i := range dropVals {
		if r.Float64() > 0.3 {
			dropVals[i] = 1 / 0.7
		}
	}
	drop := tensors.FromFlatDataAndDimensions(dropVals, 2*3, 4, 4)
	cases := []struct {
		name   string
		inputs []*tensors.Tensor
		fast   func(in []*Node) *Node
		ref    func(in []*Node) *Node
	}{
		{"linear", []*tensors.Tensor{randTensor(r, 1, 2, 3, 5), randTensor(r, 1, 4, 5), randTensor(r, 1, 4)},
			func(in []*Node) *Node { return fastops.Linear(in[0], in[1], in[2]) },
			func(in []*Node) *Node {
				return Add(DotGeneral(in[0], []int{2}, nil, in[1], []int{1}, nil), ExpandLeftToRank(in[2], 3))
			}},
		{"linear-wide", []*tensors.Tensor{randTensor(r, 1, 3, 4), randTensor(r, 1, 7, 4), randTensor(r, 1, 7)},
			func(in []*Node) *Node { return fastops.Linear(in[0], in[1], in[2]) },
			func(in []*Node) *Node {
				return Add(DotGeneral(in[0], []int{1}, nil, in[1], []int{1}, nil), ExpandLeftToRank(in[2], 2))
			}},
		{"linear-no-bias", []*tensors.Tensor{randTensor(r, 1, 9, 3), randTensor(r, 1, 2, 3)},
			func(in []*Node) *Node { return fastops.Linear(in[0], in[1], nil) },
			func(in []*Node) *Node { return DotGeneral(in[0], []int{1}, nil, in[1], []int{1}, nil) }},
		{"layernorm", []*tensors.Tensor{randTensor(r, 3, 2, 3, 6), randTensor(r, 1, 6), randTensor(r, 1, 6)},
			func(in []*Node) *Node { return fastops.LayerNorm(in[0], in[1], in[2], 1e-5) },
			func(in []*Node) *Node {
				c := Sub(in[0], ReduceAndKeep(in[0], ReduceMean, -1))
				n := Div(c, Sqrt(AddScalar(ReduceAndKeep(Square(c), ReduceMean, -1), 1e-5)))
				return Add(Mul(n, ExpandLeftToRank(in[1], 3)), ExpandLeftToRank(in[2], 3))
			}},
		{"gelu", []*tensors.Tensor{randTensor(r, 2, 5, 7)},
			func(in []*Node) *Node { return fastops.Gelu(in[0]) },
			func(in []*Node) *Node {
				return Mul(MulScalar(in[0], 0.5), OnePlus(Erf(MulScalar(in[0], 1/math.Sqrt2))))
			}},
		{"attention", []*tensors.Tensor{randTensor(r, 1, 2, 4, 3, 5), randTensor(r, 1, 2, 4, 3, 5), randTensor(r, 1, 2, 4, 3, 5)},
			func(in []*Node) *Node { return fastops.Attention(in[0], in[1], in[2], nil, nil) },
			func(in []*Node) *Node { return refAttention(in[0], in[1], in[2], nil, nil) }},
		{"attention-masked-dropout", []*tensors.Tensor{randTensor(r, 1, 2, 4, 3, 5), randTensor(r, 1, 2, 4, 3, 5), randTensor(r, 1, 2, 4, 3, 5), mask, drop},
			func(in []*Node) *Node {
				return fastops.Attention(in[0], in[1], in[2], fastops.AttentionBias(in[3], 3, dtypes.Float64), in[4])
			},
			func(in []*Node) *Node {
				return refAttention(in[0], in[1], in[2], fastops.AttentionBias(in[3], 3, dtypes.Float64), in[4])
			}},
	}
	for _, fusion := range []string{"true", "false"} {
		for _, c := range cases {
			t.Run(c.name+"/fusion="+fusion, func(t *testing.T) {
				t.Setenv(FusionEnv, fusion) // "false": the decomposed forward passes other backends use.
				// The functional Σ w·out with random w makes every output element matter.
				var w *tensors.Tensor
				run := func(fn func(in []*Node) *Node) []*tensors.Tensor {
					outs, err := ExecOnceN(be, func(in []*Node) []*Node {
						out := fn(in[1:])
						loss := ReduceAllSum(Mul(out, in[0]))
						return append([]*Node{out}, Gradient(loss, in[1:]...)...)
					}, append([]any{w}, toAny(c.inputs)...)...)
					if err != nil {
						t.Fatal(err)
					}
					return outs
				}
				shape, err := ExecOnce(be, func(in []*Node) *Node { return c.ref(in) }, toAny(c.inputs)...)
				if err != nil {
					t.Fatal(err)
				}
				w = randTensor(r, 1, shape.Shape().Dimensions...)
				got, want := run(c.fast), run(c.ref)
				names := []string{"value"}
				for i := range c.inputs {
					names = append(names, "gradient of input "+string(rune('0'+i)))
				}
				for i := range want {
					g, wv := tensors.MustCopyFlatData[float64](got[i]), tensors.MustCopyFlatData[float64](want[i])
					if len(g) != len(wv) {
						t.Fatalf("%s: %d values, want %d", names[i], len(g), len(wv))
					}
					for j := range g {
						if math.Abs(g[j]-wv[j]) > 1e-9*math.Max(1, math.Abs(wv[j])) {
							t.Fatalf("%s[%d] = %.12g, autodiff of the formula gives %.12g", names[i], j, g[j], wv[j])
						}
					}
				}
			})
		}
	}
}

// TestCustomVJPRepeatedGradients checks that two Gradient calls on the same graph (one through a
// scaled loss) each get their own output gradient.
func TestCustomVJPRepeatedGradients(t *testing.T) {
	be, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions([]float64{0.5, -1, 2}, 3)
	outs, err := ExecOnceN(be, func(x *Node) []*Node {
		sq := fastops.CustomVJP([]*Node{x}, func(in []*Node) *Node { return Square(in[0]) },
			func(_, dy *Node) []*Node { return []*Node{Mul(dy, MulScalar(x, 2))} })
		g1 := Gradient(ReduceAllSum(sq), x)[0]
		g2 := Gradient(ReduceAllSum(MulScalar(sq, 3)), x)[0]
		return []*Node{g1, g2}
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]float64{{1, -2, 4}, {3, -6, 12}} {
		got := tensors.MustCopyFlatData[float64](outs[i])
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("gradient %d = %v, want %v", i+1, got, want)
			}
		}
	}
}

func toAny(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}
