// Package hubtest runs a local Hugging Face Hub for tests: a real implementation of the endpoints
// that huggingface_hub and the hub package use, serving repositories built from byte slices or
// from a folder, with Git LFS files redirected to a separate "CDN" server, tokens, private and
// gated repositories, and injectable faults (error statuses, dropped connections, corrupt bodies,
// servers that ignore Range).
//
// Endpoints (the same paths as huggingface.co):
//
//	GET  /api/{models|datasets}/{id}/revision/{rev}[?blobs=true]   repository info: sha, siblings
//	GET  /api/{models|datasets}/{id}/tree/{rev}[/{path}][?recursive=true]
//	HEAD|GET /{id}/resolve/{rev}/{path}            (models)
//	HEAD|GET /datasets/{id}/resolve/{rev}/{path}   (datasets)
//
// Regular files are served directly with ETag = git blob SHA-1; LFS files answer 302 to the CDN
// server with X-Linked-Etag = SHA-256 and X-Linked-Size; every resolve answer carries
// X-Repo-Commit. Errors carry the Hub's X-Error-Code header (RepoNotFound, RevisionNotFound,
// EntryNotFound, GatedRepo). The CDN rejects requests that carry an Authorization header.
//
// A model folder is served with:
//
//	srv := hubtest.NewServer(t)
//	commit := srv.AddFolder(hub.Model, "BAAI/bge-small-en-v1.5", "testdata/tiny-model")
//	c, _ := hub.NewClient(hub.WithEndpoint(srv.URL), hub.WithCacheDir(t.TempDir()))
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/hub"
)

// File is one file of a commit.
type File struct {
	Path    string
	Content []byte
	// LFS stores the file with Git LFS (served through the CDN redirect).
	LFS bool
}

// DefaultLFS is the rule AddFolder uses to decide which files are LFS files: the binary formats the
// Hub's default .gitattributes tracks, and any file of 10 MiB or more.
func DefaultLFS(path string, size int64) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".safetensors", ".bin", ".pt", ".pth", ".onnx", ".h5", ".msgpack", ".arrow", ".gz",
		".zip", ".tar", ".npy", ".npz", ".pkl", ".ot", ".tflite":
		return true
	}
	return size >= 10<<20
}

// Access controls who may read a repository.
type Access struct {
	// Private repositories answer 401/404 RepoNotFound unless the request carries an allowed token.
	Private bool
	// Gated repositories show their info to everyone but serve files only to allowed tokens:
	// 401 GatedRepo without a token, 403 GatedRepo with a token not allowed.
	Gated bool
	// Tokens allowed to read a private or gated repository.
	Tokens []string
}

// Fault alters the answers to matching requests. Zero fields match everything.
type Fault struct {
	Method string // "HEAD" or "GET"
	// Target is "api" (JSON endpoints), "resolve" (/resolve/ on the Hub) or "cdn" (LFS content).
	Target string
	// Path is the repository file path the request is about.
	Path string
	// Times is how many matching requests the fault affects; 0 means all.
	Times int

	// Status answers with this HTTP status and a Hub-style error (e.g. 500, 503, 429).
	Status int
	// DropAfter >= 0 with Drop: send that many body bytes, then cut the connection.
	Drop      bool
	DropAfter int64
	// Corrupt flips one byte of the body (the headers still announce the right checksum).
	Corrupt bool
	// Extra appends this many junk bytes to the body (the size headers still announce the real size
	// on HEAD; the GET's Content-Length covers the longer body).
	Extra int
	// IgnoreRange serves the whole file with 200 even when a Range is asked.
	IgnoreRange bool
	// Stall > 0 sends StallAfter body bytes (for a HEAD or an API call: nothing), then waits that
	// long (or until the client gives up) before ending the answer short.
	Stall      time.Duration
	StallAfter int64
}

// Request is one request the servers received.
type Request struct {
	Server string // "hub" or "cdn"
	Method string
	Path   string // unescaped URL path
	Range  string
	Auth   string // Authorization header
}

