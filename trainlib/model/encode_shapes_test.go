package model_test

import (
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/embedtune/embedtune/trainlib/model"
)

// TestEncodeGraphShapes: on a compiling engine (XLA) encoding compiles one graph per length bucket,
// whatever the number of texts (every batch has the full batch size), and a later call with other
// texts in the same buckets compiles nothing.
func TestEncodeGraphShapes(t *testing.T) {
	m := tinyModel(t, "mean")
	if backend.IsGo(m.Backend()) {
		t.Skip("the pure-Go backend pads short batches to a power of two (it pays for padded rows, not for shapes)")
	}
	texts := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			words := 3 // bucket 16
			if i%3 == 0 {
				words = 20 // bucket 32
			}
			out[i] = strings.Repeat("hello world ", words/2+i%2)
		}
		return out
	}
	cc, err := perf.NewCompileCounter()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Encode(texts(45), &model.EncodeOptions{BatchSize: 8}); err != nil {
		t.Fatal(err)
	}
	if n := cc.Count(); n != 2 {
		t.Errorf("45 texts in 2 length buckets, batch 8: %d graphs compiled, want 2", n)
	}
	if _, err := m.Encode(texts(7), &model.EncodeOptions{BatchSize: 8}); err != nil {
		t.Fatal(err)
	}
	if n := cc.Count(); n != 2 {
		t.Errorf("after 7 more texts in the same buckets: %d graphs compiled, want still 2", n)
	}
}
