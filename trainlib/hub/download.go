package hub

import (
	"context"
	"fmt"
	"github.com/embedtune/embedtune/internal/lockfile"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fileMeta is what a HEAD on /resolve/ tells about a file.
type fileMeta struct {
	commit   string
	etag     string
	size     int64 // -1 when unknown
	location string
}

// Download returns the local path of one file of a repository, snapshots/{commit}/{path} in the
// cache, downloading it first when needed. rev is a branch, tag or commit hash ("main" when empty).
//
// As huggingface_hub: a file asked at a commit hash that is already cached needs no network; else a
// HEAD on /resolve/ gives the commit (X-Repo-Commit), the ETag (X-Linked-Etag or ETag) and the size
// (X-Linked-Size or Content-Length), the blob is downloaded once per ETag into blobs/, and the
// snapshot entry is a relative symlink to it. Offline, or when the Hub cannot be reached, the file is
// looked up through refs/{rev}; ErrNotCached when it is not there.
func (c *Client) Download(ctx context.Context, t RepoType, repoID, rev, path string) (string, error) {
	if rev == "" {
		rev = "main"
	}
	if err := validateArgs(t, repoID, rev); err != nil {
		return "", err
	}
	if err := ValidateRepoPath(path); err != nil {
		return "", err
	}
	rc := c.repoCache(t, repoID)
	what := describeFile(t, repoID, rev, path)
	if IsCommitHash(rev) {
		if p := rc.cachedFile(rev, path); p != "" {
			return p, nil
		}
	}
	if c.cfg.offline {
		if p, ok := c.CachedPath(t, repoID, rev, path); ok {
			return p, nil
		}
		return "", c.notCached(what, nil)
	}
	meta, err := c.fileMetadata(ctx, t, repoID, rev, path, what)
	if err != nil {
		if canFallBack(err) {
			if p, ok := c.CachedPath(t, repoID, rev, path); ok {
				return p, nil
			}
			return "", c.notCached(what, err)
		}
		return "", err
	}
	return c.fetch(ctx, rc, rev, path, meta, what)
}

// CachedPath returns snapshots/{commit}/{path} when the file of that revision is in the cache,
// resolving a branch or tag through refs/{rev}; it never uses the network.
func (c *Client) CachedPath(t RepoType, repoID, rev, path string) (string, bool) {
	if validateArgs(t, repoID, rev) != nil || ValidateRepoPath(path) != nil {
		return "", false
	}
	rc := c.repoCache(t, repoID)
	commit := rc.readRef(rev)
	if commit == "" {
		return "", false
	}
	p := rc.cachedFile(commit, path)
	return p, p != ""
}

func (c *Client) fileMetadata(ctx context.Context, t RepoType, repoID, rev, path, what string) (fileMeta, error) {
	u := c.resolveURL(t, repoID, rev, path)
	resp, err := c.sendRetry(ctx, request{method: http.MethodHead, url: u, what: what, resolve: true,
		timeout: c.cfg.metaTimeout})
	if err != nil {
		return fileMeta{}, err
	}
	defer drain(resp)
	h := resp.Header
	m := fileMeta{commit: h.Get("X-Repo-Commit"), size: -1}
	if !IsCommitHash(m.commit) {
		return m, fmt.Errorf("hub: %s: %w: HEAD %s has no commit hash in X-Repo-Commit (got %q); "+
			"is HF_ENDPOINT a Hugging Face Hub?", what, ErrProtocol, u, m.commit)
	}
	m.etag = normalizeETag(h.Get("X-Linked-Etag"))
	if m.etag == "" {
		m.etag = normalizeETag(h.Get("ETag"))
	}
	if m.etag == "" {
		return m, fmt.Errorf("hub: %s: %w: HEAD %s has no ETag", what, ErrProtocol, u)
	}
	if err := validateETag(m.etag); err != nil {
		return m, fmt.Errorf("%s: %w: %v", what, ErrProtocol, err)
	}
	redirect := resp.StatusCode >= 300 && resp.StatusCode < 400
	sz := h.Get("X-Linked-Size")
	if sz == "" && !redirect {
		sz = h.Get("Content-Length")
	}
	if sz != "" {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil || n < 0 {
			return m, fmt.Errorf("hub: %s: %w: HEAD %s has an invalid size %q", what, ErrProtocol, u, sz)
		}
		m.size = n
	}
	m.location = resp.Request.URL.String()
	if loc := h.Get("Location"); redirect && loc != "" {
		l, err := url.Parse(loc)
		if err != nil {
			return m, fmt.Errorf("hub: %s: %w: bad Location %q", what, ErrProtocol, loc)
		}
		m.location = resp.Request.URL.ResolveReference(l).String()
	}
	return m, nil
}

// fetch makes sure blobs/{etag} holds the verified content and snapshots/{commit}/{path} points to
// it. Writers of one blob are serialised by the lock shared with huggingface_hub.
func (c *Client) fetch(ctx context.Context, rc repoCache, rev, path string, m fileMeta, what string) (string, error) {
	if p := rc.cachedFile(m.commit, path); p != "" {
		if err := rc.writeRef(rev, m.commit); err != nil {
			return "", err
		}
		return p, nil
	}
	for _, d := range []string{filepath.Join(rc.dir, "blobs"), rc.snapshotDir(m.commit), rc.locks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("hub: %s: creating %s: %w", what, d, err)
		}
	}
	writeCacheDirTag(rc.root)
	if err := rc.writeRef(rev, m.commit); err != nil {
		return "", err
	}
	unlock, err := lockfile.Lock(ctx, filepath.Join(rc.locks, m.etag+".lock"))
	if err != nil {
		return "", fmt.Errorf("hub: %s: %w", what, err)
	}
	defer unlock()
	blob := rc.blobPath(m.etag)
	if _, err := os.Stat(blob); err != nil {
		if err := c.downloadBlob(ctx, rc, path, blob, m, what); err != nil {
			return "", err
		}
	}
	return rc.link(m.commit, path, m.etag)
}

