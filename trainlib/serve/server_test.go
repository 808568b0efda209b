package serve

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
)

// TestRoutesMatchEncode checks every option of both embedding routes against model.Encode with the
// equivalent options (the numbers' agreement with Python is TestRealClients').
func TestRoutesMatchEncode(t *testing.T) {
	mean, _ := tinyModel(t, "mean", false, 1)
	cls, _ := tinyModel(t, "cls", true, 2)
	srv, err := Start("", []Model{{"mean", mean}, {"cls", cls}}, WithMaxBatch(8))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	encode := func(m *model.SentenceTransformer, o model.EncodeOptions) [][]float32 {
		out, err := m.Encode(testTexts, &o)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	decodeTEI := func(body []byte) [][]float32 {
		var out [][]float32
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("TEI body %.200s: %v", body, err)
		}
		return out
	}
	decodeOpenAI := func(body []byte, format string) ([][]float32, int) {
		var r struct {
			Object string
			Data   []struct {
				Object    string
				Index     int
				Embedding json.RawMessage
			}
			Model string
			Usage struct{ PromptTokens, TotalTokens int } `json:"usage"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("OpenAI body %.200s: %v", body, err)
		}
		var usage struct {
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
				TotalTokens  int `json:"total_tokens"`
			} `json:"usage"`
		}
		json.Unmarshal(body, &usage)
		if r.Object != "list" || usage.Usage.PromptTokens != usage.Usage.TotalTokens {
			t.Errorf("response envelope: object %q, usage %+v", r.Object, usage.Usage)
		}
		out := make([][]float32, len(r.Data))
		for i, d := range r.Data {
			if d.Index != i || d.Object != "embedding" {
				t.Errorf("data[%d]: index %d object %q", i, d.Index, d.Object)
			}
			if format == "base64" {
				var s string
				if err := json.Unmarshal(d.Embedding, &s); err != nil {
					t.Fatalf("base64 embedding is not a string: %.50s", d.Embedding)
				}
				raw, _ := base64.StdEncoding.DecodeString(s)
				for k := 0; k+4 <= len(raw); k += 4 {
					out[i] = append(out[i], math.Float32frombits(binary.LittleEndian.Uint32(raw[k:])))
				}
			} else if err := json.Unmarshal(d.Embedding, &out[i]); err != nil {
				t.Fatal(err)
			}
		}
		return out, usage.Usage.PromptTokens
	}
	tokens := func(m *model.SentenceTransformer, prompt string) int {
		n := 0
		for _, s := range testTexts {
			ids, _ := m.Tokenizer.Encode(prompt+s, m.MaxSeqLength)
			n += len(ids)
		}
		return n
	}
	compare := func(name string, got, want [][]float32) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d embeddings, want %d", name, len(got), len(want))
		}
		for i := range got {
			if d := maxAbsDiff(got[i], want[i]); d > 1e-6 {
				t.Errorf("%s: text %d: max |Δ| %.3g (dims %d vs %d)", name, i, d, len(got[i]), len(want[i]))
			}
		}
	}

	for _, tc := range []struct {
		name  string
		model *model.SentenceTransformer
		body  map[string]any
		want  model.EncodeOptions
	}{
		{"openai float", mean, map[string]any{"model": "mean", "encoding_format": "float"}, model.EncodeOptions{Normalize: true}},
		{"openai base64", mean, map[string]any{"model": "mean", "encoding_format": "base64"}, model.EncodeOptions{Normalize: true}},
		{"openai default model and format", mean, map[string]any{}, model.EncodeOptions{Normalize: true}},
		{"openai dimensions", mean, map[string]any{"model": "mean", "dimensions": 8}, model.EncodeOptions{Normalize: true, TruncateDim: 8}},
		{"openai normalized model", cls, map[string]any{"model": "cls", "dimensions": 16}, model.EncodeOptions{Normalize: true, TruncateDim: 16}},
		{"openai prompt_name", mean, map[string]any{"model": "mean", "prompt_name": "query"}, model.EncodeOptions{Normalize: true, PromptName: "query"}},
	} {
		tc.body["input"] = testTexts
		status, _, body := post(t, srv.URL+"/v1/embeddings", tc.body)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.name, status, body)
		}
		format, _ := tc.body["encoding_format"].(string)
		got, n := decodeOpenAI(body, format)
		compare(tc.name, got, encode(tc.model, tc.want))
		prompt := ""
		if tc.want.PromptName != "" {
			prompt = tc.model.Prompts[tc.want.PromptName]
		}
		if want := tokens(tc.model, prompt); n != want {
			t.Errorf("%s: usage.prompt_tokens %d, want %d", tc.name, n, want)
		}
	}

	for _, tc := range []struct {
		name  string
		model *model.SentenceTransformer
		body  map[string]any
		want  model.EncodeOptions
	}{
		{"tei defaults (normalize)", mean, map[string]any{}, model.EncodeOptions{Normalize: true}},
		{"tei normalize false", mean, map[string]any{"normalize": false}, model.EncodeOptions{}},
		{"tei dimensions", mean, map[string]any{"normalize": false, "dimensions": 5}, model.EncodeOptions{TruncateDim: 5}},
		{"tei dimensions normalized", mean, map[string]any{"dimensions": 5}, model.EncodeOptions{TruncateDim: 5, Normalize: true}},
		{"tei prompt_name", mean, map[string]any{"prompt_name": "passage", "normalize": false}, model.EncodeOptions{PromptName: "passage"}},
		{"tei second model", cls, map[string]any{"model": "cls"}, model.EncodeOptions{}},
		{"tei explicit right truncation", mean, map[string]any{"truncate": true, "truncation_direction": "Right", "normalize": false}, model.EncodeOptions{}},
	} {
		tc.body["inputs"] = testTexts
		status, h, body := post(t, srv.URL+"/embed", tc.body)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.name, status, body)
		}
		compare(tc.name, decodeTEI(body), encode(tc.model, tc.want))
		if h.Get("x-compute-tokens") == "" {
			t.Errorf("%s: no x-compute-tokens header", tc.name)
		}
	}

	// A single string gives a list of one embedding (TEI), and POST / is /embed.
	status, _, body := post(t, srv.URL+"/", map[string]any{"inputs": testTexts[0]})
	if status != http.StatusOK {
		t.Fatalf("POST /: %d %s", status, body)
	}
	compare("POST / single string", decodeTEI(body), encode(mean, model.EncodeOptions{Normalize: true})[:1])

	// Left truncation keeps [CLS] + the last tokens + [SEP].
	long := testTexts[4] + " The end."
	status, _, body = post(t, srv.URL+"/embed", map[string]any{"inputs": long, "truncation_direction": "left", "normalize": false})
	if status != http.StatusOK {
		t.Fatalf("left truncation: %d %s", status, body)
	}
	full, _ := mean.Tokenizer.Encode(long, 0)
	sp := mean.Tokenizer.Special()
	ids := append([]int{sp.CLS}, full[len(full)-mean.MaxSeqLength+1:]...) // last max-2 text ids + [SEP]
	want, err := mean.EmbedIDs([][]int{ids}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	compare("left truncation", decodeTEI(body), want)
	if side := mean.Tokenizer.Info().TruncationSide; side != tokenizer.Right {
		t.Fatalf("the test tokenizer truncates on the %s", side)
	}

	// The Go client decodes base64 and agrees.
	emb, err := NewClient(srv.URL+"/v1", "").Embed(context.Background(), "cls", testTexts...)
	if err != nil {
		t.Fatal(err)
	}
	compare("Go client", emb, encode(cls, model.EncodeOptions{Normalize: true}))

	// Models are listed by both APIs.
	status, _, body = get(t, srv.URL+"/v1/models")
	if status != 200 || !strings.Contains(string(body), `"id":"mean"`) || !strings.Contains(string(body), `"id":"cls"`) {
		t.Errorf("/v1/models: %d %s", status, body)
	}
	status, _, body = get(t, srv.URL+"/v1/models/cls")
	if status != 200 || !strings.Contains(string(body), `"dimension":32`) {
		t.Errorf("/v1/models/cls: %d %s", status, body)
	}
	status, _, body = get(t, srv.URL+"/info")
	var info map[string]any
	if status != 200 || json.Unmarshal(body, &info) != nil || info["max_input_length"] != 48.0 || info["served_model_name"] != "mean" {
		t.Errorf("/info: %d %s", status, body)
	}
	if status, _, _ := get(t, srv.URL+"/health"); status != 200 {
		t.Errorf("/health: %d", status)
	}
}

// TestWarmup runs every batch shape once: rows 1, 2, 4, 8 (max batch 8) × lengths 16, 32, 48 (max_seq_length 48).
func TestWarmup(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	s, err := New([]Model{{"m", m}}, WithMaxBatch(8))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Warmup(context.Background())
	if err != nil || n != 12 {
		t.Errorf("Warmup: %d shapes, %v; want 12", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Warmup(ctx); err == nil {
		t.Error("Warmup with a cancelled context returned no error")
	}
}

// TestNewErrors: configurations that cannot work are refused with a message naming the setting.
func TestNewErrors(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	for _, tc := range []struct {
		models []Model
		opts   []Option
		want   string
	}{
		{nil, nil, "no model"},
		{[]Model{{"", m}}, nil, "empty name"},
		{[]Model{{"a", nil}}, nil, "is nil"},
		{[]Model{{"a", m}, {"a", m}}, nil, "two models are named"},
		{[]Model{{"a", m}}, []Option{WithMaxBatch(0)}, "max batch"},
		{[]Model{{"a", m}}, []Option{WithMaxInputs(100), WithMaxQueue(10)}, "max queue 10 must be at least max inputs"},
		{[]Model{{"a", m}}, []Option{WithMaxWait(-time.Second)}, "max wait"},
		{[]Model{{"a", m}}, []Option{WithMaxRequestBytes(0)}, "max request bytes"},
	} {
		if s, err := New(tc.models, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%d models): %v, want an error with %q", len(tc.models), err, tc.want)
			if s != nil {
				s.Close()
			}
		}
	}
	if _, err := Start("256.0.0.1:1", []Model{{"a", m}}); err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Errorf("Start on a bad address: %v", err)
	}
}
