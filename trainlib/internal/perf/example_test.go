package perf_test

import (
	"fmt"
	"time"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/gomlx/gomlx/core/graph"
)

// Counting compilations and the peak heap of a few executions.
func ExampleNewCompileCounter() {
	b, err := backend.New("go")
	if err != nil {
		panic(err)
	}
	compiles, err := perf.NewCompileCounter()
	if err != nil {
		panic(err)
	}
	heap := perf.StartHeapSampler(time.Millisecond)
	exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.Neg(x) })
	if err != nil {
		panic(err)
	}
	for _, in := range []any{[]float32{1}, []float32{2}, []float32{1, 2}} {
		if _, err := exec.Exec(in); err != nil {
			panic(err)
		}
	}
	fmt.Println("compilations:", compiles.Count(), "heap sampled:", heap.Stop() > 0)
	// Output: compilations: 2 heap sampled: true
}
