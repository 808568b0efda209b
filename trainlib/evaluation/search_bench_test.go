package evaluation

import (
	"fmt"
	"os"
	"testing"

	"github.com/embedtune/embedtune/trainlib/internal/perf"
)

// BenchmarkSearch measures exact top-100 search of 256 queries over generated corpora of 100k and
// 1M vectors of dimension 768 (the 1M corpus alone is 3 GB of float32), reporting the throughput
// and the memory: peak resident set size of the process and how much the search added to the
// resident size it started from (Linux only: /proc/self/status, peak reset through clear_refs).
//
//	GOEXPERIMENT=simd go test ./trainlib/evaluation/ -run '^$' -bench Search -benchtime 1x
func BenchmarkSearch(b *testing.B) {
	const dim, numQueries, k = 768, 256, 100
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("corpus=%d/dim=%d/queries=%d/k=%d", n, dim, numQueries, k), func(b *testing.B) {
			if testing.Short() && n > 100_000 {
				b.Skip("-short: skipping the 1M corpus")
			}
			corpus := generatedVectors(n, dim, 1)
			queries := generatedVectors(numQueries, dim, 2)
			_ = perf.ResetPeakRSS()
			startRSS, _ := perf.RSS(os.Getpid())
			b.ResetTimer()
			for range b.N {
				hits, err := Search(queries, corpus, k, SearchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(hits) != numQueries || len(hits[0]) != k {
					b.Fatalf("got %d×%d hits", len(hits), len(hits[0]))
				}
			}
			b.StopTimer()
			flops := 2 * float64(numQueries) * float64(n) * dim * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if peak, err := perf.PeakRSS(); err == nil && peak > 0 {
				b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric((float64(peak)-float64(startRSS))/(1<<20), "search-extra-RSS-MiB")
			}
		})
	}
}

// generatedVectors returns n pseudo-random vectors in [-1, 1)^dim backed by one allocation
// (xorshift64*, so generating 768M values takes seconds).
func generatedVectors(n, dim int, seed uint64) [][]float32 {
	flat := make([]float32, n*dim)
	x := seed*0x9E3779B97F4A7C15 | 1
	for i := range flat {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		flat[i] = float32((x*0x2545F4914F6CDD1D)>>40)/float32(1<<24)*2 - 1
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return out
}