// Server is the fake Hub (URL) plus its LFS content host (CDNURL).
type Server struct {
	URL    string
	CDNURL string

	hub, cdn *httptest.Server
	t        testing.TB

	mu       sync.Mutex
	repos    map[string]*repo
	tokens   map[string]bool
	faults   []*activeFault
	requests []Request
	leaks    int
	blobs    map[string][]byte // sha256 -> content, for the CDN
}

type activeFault struct {
	Fault
	used int
}

type repo struct {
	typ     hub.RepoType
	id      string
	commits map[string]*commit
	refs    map[string]string
	access  Access
	alias   string // when set, the repository moved: resolve answers 307 to the new id
}

type commit struct {
	sha   string
	files map[string]*blob
	paths []string
}

type blob struct {
	content []byte
	lfs     bool
	gitSHA1 string // of the content, or of the LFS pointer for LFS files
	sha256  string
}

// NewServer starts the servers; they are closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{repos: map[string]*repo{}, tokens: map[string]bool{}, blobs: map[string][]byte{}, t: t}
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.URL, s.CDNURL = s.hub.URL, s.cdn.URL
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Close stops both servers.
func (s *Server) Close() {
	s.hub.Close()
	s.cdn.Close()
}

// CloseHub stops the Hub server only, to simulate a network outage (its URL then refuses connections).
func (s *Server) CloseHub() { s.hub.Close() }

func key(t hub.RepoType, id string) string { return string(t) + ":" + id }

// AddRepo creates (or adds a commit to) a repository whose "main" branch then holds exactly files;
// it returns the commit hash.
func (s *Server) AddRepo(t hub.RepoType, id string, files []File) string {
	return s.Commit(t, id, "main", files)
}

// Commit records a commit with files on branch (created if needed) and returns its hash, which is
// derived from the content, so the same files give the same hash.
func (s *Server) Commit(t hub.RepoType, id, branch string, files []File) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[key(t, id)]
	if r == nil {
		r = &repo{typ: t, id: id, commits: map[string]*commit{}, refs: map[string]string{}}
		s.repos[key(t, id)] = r
	}
	c := &commit{files: map[string]*blob{}}
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", t, id, r.refs[branch])
	for _, f := range files {
		b := &blob{content: f.Content, lfs: f.LFS}
		sum := sha256.Sum256(f.Content)
		b.sha256 = hex.EncodeToString(sum[:])
		if f.LFS {
			b.gitSHA1 = gitBlobSHA1(lfsPointer(b.sha256, len(f.Content)))
			s.blobs[b.sha256] = f.Content
		} else {
			b.gitSHA1 = gitBlobSHA1(f.Content)
		}
		c.files[f.Path] = b
		c.paths = append(c.paths, f.Path)
	}
	slices.Sort(c.paths)
	for _, p := range c.paths {
		fmt.Fprintf(h, "%s\x00%s\x00", p, c.files[p].gitSHA1)
	}
	c.sha = hex.EncodeToString(h.Sum(nil))
	r.commits[c.sha] = c
	r.refs[branch] = c.sha
	return c.sha
}

// Tag points a tag or branch at a commit.
func (s *Server) Tag(t hub.RepoType, id, name, commitSHA string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[key(t, id)]; r != nil {
		r.refs[name] = commitSHA
	}
}

// Move renames a repository: requests to the old id answer 307 to the new one (as the Hub does for
// renamed repositories).
func (s *Server) Move(t hub.RepoType, oldID, newID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[key(t, oldID)]
	if r == nil {
		return
	}
	delete(s.repos, key(t, oldID))
	moved := *r
	moved.id = newID
	s.repos[key(t, newID)] = &moved
	s.repos[key(t, oldID)] = &repo{typ: t, id: oldID, alias: newID}
}

// AddFolder commits every file under dir (recursively, following the DefaultLFS rule) to the
// "main" branch of a repository and returns the commit hash; the test fails if dir cannot be read.
func (s *Server) AddFolder(t hub.RepoType, id, dir string) string {
	files, err := FolderFiles(dir)
	if err != nil {
		if s.t == nil {
			panic(fmt.Sprintf("hubtest: %v", err))
		}
		s.t.Fatalf("hubtest: %v", err)
	}
	return s.AddRepo(t, id, files)
}

