package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

type pyResult struct {
	Path    string `json:"path"`
	Matches []bool `json:"matches"`
	Error   string `json:"error"`
}

// runHFHub runs testdata/hf_cache_check.py with Python's huggingface_hub against endpoint and cache.
func runHFHub(t *testing.T, py, endpoint, cache string, offline bool, ops ...map[string]any) []pyResult {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"ops": ops})
	cmd := exec.Command(py, filepath.Join("testdata", "hf_cache_check.py"), string(req))
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HF_") && !strings.HasPrefix(kv, "HUGGING") && !strings.HasPrefix(kv, "TRANSFORMERS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "HF_ENDPOINT="+endpoint, "HF_HUB_CACHE="+cache, "HF_HOME="+filepath.Join(cache, "home"),
		"HF_HUB_DISABLE_TELEMETRY=1", "HF_HUB_DISABLE_PROGRESS_BARS=1", "HF_HUB_DISABLE_UPDATE_CHECK=1")
	if offline {
		env = append(env, "HF_HUB_OFFLINE=1")
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("huggingface_hub script: %v\n%s", err, stderr.String())
	}
	var out []pyResult
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("script output %q: %v", stdout.String(), err)
	}
	return out
}

// TestPythonCacheInterop checks that our cache is huggingface_hub's cache: the same downloads give
// the same blobs, symlinks and refs; each side reads what the other wrote, offline; and MatchAny
// agrees with Python's fnmatch.
func TestPythonCacheInterop(t *testing.T) {
	py := testutil.Python(t)
	srv := hubtest.NewServer(t)
	mfiles := modelFiles()
	srv.AddRepo(hub.Model, "org/tiny", mfiles)
	dfiles := []hubtest.File{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n")},
		{Path: "data/train-00000-of-00001.parquet", Content: randomBytes(40_000, 11), LFS: true},
		{Path: "data/test-00000-of-00001.parquet", Content: randomBytes(9_000, 12), LFS: true},
	}
	dcommit := srv.AddRepo(hub.Dataset, "org/qa", dfiles)
	ctx := context.Background()

	// 1. Same downloads by Python and by Go into two caches: identical layouts.
	pyCache, goCache := t.TempDir(), t.TempDir()
	res := runHFHub(t, py, srv.URL, pyCache, false,
		map[string]any{"op": "download", "repo_type": "model", "repo_id": "org/tiny", "filename": "weights/model.safetensors"},
		map[string]any{"op": "download", "repo_type": "model", "repo_id": "org/tiny", "filename": "config.json"},
		map[string]any{"op": "snapshot", "repo_type": "dataset", "repo_id": "org/qa", "allow_patterns": []string{"*.md", "data/train-*"}},
	)
	for _, r := range res {
		if r.Error != "" {
			t.Fatalf("python: %s", r.Error)
		}
	}
	c, err := hub.NewClient(hub.WithEndpoint(srv.URL), hub.WithCacheDir(goCache))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"weights/model.safetensors", "config.json"} {
		if _, err := c.Download(ctx, hub.Model, "org/tiny", "main", f); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := c.Snapshot(ctx, hub.Dataset, "org/qa", "main", hub.MatchAny("*.md", "data/train-*"))
	if err != nil {
		t.Fatal(err)
	}
	if dir != strings.Replace(res[2].Path, pyCache, goCache, 1) {
		t.Errorf("snapshot dir %s, python %s", dir, res[2].Path)
	}
	if pyE, goE := cacheEntries(t, pyCache), cacheEntries(t, goCache); strings.Join(pyE, "\n") != strings.Join(goE, "\n") {
		t.Errorf("cache layout differs:\npython:\n  %s\ngo:\n  %s", strings.Join(pyE, "\n  "), strings.Join(goE, "\n  "))
	}
	treeFile := filepath.Join("datasets--org--qa", "trees", dcommit+".json")
	var pyTree, goTree map[string]any
	json.Unmarshal(mustRead(t, filepath.Join(pyCache, treeFile)), &pyTree)
	json.Unmarshal(mustRead(t, filepath.Join(goCache, treeFile)), &goTree)
	if pj, gj := mustJSON(pyTree), mustJSON(goTree); pj != gj {
		t.Errorf("tree listing differs:\npython %s\ngo     %s", pj, gj)
	}

	// 2. Go reads Python's cache offline.
	off, err := hub.NewClient(hub.WithCacheDir(pyCache), hub.WithOffline(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := off.Download(ctx, hub.Model, "org/tiny", "main", "weights/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	assertContent(t, p, mfiles[1].Content)
	info, err := off.RepoInfo(ctx, hub.Dataset, "org/qa", "main")
	if err != nil || info.SHA != dcommit || len(info.Files) != 3 {
		t.Fatalf("offline info from Python's cache: %+v, %v", info, err)
	}
	if _, err := off.Snapshot(ctx, hub.Dataset, "org/qa", "main", hub.MatchAny("data/train-*")); err != nil {
		t.Fatal(err)
	}

	// 3. Python reads Go's cache offline, and refuses what is missing as Go does.
	res = runHFHub(t, py, "http://127.0.0.1:9", goCache, true,
		map[string]any{"op": "download", "repo_type": "model", "repo_id": "org/tiny", "filename": "config.json"},
		map[string]any{"op": "snapshot", "repo_type": "dataset", "repo_id": "org/qa", "allow_patterns": []string{"data/train-*"}},
		map[string]any{"op": "snapshot", "repo_type": "dataset", "repo_id": "org/qa", "allow_patterns": []string{"data/test-*"}},
	)
	if res[0].Error != "" || res[1].Error != "" {
		t.Fatalf("python offline on Go's cache: %+v", res)
	}
	assertContent(t, res[0].Path, mfiles[0].Content)
	if res[1].Path != dir {
		t.Errorf("python offline snapshot %s, want %s", res[1].Path, dir)
	}
	if !strings.Contains(res[2].Error, "IncompleteSnapshotError") {
		t.Errorf("python accepted an incomplete snapshot written by Go: %+v", res[2])
	}

	// 4. MatchAny = Python's fnmatch.fnmatchcase.
	pairs := [][]string{}
	for _, tc := range fnmatchCases {
		pairs = append(pairs, []string{tc.pattern, tc.name})
	}
	res = runHFHub(t, py, srv.URL, t.TempDir(), true, map[string]any{"op": "fnmatch", "pairs": pairs})
	for i, tc := range fnmatchCases {
		pattern := tc.pattern
		if strings.HasSuffix(pattern, "/") {
			continue // huggingface_hub appends "*" to folder patterns before fnmatch; MatchAny does too.
		}
		if got := hub.MatchAny(pattern)(hub.FileInfo{Path: tc.name}); got != res[0].Matches[i] {
			t.Errorf("MatchAny(%q)(%q) = %v, Python fnmatch says %v", pattern, tc.name, got, res[0].Matches[i])
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
