package hub_test

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

// newClient returns a client of srv with a fresh cache and a fast retry policy.
func newClient(t *testing.T, srv *hubtest.Server, opts ...hub.Option) *hub.Client {
	t.Helper()
	base := []hub.Option{hub.WithEndpoint(srv.URL), hub.WithCacheDir(t.TempDir()), hub.WithRetry(3, time.Millisecond)}
	c, err := hub.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// modelFiles is a small model repository: a regular JSON file, an LFS weight file in a sub-folder
// and a regular file in a sub-folder.
func modelFiles() []hubtest.File {
	return []hubtest.File{
		{Path: "config.json", Content: []byte(`{"hidden_size": 8}` + "\n")},
		{Path: "weights/model.safetensors", Content: randomBytes(300_000, 7), LFS: true},
		{Path: "1_Pooling/config.json", Content: []byte(`{"pooling_mode_cls_token": true}`)},
	}
}

// cacheEntries lists a cache folder: files as "path", symlinks as "path -> target", refs with their
// content, skipping .locks (lock files are transient).
func cacheEntries(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == ".locks" {
				return filepath.SkipDir
			}
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case strings.Contains(rel, "/refs/"):
			b, _ := os.ReadFile(p)
			out = append(out, rel+" = "+string(b))
		default:
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// assertNoEntry fails when the cache holds a blob or snapshot entry (anything but refs, trees,
// .incomplete files and locks).
func assertNoEntry(t *testing.T, root string) {
	t.Helper()
	for _, e := range cacheEntries(t, root) {
		if strings.Contains(e, "/blobs/") && !strings.HasSuffix(e, ".incomplete") || strings.Contains(e, "/snapshots/") {
			t.Errorf("cache entry left behind: %s", e)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertContent(t *testing.T, p string, want []byte) {
	t.Helper()
	if got := mustRead(t, p); !bytes.Equal(got, want) {
		t.Errorf("%s: content differs (%d bytes, want %d)", p, len(got), len(want))
	}
}

func countRequests(srv *hubtest.Server, server, method string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Server == server && (method == "" || r.Method == method) {
			n++
		}
	}
	return n
}
