package model_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// benchShape is a BERT geometry used by the benchmarks.
type benchShape struct {
	name                                string
	hidden, layers, heads, intermediate int
}

// benchShapes are all-MiniLM-L6-v2's and BAAI/bge-base-en-v1.5's geometries (random weights).
var benchShapes = []benchShape{
	{"MiniLM-L6", 384, 6, 12, 1536},
	{"bge-base", 768, 12, 12, 3072},
}

const (
	benchSeqLen = 128
	benchBatch  = 32 // Encode's default batch size.
)

// benchModel builds a random model of shape s (vocabulary 30522 like both real models, mean
// pooling, normalized, max_seq_length 128) on a synthetic WordPiece tokenizer.
func benchModel(b *testing.B, s benchShape, be compute.Backend) *model.SentenceTransformer {
	b.Helper()
	tok := filepath.Join(b.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 2000); err != nil {
		b.Fatal(err)
	}
	m, err := model.New(model.InitConfig{HiddenSize: s.hidden, NumLayers: s.layers, NumHeads: s.heads,
		IntermediateSize: s.intermediate, MaxPositionEmbeddings: 512, MaxSeqLength: benchSeqLen, VocabSize: 30522,
		Pooling: []string{"mean"}, Normalize: true, TokenizerDir: tok, Seed: 1},
		model.WithLogger(nil), model.WithBackend(be))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// longPassages returns n distinct passages that each tokenize to more than max_seq_length pieces,
// so that every one is truncated to exactly 128 tokens.
func longPassages(b *testing.B, m *model.SentenceTransformer, n int) []string {
	b.Helper()
	pairs := synth.Pairs(n+8, 1, 3)
	out := make([]string, n)
	for i := range out {
		var sb strings.Builder
		for j := i; ; j++ {
			sb.WriteString(pairs[j%len(pairs)].Context)
			sb.WriteByte(' ')
			ids, err := m.Tokenizer.Encode(sb.String(), 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(ids) > m.MaxSeqLength {
				break
			}
		}
		out[i] = sb.String()
		if ids, _ := m.Tokenizer.Encode(out[i], m.MaxSeqLength); len(ids) != benchSeqLen {
			b.Fatalf("passage %d has %d tokens after truncation, want %d", i, len(ids), benchSeqLen)
		}
	}
	return out
}

// BenchmarkEncode measures Encode on batches of 32 passages of exactly 128 tokens: passages/s
// and the achieved rate of the encoder's matrix multiplications (bert.Config.MatmulFLOPs), plus
// the process's CPU time per operation (on a shared machine, compare it too: it excludes time
// other processes hold the cores), the peak Go heap while encoding and the number of graph
// compilations (all done by the untimed warm-up call).
func BenchmarkEncode(b *testing.B) {
	be, err := backend.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			compiles, err := perf.NewCompileCounter()
			if err != nil {
				b.Fatal(err)
			}
			m := benchModel(b, s, be)
			texts := longPassages(b, m, benchBatch)
			opts := &model.EncodeOptions{BatchSize: benchBatch}
			if _, err := m.Encode(texts, opts); err != nil { // Compiles the graph.
				b.Fatal(err)
			}
			heap := perf.StartHeapSampler(5 * time.Millisecond)
			cpu0 := perf.CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Encode(texts, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := perf.CPUTime() - cpu0
			peak := heap.Stop()
			secs := b.Elapsed().Seconds()
			passages := float64(b.N * len(texts))
			b.ReportMetric(passages/secs, "passages/s")
			b.ReportMetric(passages*m.Config.MatmulFLOPs(benchSeqLen)/secs/1e9, "GFLOP/s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(compiles.Count()), "compiles")
		})
	}
}

// BenchmarkDotGeneral measures the backend's raw matrix multiplication on the shapes of an encode
// batch (32×128 tokens) and of its backward pass, as the encoder lays them out: the ceiling the
// encoder's GFLOP/s can approach.
//
//	linear     x[T,in]·W[out,in]ᵀ          (forward of a linear layer; T = 4096 tokens)
//	linear-dx  dy[T,out]·W[out,in]          (its input gradient)
//	linear-dW  dy[T,out]ᵀ·x[T,in]           (its weight gradient, contracting the tokens)
//	scores     Q[b,L,d]·K[b,L,d]ᵀ per (sequence, head), b = 32·12 (what autodiff and einsum produce)
//	scores-kT  Q[b,L,d]·Kᵀ[b,d,L] with Kᵀ materialized (what fastops.Attention does)
//	context    P[b,L,L]·V[b,L,d]
func BenchmarkDotGeneral(b *testing.B) {
	be, err := backend.Default()
	if err != nil {
		b.Fatal(err)
	}
	T := benchBatch * benchSeqLen
	type mm struct {
		name       string
		lhs, rhs   []int
		lhsC, rhsC []int
		lhsB, rhsB []int
		flops      float64
	}
	var cases []mm
	for _, s := range benchShapes {
		H, I, n := s.hidden, s.intermediate, s.heads
		d, bn, L := H/n, benchBatch*n, benchSeqLen
		for _, lin := range []struct {
			name    string
			out, in int
		}{{"HxH", H, H}, {"up", I, H}, {"down", H, I}} {
			f := 2 * float64(T*lin.out*lin.in)
			p := s.name + "/" + lin.name
			cases = append(cases,
				mm{p + "/linear", []int{T, lin.in}, []int{lin.out, lin.in}, []int{1}, []int{1}, nil, nil, f},
				mm{p + "/linear-dx", []int{T, lin.out}, []int{lin.out, lin.in}, []int{1}, []int{0}, nil, nil, f},
				mm{p + "/linear-dW", []int{T, lin.out}, []int{T, lin.in}, []int{0}, []int{0}, nil, nil, f})
		}
		f := 2 * float64(bn*L*L*d)
		cases = append(cases,
			mm{s.name + "/scores", []int{bn, L, d}, []int{bn, L, d}, []int{2}, []int{2}, []int{0}, []int{0}, f},
			mm{s.name + "/scores-kT", []int{bn, L, d}, []int{bn, d, L}, []int{2}, []int{1}, []int{0}, []int{0}, f},
			mm{s.name + "/context", []int{bn, L, L}, []int{bn, L, d}, []int{2}, []int{1}, []int{0}, []int{0}, f})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			exec, err := graph.NewExec(be, func(x, y *graph.Node) *graph.Node {
				return graph.DotGeneral(x, c.lhsC, c.lhsB, y, c.rhsC, c.rhsB)
			})
			if err != nil {
				b.Fatal(err)
			}
			x := tensors.FromShape(shapes.Make(dtypes.Float32, c.lhs...))
			y := tensors.FromShape(shapes.Make(dtypes.Float32, c.rhs...))
			run := func() {
				out, err := exec.Exec(x, y)
				if err != nil {
					b.Fatal(err)
				}
				out[0].FinalizeAll()
			}
			run()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			b.ReportMetric(c.flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
