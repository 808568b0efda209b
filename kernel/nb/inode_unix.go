//go:build unix

package nb

import (
	"os"
	"syscall"
)

// inode returns the file's inode number (0 when unknown), part of a file's identity in filesStamp.
func inode(st os.FileInfo) uint64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Ino)
	}
	return 0
}
