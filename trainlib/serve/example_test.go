package serve_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/serve"
)

// Serving a model on a free loopback port and querying it through the OpenAI route.
func Example() {
	dir, _ := os.MkdirTemp("", "serve-example")
	defer os.RemoveAll(dir)
	// A tiny random model; a real one is model.Load("path/to/fine-tuned-folder").
	m, err := synth.TinyModel(dir, "mean", 1, model.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := serve.Start("", []serve.Model{{Name: "tiny", Model: m}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	emb, err := serve.NewClient(srv.URL, "").Embed(context.Background(), "tiny", "What is the capital of Kalomi?", "Tensa.")
	if err != nil {
		fmt.Println(err)
		return
	}
	norm := 0.0
	for _, v := range emb[0] {
		norm += float64(v) * float64(v)
	}
	fmt.Printf("%d embeddings of %d dimensions, norm %.3f\n", len(emb), len(emb[0]), math.Sqrt(norm))
	// Output: 2 embeddings of 32 dimensions, norm 1.000
}

// A Server is an http.Handler: mount it in an existing service, here under /embeddings/.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "serve-example")
	defer os.RemoveAll(dir)
	m, err := synth.TinyModel(dir, "cls", 1, model.WithLogger(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := serve.New([]serve.Model{{Name: "tiny", Model: m}}, serve.WithMaxBatch(16), serve.WithAPIKey("secret"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/embeddings/", http.StripPrefix("/embeddings", s))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	req, _ := http.NewRequest("POST", ts.URL+"/embeddings/embed", strings.NewReader(`{"inputs": ["Tensa is on the river Vor."]}`))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	resp, _ = http.Post(ts.URL+"/embeddings/embed", "application/json", strings.NewReader(`{"inputs": "no key"}`))
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 200 OK application/json
	// 401 Unauthorized
}
