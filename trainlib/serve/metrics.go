package serve

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/trainlib/internal/perf"
)

// metrics collects the server's Prometheus metrics and writes them in the text exposition format
// (version 0.0.4), which every Prometheus-compatible scraper reads:
//
//	embedtune_requests_total{route,model,code}         counter: answered requests
//	embedtune_request_duration_seconds{route}           histogram: time in the server
//	embedtune_inputs_total{model}, _tokens_total{model} counters: texts and tokens embedded
//	embedtune_queue_wait_seconds{model}                 histogram: a text's wait for its batch
//	embedtune_batch_size{model}                         histogram: texts per forward pass
//	embedtune_batch_tokens{model}                       histogram: real (unpadded) tokens per pass
//	embedtune_batch_duration_seconds{model}             histogram: forward pass time
//	embedtune_queue_depth{model}                        gauge: texts waiting
//	process_resident_memory_bytes, go_goroutines, go_memstats_heap_inuse_bytes
type metrics struct {
	mu        sync.Mutex
	requests  map[[3]string]uint64
	reqDur    map[string]*histogram
	inputs    map[string]uint64
	tokens    map[string]uint64
	queueWait map[string]*histogram
	batchSize map[string]*histogram
	batchTok  map[string]*histogram
	batchDur  map[string]*histogram
	depth     map[string]int
}

var (
	latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	sizeBuckets    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
	tokenBuckets   = []float64{16, 64, 256, 1024, 4096, 16384, 65536}
)

func newMetrics() *metrics {
	return &metrics{requests: map[[3]string]uint64{}, reqDur: map[string]*histogram{}, inputs: map[string]uint64{},
		tokens: map[string]uint64{}, queueWait: map[string]*histogram{}, batchSize: map[string]*histogram{},
		batchTok: map[string]*histogram{}, batchDur: map[string]*histogram{}, depth: map[string]int{}}
}

// addModel makes a model's series appear (at zero) before its first request.
func (m *metrics) addModel(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inputs[name], m.tokens[name], m.depth[name] = 0, 0, 0
	hist(m.queueWait, name, latencyBuckets)
	hist(m.batchSize, name, sizeBuckets)
	hist(m.batchTok, name, tokenBuckets)
	hist(m.batchDur, name, latencyBuckets)
}

func (m *metrics) observeRequest(route, model string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[3]string{route, model, strconv.Itoa(code)}]++
	hist(m.reqDur, route, latencyBuckets).observe(d.Seconds())
}

func (m *metrics) observeInputs(model string, texts, tokens int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inputs[model] += uint64(texts)
	m.tokens[model] += uint64(tokens)
}

func (m *metrics) observeQueueWait(model string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	hist(m.queueWait, model, latencyBuckets).observe(d.Seconds())
}

func (m *metrics) observeBatch(model string, texts, tokens int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	hist(m.batchSize, model, sizeBuckets).observe(float64(texts))
	hist(m.batchTok, model, tokenBuckets).observe(float64(tokens))
	hist(m.batchDur, model, latencyBuckets).observe(d.Seconds())
}

func (m *metrics) setQueueDepth(model string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.depth[model] = n
}

// write renders all metrics.
func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	family(&b, "embedtune_requests_total", "counter", "HTTP requests answered, by route, model and status code.")
	for _, k := range sortedKeys(m.requests) {
		sample(&b, "embedtune_requests_total", labels("route", k[0], "model", k[1], "code", k[2]), float64(m.requests[k]))
	}
	writeHists(&b, "embedtune_request_duration_seconds", "Time from request to response, by route.", "route", m.reqDur)
	family(&b, "embedtune_inputs_total", "counter", "Texts embedded, by model.")
	for _, k := range sortedKeys(m.inputs) {
		sample(&b, "embedtune_inputs_total", labels("model", k), float64(m.inputs[k]))
	}
	family(&b, "embedtune_tokens_total", "counter", "Tokens embedded (after truncation, special tokens included), by model.")
	for _, k := range sortedKeys(m.tokens) {
		sample(&b, "embedtune_tokens_total", labels("model", k), float64(m.tokens[k]))
	}
	writeHists(&b, "embedtune_queue_wait_seconds", "Time a text waits in the queue before its forward pass.", "model", m.queueWait)
	writeHists(&b, "embedtune_batch_size", "Texts per forward pass.", "model", m.batchSize)
	writeHists(&b, "embedtune_batch_tokens", "Real (unpadded) tokens per forward pass.", "model", m.batchTok)
	writeHists(&b, "embedtune_batch_duration_seconds", "Forward pass time.", "model", m.batchDur)
	family(&b, "embedtune_queue_depth", "gauge", "Texts waiting for a forward pass, by model.")
	for _, k := range sortedKeys(m.depth) {
		sample(&b, "embedtune_queue_depth", labels("model", k), float64(m.depth[k]))
	}
	if rss, err := perf.RSS(os.Getpid()); err == nil {
		family(&b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
		sample(&b, "process_resident_memory_bytes", "", float64(rss))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	family(&b, "go_goroutines", "gauge", "Number of goroutines that currently exist.")
	sample(&b, "go_goroutines", "", float64(runtime.NumGoroutine()))
	family(&b, "go_memstats_heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.")
	sample(&b, "go_memstats_heap_inuse_bytes", "", float64(ms.HeapInuse))
	io.WriteString(w, b.String())
}

// histogram is a Prometheus histogram: cumulative counts per upper bound, sum and count.
type histogram struct {
	bounds []float64
	counts []uint64 // counts[i]: observations ≤ bounds[i] and > bounds[i-1]; last: > all bounds
	sum    float64
	n      uint64
}

func hist(m map[string]*histogram, key string, bounds []float64) *histogram {
	h, ok := m[key]
	if !ok {
		h = &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
		m[key] = h
	}
	return h
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // First bound ≥ v.
	h.counts[i]++
	h.sum += v
	h.n++
}

func writeHists(b *strings.Builder, name, help, label string, hs map[string]*histogram) {
	family(b, name, "histogram", help)
	for _, k := range sortedKeys(hs) {
		h := hs[k]
		var cum uint64
		for i, ub := range h.bounds {
			cum += h.counts[i]
			sample(b, name+"_bucket", labels(label, k, "le", formatFloat(ub)), float64(cum))
		}
		sample(b, name+"_bucket", labels(label, k, "le", "+Inf"), float64(h.n))
		sample(b, name+"_sum", labels(label, k), h.sum)
		sample(b, name+"_count", labels(label, k), float64(h.n))
	}
}

func family(b *strings.Builder, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func sample(b *strings.Builder, name, lbls string, v float64) {
	b.WriteString(name)
	b.WriteString(lbls)
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

// labels renders {k1="v1",k2="v2"} with the exposition format's escaping.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func sortedKeys[K interface{ ~string | ~[3]string }, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}
