package hub_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDownloadCacheLayout(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles()
	commit := srv.AddRepo(hub.Model, "org/tiny", files)
	srv.AddToken("hf_secret")
	c := newClient(t, srv, hub.WithToken("hf_secret"))
	ctx := context.Background()
	repoDir := filepath.Join(c.CacheDir(), "models--org--tiny")

	tests := []struct {
		file       hubtest.File
		blobName   string
		linkTarget string
	}{
		// A regular file is named by its git blob id: SHA-1 of "blob <size>\0<content>".
		{files[0], "", "../../blobs/"},
		// An LFS file is named by its SHA-256.
		{files[1], sha256Hex(files[1].Content), "../../../blobs/"},
		{files[2], "", "../../../blobs/"},
	}
	for _, tc := range tests {
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", tc.file.Path)
		if err != nil {
			t.Fatalf("%s: %v", tc.file.Path, err)
		}
		if want := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(tc.file.Path)); p != want {
			t.Errorf("path = %s, want %s", p, want)
		}
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", p, err)
		}
		if !strings.HasPrefix(target, tc.linkTarget) {
			t.Errorf("%s -> %s, want a relative link starting with %s", tc.file.Path, target, tc.linkTarget)
		}
		if tc.blobName != "" && filepath.Base(target) != tc.blobName {
			t.Errorf("%s: blob %s, want %s", tc.file.Path, filepath.Base(target), tc.blobName)
		}
		assertContent(t, p, tc.file.Content)
	}
	if got := strings.TrimSpace(string(mustRead(t, filepath.Join(repoDir, "refs", "main")))); got != commit {
		t.Errorf("refs/main = %q, want %q", got, commit)
	}
	// The git blob id of config.json, computed independently of the client.
	cfgBlob := filepath.Join(repoDir, "blobs", gitSHA1(files[0].Content))
	if _, err := os.Stat(cfgBlob); err != nil {
		t.Errorf("regular file blob not named by its git SHA-1: %v", err)
	}
	if n := srv.CDNAuthLeaks(); n != 0 {
		t.Errorf("token sent to the CDN %d times", n)
	}
	hubAuth := 0
	for _, r := range srv.Requests() {
		if r.Server == "hub" && r.Auth == "Bearer hf_secret" {
			hubAuth++
		}
	}
	if hubAuth == 0 {
		t.Error("token never sent to the Hub")
	}

	// Asking by commit hash for a cached file needs no request at all.
	srv.ResetRequests()
	if _, err := c.Download(ctx, hub.Model, "org/tiny", commit, "weights/model.safetensors"); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("cached commit download made %d requests", n)
	}
	// By branch name: one HEAD to resolve the branch, no content transfer.
	if _, err := c.Download(ctx, hub.Model, "org/tiny", "main", "weights/model.safetensors"); err != nil {
		t.Fatal(err)
	}
	if n, g := countRequests(srv, "hub", "HEAD"), countRequests(srv, "", "GET"); n != 1 || g != 0 {
		t.Errorf("cached branch download: %d HEAD, %d GET; want 1, 0", n, g)
	}
}

// gitSHA1 is git's blob object id: SHA-1 of "blob <size>\x00<content>" (`git hash-object`).
func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func TestDownloadRevisions(t *testing.T) {
	srv := hubtest.NewServer(t)
	c1 := srv.AddRepo(hub.Dataset, "org/data", []hubtest.File{{Path: "a.txt", Content: []byte("one")}})
	c2 := srv.Commit(hub.Dataset, "org/data", "main", []hubtest.File{{Path: "a.txt", Content: []byte("two")}})
	srv.Tag(hub.Dataset, "org/data", "v1.0", c1)
	srv.Tag(hub.Dataset, "org/data", "refs/pr/1", c2)
	c := newClient(t, srv)
	ctx := context.Background()
	for _, tc := range []struct{ rev, want, commit string }{
		{"main", "two", c2}, {"v1.0", "one", c1}, {c1, "one", c1}, {"refs/pr/1", "two", c2},
	} {
		p, err := c.Download(ctx, hub.Dataset, "org/data", tc.rev, "a.txt")
		if err != nil {
			t.Fatalf("%s: %v", tc.rev, err)
		}
		assertContent(t, p, []byte(tc.want))
		if !strings.Contains(p, tc.commit) {
			t.Errorf("%s: path %s not in snapshot %s", tc.rev, p, tc.commit)
		}
	}
	// "refs/pr/1" is stored as refs/refs/pr/1, like huggingface_hub.
	ref := filepath.Join(c.CacheDir(), "datasets--org--data", "refs", "refs", "pr", "1")
	if got := string(mustRead(t, ref)); got != c2 {
		t.Errorf("%s = %q, want %q", ref, got, c2)
	}
}

func TestDownloadErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(srv *hubtest.Server)
		repo    string
		rev     string
		file    string
		token   string
		kind    error
		message []string // substrings of the error message
	}{
		{name: "private repo without token (401)", repo: "org/private",
			setup: func(s *hubtest.Server) {
				s.SetAccess(hub.Model, "org/private", hubtest.Access{Private: true, Tokens: []string{"ok"}})
			},
			kind: hub.ErrRepoNotFound, message: []string{"HF_TOKEN", "401", `model "org/private"`}},
		{name: "gated repo without token (401)", repo: "org/gated",
			setup: func(s *hubtest.Server) {
				s.SetAccess(hub.Model, "org/gated", hubtest.Access{Gated: true, Tokens: []string{"ok"}})
			},
			kind:    hub.ErrUnauthorized,
			message: []string{"gated", "HF_TOKEN", "401"}},
		{name: "gated repo, token without access (403)", repo: "org/gated", token: "other",
			setup: func(s *hubtest.Server) {
				s.SetAccess(hub.Model, "org/gated", hubtest.Access{Gated: true, Tokens: []string{"ok"}})
				s.AddToken("other")
			},
			kind: hub.ErrUnauthorized, message: []string{"gated", "403"}},
		{name: "invalid token (401)", repo: "org/tiny", token: "bogus",
			kind: hub.ErrUnauthorized, message: []string{"HF_TOKEN", "Invalid credentials"}},
		{name: "repository not found (404)", repo: "org/missing", token: "ok",
			setup: func(s *hubtest.Server) { s.AddToken("ok") },
			kind:  hub.ErrRepoNotFound, message: []string{`"org/missing"`, "404"}},
		{name: "revision not found", repo: "org/tiny", rev: "nope",
			kind: hub.ErrRevisionNotFound, message: []string{`revision "nope"`, "revision not found"}},
		{name: "file not found", repo: "org/tiny", file: "missing.bin",
			kind: hub.ErrEntryNotFound, message: []string{`"missing.bin"`, "file not found"}},
		{name: "server error 500 on every try", repo: "org/tiny",
			setup: func(s *hubtest.Server) { s.Inject(hubtest.Fault{Target: "resolve", Status: 500}) },
			kind:  hub.ErrServer, message: []string{"500", "after 3 attempts"}},
		{name: "CDN answers 503", repo: "org/tiny", file: "weights/model.safetensors",
			setup: func(s *hubtest.Server) { s.Inject(hubtest.Fault{Target: "cdn", Status: 503}) },
			kind:  hub.ErrServer, message: []string{"503"}},
		{name: "checksum mismatch (LFS sha256)", repo: "org/tiny", file: "weights/model.safetensors",
			setup: func(s *hubtest.Server) { s.Inject(hubtest.Fault{Target: "cdn", Corrupt: true}) },
			kind:  hub.ErrIntegrity, message: []string{"sha256", "discarded"}},
		{name: "checksum mismatch (git blob sha1)", repo: "org/tiny", file: "config.json",
			setup: func(s *hubtest.Server) { s.Inject(hubtest.Fault{Method: "GET", Target: "resolve", Corrupt: true}) },
			kind:  hub.ErrIntegrity, message: []string{"git blob sha1"}},
		{name: "size mismatch (longer body)", repo: "org/tiny", file: "weights/model.safetensors",
			setup: func(s *hubtest.Server) { s.Inject(hubtest.Fault{Target: "cdn", Extra: 10}) },
			kind:  hub.ErrIntegrity, message: []string{"received 300010 bytes, the Hub announced 300000"}},
		{name: "connection dropped on every try", repo: "org/tiny", file: "weights/model.safetensors",
			setup:   func(s *hubtest.Server) { s.Inject(hubtest.Fault{Target: "cdn", Drop: true, DropAfter: 0}) },
			message: []string{"connection dropped", "partial download kept"}},
		{name: "path escaping the cache", repo: "org/tiny", file: "../../etc/passwd",
			message: []string{"unsafe file name", ".."}},
		{name: "absolute path", repo: "org/tiny", file: "/etc/passwd",
			message: []string{"unsafe file name", "absolute"}},
		{name: "invalid repo id", repo: "../x", message: []string{"invalid repository id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hubtest.NewServer(t)
			for _, id := range []string{"org/tiny", "org/private", "org/gated"} {
				srv.AddRepo(hub.Model, id, modelFiles())
			}
			if tc.setup != nil {
				tc.setup(srv)
			}
			c := newClient(t, srv, hub.WithToken(tc.token))
			rev, file := tc.rev, tc.file
			if rev == "" {
				rev = "main"
			}
			if file == "" {
				file = "config.json"
			}
			_, err := c.Download(context.Background(), hub.Model, tc.repo, rev, file)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("error %v is not %v", err, tc.kind)
			}
			for _, m := range tc.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			assertNoEntry(t, c.CacheDir())
			// Only a dropped connection may keep a partial (.incomplete) file, for resuming.
			for _, e := range cacheEntries(t, c.CacheDir()) {
				if strings.HasSuffix(e, ".incomplete") && !strings.Contains(tc.name, "dropped") {
					t.Errorf("partial file left behind: %s", e)
				}
			}
		})
	}
}

