//go:build unix

package lockfile

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
	unlock, err := Lock(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Bool
	done := make(chan func())
	go func() {
		u, err := Lock(ctx, p)
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
		u, err := Lock(cctx, p)
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
	u3, err := Lock(cctx, p)
	if err != nil {
		t.Fatal(err)
	}
	u3()
}

func TestTryLockNamesTheHolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := TryLock(p)
	if err != nil {
		t.Fatal(err)
	}
	// A second descriptor in this process conflicts like another process would (flock is per open file).
	_, err = TryLock(p)
	held, ok := err.(*HeldError)
	if !ok {
		t.Fatalf("TryLock on a held lock: got %v, want *HeldError", err)
	}
	if held.PID != os.Getpid() || held.Path != p {
		t.Errorf("HeldError = %+v, want PID %d and path %s", held, os.Getpid(), p)
	}
	unlock()
	u, err := TryLock(p)
	if err != nil {
		t.Fatalf("TryLock after unlock: %v", err)
	}
	u()
}

func TestLockHonoursContext(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, p); err == nil {
		t.Fatal("Lock returned while another holder had the lock")
	}
}
