package trainlib_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

const (
	benchPairs      = 16  // Batch of (query, passage) pairs.
	benchQueryLen   = 32  // Queries have 17–32 tokens: the length bucket pads them to 32.
	benchPassageLen = 128 // Passages are truncated to max_seq_length = 128.
)

// benchTexts returns n texts built from the synthetic corpus's sentences (pick), each with a
// token count in (lo, hi] before truncation to max_seq_length (hi = 0: no upper bound).
func benchTexts(b testing.TB, m *model.SentenceTransformer, n, lo, hi int, pick func(synth.Pair) string) []string {
	b.Helper()
	pairs := synth.Pairs(n+16, 1, 11)
	out := make([]string, n)
	for i := range out {
		var sb strings.Builder
		for j := i; ; j++ {
			next := sb.String() + pick(pairs[j%len(pairs)]) + " "
			ids, err := m.Tokenizer.Encode(next, 0)
			if err != nil {
				b.Fatal(err)
			}
			if hi > 0 && len(ids) > hi {
				break
			}
			sb.Reset()
			sb.WriteString(next)
			if hi == 0 && len(ids) > lo {
				break
			}
		}
		out[i] = sb.String()
		if ids, _ := m.Tokenizer.Encode(out[i], 0); len(ids) <= lo {
			b.Fatalf("text %d has %d tokens, want more than %d", i, len(ids), lo)
		}
	}
	return out
}

// BenchmarkTrainStep measures Trainer.Train on random MiniLM-shaped (hidden 384, 6 layers, 12
// heads, intermediate 1536) and bge-base-shaped (768, 12, 12, 3072) models, vocabulary 30522, with MultipleNegativesRankingLoss:
// batches of 16 (query, passage) pairs, queries padded to 32 tokens and passages of 128 tokens,
// fp32, dropout on, one fused graph per step (forward of both columns, loss, gradient, clipping,
// AdamW). The first step (which compiles the graph) and the final save are not timed.
//
// Reported: ns/op = time per optimizer step; GFLOP/s counts 3× the encoder's forward matrix
// multiplications (bert.Config.MatmulFLOPs; forward + backward ≈ 3× forward) plus 18 operations
// per parameter for clipping and AdamW; cpu-s/op is the process's CPU time per step (on a shared
// machine, compare it too: it excludes time other processes hold the cores); peak-heap-MiB is the Go heap high-water mark during the
// timed steps (the pure-Go backend keeps every tensor there), maxRSS-MiB the process's peak
// resident memory so far, and compiles the graphs compiled during the whole run (bounded by the
// length buckets: here one training graph).
func BenchmarkTrainStep(b *testing.B) {
	for _, shape := range []struct {
		name                          string
		hidden, layers, heads, interm int
	}{
		{"MiniLM-L6", 384, 6, 12, 1536},
		{"bge-base", 768, 12, 12, 3072},
	} {
		b.Run(shape.name, func(b *testing.B) {
			benchTrainStep(b, model.InitConfig{HiddenSize: shape.hidden, NumLayers: shape.layers, NumHeads: shape.heads,
				IntermediateSize: shape.interm, MaxPositionEmbeddings: 512, MaxSeqLength: benchPassageLen, VocabSize: 30522,
				Pooling: []string{"mean"}, Normalize: true, Seed: 1})
		})
	}
}