// downloadBlob downloads into blobs/{etag}.incomplete, verifies it and renames it to blobs/{etag}.
// A partial file left by an interrupted run is resumed; if the resumed result fails verification
// the download restarts from scratch once. Only a connection failure keeps the partial file (for
// the next resume); any other failure removes it, so blobs/ never holds a wrong {etag} file.
func (c *Client) downloadBlob(ctx context.Context, rc repoCache, path, blob string, m fileMeta, what string) error {
	inc := blob + ".incomplete"
	for try := 0; ; try++ {
		resumed, err := c.transfer(ctx, rc, path, inc, m, what)
		if err != nil {
			if st, serr := os.Stat(inc); !netErr(err) || (serr == nil && st.Size() == 0) {
				os.Remove(inc) // Nothing worth resuming.
			}
			return err
		}
		if verr := verifyBlob(inc, m.etag, m.size); verr != nil {
			os.Remove(inc)
			if resumed && try == 0 {
				continue // The partial file may be what was wrong: restart cleanly.
			}
			return fmt.Errorf("hub: %s: %w (downloaded from %s; the bad download was discarded, nothing was cached)",
				what, verr, m.location)
		}
		if err := os.Rename(inc, blob); err != nil {
			os.Remove(inc)
			return fmt.Errorf("hub: %s: moving the download into %s: %w", what, blob, err)
		}
		return nil
	}
}

