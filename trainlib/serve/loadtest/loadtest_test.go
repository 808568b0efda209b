package loadtest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/serve"
	"github.com/embedtune/embedtune/trainlib/serve/loadtest"
)

// TestLoadAgainstServer runs a short bounded load (64 clients) on a real server with a queue small
// enough to overflow: only 429s with Retry-After may fail, latencies are ordered, and the server's
// memory does not grow across the run.
func TestLoadAgainstServer(t *testing.T) {
	m, err := synth.TinyModel(t.TempDir(), "mean", 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.Start("", []serve.Model{{Name: "tiny", Model: m}}, serve.WithMaxQueue(16), serve.WithMaxInputs(4),
		serve.WithMaxBatch(16), serve.WithWarmup(true))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	texts := synth.Texts(synth.Pairs(50, 2, 3))
	for _, api := range []loadtest.API{loadtest.OpenAI, loadtest.TEI} {
		r, err := loadtest.Run(context.Background(), loadtest.Config{URL: srv.URL, API: api, Model: "tiny", Texts: texts,
			TextsPerRequest: 2, Concurrency: 64, Duration: 3 * time.Second, Warmup: time.Second, PID: os.Getpid(),
			SampleEvery: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", r)
		if err := r.Check(); err != nil {
			t.Error(err)
		}
		if r.Throttled == 0 {
			t.Errorf("%s: 64 clients never overflowed a queue of 16 texts", api)
		}
		if r.Texts != 2*r.Requests || !(r.P50 > 0 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("%s: inconsistent report %+v", api, r)
		}
		if r.RSSSamples < 10 || r.RSSEnd > r.RSSStart+r.RSSStart/2+64<<20 {
			t.Errorf("%s: resident memory %d → %d bytes over %d samples", api, r.RSSStart, r.RSSEnd, r.RSSSamples)
		}
	}
}

// TestLoadReportsErrors: failures other than 429 with Retry-After are errors, and Check says so.
func TestLoadReportsErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, "status 500"},
		{"429 without Retry-After", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, "429 without Retry-After"},
		{"wrong count", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"data":[]}`)) }, "0 embeddings for 1 texts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			defer ts.Close()
			r, err := loadtest.Run(context.Background(), loadtest.Config{URL: ts.URL, Texts: []string{"a"}, Concurrency: 2,
				Duration: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Check(); err == nil || !strings.Contains(err.Error(), "no request succeeded") || r.Errors[tc.want] == 0 {
				t.Errorf("errors %v, Check: %v", r.Errors, err)
			}
		})
	}
	for _, c := range []loadtest.Config{
		{URL: "http://10.1.2.3:8080", Texts: []string{"a"}},
		{URL: "https://example.com", Texts: []string{"a"}},
		{URL: "http://127.0.0.1:1", Texts: nil},
		{URL: "http://127.0.0.1:1", Texts: []string{"a"}, API: "grpc"},
	} {
		if _, err := loadtest.Run(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
