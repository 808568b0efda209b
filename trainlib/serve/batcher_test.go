package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
)

// TestBatchesAcrossRequests: concurrent one-text requests share forward passes, and each still gets
// its own embedding.
func TestBatchesAcrossRequests(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	srv, err := Start("", []Model{{"m", m}}, WithMaxBatch(8), WithMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	g := &gatedEmbedder{}
	gate(srv.Server, "m", g)
	want, err := m.Encode(testTexts, &model.EncodeOptions{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]float32, len(testTexts))
	errs := make([]error, len(testTexts))
	for i, text := range testTexts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := NewClient(srv.URL, "").Embed(context.Background(), "m", text)
			if err == nil {
				got[i] = e[0]
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range testTexts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if d := maxAbsDiff(got[i], want[i]); d > 1e-6 {
			t.Errorf("text %d: max |Δ| %.3g", i, d)
		}
	}
	sizes := g.batchSizes()
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != len(testTexts) || len(sizes) >= len(testTexts) {
		t.Errorf("forward passes %v for %d concurrent texts: expected fewer passes than requests", sizes, len(testTexts))
	}
}

// TestTakeBucketsByLength checks the batch selection rule on a queue built by hand: the oldest text's
// length bucket first, then free padding rows filled with shorter texts, never longer ones.
func TestTakeBucketsByLength(t *testing.T) {
	c := defaultConfig()
	c.maxBatch = 8
	c.validate()
	b := &batcher{name: "x", maxSeq: 512, maxBatch: 8, maxQueue: 100, metrics: newMetrics(), log: c.logger}
	ctx := context.Background()
	lens := []int{100, 10, 100, 300, 10, 100, 20, 10, 10, 10} // buckets 128,16,128,384,16,128,32,16,16,16
	for _, n := range lens {
		j := newJob(ctx, [][]int{make([]int, n)}, 0)
		j.enqueued = time.Now()
		b.pending = append(b.pending, item{j: j, i: 0, bucket: model.SeqBucket(n, b.maxSeq)})
	}
	lengths := func(batch []item) []int {
		var out []int
		for _, it := range batch {
			out = append(out, len(it.j.seqs[0]))
		}
		return out
	}
	for _, want := range [][]int{
		{100, 100, 100, 10}, // bucket 128: three texts, padded to 4 rows: one shorter text fills the spare row
		{300},               // bucket 384 (now the oldest) alone: one row, no spare
		{10, 10, 10, 10},    // bucket 16, four of them
		{20},                // bucket 32
	} {
		batch, _ := b.take()
		if got := lengths(batch); fmtInts(got) != fmtInts(want) {
			t.Fatalf("batch %v, want %v", got, want)
		}
	}
	if len(b.pending) != 0 {
		t.Errorf("%d texts left", len(b.pending))
	}

	// Texts of cancelled requests are dropped, and their jobs end with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	dead := newJob(cctx, [][]int{make([]int, 5), make([]int, 5)}, 0)
	live := newJob(ctx, [][]int{make([]int, 5)}, 0)
	for _, j := range []*job{dead, live} {
		for i := range j.seqs {
			b.pending = append(b.pending, item{j: j, i: i, bucket: 16})
		}
	}
	cancel()
	batch, _ := b.take()
	if len(batch) != 1 || batch[0].j != live {
		t.Errorf("after cancellation the batch holds %d texts", len(batch))
	}
	if !dead.finished || !errors.Is(dead.err, context.Canceled) {
		t.Errorf("cancelled job: finished %v err %v", dead.finished, dead.err)
	}
}

func fmtInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestOverloadTimeoutCancel holds the forward pass to fill the queue: the next request gets 429 with
// Retry-After; a client that gives up has its texts dropped and frees its queue room at once, while the
// pass is still running; once the pass is released everything queued completes; a request held past its
// timeout gets 503; the server keeps serving. The request timeout of the overload part is long, so that a
// slow or loaded machine cannot turn its queued requests into timeouts; the timeout part has a server of
// its own with a short one.
func TestOverloadTimeoutCancel(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	srv, g := startHeld(t, m, WithMaxBatch(2), WithMaxWait(0), WithMaxInputs(2), WithMaxQueue(4),
		WithRequestTimeout(10*time.Minute))
	first := sendEmbeddings(context.Background(), srv.URL, "one", "two") // taken by the worker, held in the pass
	testutil.Recv(t, g.entered, "the first forward pass", time.Minute)
	cctx, cancel := context.WithCancel(context.Background())
	cancelled := sendEmbeddings(cctx, srv.URL, "gone", "gone too") // queued: 2 of 4
	waiting := sendEmbeddings(context.Background(), srv.URL, "three", "four")
	waitQueued(t, srv.Server, "m", 4)
	// Queue full: 429 with Retry-After and OpenAI's rate-limit body; TEI's route says Overloaded.
	r := testutil.Recv(t, sendEmbeddings(context.Background(), srv.URL, "five"), "the request to a full queue", time.Minute)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, `"code":"rate_limit_exceeded"`) {
		t.Errorf("full queue: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	status, h, body := post(t, srv.URL+"/embed", map[string]any{"inputs": "six"})
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(body), `"error_type":"Overloaded"`) {
		t.Errorf("TEI full queue: %d %s", status, body)
	}
	cancel()
	if r := testutil.Recv(t, cancelled, "the cancelled request", time.Minute); r.status != -1 {
		t.Errorf("cancelled request answered %d", r.status)
	}
	// The cancelled texts leave the queue while the pass is still held: two more texts fit.
	waitQueued(t, srv.Server, "m", 2)
	refill := sendEmbeddings(context.Background(), srv.URL, "seven", "eight")
	waitQueued(t, srv.Server, "m", 4)
	g.release()
	for _, ch := range []chan embedResult{first, waiting, refill} {
		if r := testutil.Recv(t, ch, "a queued request", time.Minute); r.status != http.StatusOK {
			t.Errorf("queued request after release: %d %s", r.status, r.body)
		}
	}
	embedded := 0
	for _, s := range g.batchSizes() {
		if s > 2 {
			t.Errorf("a forward pass of %d texts with max batch 2", s)
		}
		embedded += s
	}
	if embedded != 6 {
		t.Errorf("forward passes %v: expected 6 texts (the cancelled request's texts must not run)", g.batchSizes())
	}

	// Held past the request timeout: 503 with Retry-After; the server keeps serving.
	short, g2 := startHeld(t, m, WithRequestTimeout(time.Second))
	late := sendEmbeddings(context.Background(), short.URL, "late")
	testutil.Recv(t, g2.entered, "the held forward pass", time.Minute)
	r = testutil.Recv(t, late, "the request held past its timeout", time.Minute)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "did not finish within 1s") {
		t.Errorf("timeout: %d %s", r.status, r.body)
	}
	g2.release()
	// The next request must not queue behind the late pass: on a cold, loaded machine that pass (XLA compiling
	// its graph) can outlast the short timeout by itself.
	testutil.WaitFor(t, "the late forward pass to finish after its release", time.Minute,
		func() bool { return g2.finishedPasses() >= 1 })
	if status, _, body := post(t, short.URL+"/v1/embeddings", map[string]any{"input": "seven"}); status != 200 {
		t.Errorf("after overload and timeout: %d %s", status, body)
	}
}

