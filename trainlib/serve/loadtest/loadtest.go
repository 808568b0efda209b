// Package loadtest measures an embedding server under concurrent load on loopback: N clients send
// embedding requests back to back for a fixed time, and the report gives throughput, latency
// percentiles, every error by kind, and the server's resident memory over the run.
//
// It speaks both APIs of package serve — OpenAI's POST /v1/embeddings and TEI's POST /embed — so
// the same run can measure `embedtune serve` and any other server of those APIs (the Python
// sentence-transformers server of scripts/bench_serve.sh). Clients behave as OpenAI's SDK does: a
// 429 with Retry-After is waited out and counted as throttled, not as an error; a 429 without it,
// any other status, a transport error or a response with the wrong number of embeddings is an error.
//
// Example:
//
//	r, err := loadtest.Run(ctx, loadtest.Config{URL: "http://127.0.0.1:8080", Model: "tuned",
//		Texts: texts, Concurrency: 64, Duration: 30 * time.Second, PID: serverPID})
//	fmt.Print(r)           // the table
//	if err := r.Check(); err != nil { ... }  // errors other than throttling, or no request served
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/trainlib/internal/perf"
)

// API selects the request format.
type API string

// APIs.
const (
	OpenAI API = "openai" // POST /v1/embeddings {"input": [...], "model", "encoding_format": "base64"}
	TEI    API = "tei"    // POST /embed {"inputs": [...]}
)

// Config describes a load test.
type Config struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:8080". Only loopback addresses are
	// accepted: this is a load generator.
	URL string
	// API is OpenAI (default) or TEI.
	API    API
	Model  string
	APIKey string
	// Texts are sent in order, TextsPerRequest (default 1) per request, cycling.
	Texts           []string
	TextsPerRequest int
	// Concurrency is the number of clients (default 64); each sends its next request as soon as the
	// previous one is answered.
	Concurrency int
	// Duration of the measured run (default 30 s), after Warmup (default 0): requests of the warm-up
	// are not counted and the memory baseline is taken at its end.
	Duration, Warmup time.Duration
	// PID is the server process whose resident memory is sampled every SampleEvery (default 250 ms);
	// 0 samples nothing.
	PID         int
	SampleEvery time.Duration
	// HTTP is the client (default: one with Concurrency keep-alive connections).
	HTTP *http.Client
}

// Report is the outcome of [Run].
type Report struct {
	API         API
	URL         string
	Concurrency int
	// Elapsed is the measured time (Duration, plus the wait for the last answers).
	Elapsed time.Duration
	// Requests and Texts count successful requests and their texts.
	Requests, Texts int
	// Throttled counts 429 answers with Retry-After (waited out); Errors counts everything else that
	// was not a success, by kind ("status 500", "429 without Retry-After", "transport", ...).
	Throttled int
	Errors    map[string]int
	// RequestsPerSec and TextsPerSec are successful requests and texts per second of Elapsed.
	RequestsPerSec, TextsPerSec float64
	// Latency percentiles of successful requests.
	P50, P90, P99, Max time.Duration
	// RSS of the server (bytes): after the warm-up, at the end, the highest sample; Samples counts them.
	RSSStart, RSSEnd, RSSMax uint64
	RSSSamples               int
	// RSSMid is the median of the samples of the second half of the run: with RSSEnd it shows whether
	// memory still grows late in the run.
	RSSMid uint64
}

// Run sends the load and returns the report; it stops after Duration or when ctx ends.
func Run(ctx context.Context, c Config) (*Report, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	bodies, counts, err := c.bodies()
	if err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(c.URL, "/") + "/v1/embeddings"
	if c.API == TEI {
		url = strings.TrimSuffix(c.URL, "/") + "/embed"
	}
	if c.Warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, c.Warmup)
		c.load(wctx, url, bodies, counts, &stats{errors: map[string]int{}})
		cancel()
	}
	rep := &Report{API: c.API, URL: c.URL, Concurrency: c.Concurrency, Errors: map[string]int{}}
	var samples []uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if c.PID == 0 {
			return
		}
		t := time.NewTicker(c.SampleEvery)
		defer t.Stop()
		for {
			if rss, err := perf.RSS(c.PID); err == nil {
				samples = append(samples, rss)
			}
			select {
			case <-stopSampling:
				if rss, err := perf.RSS(c.PID); err == nil {
					samples = append(samples, rss)
				}
				return
			case <-t.C:
			}
		}
	}()
	rctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	st := &stats{errors: rep.Errors}
	start := time.Now()
	c.load(rctx, url, bodies, counts, st)
	rep.Elapsed = time.Since(start)
	close(stopSampling)
	<-sampled
	rep.Requests, rep.Texts, rep.Throttled = st.requests, st.texts, st.throttled
	if s := rep.Elapsed.Seconds(); s > 0 {
		rep.RequestsPerSec, rep.TextsPerSec = float64(rep.Requests)/s, float64(rep.Texts)/s
	}
	sort.Slice(st.latencies, func(i, j int) bool { return st.latencies[i] < st.latencies[j] })
	rep.P50, rep.P90, rep.P99 = percentile(st.latencies, 0.50), percentile(st.latencies, 0.90), percentile(st.latencies, 0.99)
	if n := len(st.latencies); n > 0 {
		rep.Max = st.latencies[n-1]
	}
	if n := len(samples); n > 0 {
		rep.RSSSamples, rep.RSSStart, rep.RSSEnd = n, samples[0], samples[n-1]
		late := append([]uint64(nil), samples[n/2:]...)
		sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
		rep.RSSMid = late[len(late)/2]
		for _, s := range samples {
			rep.RSSMax = max(rep.RSSMax, s)
		}
	}
	return rep, nil
}

