//go:build unix

package hub

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock(2) on path, the same lock huggingface_hub's FileLock takes on
// .locks/{repo}/{etag}.lock, so Go and Python processes exclude each other. Python deletes the lock
// file after releasing it; to stay correct when that happens between our open and our flock, the
// lock only counts if the locked descriptor is still the file at path.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o664)
		if err != nil {
			return nil, fmt.Errorf("hub: opening lock %s: %w", path, err)
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err == nil {
				break
			}
			if err != unix.EWOULDBLOCK && err != unix.EINTR {
				f.Close()
				return nil, fmt.Errorf("hub: locking %s: %w", path, err)
			}
			if werr := sleepCtx(ctx, 50*time.Millisecond); werr != nil {
				f.Close()
				return nil, fmt.Errorf("hub: waiting for lock %s: %w", path, werr)
			}
		}
		if sameFile(f, path) {
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		f.Close() // The file was unlinked or replaced while we waited: lock the current one.
	}
}

func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	if err1 != nil || err2 != nil {
		return false
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