func benchTrainStep(b *testing.B, init model.InitConfig) {
	be, err := backend.Default()
	if err != nil {
		b.Fatal(err)
	}
	compiles, err := perf.NewCompileCounter()
	if err != nil {
		b.Fatal(err)
	}
	tok := filepath.Join(b.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 2000); err != nil {
		b.Fatal(err)
	}
	init.TokenizerDir = tok
	m, err := model.New(init, model.WithLogger(nil), model.WithBackend(be))
	if err != nil {
		b.Fatal(err)
	}
	const rows = 4 * benchPairs
	queries := benchTexts(b, m, rows, benchQueryLen/2, benchQueryLen, func(p synth.Pair) string { return p.Question })
	passages := benchTexts(b, m, rows, benchPassageLen, 0, func(p synth.Pair) string { return p.Context })
	train, err := datasets.FromColumns(datasets.Col("query", queries), datasets.Col("passage", passages))
	if err != nil {
		b.Fatal(err)
	}
	args := trainlib.TrainingArguments{OutputDir: b.TempDir(), MaxSteps: b.N + 1, PerDeviceTrainBatchSize: benchPairs,
		LearningRate: 5e-5, WarmupSteps: 0, SaveStrategy: "no", LoggingSteps: 1 << 30, Seed: 1}
	var heap *perf.HeapSampler
	var peak uint64
	var cpu0, cpu time.Duration
	cb := stepTimer{onStep: func(step int) {
		switch step {
		case 1: // The graph is compiled and has run once.
			heap = perf.StartHeapSampler(5 * time.Millisecond)
			cpu0 = perf.CPUTime()
			b.ResetTimer()
			b.StartTimer()
		case b.N + 1:
			b.StopTimer()
			cpu = perf.CPUTime() - cpu0
			peak = heap.Stop()
		}
	}}
	t, err := trainlib.NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m),
		trainlib.WithoutProgress(), trainlib.WithCallbacks(cb))
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if _, err := t.Train(); err != nil {
		b.Fatal(err)
	}
	cfg := m.Config
	forward := benchPairs * (cfg.MatmulFLOPs(benchQueryLen) + cfg.MatmulFLOPs(benchPassageLen))
	flops := 3*forward + 18*float64(m.Weights.NumParams())
	secs := b.Elapsed().Seconds()
	b.ReportMetric(flops*float64(b.N)/secs/1e9, "GFLOP/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(perf.MaxRSS())/(1<<20), "maxRSS-MiB")
	b.ReportMetric(float64(compiles.Count()), "compiles")
}

// stepTimer calls onStep with the global step after every optimizer step.
type stepTimer struct {
	trainlib.BaseCallback
	onStep func(step int)
}

func (s stepTimer) OnStepEnd(st *trainlib.TrainerState, _ *trainlib.TrainingArguments) {
	s.onStep(st.GlobalStep)
}

// BenchmarkTrainCompiles runs whole trainings (12 steps of 16 pairs, a tiny model) on data whose
// lengths fall in several padding buckets, and reports the graph compilations per run next to
// their bound: a training graph is compiled per combination of the query and passage buckets of a
// batch (model.SeqBucket of its longest text), so at most (#query buckets)·(#passage buckets).
func BenchmarkTrainCompiles(b *testing.B) {
	tok := filepath.Join(b.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 2000); err != nil {
		b.Fatal(err)
	}
	newModel := func() *model.SentenceTransformer {
		m, err := model.New(model.InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
			MaxPositionEmbeddings: 128, MaxSeqLength: 128, Pooling: []string{"mean"}, TokenizerDir: tok, Seed: 1},
			model.WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	m := newModel()
	question := func(p synth.Pair) string { return p.Question } // Short pieces fill every bucket.
	var queries, passages []string
	for _, r := range [][2]int{{0, 16}, {16, 32}, {32, 64}} { // Query buckets 16, 32, 64.
		queries = append(queries, benchTexts(b, m, 2*benchPairs/3+1, r[0], r[1], question)...)
	}
	for _, r := range [][2]int{{16, 32}, {32, 64}, {64, 128}} { // Passage buckets 32, 64, 128.
		passages = append(passages, benchTexts(b, m, 2*benchPairs/3+1, r[0], r[1], question)...)
	}
	rows := 2 * benchPairs // Whole batches only: the row count never changes.
	queries, passages = queries[:rows], passages[:rows]
	qb, pb := map[int]bool{}, map[int]bool{}
	for i := range queries {
		for _, c := range []struct {
			text    string
			buckets map[int]bool
		}{{queries[i], qb}, {passages[i], pb}} {
			ids, err := m.Tokenizer.Encode(c.text, m.MaxSeqLength)
			if err != nil {
				b.Fatal(err)
			}
			c.buckets[model.SeqBucket(len(ids), m.MaxSeqLength)] = true
		}
	}
	train, err := datasets.FromColumns(datasets.Col("query", queries), datasets.Col("passage", passages))
	if err != nil {
		b.Fatal(err)
	}
	compiles, err := perf.NewCompileCounter()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := newModel()
		args := trainlib.TrainingArguments{OutputDir: b.TempDir(), MaxSteps: 12, PerDeviceTrainBatchSize: benchPairs,
			LearningRate: 1e-4, SaveStrategy: "no", LoggingSteps: 1 << 30, Seed: int64(i)}
		t, err := trainlib.NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), trainlib.WithoutProgress())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := t.Train(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(compiles.Count())/float64(b.N), "compiles/run")
	b.ReportMetric(float64(len(qb)*len(pb)), "bucket-bound")
}
