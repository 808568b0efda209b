package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

func TestRepoInfo(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles()
	commit := srv.AddRepo(hub.Model, "org/tiny", files)
	c := newClient(t, srv)
	info, err := c.RepoInfo(context.Background(), hub.Model, "org/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA != commit || info.FromCache || len(info.Files) != len(files) {
		t.Fatalf("info = %+v", info)
	}
	lfs, ok := info.File("weights/model.safetensors")
	if !ok || lfs.LFS == nil || lfs.LFS.SHA256 != sha256Hex(files[1].Content) || lfs.Size != int64(len(files[1].Content)) {
		t.Errorf("LFS entry = %+v", lfs)
	}
	reg, ok := info.File("config.json")
	if !ok || reg.LFS != nil || reg.BlobID != gitSHA1(files[0].Content) || reg.ETag() != reg.BlobID {
		t.Errorf("regular entry = %+v", reg)
	}
	if got := string(mustRead(t, filepath.Join(c.CacheDir(), "models--org--tiny", "refs", "main"))); got != commit {
		t.Errorf("refs/main = %q", got)
	}
}

func TestRejectsListingThatEscapesTheCache(t *testing.T) {
	for _, bad := range []string{"../outside.txt", "a/../../outside.txt", "/etc/passwd", `..\evil`, "a//b", "nul\x00.txt", "C:/windows.txt"} {
		t.Run(bad, func(t *testing.T) {
			srv := hubtest.NewServer(t)
			srv.AddRepo(hub.Dataset, "org/evil", []hubtest.File{{Path: "ok.txt", Content: []byte("x")}, {Path: bad, Content: []byte("pwned")}})
			c := newClient(t, srv)
			_, err := c.Snapshot(context.Background(), hub.Dataset, "org/evil", "main", nil)
			if err == nil || !errors.Is(err, hub.ErrProtocol) || !strings.Contains(err.Error(), "unsafe file name") {
				t.Fatalf("error = %v, want an unsafe file name protocol error", err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(c.CacheDir()), "outside.txt")); err == nil {
				t.Error("file written outside the cache")
			}
			assertNoEntry(t, c.CacheDir())
		})
	}
}

func TestSnapshotWithFilterAndOffline(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := append(modelFiles(), hubtest.File{Path: "onnx/model.onnx", Content: randomBytes(5000, 3), LFS: true})
	commit := srv.AddRepo(hub.Model, "org/tiny", files)
	c := newClient(t, srv)
	ctx := context.Background()
	keep := hub.MatchAny("*.json", "weights/")
	dir, err := c.Snapshot(ctx, hub.Model, "org/tiny", "main", keep)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != commit {
		t.Errorf("snapshot dir %s is not snapshots/%s", dir, commit)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		want := f.Path != "onnx/model.onnx"
		if (err == nil) != want {
			t.Errorf("%s present = %v, want %v", f.Path, err == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(c.CacheDir(), "models--org--tiny", "trees", commit+".json")); err != nil {
		t.Errorf("tree listing not cached: %v", err)
	}

	cases := []struct {
		name string
		opts []hub.Option
		prep func()
	}{
		{name: "HF_HUB_OFFLINE", opts: []hub.Option{hub.WithOffline(true)}},
		{name: "Hub unreachable", prep: srv.CloseHub},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prep != nil {
				tc.prep()
			}
			off, err := hub.NewClient(append([]hub.Option{hub.WithEndpoint(srv.URL), hub.WithCacheDir(c.CacheDir()),
				hub.WithRetry(1, 0)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := off.Snapshot(ctx, hub.Model, "org/tiny", "main", keep)
			if err != nil || got != dir {
				t.Fatalf("offline snapshot = %q, %v; want %q", got, err, dir)
			}
			info, err := off.RepoInfo(ctx, hub.Model, "org/tiny", "main")
			if err != nil || !info.FromCache || info.SHA != commit || len(info.Files) != len(files) {
				t.Fatalf("offline info = %+v, %v", info, err)
			}
			p, err := off.Download(ctx, hub.Model, "org/tiny", "main", "config.json")
			if err != nil {
				t.Fatal(err)
			}
			assertContent(t, p, files[0].Content)
			// Files never downloaded: a clear not-cached error naming them.
			_, err = off.Snapshot(ctx, hub.Model, "org/tiny", "main", nil)
			if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "onnx/model.onnx") {
				t.Errorf("snapshot of uncached files: %v", err)
			}
			_, err = off.Download(ctx, hub.Model, "org/tiny", "main", "onnx/model.onnx")
			if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), `"onnx/model.onnx"`) {
				t.Errorf("download of an uncached file: %v", err)
			}
			_, err = off.RepoInfo(ctx, hub.Model, "org/never-seen", "main")
			if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), "org/never-seen") {
				t.Errorf("info of an uncached repo: %v", err)
			}
			wantWord := "offline mode is on"
			if tc.prep != nil {
				wantWord = "could not be reached"
			}
			if err == nil || !strings.Contains(err.Error(), wantWord) {
				t.Errorf("error %v does not say %q", err, wantWord)
			}
		})
	}
}

func TestMatchAny(t *testing.T) {
	// Expected values follow Python's fnmatch.fnmatchcase (checked against Python in TestPythonCacheInterop).
	for _, tc := range fnmatchCases {
		got := hub.MatchAny(tc.pattern)(hub.FileInfo{Path: tc.name})
		if got != tc.want {
			t.Errorf("MatchAny(%q)(%q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
	if hub.MatchAny()(hub.FileInfo{Path: "x"}) {
		t.Error("no pattern matched a file")
	}
}

var fnmatchCases = []struct {
	pattern, name string
	want          bool
}{
	{"*.json", "config.json", true},
	{"*.json", "1_Pooling/config.json", true}, // "*" crosses "/" in fnmatch
	{"*.json", "config.json.bak", false},
	{"weights/*", "weights/a/b.bin", true},
	{"weights/", "weights/model.safetensors", true},
	{"data/train-*.parquet", "data/train-00000-of-00001.parquet", true},
	{"?.txt", "a.txt", true},
	{"?.txt", "ab.txt", false},
	{"[ab].txt", "b.txt", true},
	{"[!ab].txt", "b.txt", false},
	{"[!ab].txt", "c.txt", true},
	{"[a-c]x", "bx", true},
	{"[a-c]x", "dx", false},
	{"[]]", "]", true},
	{"[", "[", true},
	{"*", "", true},
	{"Config.json", "config.json", false},
}

func TestVerifyKnownHashes(t *testing.T) {
	// Published values: `printf 'hello world\n' | git hash-object --stdin` and sha256 of the empty string.
	srv := hubtest.NewServer(t)
	srv.AddRepo(hub.Model, "org/h", []hubtest.File{
		{Path: "hello.txt", Content: []byte("hello world\n")},
		{Path: "empty.bin", Content: nil, LFS: true},
	})
	c := newClient(t, srv)
	for _, tc := range []struct{ path, blob string }{
		{"hello.txt", "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"},
		{"empty.bin", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		p, err := c.Download(context.Background(), hub.Model, "org/h", "main", tc.path)
		if err != nil {
			t.Fatal(err)
		}
		target, _ := os.Readlink(p)
		if filepath.Base(target) != tc.blob {
			t.Errorf("%s: blob %s, want %s", tc.path, filepath.Base(target), tc.blob)
		}
	}
}
