// Package perf holds the measuring tools of embedtune's benchmarks: a counter of GoMLX graph
// compilations, a sampler of the peak Go heap while a computation runs, and the process's peak
// resident set size.
//
// Example:
//
//	compiles, _ := perf.NewCompileCounter()
//	peak := perf.StartHeapSampler(10 * time.Millisecond)
//	m.Encode(texts, nil)
//	fmt.Println(compiles.Count(), "graphs,", peak.Stop()>>20, "MiB peak heap,", perf.MaxRSS()>>20, "MiB max RSS")
package perf

import (
	"bytes"
	"flag"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// CompileCounter counts the graphs GoMLX builds and compiles (one per new input-shape combination
// of a graph.Exec, on any backend). It listens to graph.Exec's "Build graph time" log line, which
// klog emits at verbosity 1 for core/graph/exec.go: the first counter raises that file's
// verbosity (klog's -vmodule=exec=1) and takes over klog's output for the rest of the process,
// so use it only in benchmarks and tests.
type CompileCounter struct{ base int64 }

var (
	klogOnce      sync.Once
	klogErr       error
	compileEvents atomic.Int64
)

// buildGraphLine is the message graph.Exec logs after building each graph.
const buildGraphLine = "Build graph time for "

type klogSink struct{}

func (klogSink) Write(p []byte) (int, error) {
	compileEvents.Add(int64(bytes.Count(p, []byte(buildGraphLine))))
	return len(p), nil
}

// NewCompileCounter starts counting compilations from now on.
func NewCompileCounter() (*CompileCounter, error) {
	klogOnce.Do(func() {
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		for _, kv := range [][2]string{{"logtostderr", "false"}, {"alsologtostderr", "false"}, {"stderrthreshold", "FATAL"}, {"vmodule", "exec=1"}} {
			if err := fs.Set(kv[0], kv[1]); err != nil {
				klogErr = fmt.Errorf("configuring klog flag %s: %w", kv[0], err)
				return
			}
		}
		klog.SetOutput(klogSink{})
	})
	if klogErr != nil {
		return nil, klogErr
	}
	return &CompileCounter{base: compileEvents.Load()}, nil
}

// Count returns the number of graphs compiled since the counter was created.
func (c *CompileCounter) Count() int64 { return compileEvents.Load() - c.base }

// HeapSampler records the largest Go heap (bytes of live and not yet swept objects, the runtime
// metric /memory/classes/heap/objects:bytes) seen between StartHeapSampler and Stop. The pure-Go
// backend keeps every tensor on the Go heap, so this is the computation's memory high-water mark
// at the sampling resolution.
type HeapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak atomic.Uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// StartHeapSampler starts sampling every interval (reading runtime/metrics does not stop the world).
func StartHeapSampler(interval time.Duration) *HeapSampler {
	h := &HeapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: heapMetric}}
	read := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if v := sample[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
		}
	}
	read()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return h
}

// Stop ends sampling and returns the peak heap in bytes.
func (h *HeapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}
