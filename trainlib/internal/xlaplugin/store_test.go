package xlaplugin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestStoreRoundTripAndCorruption(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := MakeKey("salt", []byte("mlir"), []byte("program"), []byte("options"))
	if got, _, err := s.Get(k); got != nil || err != nil {
		t.Fatalf("empty store: %v %v", got, err)
	}
	payload := bytes.Repeat([]byte("executable"), 1000)
	if err := s.Put(k, payload, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	got, secs, err := s.Get(k)
	if err != nil || !bytes.Equal(got, payload) || secs != 3*time.Second {
		t.Fatalf("Get: %d bytes, %v, %v", len(got), secs, err)
	}
	if n, size := s.Usage(); n != 1 || size != int64(headerSize+len(payload)) {
		t.Errorf("Usage: %d entries, %d bytes", n, size)
	}
	// Keys differ for any difference in salt or parts, including where one part ends.
	for _, other := range []Key{MakeKey("salt2", []byte("mlir"), []byte("program"), []byte("options")),
		MakeKey("salt", []byte("mlir"), []byte("programo"), []byte("ptions")), MakeKey("salt", []byte("mlir"), []byte("program"))} {
		if other == k {
			t.Errorf("key collision")
		}
	}

	// Damaged entries: each is reported (ErrCorrupt, naming the file), removed, and then absent.
	for name, damage := range map[string]func([]byte) []byte{
		"truncated":    func(b []byte) []byte { return b[:len(b)-100] },
		"bit flip":     func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"garbage":      func(b []byte) []byte { return []byte("<html>not an entry</html>") },
		"empty":        func(b []byte) []byte { return nil },
		"other key":    func(b []byte) []byte { b[len(magic)+4] ^= 0xff; return b },
		"old version":  func(b []byte) []byte { b[len(magic)] = 0; return b },
		"long payload": func(b []byte) []byte { return append(b, 0) },
	} {
		if err := s.Put(k, payload, time.Second); err != nil {
			t.Fatal(err)
		}
		p := s.path(k)
		data, _ := os.ReadFile(p)
		if err := os.WriteFile(p, damage(data), 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Get(k)
		if got != nil || !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(p)) {
			t.Errorf("%s: got %d bytes, err %v", name, len(got), err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: the damaged entry was not removed", name)
		}
	}
}

// TestStoreConcurrent: writers of the same and of different keys through two Stores on one folder
// (two processes) and concurrent readers: a reader sees nothing or a whole, valid entry.
func TestStoreConcurrent(t *testing.T) {
	dir := t.TempDir()
	a, _ := Open(dir)
	b, _ := Open(dir)
	k := MakeKey("s", []byte("shared"))
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s := []*Store{a, b}[w%2]
			for i := 0; i < 20; i++ {
				payload := bytes.Repeat([]byte{byte(w)}, 1000+100*w) // Writers disagree on the content.
				if err := s.Put(k, payload, time.Duration(w)); err != nil {
					t.Error(err)
				}
				if err := s.Put(MakeKey("s", []byte(fmt.Sprint(w, i))), payload, 0); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, _, err := b.Get(k)
				if err != nil {
					t.Errorf("reader saw a damaged entry: %v", err)
					return
				}
				if got != nil && (len(got) < 1000 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got)))) {
					t.Errorf("reader saw a mixed entry of %d bytes", len(got))
				}
			}
		}()
	}
	wg.Wait()
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestStorePrune: past MaxBytes the least recently used entries go, the newest stays.
func TestStorePrune(t *testing.T) {
	s, _ := Open(t.TempDir())
	s.MaxBytes = int64(3 * (headerSize + 1000))
	keys := make([]Key, 5)
	for i := range keys {
		keys[i] = MakeKey("s", []byte{byte(i)})
		if err := s.Put(keys[i], make([]byte, 1000), 0); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(s.path(keys[i]), old, old)
		if i == 1 {
			s.Get(keys[0]) // Used: now the most recent.
		}
	}
	if n, size := s.Usage(); n != 3 || size > s.MaxBytes {
		t.Fatalf("after pruning: %d entries, %d bytes", n, size)
	}
	for i, want := range []bool{true, false, false, true, true} {
		if _, err := os.Stat(s.path(keys[i])); (err == nil) != want {
			t.Errorf("entry %d present=%v, want %v", i, err == nil, want)
		}
	}
}
