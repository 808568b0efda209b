package datasets

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of loading 1M (question, context) rows. Run with
//
//	GOEXPERIMENT=simd go test -run '^$' -bench Load1M -benchtime 3x ./trainlib/datasets/
//
// Each reports the file size, the bytes held by the loaded columns, and the peak Go heap during
// the load (sampled every 2 ms) above the heap before it.

const benchRows = 1_000_000

var benchWords = strings.Fields("the of and in to a is was for on as by with from at that which his an are " +
	"were its be this city river national government population during first after new between " +
	"century state war world team season university school company music film church district")

// benchDataset builds rows like SQuAD's: a ~60-character question and a ~600-character context.
func benchDataset(b *testing.B) *Dataset {
	r := rand.New(rand.NewPCG(1, 2))
	text := func(words int) string {
		var sb strings.Builder
		for i := 0; i < words; i++ {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(benchWords[r.IntN(len(benchWords))])
		}
		return sb.String()
	}
	qs, cs := make([]string, benchRows), make([]string, benchRows)
	for i := range qs {
		qs[i] = fmt.Sprintf("%d %s?", i, text(10))
		cs[i] = fmt.Sprintf("%d %s.", i, text(100))
	}
	d, err := FromColumns(Col("question", qs), Col("context", cs))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchLoad(b *testing.B, ext string) {
	dir := b.TempDir()
	p := filepath.Join(dir, "pairs."+ext)
	if err := benchDataset(b).Save(p); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	var peak, held int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := int64(ms.HeapAlloc)
		var top atomic.Int64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if v := int64(m.HeapAlloc) - base; v > top.Load() {
					top.Store(v)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		d, err := Load(p)
		b.StopTimer()
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if d.Len() != benchRows {
			b.Fatalf("%d rows", d.Len())
		}
		peak = max(peak, top.Load())
		held = d.MemoryBytes()
		b.StartTimer()
	}
	b.ReportMetric(float64(st.Size())/1e6, "file-MB")
	b.ReportMetric(float64(held)/1e6, "columns-MB")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}

func BenchmarkLoad1MParquet(b *testing.B) { benchLoad(b, "parquet") }

func BenchmarkLoad1MJSONL(b *testing.B) { benchLoad(b, "jsonl") }