// FolderFiles reads every regular file under dir into Files with repository paths ("/"-separated),
// marking LFS files with DefaultLFS.
func FolderFiles(dir string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		files = append(files, File{Path: rel, Content: b, LFS: DefaultLFS(rel, int64(len(b)))})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading folder %s: %w", dir, err)
	}
	return files, nil
}

// SetAccess makes a repository private or gated.
func (s *Server) SetAccess(t hub.RepoType, id string, a Access) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[key(t, id)]; r != nil {
		r.access = a
		for _, tok := range a.Tokens {
			s.tokens[tok] = true
		}
	}
}

// AddToken registers a valid token (one the server authenticates; repository access is separate).
// Requests with an unknown token get 401, as on the Hub.
func (s *Server) AddToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = true
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{Fault: f})
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// CDNAuthLeaks counts CDN requests that carried an Authorization header (the token left the Hub).
func (s *Server) CDNAuthLeaks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaks
}

// fault returns the first active fault matching the request and consumes one use of it.
func (s *Server) fault(method, target, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if (f.Method == "" || f.Method == method) && (f.Target == "" || f.Target == target) &&
			(f.Path == "" || f.Path == path) && (f.Times == 0 || f.used < f.Times) {
			f.used++
			cp := f.Fault
			return &cp
		}
	}
	return nil
}

func (s *Server) record(server string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Server: server, Method: r.Method, Path: r.URL.Path,
		Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization")})
}

func gitBlobSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func lfsPointer(sha string, size int) []byte {
	return []byte(fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha, size))
}

// hubError writes a Hub-style error: X-Error-Code / X-Error-Message headers and {"error": msg}.
func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// splitEscaped splits an escaped URL path into unescaped segments.
func splitEscaped(p string) ([]string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.record("hub", r)
	segs, ok := splitEscaped(r.URL.EscapedPath())
	if !ok {
		hubError(w, 400, "", "bad path")
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		s.mu.Lock()
		valid := ok && s.tokens[tok]
		s.mu.Unlock()
		if !valid {
			hubError(w, 401, "", "Invalid credentials in Authorization header")
			return
		}
	}
	if len(segs) >= 2 && segs[0] == "api" {
		s.serveAPI(w, r, segs[1:])
		return
	}
	s.serveResolve(w, r, segs)
}

// splitRepo finds "{id}/{verb}/..." in segs: id is one or two segments.
func splitRepo(segs []string, verb string) (id string, rest []string, ok bool) {
	for n := 1; n <= 2 && n < len(segs); n++ {
		if segs[n] == verb {
			return strings.Join(segs[:n], "/"), segs[n+1:], true
		}
	}
	return "", nil, false
}

func (s *Server) token(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

// lookup finds the repository and commit for a request, writing the error answer when it fails.
// files reports whether file contents are asked (gating applies to them only).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, t hub.RepoType, id, rev string, files bool) (*repo, *commit, bool) {
	s.mu.Lock()
	rp := s.repos[key(t, id)]
	s.mu.Unlock()
	tok := s.token(r)
	if rp == nil || (rp.access.Private && !contains(rp.access.Tokens, tok)) {
		status := 404
		if tok == "" {
			status = 401
		}
		hubError(w, status, "RepoNotFound", "Repository not found")
		return nil, nil, false
	}
	if rp.alias != "" {
		return rp, nil, true
	}
	if files && rp.access.Gated && !contains(rp.access.Tokens, tok) {
		if tok == "" {
			hubError(w, 401, "GatedRepo", fmt.Sprintf("Access to %s %s is restricted. You must have access to it and be authenticated to access it. Please log in.", t, id))
		} else {
			hubError(w, 403, "GatedRepo", fmt.Sprintf("Access to %s %s is restricted and you are not in the authorized list.", t, id))
		}
		return nil, nil, false
	}
	s.mu.Lock()
	sha := rp.refs[rev]
	if sha == "" && rp.commits[rev] != nil {
		sha = rev
	}
	c := rp.commits[sha]
	s.mu.Unlock()
	if c == nil {
		hubError(w, 404, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, nil, false
	}
	return rp, c, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s && s != "" {
			return true
		}
	}
	return false
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, segs []string) {
	if f := s.fault(r.Method, "api", ""); f != nil {
		if f.Stall > 0 {
			stall(r, f.Stall)
			return
		}
		if f.Status != 0 {
			hubError(w, f.Status, "", http.StatusText(f.Status))
			return
		}
	}
	var t hub.RepoType
	switch segs[0] {
	case "models":
		t = hub.Model
	case "datasets":
		t = hub.Dataset
	default:
		hubError(w, 404, "", "unknown API route")
		return
	}
	if id, rest, ok := splitRepo(segs[1:], "revision"); ok && len(rest) == 1 {
		s.serveInfo(w, r, t, id, rest[0])
		return
	}
	if id, rest, ok := splitRepo(segs[1:], "tree"); ok && len(rest) >= 1 {
		s.serveTree(w, r, t, id, rest[0], strings.Join(rest[1:], "/"))
		return
	}
	hubError(w, 404, "", "unknown API route")
}

