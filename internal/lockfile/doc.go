// Package lockfile holds exclusive inter-process locks on files: the one home of locking in
// embedtune (the Hugging Face cache's download locks, and any folder that two processes must not
// write at once).
//
// On Unix the lock is flock(2) on the file, the lock huggingface_hub's FileLock takes, so Go and
// Python processes exclude each other, and a crashed holder releases it with its last descriptor.
// Elsewhere a file created with O_EXCL stands in (huggingface_hub's SoftFileLock), considered stale
// after [StaleAfter].
//
// The holder writes its process id into the file, so a process that finds the lock taken can say who
// holds it ([HeldError]).
//
//	unlock, err := lockfile.TryLock(filepath.Join(outputDir, ".embedtune.lock"))
//	var held *lockfile.HeldError
//	if errors.As(err, &held) {
//		return fmt.Errorf("%s is in use by process %d", outputDir, held.PID)
//	}
//	defer unlock()
package lockfile

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// StaleAfter is how old an O_EXCL lock file must be before it is taken over, on platforms without flock.
const StaleAfter = 10 * time.Minute

// pollInterval is how often Lock retries a lock held by another process.
const pollInterval = 50 * time.Millisecond

// HeldError is TryLock's error when another process holds the lock.
type HeldError struct {
	Path string
	PID  int // the holder's process id, 0 when it could not be read
}

func (e *HeldError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is locked by process %d", e.Path, e.PID)
	}
	return fmt.Sprintf("%s is locked by another process", e.Path)
}

// Lock takes the exclusive lock on path (creating the file), waiting while another process holds it,
// until ctx is done.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	for {
		unlock, err := TryLock(path)
		if _, held := err.(*HeldError); !held {
			return unlock, err
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// TryLock takes the exclusive lock on path (creating the file) without waiting: a lock held by
// another process is a *HeldError naming its holder.
func TryLock(path string) (unlock func(), err error) { return tryLock(path) }

// readPID returns the process id written in the lock file, or 0.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
