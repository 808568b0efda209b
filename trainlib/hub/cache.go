package hub

// Cache layout, shared with Python's huggingface_hub (file_download.py, _tree_cache.py):
//
//	{cache}/{models|datasets}--{org}--{name}/
//	    blobs/{etag}                  file contents, named by ETag (git SHA-1, or SHA-256 for LFS files)
//	    blobs/{etag}.incomplete       download in progress (ours; resumed under the lock)
//	    snapshots/{commit}/{path}     relative symlink to ../../blobs/{etag} (one level deeper per folder)
//	    refs/{revision}               the commit hash a branch or tag pointed to when last resolved
//	    trees/{commit}.json           file listing of that commit (format_version 1)
//	{cache}/.locks/{repo folder}/{etag}.lock   flock(2) lock held while a blob is written

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// cacheDirTag marks the cache for backup tools (https://bford.info/cachedir/), as huggingface_hub does.
const cacheDirTag = "Signature: 8a477f597d28d172789f06886806bc55\n" +
	"# This file is a cache directory tag created by embedtune (a cache shared with huggingface_hub).\n" +
	"# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"

// writeCacheDirTag creates {cache}/CACHEDIR.TAG when missing; failures are ignored (read-only caches).
func writeCacheDirTag(root string) {
	p := filepath.Join(root, "CACHEDIR.TAG")
	if _, err := os.Stat(p); err == nil {
		return
	}
	_ = atomicio.WriteFile(p, []byte(cacheDirTag), 0o644)
}

// repoCache addresses one repository's cache folder.
type repoCache struct {
	root  string // {cache}
	dir   string // {cache}/{type}s--org--name
	typ   RepoType
	repo  string
	locks string // {cache}/.locks/{type}s--org--name
}

func (c *Client) repoCache(t RepoType, repoID string) repoCache {
	name := repoFolderName(t, repoID)
	return repoCache{root: c.cfg.cacheDir, dir: filepath.Join(c.cfg.cacheDir, name), typ: t, repo: repoID,
		locks: filepath.Join(c.cfg.cacheDir, ".locks", name)}
}

func (rc repoCache) blobPath(etag string) string { return filepath.Join(rc.dir, "blobs", etag) }

func (rc repoCache) snapshotDir(commit string) string {
	return filepath.Join(rc.dir, "snapshots", commit)
}

// pointerPath is snapshots/{commit}/{path}; path must have passed ValidateRepoPath.
func (rc repoCache) pointerPath(commit, path string) string {
	return filepath.Join(rc.snapshotDir(commit), filepath.FromSlash(path))
}

// readRef returns the commit a revision resolves to from the cache: the revision itself when it is
// a commit hash, else the content of refs/{rev}; "" when unknown.
func (rc repoCache) readRef(rev string) string {
	if IsCommitHash(rev) {
		return rev
	}
	b, err := os.ReadFile(filepath.Join(rc.dir, "refs", filepath.FromSlash(rev)))
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(b))
	if !IsCommitHash(commit) {
		return ""
	}
	return commit
}

// writeRef records rev -> commit atomically when rev is a branch or tag and the ref changed.
func (rc repoCache) writeRef(rev, commit string) error {
	if rev == commit || rc.readRef(rev) == commit {
		return nil
	}
	p := filepath.Join(rc.dir, "refs", filepath.FromSlash(rev))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("hub: writing ref %s: %w", p, err)
	}
	return atomicio.WriteFile(p, []byte(commit), 0o644)
}

