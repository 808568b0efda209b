package datasets_test

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/embedtune/embedtune/trainlib/model"
)

// hashEncoder embeds a text as a pseudo-random unit vector seeded by its hash: a model-free encoder,
// so the benchmark measures the miner (search, candidates, output), not a network.
type hashEncoder struct{ dim int }

func (h hashEncoder) Encode(texts []string, _ *model.EncodeOptions) ([][]float32, error) {
	flat := make([]float32, len(texts)*h.dim)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		f := fnv.New64a()
		f.Write([]byte(t))
		x := f.Sum64() | 1
		v := flat[i*h.dim : (i+1)*h.dim : (i+1)*h.dim]
		var ss float64
		for j := range v {
			x ^= x >> 12
			x ^= x << 25
			x ^= x >> 27
			v[j] = float32((x*0x2545F4914F6CDD1D)>>40)/float32(1<<24)*2 - 1
			ss += float64(v[j]) * float64(v[j])
		}
		n := float32(math.Sqrt(ss))
		for j := range v {
			v[j] /= n
		}
		out[i] = v
	}
	return out, nil
}

// BenchmarkMineHardNegatives1M mines 3 negatives for 1,000 anchors over a corpus of 1,000,000
// passages (dimension 384) and reports the peak resident memory the mining added: the corpus is
// encoded and searched 16,384 texts at a time, so that peak stays far below the 1.43 GiB the full
// corpus embedding matrix would take, and does not grow with the corpus (compare corpus=100k).
//
//	GOEXPERIMENT=simd go test ./trainlib/datasets/ -run '^$' -bench MineHardNegatives -benchtime 1x
func BenchmarkMineHardNegatives1M(b *testing.B) {
	const dim, anchors = 384, 1000
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("corpus=%d/anchors=%d/dim=%d", n, anchors, dim), func(b *testing.B) {
			if testing.Short() && n > 100_000 {
				b.Skip("-short: skipping the 1M corpus")
			}
			q := make([]string, anchors)
			p := make([]string, anchors)
			for i := range anchors {
				q[i], p[i] = fmt.Sprintf("question %d about topic %d", i, i%97), fmt.Sprintf("passage %d: the answer to question %d", i, i)
			}
			corpus := make([]string, n-anchors)
			for i := range corpus {
				corpus[i] = fmt.Sprintf("passage %d: some other text on topic %d", anchors+i, i%1013)
			}
			pairs, err := datasets.FromColumns(datasets.Col("anchor", q), datasets.Col("positive", p))
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			_ = perf.ResetPeakRSS()
			startRSS, _ := perf.RSS(os.Getpid())
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				mined, _, err := datasets.MineHardNegatives(pairs, hashEncoder{dim}, datasets.MineOptions{Corpus: corpus})
				if err != nil {
					b.Fatal(err)
				}
				if mined.Len() != 3*anchors {
					b.Fatalf("mined %d rows, want %d", mined.Len(), 3*anchors)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "passages/s")
			if peak, err := perf.PeakRSS(); err == nil && peak > 0 {
				b.ReportMetric((float64(peak)-float64(startRSS))/(1<<20), "mining-extra-RSS-MiB")
				b.ReportMetric(float64(n)*dim*4/(1<<20), "full-matrix-MiB")
			}
		})
	}
}