func (c *Config) defaults() error {
	if c.API == "" {
		c.API = OpenAI
	}
	if c.API != OpenAI && c.API != TEI {
		return fmt.Errorf("loadtest: API %q: expected %q or %q", c.API, OpenAI, TEI)
	}
	if !isLoopback(c.URL) {
		return fmt.Errorf("loadtest: URL %q: only loopback servers (127.0.0.0/8, localhost, [::1]) are load-tested", c.URL)
	}
	if len(c.Texts) == 0 {
		return errors.New("loadtest: no texts to send")
	}
	if c.TextsPerRequest <= 0 {
		c.TextsPerRequest = 1
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = 250 * time.Millisecond
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConns: c.Concurrency, MaxIdleConnsPerHost: c.Concurrency,
			IdleConnTimeout: time.Minute, DisableCompression: true}}
	}
	return nil
}

func isLoopback(url string) bool {
	for _, p := range []string{"http://127.", "http://localhost:", "http://localhost/", "http://[::1]"} {
		if strings.HasPrefix(url, p) {
			return true
		}
	}
	return false
}

// bodies pre-encodes one request body per starting text, so the clients spend no time on JSON.
func (c *Config) bodies() ([][]byte, []int, error) {
	n := len(c.Texts)
	bodies := make([][]byte, n)
	counts := make([]int, n)
	for i := range bodies {
		in := make([]string, c.TextsPerRequest)
		for k := range in {
			in[k] = c.Texts[(i+k)%n]
		}
		var req any
		if c.API == TEI {
			req = map[string]any{"inputs": in, "model": c.Model}
		} else {
			req = map[string]any{"input": in, "model": c.Model, "encoding_format": "base64"}
		}
		b, err := json.Marshal(req)
		if err != nil {
			return nil, nil, err
		}
		bodies[i], counts[i] = b, len(in)
	}
	return bodies, counts, nil
}

// stats accumulates the clients' outcomes.
type stats struct {
	mu                         sync.Mutex
	requests, texts, throttled int
	errors                     map[string]int
	latencies                  []time.Duration
}

// load runs the clients until ctx ends.
func (c *Config) load(ctx context.Context, url string, bodies [][]byte, counts []int, st *stats) {
	var wg sync.WaitGroup
	var next sync.Mutex
	k := 0
	for w := 0; w < c.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				next.Lock()
				i := k % len(bodies)
				k += c.TextsPerRequest
				next.Unlock()
				t0 := time.Now()
				outcome, retry := c.send(ctx, url, bodies[i], counts[i])
				d := time.Since(t0)
				if ctx.Err() != nil && outcome != "" {
					return // Cut off by the end of the run: not the server's error.
				}
				st.mu.Lock()
				switch outcome {
				case "":
					st.requests++
					st.texts += counts[i]
					st.latencies = append(st.latencies, d)
				case "throttled":
					st.throttled++
				default:
					st.errors[outcome]++
				}
				st.mu.Unlock()
				if retry > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(retry):
					}
				}
			}
		}()
	}
	wg.Wait()
}

// send makes one request and classifies the answer: "" (success), "throttled" (429 with
// Retry-After, returned), or an error kind.
func (c *Config) send(ctx context.Context, url string, body []byte, n int) (string, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "request: " + err.Error(), 0
	}
	req.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "transport", 0
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "reading the response", 0
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || s < 0 {
			return "429 without Retry-After", time.Second
		}
		return "throttled", time.Duration(s) * time.Second
	case resp.StatusCode != http.StatusOK:
		return "status " + strconv.Itoa(resp.StatusCode), 0
	}
	// Count the embeddings without decoding them all: one per "index" (OpenAI) or per inner list (TEI).
	got := bytes.Count(data, []byte(`"index"`))
	if c.API == TEI {
		got = bytes.Count(data, []byte("[")) - 1
	}
	if got != n {
		return fmt.Sprintf("%d embeddings for %d texts", got, n), 0
	}
	return "", 0
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

// Check returns an error when no request succeeded or anything other than throttling (429 with
// Retry-After) failed.
func (r *Report) Check() error {
	if r.Requests == 0 {
		return fmt.Errorf("loadtest: no request succeeded (%v)", r.Errors)
	}
	if len(r.Errors) > 0 {
		var parts []string
		for _, k := range sortedKeys(r.Errors) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, r.Errors[k]))
		}
		return fmt.Errorf("loadtest: %d successful requests, but errors: %s", r.Requests, strings.Join(parts, ", "))
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// String renders the report as a small table.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, %d clients, %.1f s\n", r.API, r.URL, r.Concurrency, r.Elapsed.Seconds())
	fmt.Fprintf(&b, "  throughput   %.1f requests/s, %.1f texts/s (%d requests)\n", r.RequestsPerSec, r.TextsPerSec, r.Requests)
	fmt.Fprintf(&b, "  latency      p50 %s, p90 %s, p99 %s, max %s\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	fmt.Fprintf(&b, "  throttled    %d (429 with Retry-After)\n", r.Throttled)
	errs := "none"
	if len(r.Errors) > 0 {
		var parts []string
		for _, k := range sortedKeys(r.Errors) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, r.Errors[k]))
		}
		errs = strings.Join(parts, ", ")
	}
	fmt.Fprintf(&b, "  errors       %s\n", errs)
	if r.RSSSamples > 0 {
		fmt.Fprintf(&b, "  server RSS   %.0f MiB after warm-up, %.0f MiB late-run median, %.0f MiB at end, %.0f MiB max (%d samples)\n",
			mib(r.RSSStart), mib(r.RSSMid), mib(r.RSSEnd), mib(r.RSSMax), r.RSSSamples)
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