func TestDownloadRetriesTransientErrors(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles()
	srv.AddRepo(hub.Model, "org/tiny", files)
	srv.Inject(hubtest.Fault{Method: "HEAD", Target: "resolve", Status: 503, Times: 1})
	srv.Inject(hubtest.Fault{Target: "cdn", Status: 500, Times: 1})
	c := newClient(t, srv)
	p, err := c.Download(context.Background(), hub.Model, "org/tiny", "main", "weights/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	assertContent(t, p, files[1].Content)
	if n := countRequests(srv, "hub", "HEAD"); n != 2 {
		t.Errorf("%d HEAD requests, want 2 (one 503 then success)", n)
	}
}

func TestDownloadResume(t *testing.T) {
	files := modelFiles()
	lfs := files[1]
	ctx := context.Background()

	t.Run("connection dropped mid-body resumes with Range", func(t *testing.T) {
		srv := hubtest.NewServer(t)
		srv.AddRepo(hub.Model, "org/tiny", files)
		srv.Inject(hubtest.Fault{Target: "cdn", Method: "GET", Drop: true, DropAfter: 100_000, Times: 1})
		c := newClient(t, srv)
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", lfs.Path)
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, lfs.Content)
		var ranges []string
		for _, r := range srv.Requests() {
			if r.Server == "cdn" && r.Method == "GET" {
				ranges = append(ranges, r.Range)
			}
		}
		if len(ranges) != 2 || ranges[0] != "" || ranges[1] != "bytes=100000-" {
			t.Errorf("CDN GET ranges = %q, want [\"\" \"bytes=100000-\"]", ranges)
		}
	})

	t.Run("partial file from an interrupted run is resumed on the next call", func(t *testing.T) {
		srv := hubtest.NewServer(t)
		srv.AddRepo(hub.Model, "org/tiny", files)
		// 50,000 bytes arrive, then every further attempt is cut before sending anything.
		srv.Inject(hubtest.Fault{Target: "cdn", Method: "GET", Drop: true, DropAfter: 50_000, Times: 1})
		srv.Inject(hubtest.Fault{Target: "cdn", Method: "GET", Drop: true, DropAfter: 0})
		c := newClient(t, srv)
		if _, err := c.Download(ctx, hub.Model, "org/tiny", "main", lfs.Path); err == nil {
			t.Fatal("download succeeded while the connection always drops")
		}
		inc := filepath.Join(c.CacheDir(), "models--org--tiny", "blobs", sha256Hex(lfs.Content)+".incomplete")
		st, err := os.Stat(inc)
		if err != nil || st.Size() != 50_000 {
			t.Fatalf("no partial download kept: %v", err)
		}
		assertNoEntry(t, c.CacheDir())
		srv.ClearFaults()
		srv.ResetRequests()
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", lfs.Path)
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, lfs.Content)
		for _, r := range srv.Requests() {
			if r.Server == "cdn" && r.Method == "GET" && r.Range != "bytes="+strconv.FormatInt(st.Size(), 10)+"-" {
				t.Errorf("resume asked Range %q, want bytes=%d-", r.Range, st.Size())
			}
		}
		if _, err := os.Stat(inc); !os.IsNotExist(err) {
			t.Errorf("partial file still there after success: %v", err)
		}
	})

	t.Run("server ignoring Range restarts cleanly", func(t *testing.T) {
		srv := hubtest.NewServer(t)
		srv.AddRepo(hub.Model, "org/tiny", files)
		srv.Inject(hubtest.Fault{Target: "cdn", Method: "GET", Drop: true, DropAfter: 70_000, Times: 1})
		srv.Inject(hubtest.Fault{Target: "cdn", Method: "GET", IgnoreRange: true})
		c := newClient(t, srv)
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", lfs.Path)
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, lfs.Content)
	})

	t.Run("corrupt partial file is discarded and the download restarts", func(t *testing.T) {
		srv := hubtest.NewServer(t)
		srv.AddRepo(hub.Model, "org/tiny", files)
		c := newClient(t, srv)
		blobs := filepath.Join(c.CacheDir(), "models--org--tiny", "blobs")
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			t.Fatal(err)
		}
		garbage := make([]byte, 1000) // Zeros: not the file's first bytes.
		if err := os.WriteFile(filepath.Join(blobs, sha256Hex(lfs.Content)+".incomplete"), garbage, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", lfs.Path)
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, lfs.Content)
	})
}

