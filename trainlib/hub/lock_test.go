//go:build unix

package hub

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockFileExcludesAndSurvivesUnlink(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	ctx := context.Background()
	unlock, err := lockFile(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Bool
	done := make(chan func())
	go func() {
		u, err := lockFile(ctx, p)
		if err != nil {
			t.Error(err)
		}
		got.Store(true)
		done <- u
	}()
	time.Sleep(150 * time.Millisecond)
	if got.Load() {
		t.Fatal("second holder got the lock while the first held it")
	}
	// Python's WeakFileLock deletes the lock file when it releases it: the waiter must then lock
	// the current file, not the unlinked one.
	os.Remove(p)
	unlock()
	u2 := <-done
	third := make(chan bool)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		u, err := lockFile(cctx, p)
		if err == nil {
			u()
		}
		third <- err == nil
	}()
	if <-third {
		t.Error("a third holder got the lock while the second held it (lock on an unlinked file)")
	}
	u2()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	u3, err := lockFile(cctx, p)
	if err != nil {
		t.Fatal(err)
	}
	u3()
}
