// Package perf holds the measuring tools of embedtune's benchmarks: a backend wrapper that counts
// graph compilations, a sampler of the peak Go heap while a computation runs, and the process's
// peak resident set size.
//
// Example:
//
//	inner, _ := backend.Default()
//	cb := perf.NewCountingBackend(inner)
//	m, _ := model.New(cfg, model.WithBackend(cb))
//	peak := perf.StartHeapSampler(10 * time.Millisecond)
//	m.Encode(texts, nil)
//	fmt.Println(cb.Compilations(), peak.Stop()>>20, "MiB")
package perf

import (
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlx/compute"
)

// CountingBackend forwards everything to the wrapped backend and counts the computations built
// on it: GoMLX builds one backend Builder per compiled graph (one per new input-shape
// combination of an Exec), so Compilations is the number of graph compilations.
type CountingBackend struct {
	compute.Backend
	builds atomic.Int64
}

// NewCountingBackend wraps b.
func NewCountingBackend(b compute.Backend) *CountingBackend { return &CountingBackend{Backend: b} }

// Builder counts the computation and returns the wrapped backend's builder.
func (c *CountingBackend) Builder(name string) compute.Builder {
	c.builds.Add(1)
	return c.Backend.Builder(name)
}

// Compilations returns the number of computations built so far.
func (c *CountingBackend) Compilations() int64 { return c.builds.Load() }

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
