package perf_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/gomlx/gomlx/core/graph"
)

func TestCompileCounter(t *testing.T) {
	be, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := perf.NewCompileCounter()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := graph.NewExec(be, func(x *graph.Node) *graph.Node { return graph.MulScalar(x, 2) })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   any
		want int64
	}{
		{[]float32{1, 2}, 1},    // First shape: compiled.
		{[]float32{3, 4}, 1},    // Same shape: cached.
		{[]float32{1, 2, 3}, 2}, // New shape: compiled again.
		{float32(5), 3},
		{[]float32{5, 6}, 3},
	} {
		out, err := exec.Exec(c.in)
		if err != nil {
			t.Fatal(err)
		}
		out[0].FinalizeAll()
		if got := cc.Count(); got != c.want {
			t.Fatalf("after input %v: %d compilations, want %d", c.in, got, c.want)
		}
	}
}

func TestHeapSamplerSeesPeak(t *testing.T) {
	const size = 64 << 20
	h := perf.StartHeapSampler(time.Millisecond)
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	time.Sleep(20 * time.Millisecond)
	runtime.KeepAlive(buf)
	if peak := h.Stop(); peak < size {
		t.Fatalf("peak heap %d bytes, want at least the %d-byte buffer alive while sampling", peak, size)
	}
	if runtime.GOOS == "linux" && perf.MaxRSS() < size {
		t.Fatalf("max RSS %d bytes, want at least %d", perf.MaxRSS(), size)
	}
}

// TestRSS checks the current resident size grows with memory touched and lies below the peak.
func TestRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/statm"); err != nil {
		if _, err := perf.RSS(os.Getpid()); err == nil {
			t.Fatal("RSS without /proc returned no error")
		}
		t.Skip("no /proc on this system")
	}
	before, err := perf.RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after, err := perf.RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before+32<<20 {
		t.Errorf("RSS %d → %d after touching 64 MiB", before, after)
	}
	if peak := perf.MaxRSS(); peak > 0 && after > peak+1<<20 {
		t.Errorf("current RSS %d above the peak %d", after, peak)
	}
	runtime.KeepAlive(buf)
	if _, err := perf.RSS(1 << 30); err == nil {
		t.Error("RSS of a process that does not exist returned no error")
	}
}

// TestPeakRSS checks that the peak resident size sees memory touched after a reset, and that a
// reset forgets what was freed before it.
func TestPeakRSS(t *testing.T) {
	debug.FreeOSMemory() // pages freed by earlier tests but still resident would absorb the 64 MiB below
	if err := perf.ResetPeakRSS(); err != nil {
		if _, statErr := os.Stat("/proc/self/clear_refs"); statErr != nil {
			t.Skip("no /proc/self/clear_refs on this system")
		}
		t.Fatal(err)
	}
	base, err := perf.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	peak, err := perf.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if peak < base+32<<20 {
		t.Errorf("peak RSS %d → %d after touching 64 MiB", base, peak)
	}
	runtime.KeepAlive(buf)
	buf = nil
	runtime.GC()
	debug.FreeOSMemory()
	if err := perf.ResetPeakRSS(); err != nil {
		t.Fatal(err)
	}
	after, err := perf.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if after > peak-32<<20 {
		t.Errorf("peak RSS after freeing 64 MiB and a reset: %d, before %d", after, peak)
	}
}
