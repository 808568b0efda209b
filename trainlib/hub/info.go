package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
)

// RepoInfo is a repository at one commit.
type RepoInfo struct {
	Type RepoType
	ID   string
	// Revision is what was asked for (branch, tag or commit); SHA the commit it resolved to.
	Revision string
	SHA      string
	// Files lists every file of the commit, sorted by path.
	Files []FileInfo
	// FromCache is true when the Hub was not asked (offline) or could not be reached and the answer
	// comes from the cache; Files then lists the cached listing or the files present in the snapshot.
	FromCache bool
	// cause is the network error that made the answer come from the cache (nil when offline).
	cause error
}

// FileInfo describes one file of a repository.
type FileInfo struct {
	Path string
	// Size in bytes (of the real content for LFS files); 0 when the server did not say.
	Size int64
	// BlobID is the git object id (SHA-1 of the git blob, or of the LFS pointer).
	BlobID string
	// LFS is set for files stored with Git LFS.
	LFS *LFSInfo
}

// LFSInfo is the Git LFS metadata of a file.
type LFSInfo struct {
	SHA256      string
	Size        int64
	PointerSize int64
}

// ETag is the entity tag the Hub serves the file with: the LFS SHA-256, else the git blob id.
func (f FileInfo) ETag() string {
	if f.LFS != nil {
		return f.LFS.SHA256
	}
	return f.BlobID
}

// File returns the entry for path, if the commit has it.
func (r *RepoInfo) File(path string) (FileInfo, bool) {
	i := sort.Search(len(r.Files), func(i int) bool { return r.Files[i].Path >= path })
	if i < len(r.Files) && r.Files[i].Path == path {
		return r.Files[i], true
	}
	return FileInfo{}, false
}

// apiInfo is the JSON of GET /api/{type}s/{id}/revision/{rev}?blobs=true.
type apiInfo struct {
	ID       string `json:"id"`
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *struct {
			SHA256      string `json:"sha256"`
			Size        int64  `json:"size"`
			PointerSize int64  `json:"pointerSize"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// RepoInfo resolves a revision to its commit and lists the files, asking
// /api/{models|datasets}/{id}/revision/{rev}?blobs=true (as huggingface_hub's repo_info with
// files_metadata=True). Offline, or when the Hub cannot be reached (connection error, 5xx), the
// answer comes from the cache (refs/{rev} and the cached listing or snapshot); ErrNotCached when the
// cache has nothing for that revision.
func (c *Client) RepoInfo(ctx context.Context, t RepoType, repoID, rev string) (*RepoInfo, error) {
	if err := validateArgs(t, repoID, rev); err != nil {
		return nil, err
	}
	rc := c.repoCache(t, repoID)
	if c.cfg.offline {
		return c.cachedInfo(rc, rev, nil)
	}
	info, err := c.fetchInfo(ctx, t, repoID, rev)
	if err != nil {
		if canFallBack(err) {
			return c.cachedInfo(rc, rev, err)
		}
		return nil, err
	}
	if err := rc.writeRef(rev, info.SHA); err != nil {
		return nil, err
	}
	_ = rc.writeTree(info) // Best effort: only speeds up and sharpens offline answers.
	return info, nil
}

func (c *Client) fetchInfo(ctx context.Context, t RepoType, repoID, rev string) (*RepoInfo, error) {
	u := c.cfg.endpoint + "/api/" + t.apiPrefix() + "/" + repoID + "/revision/" + url.PathEscape(rev) + "?blobs=true"
	what := fmt.Sprintf("%s at revision %q", describe(t, repoID), rev)
	resp, err := c.sendRetry(ctx, request{method: http.MethodGet, url: u, what: what, timeout: c.cfg.metaTimeout})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, &netError{method: http.MethodGet, url: u, err: err}
	}
	var ai apiInfo
	if err := json.Unmarshal(body, &ai); err != nil {
		return nil, fmt.Errorf("hub: %s: %w: GET %s returned invalid JSON: %v", what, ErrProtocol, u, err)
	}
	if !IsCommitHash(ai.SHA) {
		return nil, fmt.Errorf("hub: %s: %w: GET %s has no commit hash in \"sha\" (got %q)", what, ErrProtocol, u, ai.SHA)
	}
	info := &RepoInfo{Type: t, ID: repoID, Revision: rev, SHA: ai.SHA}
	for _, s := range ai.Siblings {
		if err := ValidateRepoPath(s.RFilename); err != nil {
			return nil, fmt.Errorf("%w: %s (listed by GET %s)", ErrProtocol, err, u)
		}
		f := FileInfo{Path: s.RFilename, BlobID: s.BlobID}
		if s.Size != nil {
			f.Size = *s.Size
		}
		if s.LFS != nil {
			f.LFS = &LFSInfo{SHA256: s.LFS.SHA256, Size: s.LFS.Size, PointerSize: s.LFS.PointerSize}
			f.Size = s.LFS.Size
		}
		info.Files = append(info.Files, f)
	}
	sort.Slice(info.Files, func(i, j int) bool { return info.Files[i].Path < info.Files[j].Path })
	return info, nil
}

// cachedInfo answers RepoInfo from the cache. cause is the network error that sent us here, or nil
// when offline mode is on.
func (c *Client) cachedInfo(rc repoCache, rev string, cause error) (*RepoInfo, error) {
	commit := rc.readRef(rev)
	if commit != "" {
		files := rc.readTree(commit)
		if files == nil {
			var err error
			if files, err = rc.listSnapshot(commit); err != nil {
				return nil, err
			}
		}
		if files != nil {
			return &RepoInfo{Type: rc.typ, ID: rc.repo, Revision: rev, SHA: commit, Files: files, FromCache: true,
				cause: cause}, nil
		}
	}
	return nil, c.notCached(fmt.Sprintf("%s at revision %q", describe(rc.typ, rc.repo), rev), cause)
}

// notCached builds the ErrNotCached error, keeping the network error that made us look.
func (c *Client) notCached(what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("hub: %s: %w (cache %s) and offline mode is on (HF_HUB_OFFLINE=1); "+
			"run once with network access to download it", what, ErrNotCached, c.cfg.cacheDir)
	}
	var he *HTTPError
	if errors.As(cause, &he) {
		return fmt.Errorf("%w; it is also %w (cache %s)", cause, ErrNotCached, c.cfg.cacheDir)
	}
	return fmt.Errorf("hub: %s: the Hub could not be reached and it is %w (cache %s): %w", what, ErrNotCached,
		c.cfg.cacheDir, cause)
}