// transfer GETs the file into inc, appending to what is already there with a Range request and
// resuming after dropped connections. resumed reports whether bytes from an earlier run were kept.
func (c *Client) transfer(ctx context.Context, rc repoCache, path, inc string, m fileMeta, what string) (resumed bool, err error) {
	f, err := os.OpenFile(inc, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return false, fmt.Errorf("hub: %s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("hub: %s: %w", what, err)
	}
	offset := st.Size()
	restart := func() error {
		offset = 0
		resumed = false
		return f.Truncate(0)
	}
	if m.size >= 0 && offset > m.size {
		if err := restart(); err != nil {
			return false, fmt.Errorf("hub: %s: %w", what, err)
		}
	}
	resumed = offset > 0
	failures := 0
	delay := c.cfg.retryDelay
	// retry accounts one failure; it returns false when the budget is spent.
	retry := func() bool {
		failures++
		if failures >= c.cfg.attempts || sleepCtx(ctx, delay) != nil {
			return false
		}
		delay *= 2
		return true
	}
	for {
		if m.size >= 0 && offset == m.size {
			return resumed, nil
		}
		hdr := http.Header{}
		if offset > 0 {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		}
		// A watchdog cancels the request when no byte arrives for stallTimeout: a stalled connection
		// is then handled like a dropped one.
		actx, cancel := context.WithCancel(ctx)
		watchdog := time.AfterFunc(c.cfg.stallTimeout, cancel)
		resp, err := c.send(actx, request{method: http.MethodGet, url: m.location, what: what, resolve: true,
			followOffHub: true, header: hdr})
		if err != nil {
			stalled := !watchdog.Stop() && ctx.Err() == nil
			cancel()
			if stalled {
				err = &netError{method: http.MethodGet, url: m.location, err: fmt.Errorf("no answer within %s", c.cfg.stallTimeout)}
			}
			if isTransient(err) && retry() {
				continue
			}
			return resumed, err
		}
		switch {
		case resp.StatusCode == http.StatusPartialContent && offset > 0:
			if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
				drain(resp)
				if err := restart(); err != nil {
					return false, fmt.Errorf("hub: %s: %w", what, err)
				}
				continue
			}
		case resp.StatusCode == http.StatusOK:
			if offset > 0 { // The server ignored the Range header: start again from byte 0.
				if err := restart(); err != nil {
					drain(resp)
					return false, fmt.Errorf("hub: %s: %w", what, err)
				}
			}
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			drain(resp)
			if err := restart(); err != nil {
				return false, fmt.Errorf("hub: %s: %w", what, err)
			}
			if retry() {
				continue
			}
			return false, fmt.Errorf("hub: %s: %w: GET %s keeps answering 416 Range Not Satisfiable", what, ErrProtocol, m.location)
		default:
			drain(resp)
			return resumed, fmt.Errorf("hub: %s: %w: GET %s answered %s", what, ErrProtocol, m.location, resp.Status)
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			resp.Body.Close()
			return resumed, fmt.Errorf("hub: %s: %w", what, err)
		}
		n, rerr, werr := c.copyBody(f, resp.Body, rc, path, offset, m.size, func() { watchdog.Reset(c.cfg.stallTimeout) })
		stalled := !watchdog.Stop() && ctx.Err() == nil
		resp.Body.Close()
		cancel()
		if rerr != nil && stalled {
			rerr = fmt.Errorf("no data for %s: %w", c.cfg.stallTimeout, rerr)
		}
		offset += n
		if werr != nil {
			return resumed, fmt.Errorf("hub: %s: writing %s: %w", what, inc, werr)
		}
		if rerr == nil && (m.size < 0 || offset >= m.size) {
			return resumed, nil
		}
		if ctx.Err() != nil {
			return resumed, fmt.Errorf("hub: %s: %w", what, ctx.Err())
		}
		if rerr == nil {
			rerr = io.ErrUnexpectedEOF // Clean end of body before the announced size.
		}
		if n > 0 {
			failures, delay = 0, c.cfg.retryDelay // Progress was made: the budget starts over.
		}
		if retry() {
			continue
		}
		return resumed, &netError{method: http.MethodGet, url: m.location,
			err: fmt.Errorf("connection dropped after %d of %s bytes (partial download kept in %s for the next attempt): %w",
				offset, sizeString(m.size), inc, rerr)}
	}
}

func sizeString(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

// copyBody copies the response body to w, reporting progress; read and write errors are
// returned apart (a read error is a network failure, a write error is local).
func (c *Client) copyBody(w io.Writer, r io.Reader, rc repoCache, path string, offset, total int64, alive func()) (n int64, rerr, werr error) {
	buf := make([]byte, 256<<10)
	for {
		k, err := r.Read(buf)
		if k > 0 {
			alive()
			if _, e := w.Write(buf[:k]); e != nil {
				return n, nil, e
			}
			n += int64(k)
			if c.cfg.progress != nil {
				c.cfg.progress(Progress{Repo: rc.repo, Type: rc.typ, Path: path, Done: offset + n, Total: total})
			}
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	return n, err == nil
}
