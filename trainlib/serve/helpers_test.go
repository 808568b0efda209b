package serve

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
)

// testTexts mixes lengths (one over max_seq_length), accents, CJK and emoji.
var testTexts = []string{
	"What is the capital of India?",
	"New Delhi is the capital of India and the seat of all three branches of the Government of India.",
	"Crème brûlée, naïve café — ÀÉÎÕÜ",
	"東京は日本の首都です。",
	strings.Repeat("A very long passage about Indian history and geography, repeated. ", 12),
	"short",
	"🙂 emoji and\ttabs\nnewlines",
}

// tinyModel saves a small random BERT on the shared bert-base-uncased tokenizer (real WordPiece
// vocabulary, max_seq_length 48) with a "query" prompt, and loads it back as a user would.
func tinyModel(t testing.TB, pooling string, normalize bool, seed uint64) (*model.SentenceTransformer, string) {
	t.Helper()
	tokDir := testutil.SharedData(t, "models/all-MiniLM-L6-v2-config")
	m, err := model.New(model.InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 128, MaxSeqLength: 48, Pooling: []string{pooling}, Normalize: normalize,
		TokenizerDir: tokDir, Seed: seed}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	m.Prompts = map[string]string{"query": "query: ", "passage": "passage: "}
	dir := filepath.Join(t.TempDir(), "tiny-"+pooling)
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := model.Load(dir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return loaded, dir
}

// post sends a JSON body (a string is sent verbatim) and returns the status, headers and body.
func post(t testing.TB, url string, body any, header ...string) (int, http.Header, []byte) {
	t.Helper()
	var data []byte
	if s, ok := body.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func get(t testing.TB, url string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// gatedEmbedder wraps a model: while held, each forward pass waits for release; passes are recorded.
type gatedEmbedder struct {
	inner embedder
	mu    sync.Mutex
	gate  chan struct{} // nil: not held
	sizes []int
	// entered receives a value when a pass starts (if not nil).
	entered  chan int
	finished int // passes that have returned; guarded by mu
}

func (g *gatedEmbedder) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
}

func (g *gatedEmbedder) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gatedEmbedder) EmbedIDs(seqs [][]int, promptLen, maxRows int) ([][]float32, error) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(seqs))
	wait := g.gate
	g.mu.Unlock()
	if g.entered != nil {
		g.entered <- len(seqs)
	}
	if wait != nil {
		<-wait
	}
	emb, err := g.inner.EmbedIDs(seqs, promptLen, maxRows)
	g.mu.Lock()
	g.finished++
	g.mu.Unlock()
	return emb, err
}

// finishedPasses returns the number of forward passes that have returned.
func (g *gatedEmbedder) finishedPasses() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.finished
}

func (g *gatedEmbedder) batchSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// gate replaces the forward pass of a served model (before any request).
func gate(s *Server, name string, g *gatedEmbedder) {
	sv := s.models.byName[name]
	g.inner = sv.m
	sv.batcher.mu.Lock()
	sv.batcher.model = g
	sv.batcher.mu.Unlock()
}
