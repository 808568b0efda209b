package cache_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/cache"
)

func open(t *testing.T, max int64) *cache.Store {
	t.Helper()
	s, err := cache.Open(t.TempDir(), max)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entryFiles(t *testing.T, s *cache.Store) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.Dir, "*", "*", "*.entry"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestKeysSeparateParts(t *testing.T) {
	// Length prefixes: moving a byte from one part to the next gives another key.
	for _, c := range []struct{ a, b cache.Key }{
		{cache.NewKey("k", []byte("ab"), []byte("c")), cache.NewKey("k", []byte("a"), []byte("bc"))},
		{cache.NewKey("k", []byte("a")), cache.NewKey("j", []byte("a"))},
		{cache.NewKey("k"), cache.NewKey("k", nil)},
	} {
		if c.a == c.b {
			t.Errorf("%v == %v", c.a, c.b)
		}
	}
	if cache.NewKey("k", []byte("x")) != cache.NewKey("k", []byte("x")) {
		t.Error("the same parts give different keys")
	}
}

func TestPutGetAndMisses(t *testing.T) {
	s := open(t, 0)
	k := cache.NewKey("embeddings", []byte("text"))
	if _, ok, err := s.Get(k); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	want := []byte("payload \x00\xff")
	if err := s.Put(k, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get(k)
	if !ok || err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get = %q, %v, %v", got, ok, err)
	}
	if st := s.Stats(); st.Hits != 1 || st.Misses != 1 || st.Puts != 1 {
		t.Errorf("stats %+v", st)
	}
	// A second process (another Store on the same folder) sees it.
	s2, _ := cache.Open(s.Dir, 0)
	if got, ok, _ := s2.Get(k); !ok || !bytes.Equal(got, want) {
		t.Error("another Store on the folder misses the entry")
	}
}

func TestBadKind(t *testing.T) {
	s := open(t, 0)
	for _, kind := range []string{"", "../x", "Upper", "a/b"} {
		err := s.Put(cache.NewKey(kind), []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "lowercase") {
			t.Errorf("kind %q: %v", kind, err)
		}
	}
}

func TestDamagedEntriesAreMisses(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"truncated":      func(b []byte) []byte { return b[:len(b)-1] },
		"flipped byte":   func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"empty":          func([]byte) []byte { return nil },
		"another format": func(b []byte) []byte { return append([]byte("PK\x03\x04"), b...) },
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t, 0)
			k := cache.NewKey("eval", []byte("x"))
			if err := s.Put(k, []byte("a value that is long enough")); err != nil {
				t.Fatal(err)
			}
			f := entryFiles(t, s)[0]
			data, _ := os.ReadFile(f)
			if err := os.WriteFile(f, damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.Get(k); ok || err != nil {
				t.Fatalf("damaged entry: ok=%v err=%v", ok, err)
			}
			if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
				t.Error("the damaged entry was not removed")
			}
			if s.Stats().Corrupt != 1 {
				t.Errorf("stats %+v", s.Stats())
			}
		})
	}
}