func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, t hub.RepoType, id, rev string) {
	rp, c, ok := s.lookup(w, r, t, id, rev, false)
	if !ok {
		return
	}
	if rp.alias != "" {
		hubError(w, 404, "RepoNotFound", "Repository not found")
		return
	}
	blobs := r.URL.Query().Get("blobs") == "true" || r.URL.Query().Get("blobs") == "True"
	siblings := []map[string]any{}
	for _, p := range c.paths {
		b := c.files[p]
		sib := map[string]any{"rfilename": p}
		if blobs {
			sib["size"] = len(b.content)
			sib["blobId"] = b.gitSHA1
			if b.lfs {
				sib["lfs"] = map[string]any{"sha256": b.sha256, "size": len(b.content),
					"pointerSize": len(lfsPointer(b.sha256, len(b.content)))}
			}
		}
		siblings = append(siblings, sib)
	}
	gated := any(false)
	if rp.access.Gated {
		gated = "auto"
	}
	body := map[string]any{
		"_id": c.sha[:24], "id": id, "author": strings.Split(id, "/")[0], "sha": c.sha,
		"lastModified": "2024-01-01T00:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
		"private": rp.access.Private, "gated": gated, "disabled": false, "downloads": 0, "likes": 0,
		"tags": []string{}, "siblings": siblings,
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func (s *Server) serveTree(w http.ResponseWriter, r *http.Request, t hub.RepoType, id, rev, dir string) {
	_, c, ok := s.lookup(w, r, t, id, rev, false)
	if !ok || c == nil {
		if ok {
			hubError(w, 404, "RepoNotFound", "Repository not found")
		}
		return
	}
	recursive := r.URL.Query().Get("recursive") == "true" || r.URL.Query().Get("recursive") == "True"
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	entries := []map[string]any{}
	seenDirs := map[string]bool{}
	for _, p := range c.paths {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		rel := p[len(prefix):]
		parts := strings.Split(rel, "/")
		// Folders on the way to the file.
		for i := 1; i < len(parts); i++ {
			d := prefix + strings.Join(parts[:i], "/")
			if !seenDirs[d] && (recursive || i == 1) {
				seenDirs[d] = true
				entries = append(entries, map[string]any{"type": "directory", "oid": gitBlobSHA1([]byte(d)), "size": 0, "path": d})
			}
		}
		if len(parts) > 1 && !recursive {
			continue
		}
		b := c.files[p]
		e := map[string]any{"type": "file", "oid": b.gitSHA1, "size": len(b.content), "path": p}
		if b.lfs {
			e["lfs"] = map[string]any{"oid": b.sha256, "size": len(b.content), "pointerSize": len(lfsPointer(b.sha256, len(b.content)))}
		}
		entries = append(entries, e)
	}
	if dir != "" && len(entries) == 0 {
		hubError(w, 404, "EntryNotFound", fmt.Sprintf("%s does not exist on %q", dir, rev))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entries)
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, segs []string) {
	t := hub.Model
	if len(segs) > 0 && segs[0] == "datasets" {
		t, segs = hub.Dataset, segs[1:]
	}
	id, rest, ok := splitRepo(segs, "resolve")
	if !ok || len(rest) < 2 {
		hubError(w, 404, "", "not found")
		return
	}
	rev, path := rest[0], strings.Join(rest[1:], "/")
	f := s.fault(r.Method, "resolve", path)
	if f != nil && f.Status != 0 {
		hubError(w, f.Status, "", http.StatusText(f.Status))
		return
	}
	if f != nil && f.Stall > 0 && r.Method == http.MethodHead {
		stall(r, f.Stall)
		return
	}
	rp, c, ok := s.lookup(w, r, t, id, rev, true)
	if !ok {
		return
	}
	if rp.alias != "" {
		prefix := ""
		if t == hub.Dataset {
			prefix = "/datasets"
		}
		target := prefix + "/" + rp.alias + "/resolve/" + url.PathEscape(rev) + "/" + escapePath(path)
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	b := c.files[path]
	w.Header().Set("X-Repo-Commit", c.sha)
	if b == nil {
		hubError(w, 404, "EntryNotFound", fmt.Sprintf("%s does not exist on %q", path, rev))
		return
	}
	if b.lfs {
		w.Header().Set("ETag", `"`+b.gitSHA1+`"`)
		w.Header().Set("X-Linked-Etag", `"`+b.sha256+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(b.content)))
		w.Header().Set("Location", s.cdn.URL+"/lfs/"+b.sha256+"?file="+url.QueryEscape(path)+"&X-Amz-Signature=fake")
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+b.gitSHA1+`"`)
	serveContent(w, r, b.content, f)
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.record("cdn", r)
	if r.Header.Get("Authorization") != "" {
		s.mu.Lock()
		s.leaks++
		s.mu.Unlock()
		http.Error(w, "signed URL requests must not carry an Authorization header", http.StatusBadRequest)
		return
	}
	sha, ok := strings.CutPrefix(r.URL.Path, "/lfs/")
	s.mu.Lock()
	content, found := s.blobs[sha]
	s.mu.Unlock()
	if !ok || !found {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	f := s.fault(r.Method, "cdn", r.URL.Query().Get("file"))
	if f != nil && f.Status != 0 {
		http.Error(w, http.StatusText(f.Status), f.Status)
		return
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	serveContent(w, r, content, f)
}

// stall waits d or until the client goes away.
func stall(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// serveContent answers HEAD/GET with Range support ("bytes=N-" and "bytes=N-M") and applies the
// body faults.
func serveContent(w http.ResponseWriter, r *http.Request, content []byte, f *Fault) {
	w.Header().Set("Accept-Ranges", "bytes")
	start, end := int64(0), int64(len(content))
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && (f == nil || !f.IgnoreRange) {
		spec, ok := strings.CutPrefix(rg, "bytes=")
		a, b, ok2 := strings.Cut(spec, "-")
		s, err := strconv.ParseInt(a, 10, 64)
		if !ok || !ok2 || err != nil || s < 0 {
			http.Error(w, "bad Range", http.StatusBadRequest)
			return
		}
		e := end - 1
		if b != "" {
			if e, err = strconv.ParseInt(b, 10, 64); err != nil || e < s {
				http.Error(w, "bad Range", http.StatusBadRequest)
				return
			}
		}
		if s >= end {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(content)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		if e >= end {
			e = end - 1
		}
		start, end = s, e+1
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(content)))
	}
	body := content[start:end]
	if f != nil && f.Corrupt && len(body) > 0 {
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 0xff
	}
	if f != nil && f.Extra > 0 && r.Method != http.MethodHead {
		body = append(append([]byte(nil), body...), make([]byte, f.Extra)...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if f != nil && f.Stall > 0 {
		w.Write(body[:min(f.StallAfter, int64(len(body)))])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		stall(r, f.Stall)
		return
	}
	if f != nil && f.Drop {
		n := min(f.DropAfter, int64(len(body)))
		w.Write(body[:n])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	w.Write(body)
}