func TestConcurrentDownloadsShareOneTransfer(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles()
	srv.AddRepo(hub.Model, "org/tiny", files)
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := hub.NewClient(hub.WithEndpoint(srv.URL), hub.WithCacheDir(cache))
			if err == nil {
				_, err = c.Download(context.Background(), hub.Model, "org/tiny", "main", files[1].Path)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := countRequests(srv, "cdn", "GET"); n != 1 {
		t.Errorf("%d content transfers for 4 concurrent downloads of one file, want 1", n)
	}
}

func TestRedirectOnTheHubKeepsToken(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles()
	srv.AddRepo(hub.Model, "old/name", files)
	srv.SetAccess(hub.Model, "old/name", hubtest.Access{Private: true, Tokens: []string{"tok"}})
	srv.Move(hub.Model, "old/name", "new/name")
	c := newClient(t, srv, hub.WithToken("tok"))
	for _, f := range files {
		p, err := c.Download(context.Background(), hub.Model, "old/name", "main", f.Path)
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, f.Content)
	}
	if srv.CDNAuthLeaks() != 0 {
		t.Error("token sent to the CDN")
	}
}

func TestProgress(t *testing.T) {
	srv := hubtest.NewServer(t)
	files := modelFiles()
	srv.AddRepo(hub.Model, "org/tiny", files)
	var got []hub.Progress
	c := newClient(t, srv, hub.WithProgress(func(p hub.Progress) { got = append(got, p) }))
	if _, err := c.Download(context.Background(), hub.Model, "org/tiny", "main", files[1].Path); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no progress reported")
	}
	last := got[len(got)-1]
	if last.Done != int64(len(files[1].Content)) || last.Total != last.Done || last.Path != files[1].Path {
		t.Errorf("last progress = %+v", last)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Done < got[i-1].Done {
			t.Errorf("progress went backwards: %d after %d", got[i].Done, got[i-1].Done)
		}
	}
}

func TestStalledTransfersTimeOut(t *testing.T) {
	files := modelFiles()
	ctx := context.Background()
	t.Run("stalled body resumes", func(t *testing.T) {
		srv := hubtest.NewServer(t)
		srv.AddRepo(hub.Model, "org/tiny", files)
		srv.Inject(hubtest.Fault{Target: "cdn", Method: "GET", Stall: 30 * time.Second, StallAfter: 120_000, Times: 1})
		c := newClient(t, srv, hub.WithTimeouts(time.Second, 200*time.Millisecond))
		start := time.Now()
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", files[1].Path)
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, files[1].Content)
		if el := time.Since(start); el > 15*time.Second { // far below the stall, far above a loaded machine's resume
			t.Errorf("took %s: the stall was not detected", el)
		}
		var ranges []string
		for _, r := range srv.Requests() {
			if r.Server == "cdn" {
				ranges = append(ranges, r.Range)
			}
		}
		if len(ranges) != 2 || ranges[1] != "bytes=120000-" {
			t.Errorf("CDN requests %q: want a resume at byte 120000", ranges)
		}
	})
	t.Run("stalled HEAD retries", func(t *testing.T) {
		srv := hubtest.NewServer(t)
		srv.AddRepo(hub.Model, "org/tiny", files)
		srv.Inject(hubtest.Fault{Target: "resolve", Method: "HEAD", Stall: 5 * time.Second, Times: 1})
		c := newClient(t, srv, hub.WithTimeouts(200*time.Millisecond, time.Second))
		p, err := c.Download(ctx, hub.Model, "org/tiny", "main", "config.json")
		if err != nil {
			t.Fatal(err)
		}
		assertContent(t, p, files[0].Content)
	})
}

func TestRepoInfoErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault *hubtest.Fault
		repo  string
		rev   string
		kind  error
		words []string
	}{
		{name: "not found", repo: "org/none", kind: hub.ErrRepoNotFound, words: []string{`"org/none"`, "HF_TOKEN", "not in the local cache"}},
		{name: "revision not found", repo: "org/tiny", rev: "v9", kind: hub.ErrRevisionNotFound, words: []string{`"v9"`}},
		{name: "server error", repo: "org/tiny", fault: &hubtest.Fault{Target: "api", Status: 502}, kind: hub.ErrServer, words: []string{"502", "not in the local cache"}},
		{name: "unreachable", repo: "org/tiny", fault: &hubtest.Fault{Target: "api", Stall: 2 * time.Second}, kind: hub.ErrNotCached, words: []string{"could not be reached"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hubtest.NewServer(t)
			srv.AddRepo(hub.Model, "org/tiny", modelFiles())
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			c := newClient(t, srv, hub.WithTimeouts(100*time.Millisecond, 0))
			rev := tc.rev
			if rev == "" {
				rev = "main"
			}
			_, err := c.RepoInfo(context.Background(), hub.Model, tc.repo, rev)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v is not %v", err, tc.kind)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