// link points snapshots/{commit}/{path} at blobs/{etag} with a relative symlink, atomically (a
// temporary link renamed over the final name).
func (rc repoCache) link(commit, path, etag string) (string, error) {
	ptr := rc.pointerPath(commit, path)
	blob := rc.blobPath(etag)
	if err := os.MkdirAll(filepath.Dir(ptr), 0o755); err != nil {
		return "", fmt.Errorf("hub: creating %s: %w", filepath.Dir(ptr), err)
	}
	rel, err := filepath.Rel(filepath.Dir(ptr), blob)
	if err != nil {
		rel = blob
	}
	if cur, err := os.Readlink(ptr); err == nil && cur == rel {
		return ptr, nil
	}
	tmp := fmt.Sprintf("%s.%d.tmp-link", ptr, os.Getpid())
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return "", fmt.Errorf("hub: linking %s: %w", ptr, err)
	}
	if err := os.Rename(tmp, ptr); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("hub: linking %s: %w", ptr, err)
	}
	return ptr, nil
}

// cachedFile returns the snapshot path of a file when it exists (the symlink resolves to a blob),
// or "".
func (rc repoCache) cachedFile(commit, path string) string {
	ptr := rc.pointerPath(commit, path)
	if st, err := os.Stat(ptr); err == nil && st.Mode().IsRegular() {
		return ptr
	}
	return ""
}

// treeFile mirrors huggingface_hub's trees/{commit}.json.
type treeFile struct {
	FormatVersion int                  `json:"format_version"`
	Files         map[string]treeEntry `json:"files"`
}

type treeEntry struct {
	Size      int64  `json:"size"`
	BlobID    string `json:"blob_id"`
	LFSSHA256 string `json:"lfs_sha256,omitempty"`
	LFSSize   *int64 `json:"lfs_size,omitempty"`
	XetHash   string `json:"xet_hash,omitempty"`
}

// writeTree stores the listing of a commit so that offline runs (ours and Python's) know which
// files the commit has. Errors are returned but callers treat them as non-fatal.
func (rc repoCache) writeTree(info *RepoInfo) error {
	tf := treeFile{FormatVersion: 1, Files: map[string]treeEntry{}}
	for _, f := range info.Files {
		if f.BlobID == "" {
			return nil // Listing without blob metadata: Python would reject it, so write nothing.
		}
		e := treeEntry{Size: f.Size, BlobID: f.BlobID}
		if f.LFS != nil {
			sz := f.LFS.Size
			e.LFSSHA256, e.LFSSize = f.LFS.SHA256, &sz
			e.Size = f.LFS.Size
		}
		tf.Files[f.Path] = e
	}
	p := filepath.Join(rc.dir, "trees", info.SHA+".json")
	if _, err := os.Stat(p); err == nil {
		return nil // A commit's listing never changes.
	}
	b, err := json.MarshalIndent(tf, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicio.WriteFile(p, b, 0o644)
}

// readTree loads trees/{commit}.json, or returns nil when absent or unreadable.
func (rc repoCache) readTree(commit string) []FileInfo {
	b, err := os.ReadFile(filepath.Join(rc.dir, "trees", commit+".json"))
	if err != nil {
		return nil
	}
	var tf treeFile
	if json.Unmarshal(b, &tf) != nil || tf.FormatVersion != 1 || tf.Files == nil {
		return nil
	}
	out := make([]FileInfo, 0, len(tf.Files))
	for p, e := range tf.Files {
		if ValidateRepoPath(p) != nil {
			return nil
		}
		fi := FileInfo{Path: p, Size: e.Size, BlobID: e.BlobID}
		if e.LFSSHA256 != "" {
			fi.LFS = &LFSInfo{SHA256: e.LFSSHA256, Size: e.Size}
			if e.LFSSize != nil {
				fi.LFS.Size = *e.LFSSize
			}
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// listSnapshot lists the files present in snapshots/{commit} (following symlinks to blobs).
func (rc repoCache) listSnapshot(commit string) ([]FileInfo, error) {
	root := rc.snapshotDir(commit)
	var out []FileInfo
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".tmp-link") {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return nil // Dangling link: not a usable file.
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, FileInfo{Path: filepath.ToSlash(rel), Size: st.Size()})
		return nil
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("hub: listing %s: %w", root, err)
	}
	return out, nil
}
