package hub_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

// TestImportIsADownload: importing a repository's files leaves the cache exactly as downloading them
// does (blobs, snapshot links, refs, tree listing), and offline clients — ours and, when the reference
// environment is there, Python's huggingface_hub — read it.
func TestImportIsADownload(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles() // config.json (git blob), weights/model.safetensors (LFS), 1_Pooling/config.json
	commit := srv.AddRepo(hub.Model, "org/tiny", files)
	ctx := context.Background()

	downloaded := t.TempDir()
	dc, err := hub.NewClient(hub.WithEndpoint(srv.URL), hub.WithCacheDir(downloaded))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Snapshot(ctx, hub.Model, "org/tiny", "main", nil); err != nil {
		t.Fatal(err)
	}

	imported := t.TempDir()
	src := t.TempDir()
	var local []hub.LocalFile
	for _, f := range files {
		p := filepath.Join(src, filepath.FromSlash(f.Path))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
		local = append(local, hub.LocalFile{RepoPath: f.Path, LocalPath: p})
	}
	ic, err := hub.NewClient(hub.WithCacheDir(imported), hub.WithOffline(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.Import(hub.Model, "org/tiny", commit, "main", local); err != nil {
		t.Fatal(err)
	}
	if d, i := cacheEntries(t, downloaded), cacheEntries(t, imported); strings.Join(d, "\n") != strings.Join(i, "\n") {
		t.Errorf("cache layout differs:\ndownloaded:\n  %s\nimported:\n  %s", strings.Join(d, "\n  "), strings.Join(i, "\n  "))
	}
	tree := filepath.Join("models--org--tiny", "trees", commit+".json")
	var dt, it map[string]any
	json.Unmarshal(mustRead(t, filepath.Join(downloaded, tree)), &dt)
	json.Unmarshal(mustRead(t, filepath.Join(imported, tree)), &it)
	if mustJSON(dt) != mustJSON(it) {
		t.Errorf("tree listing differs:\ndownloaded %s\nimported   %s", mustJSON(dt), mustJSON(it))
	}
	dir, err := ic.Snapshot(ctx, hub.Model, "org/tiny", "main", nil)
	if err != nil {
		t.Fatalf("offline snapshot of the imported repository: %v", err)
	}
	assertContent(t, filepath.Join(dir, "weights", "model.safetensors"), files[1].Content)

	if err := ic.Import(hub.Model, "org/tiny", "not-a-commit", "main", local); err == nil {
		t.Error("a non-hash commit was accepted")
	}
	if err := ic.Import(hub.Model, "org/tiny", commit, "main", []hub.LocalFile{{RepoPath: "../escape", LocalPath: local[0].LocalPath}}); err == nil {
		t.Error("a repository path escaping the snapshot was accepted")
	}

	t.Run("python", func(t *testing.T) {
		res := runHFHub(t, testutil.Python(t), "http://127.0.0.1:9", imported, true,
			map[string]any{"op": "snapshot", "repo_type": "model", "repo_id": "org/tiny"})
		if res[0].Error != "" || res[0].Path != dir {
			t.Errorf("huggingface_hub offline on the imported cache: %+v (want %s)", res[0], dir)
		}
	})
}
