package xlaplugin_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/internal/xlaplugin"
	"github.com/gomlx/gomlx/core/graph"
)

// TestCompileCache runs real XLA compilations through the hook: a miss stores the executable, the
// same program compiled again (a new executor: what the next process does) loads it, and damaged or
// unloadable entries are recompiled. Results are checked every time.
func TestCompileCache(t *testing.T) {
	if !xlaplugin.Available || backend.FindCPUPlugin() == "" {
		if os.Getenv("EMBEDTUNE_REQUIRE_XLA") == "1" && xlaplugin.Available {
			t.Fatal("no XLA CPU plugin installed (EMBEDTUNE_REQUIRE_XLA=1): run scripts/pjrt.sh")
		}
		t.Skip("no XLA CPU plugin (scripts/pjrt.sh)")
	}
	dir := t.TempDir()
	t.Setenv(xlaplugin.EnvVar, dir)
	b, err := backend.New("xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	run := func(step string) {
		t.Helper()
		exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.AddScalar(graph.MulScalar(x, 2), 1) })
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec([]float32{1, 2, 3})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got := out[0].Value().([]float32)
		if got[0] != 3 || got[1] != 5 || got[2] != 7 {
			t.Fatalf("%s: got %v", step, got)
		}
	}
	want := backend.CompileCacheStats()
	check := func(step string, hits, misses, failures int) {
		t.Helper()
		want.Hits += hits
		want.Misses += misses
		want.Failures += failures
		got := backend.CompileCacheStats()
		if got.Dir != dir || got.Hits != want.Hits || got.Misses != want.Misses || got.Failures != want.Failures {
			t.Fatalf("%s: stats %+v, want %d hits, %d misses, %d failures in %s", step, got, want.Hits, want.Misses, want.Failures, dir)
		}
	}
	run("first compilation")
	check("first compilation", 0, 1, 0)
	entries, _ := filepath.Glob(filepath.Join(dir, "*.xlaexec"))
	if len(entries) != 1 {
		t.Fatalf("entries: %v", entries)
	}
	run("second compilation")
	check("second compilation", 1, 0, 0)

	// A damaged file: reported, recompiled, rewritten.
	os.WriteFile(entries[0], []byte("damaged"), 0o644)
	run("damaged entry")
	check("damaged entry", 0, 1, 1)
	run("rewritten entry")
	check("rewritten entry", 1, 0, 0)

	// A well-formed entry whose executable the plugin cannot load.
	store, err := xlaplugin.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var k xlaplugin.Key
	hex.Decode(k[:], []byte(strings.TrimSuffix(filepath.Base(entries[0]), ".xlaexec")))
	if err := store.Put(k, []byte("not an XLA executable"), 0); err != nil {
		t.Fatal(err)
	}
	run("unloadable entry")
	check("unloadable entry", 0, 1, 1)
	if st := backend.CompileCacheStats(); st.Error == "" {
		t.Error("no error message recorded for the unloadable entry")
	}
	run("after recompiling")
	check("after recompiling", 1, 0, 0)
}
