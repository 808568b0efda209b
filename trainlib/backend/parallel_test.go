package backend

import (
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestGoDefaultConfigIsQuiet checks that creating the default Go backend writes nothing on
// standard output (where the CLI writes JSON Lines), although the Go backend announces its
// parallelism setting there.
func TestGoDefaultConfigIsQuiet(t *testing.T) {
	for _, cfg := range []string{"go", GoDefaultConfig, "go:ops_parallel,parallelism=3"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		saved := os.Stdout
		os.Stdout = w
		b, err := New(cfg)
		os.Stdout = saved
		w.Close()
		out, _ := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		if len(out) != 0 {
			t.Errorf("%s: creating the backend printed %q on standard output", cfg, out)
		}
		if cfg != "go:ops_parallel,parallelism=3" && !strings.Contains(b.Description(), "parallelism=-1") {
			t.Errorf("%s: got %s, want an unbounded worker pool", cfg, Describe(b))
		}
	}
}

// TestGoDefaultConfigDoesNotDeadlock runs, many times, a graph shaped like a training step's
// backward pass on a small machine's worst case: many independent matrix multiplications ready
// at once (16 linear branches, then two products per branch in the gradient), which deadlocks the
// Go backend with its default bounded worker pool once 2×GOMAXPROCS of them run concurrently.
func TestGoDefaultConfigDoesNotDeadlock(t *testing.T) {
	b, err := New("go")
	if err != nil {
		t.Fatal(err)
	}
	const branches, n = 16, 192
	exec, err := graph.NewExec(b, func(in []*graph.Node) []*graph.Node {
		x, ws := in[0], in[1:]
		var loss *graph.Node
		for _, w := range ws {
			y := graph.Tanh(graph.DotGeneral(x, []int{1}, nil, w, []int{0}, nil))
			s := graph.ReduceAllSum(graph.DotGeneral(y, []int{1}, nil, w, []int{1}, nil))
			if loss == nil {
				loss = s
			} else {
				loss = graph.Add(loss, s)
			}
		}
		return append([]*graph.Node{loss}, graph.Gradient(loss, ws...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromShape(shapes.Make(dtypes.Float32, n, n))
	ws := make([]*tensors.Tensor, branches)
	for i := range ws {
		vals := make([]float32, n*n)
		for j := range vals {
			vals[j] = float32((i+j)%7-3) / 100
		}
		ws[i] = tensors.FromFlatDataAndDimensions(vals, n, n)
	}
	done := make(chan error, 1)
	go func() {
		for range 30 {
			args := []any{x}
			for _, w := range ws {
				args = append(args, w)
			}
			outs, err := exec.Exec(args...)
			if err != nil {
				done <- err
				return
			}
			for _, o := range outs {
				o.FinalizeAll()
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("no progress after 3 minutes (deadlock?) with %s; goroutines:\n%s", Describe(b), buf[:runtime.Stack(buf, true)])
	}
}
