//go:build !unix

package lockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"
)

func tryLock(path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o664)
		if err == nil {
			f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating lock %s: %w", path, err)
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > StaleAfter {
			os.Remove(path)
			continue
		}
		return nil, &HeldError{Path: path, PID: readPID(path)}
	}
}