func TestEntryOfAnotherKeyIsRefused(t *testing.T) {
	s := open(t, 0)
	a, b := cache.NewKey("x", []byte("a")), cache.NewKey("x", []byte("b"))
	if err := s.Put(a, []byte("A")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(b, []byte("B")); err != nil {
		t.Fatal(err)
	}
	fa, fb := entryFiles(t, s)[0], entryFiles(t, s)[1]
	data, _ := os.ReadFile(fa)
	os.WriteFile(fb, data, 0o644) // b's file now holds a's entry
	for _, k := range []cache.Key{a, b} {
		got, ok, _ := s.Get(k)
		if ok && !bytes.Equal(got, map[cache.Key][]byte{a: []byte("A"), b: []byte("B")}[k]) {
			t.Errorf("%v returned another key's value %q", k, got)
		}
	}
}

func TestEvictionKeepsRecentlyUsed(t *testing.T) {
	s := open(t, 0)
	payload := bytes.Repeat([]byte("x"), 1000)
	keys := make([]cache.Key, 5)
	for i := range keys {
		keys[i] = cache.NewKey("emb", []byte{byte(i)})
		if err := s.Put(keys[i], payload); err != nil {
			t.Fatal(err)
		}
		// Distinct times: entry i was used at i seconds.
		f := entryFiles(t, s)
		for _, p := range f {
			if strings.Contains(p, keysHex(keys[i])) {
				ts := time.Unix(1_700_000_000+int64(i), 0)
				os.Chtimes(p, ts, ts)
			}
		}
	}
	u, _ := s.Usage()
	per := u.Bytes / 5
	// Using entry 0 makes it the most recent: the next eviction removes 1 and 2, not 0.
	if _, ok, _ := s.Get(keys[0]); !ok {
		t.Fatal("entry 0 missing")
	}
	s.MaxBytes = 4 * per
	extra := cache.NewKey("emb", []byte("new"))
	if err := s.Put(extra, payload); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, false, true, true} {
		if _, ok, _ := s.Get(keys[i]); ok != want {
			t.Errorf("entry %d present=%v, want %v", i, ok, want)
		}
	}
	if _, ok, _ := s.Get(extra); !ok {
		t.Error("the entry just written was evicted")
	}
	if u, _ := s.Usage(); u.Bytes > s.MaxBytes {
		t.Errorf("usage %d over the cap %d", u.Bytes, s.MaxBytes)
	}
	if s.Stats().Evicted != 2 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func keysHex(k cache.Key) string { return strings.SplitN(k.String(), "/", 2)[1] }

func TestUsageAndClear(t *testing.T) {
	s := open(t, 0)
	for i := 0; i < 3; i++ {
		s.Put(cache.NewKey("embeddings", []byte{byte(i)}), []byte("abc"))
	}
	s.Put(cache.NewKey("eval", []byte("x")), []byte("abcdef"))
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.Entries != 4 || len(u.Kinds) != 2 || u.Kinds[0].Kind != "embeddings" || u.Kinds[0].Entries != 3 || u.Kinds[1].Entries != 1 {
		t.Fatalf("usage %+v", u)
	}
	n, _, err := s.Clear("embeddings")
	if err != nil || n != 3 {
		t.Fatalf("Clear(embeddings) = %d, %v", n, err)
	}
	if u, _ := s.Usage(); u.Entries != 1 {
		t.Errorf("after clearing one kind: %+v", u)
	}
	if n, _, _ := s.Clear(""); n != 1 {
		t.Errorf("Clear() removed %d", n)
	}
	if _, _, err := s.Clear("../etc"); err == nil {
		t.Error("Clear accepted a path as kind")
	}
}

func TestMemo(t *testing.T) {
	s := open(t, 0)
	k := cache.NewKey("eval", []byte("model"), []byte("data"))
	calls := 0
	f := func() (map[string]float64, error) { calls++; return map[string]float64{"ndcg@10": 0.75}, nil }
	for i := 0; i < 3; i++ {
		v, err := cache.Memo(s, k, f)
		if err != nil || v["ndcg@10"] != 0.75 {
			t.Fatalf("Memo = %v, %v", v, err)
		}
	}
	if calls != 1 {
		t.Errorf("computed %d times", calls)
	}
	// Errors are not stored.
	k2 := cache.NewKey("eval", []byte("other"))
	if _, err := cache.Memo(s, k2, func() (int, error) { return 0, errors.New("boom") }); err == nil {
		t.Fatal("error lost")
	}
	if _, ok, _ := s.Get(k2); ok {
		t.Error("a failed computation was stored")
	}
	// An entry that does not decode into the type is recomputed.
	if v, err := cache.Memo(s, k, func() (string, error) { return "fresh", nil }); err != nil || v != "fresh" {
		t.Errorf("Memo with another type = %q, %v", v, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s := open(t, 20_000)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			other, _ := cache.Open(s.Dir, 20_000) // as another process would
			for i := 0; i < 40; i++ {
				k := cache.NewKey("emb", []byte(fmt.Sprint(i%10)))
				if err := other.Put(k, bytes.Repeat([]byte{byte(i)}, 1000)); err != nil {
					t.Error(err)
				}
				if got, ok, err := other.Get(k); err != nil || (ok && len(got) != 1000) {
					t.Errorf("Get: %d bytes, %v", len(got), err)
				}
			}
		}(w)
	}
	wg.Wait()
	if u, _ := s.Usage(); u.Bytes > 20_000+1200 {
		t.Errorf("usage %d well over the cap", u.Bytes)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1000": 1000, "2GiB": 2 << 30, "500MB": 500e6, "1.5 KiB": 1536, "3g": 3 << 30} {
		if got, err := cache.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "5 parsecs"} {
		if _, err := cache.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestDefaultFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(cache.DirEnv, dir)
	t.Setenv(cache.MaxEnv, "1MiB")
	s, err := cache.Default()
	if err != nil || s.Dir != dir || s.MaxBytes != 1<<20 {
		t.Fatalf("Default = %+v, %v", s, err)
	}
	t.Setenv(cache.MaxEnv, "huge")
	if _, err := cache.Default(); err == nil || !strings.Contains(err.Error(), cache.MaxEnv) {
		t.Errorf("bad cap: %v", err)
	}
}
