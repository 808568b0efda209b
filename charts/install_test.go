package charts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/embedtune/embedtune/internal/repo"
)

func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

// A registry serving another file than the pinned package is refused, and nothing is written.
func TestInstallLibraryRefusesAnUnpinnedPackage(t *testing.T) {
	var hits atomic.Int32
	body := tgz(t, map[string]string{"package/dist/echarts.min.js": "window.echarts={}", "package/LICENSE": "L", "package/NOTICE": "N"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/echarts/-/echarts-"+EChartsVersion+".tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	t.Setenv(NPMRegistryEnv, srv.URL+"/")
	dir := t.TempDir()
	_, err := InstallLibrary(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "expected "+echartsTarballSHA256) || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("InstallLibrary = %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests", hits.Load())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written from a refused package: %v", entries)
	}
}

func TestInstallLibraryUnreachableRegistry(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	t.Setenv(NPMRegistryEnv, srv.URL)
	_, err := InstallLibrary(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), NPMRegistryEnv) {
		t.Fatalf("InstallLibrary with no registry = %v", err)
	}
}

func TestReadPackageFilesBounds(t *testing.T) {
	data := tgz(t, map[string]string{"package/dist/echarts.min.js": strings.Repeat("x", 100), "package/LICENSE": "L",
		"../../etc/passwd": "never read"})
	if _, err := readPackageFiles(data, map[string]int64{"package/dist/echarts.min.js": 10}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized member: %v", err)
	}
	if _, err := readPackageFiles(data, map[string]int64{"package/NOTICE": 10}); err == nil || !strings.Contains(err.Error(), "no package/NOTICE") {
		t.Errorf("missing member: %v", err)
	}
	got, err := readPackageFiles(data, map[string]int64{"package/LICENSE": 10})
	if err != nil || len(got) != 1 || string(got["package/LICENSE"]) != "L" {
		t.Errorf("readPackageFiles = %v, %v", got, err)
	}
	if _, err := readPackageFiles([]byte("not gzip"), nil); err == nil {
		t.Error("a non-gzip package was read")
	}
}

// realLibrary returns the repository's installed echarts file, or skips.
func realLibrary(t *testing.T) []byte {
	t.Helper()
	root, ok := repo.FromWorkingDir()
	if !ok {
		t.Skip("not in the repository")
	}
	js, err := os.ReadFile(filepath.Join(root, "kernel", "assets", filepath.FromSlash(LibraryRelPath)))
	if err != nil {
		t.Skipf("echarts assets not installed (run kernel/install.sh): %v", err)
	}
	return js
}

// Outside the repository, with no EMBEDTUNE_ASSETS_DIR, the library is found in embedtune's cache
// folder, where `embedtune assets install` puts it; an installed library is not downloaded again.
func TestLibraryOutsideTheRepository(t *testing.T) {
	js := realLibrary(t)
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv(AssetsDirEnv, "")
	t.Chdir(t.TempDir())
	_, err := FindLibrary()
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "embedtune assets install") ||
		!strings.Contains(err.Error(), filepath.Join(home, "cache", "embedtune", "assets")) {
		t.Fatalf("FindLibrary before the install: %v", err)
	}
	dir, err := DefaultAssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filepath.FromSlash(LibraryRelPath))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(NPMRegistryEnv, "http://127.0.0.1:1") // would fail: nothing must be fetched
	if got, err := InstallLibrary(context.Background(), ""); err != nil || got != p {
		t.Fatalf("InstallLibrary with the library in place = %q, %v", got, err)
	}
	l, err := FindLibrary()
	if err != nil || l.Path != p {
		t.Fatalf("FindLibrary = %v, %v", l, err)
	}
}
