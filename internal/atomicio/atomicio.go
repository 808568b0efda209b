// Package atomicio writes files and folders so that readers never see partial content: data goes to
// a temporary sibling first, is synced, and is renamed into place.
package atomicio

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file next to path, syncs it and renames it over path.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteStream(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteStream is WriteFile for content produced by write (buffered); on any error the temporary
// file is removed and path is left as it was. The folder must exist.
func WriteStream(path string, perm os.FileMode, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// ReplaceDir builds a folder with fill (called on an empty temporary folder next to dst) and then
// moves it to dst with [MoveDir]: a crash or an error leaves either the old folder or the new one,
// never a mix.
func ReplaceDir(dst string, fill func(tmpDir string) error) error {
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary folder for %s: %w", dst, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("creating a temporary folder for %s: %w", dst, err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := MoveDir(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// MoveDir moves the complete folder src to dst (same filesystem), replacing an existing dst: an
// atomic exchange where the OS supports it (Linux renameat2), else rename-aside then rename.
func MoveDir(src, dst string) error {
	parent := filepath.Dir(dst)
	if _, err := os.Lstat(dst); err == nil {
		if exchange(src, dst) == nil { // src now holds the old folder.
			os.RemoveAll(src)
			syncDir(parent)
			return nil
		}
		old := src + ".old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("replacing %s: %w", dst, err)
		}
		if err := os.Rename(src, dst); err != nil {
			os.Rename(old, dst)
			return fmt.Errorf("replacing %s: %w", dst, err)
		}
		os.RemoveAll(old)
	} else if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("moving %s to %s: %w", src, dst, err)
	}
	syncDir(parent)
	return nil
}

// syncDir flushes a folder's entries (renames) to disk; errors are ignored as not every
// filesystem supports it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
