//go:build !unix

package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// lockFile takes an exclusive lock by creating path with O_EXCL (platforms without flock), the
// fallback huggingface_hub also uses (SoftFileLock). A crashed process leaves the file behind;
// it is then considered stale after ten minutes.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o664)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("hub: creating lock %s: %w", path, err)
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > 10*time.Minute {
			os.Remove(path)
			continue
		}
		if werr := sleepCtx(ctx, 100*time.Millisecond); werr != nil {
			return nil, fmt.Errorf("hub: waiting for lock %s: %w", path, werr)
		}
	}
}