// embedResult is the answer to one /v1/embeddings request (status -1: the client got no answer).
type embedResult struct {
	status int
	header http.Header
	body   string
}

// sendEmbeddings posts texts to /v1/embeddings in the background; the answer arrives on the channel.
func sendEmbeddings(ctx context.Context, url string, texts ...string) chan embedResult {
	ch := make(chan embedResult, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/embeddings",
			strings.NewReader(`{"input": ["`+strings.Join(texts, `","`)+`"]}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- embedResult{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		ch <- embedResult{resp.StatusCode, resp.Header, string(body)}
	}()
	return ch
}

// waitQueued waits (up to a minute) until n texts wait in the queue of model name.
func waitQueued(t *testing.T, s *Server, name string, n int) {
	t.Helper()
	testutil.WaitFor(t, fmt.Sprintf("%d texts in the queue of %s", n, name), time.Minute,
		func() bool { return queued(s, name) == n })
}

// startHeld starts a server of model m named "m" whose forward passes wait, from the start, for the
// returned gate's release. The cleanups release the gate before closing the server (Close waits for the
// pass in flight), also when the test fails while a pass is held.
func startHeld(t *testing.T, m *model.SentenceTransformer, opts ...Option) (*Running, *gatedEmbedder) {
	t.Helper()
	srv, err := Start("", []Model{{"m", m}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	g := &gatedEmbedder{entered: make(chan int, 100)}
	gate(srv.Server, "m", g)
	g.hold()
	t.Cleanup(g.release)
	return srv, g
}

// queued returns the texts in the queue of model name (the room they take, as submit counts it).
func queued(s *Server, name string) int {
	b := s.models.byName[name].batcher
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// TestShutdownDrains: Shutdown waits for the request in flight, which is answered 200; afterwards
// the port is closed.
func TestShutdownDrains(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	srv, g := startHeld(t, m)
	inflight := make(chan int, 1)
	go func() {
		status, _, _ := post(t, srv.URL+"/v1/embeddings", map[string]any{"input": "drain me"})
		inflight <- status
	}()
	testutil.Recv(t, g.entered, "the forward pass in flight", time.Minute)
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned before the request in flight finished: %v", err)
	default:
	}
	g.release()
	if status := <-inflight; status != http.StatusOK {
		t.Errorf("request in flight during shutdown: %d", status)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := http.Get(srv.URL + "/health"); err == nil {
		t.Error("the server still accepts connections after Shutdown")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// failingEmbedder fails every forward pass while fail is set.
type failingEmbedder struct {
	inner embedder
	mu    sync.Mutex
	fail  bool
}

func (f *failingEmbedder) EmbedIDs(seqs [][]int, promptLen, maxRows int) ([][]float32, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return nil, errors.New("device lost")
	}
	return f.inner.EmbedIDs(seqs, promptLen, maxRows)
}

// TestBackendFailure: a failed forward pass answers 500 (OpenAI) / 424 (TEI) and turns /health to 503;
// once passes work again, /health probes the model and recovers without other traffic.
func TestBackendFailure(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	srv, err := Start("", []Model{{"m", m}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	f := &failingEmbedder{inner: m, fail: true}
	b := srv.models.byName["m"].batcher
	b.mu.Lock()
	b.model = f
	b.mu.Unlock()
	status, _, body := post(t, srv.URL+"/v1/embeddings", map[string]any{"input": "a"})
	if status != 500 || !strings.Contains(string(body), `"type":"server_error"`) || !strings.Contains(string(body), "device lost") {
		t.Errorf("OpenAI route on a failing pass: %d %s", status, body)
	}
	status, _, body = post(t, srv.URL+"/embed", map[string]any{"inputs": "a"})
	if status != 424 || !strings.Contains(string(body), `"error_type":"Backend"`) {
		t.Errorf("TEI route on a failing pass: %d %s", status, body)
	}
	if status, _, body := get(t, srv.URL+"/health"); status != 503 || !strings.Contains(string(body), `"error_type":"Unhealthy"`) {
		t.Errorf("/health after a failure: %d %s", status, body)
	}
	f.mu.Lock()
	f.fail = false
	f.mu.Unlock()
	if status, _, body := get(t, srv.URL+"/health"); status != 200 {
		t.Errorf("/health once passes work again: %d %s", status, body)
	}
}
