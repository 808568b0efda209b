package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LocalFile is a file to import into the cache: its path in the repository and on disk.
type LocalFile struct {
	RepoPath  string
	LocalPath string
}

// lfsThreshold is the size from which an imported file is recorded as a Git LFS file, as the Hub stores
// large files; model weights and data files are LFS files whatever their size.
const lfsThreshold = 10 << 20

var lfsExtensions = map[string]bool{".safetensors": true, ".bin": true, ".parquet": true, ".onnx": true,
	".pt": true, ".h5": true, ".msgpack": true, ".arrow": true, ".zst": true, ".gz": true}

// Import writes files into the cache as the snapshot of commit of the repository, exactly as a download
// would have left them (blobs named by ETag, snapshot symlinks, trees/{commit}.json), and points
// refs/{rev} at commit when rev is a branch name. Offline clients — this package and Python's
// huggingface_hub (HF_HUB_OFFLINE=1) — then load the repository without the Hub. Files are moved into
// the cache when they are on the same filesystem (copied otherwise). It is how `embedtune bundle
// install` unpacks a workshop's model and dataset. commit must be a 40-hex commit hash.
func (c *Client) Import(t RepoType, repoID, commit, rev string, files []LocalFile) error {
	if err := validateArgs(t, repoID, commit); err != nil {
		return err
	}
	if !IsCommitHash(commit) {
		return fmt.Errorf("hub: import of %s: commit %q is not a 40-hex commit hash", describe(t, repoID), commit)
	}
	rc := c.repoCache(t, repoID)
	info := &RepoInfo{Type: t, ID: repoID, Revision: commit, SHA: commit}
	for _, f := range files {
		if err := ValidateRepoPath(f.RepoPath); err != nil {
			return err
		}
		fi, err := fileIdentity(f.RepoPath, f.LocalPath)
		if err != nil {
			return err
		}
		blob := rc.blobPath(fi.ETag())
		if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		if _, err := os.Stat(blob); err != nil {
			if err := moveOrCopy(f.LocalPath, blob); err != nil {
				return fmt.Errorf("hub: importing %s: %w", f.RepoPath, err)
			}
		}
		if _, err := rc.link(commit, f.RepoPath, fi.ETag()); err != nil {
			return err
		}
		info.Files = append(info.Files, fi)
	}
	if err := rc.writeTree(info); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if rev != "" && rev != commit {
		if err := validateRevision(rev); err != nil {
			return err
		}
		if err := rc.writeRef(rev, commit); err != nil {
			return err
		}
	}
	writeCacheDirTag(c.cfg.cacheDir)
	return nil
}

// fileIdentity computes the Hub's metadata of a local file: the git blob id, and for LFS files the
// SHA-256 and the blob id of the LFS pointer (what the Hub reports as blobId for them).
func fileIdentity(repoPath, local string) (FileInfo, error) {
	f, err := os.Open(local)
	if err != nil {
		return FileInfo{}, fmt.Errorf("hub: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return FileInfo{}, fmt.Errorf("hub: %s is not a regular file", local)
	}
	size := st.Size()
	fi := FileInfo{Path: repoPath, Size: size}
	if size >= lfsThreshold || lfsExtensions[strings.ToLower(path.Ext(repoPath))] {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return FileInfo{}, fmt.Errorf("hub: reading %s: %w", local, err)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sum, size)
		fi.LFS = &LFSInfo{SHA256: sum, Size: size, PointerSize: int64(len(pointer))}
		fi.BlobID = gitBlobID(strings.NewReader(pointer), int64(len(pointer)))
		return fi, nil
	}
	fi.BlobID = gitBlobID(f, size)
	return fi, nil
}

// gitBlobID is git's object id of a blob: SHA-1 of "blob <size>\x00" and the content.
func gitBlobID(r io.Reader, size int64) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil))
}

// moveOrCopy renames src to dst, or copies it (through a temporary file) across filesystems.
func moveOrCopy(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".incomplete"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// RepoFolderName is a repository's folder in the cache, "models--org--name" or "datasets--org--name",
// as huggingface_hub names it.
func RepoFolderName(t RepoType, repoID string) string { return repoFolderName(t, repoID) }
