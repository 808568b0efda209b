package cache

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/embedtune/embedtune/internal/lockfile"
)

// KindUsage is the number of entries of one kind and their size.
type KindUsage struct {
	Kind    string `json:"kind"`
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`
}

// Usage describes a store's content (what `embedtune cache info` prints).
type Usage struct {
	Dir      string      `json:"dir"`
	MaxBytes int64       `json:"max_bytes"`
	Entries  int         `json:"entries"`
	Bytes    int64       `json:"bytes"`
	Kinds    []KindUsage `json:"kinds"`
}

type entry struct {
	path string
	size int64
	mod  time.Time
}

// walk lists the entries of the store (every kind, or one).
func (s *Store) walk(kind string) ([]entry, error) {
	root := s.Dir
	if kind != "" {
		root = filepath.Join(s.Dir, kind)
	}
	var out []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), suffix) || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // Removed meanwhile by another process.
		}
		out = append(out, entry{p, fi.Size(), fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache: listing %s: %w", root, err)
	}
	return out, nil
}

// Usage counts the entries and their size, by kind.
func (s *Store) Usage() (Usage, error) {
	es, err := s.walk("")
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Dir: s.Dir, MaxBytes: s.MaxBytes}
	byKind := map[string]*KindUsage{}
	for _, e := range es {
		rel, _ := filepath.Rel(s.Dir, e.path)
		kind := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		ku := byKind[kind]
		if ku == nil {
			ku = &KindUsage{Kind: kind}
			byKind[kind] = ku
		}
		ku.Entries++
		ku.Bytes += e.size
		u.Entries++
		u.Bytes += e.size
	}
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		u.Kinds = append(u.Kinds, *byKind[k])
	}
	return u, nil
}

// Clear removes every entry of kind (every entry when kind is ""), and returns how many it removed
// and their size.
func (s *Store) Clear(kind string) (n int, bytes int64, err error) {
	if kind != "" && !kindRe.MatchString(kind) {
		return 0, 0, fmt.Errorf("cache: kind %q: expected a short lowercase name ([a-z0-9_-])", kind)
	}
	unlock, err := lockfile.Lock(context.Background(), filepath.Join(s.Dir, lockName))
	if err != nil {
		return 0, 0, fmt.Errorf("cache: %w", err)
	}
	defer unlock()
	es, err := s.walk(kind)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range es {
		if err := os.Remove(e.path); err == nil {
			n++
			bytes += e.size
		} else if !os.IsNotExist(err) {
			return n, bytes, fmt.Errorf("cache: %w", err)
		}
	}
	return n, bytes, nil
}

// evict removes the least recently used entries (never keep) until the store fits MaxBytes. Only
// one process evicts at a time; another one that finds the lock taken leaves the work to it.
func (s *Store) evict(keep string) error {
	if s.MaxBytes <= 0 {
		return nil
	}
	unlock, err := lockfile.TryLock(filepath.Join(s.Dir, lockName))
	if err != nil {
		if _, held := err.(*lockfile.HeldError); held {
			return nil
		}
		return fmt.Errorf("cache: %w", err)
	}
	defer unlock()
	es, err := s.walk("")
	if err != nil {
		return err
	}
	var total int64
	for _, e := range es {
		total += e.size
	}
	if total <= s.MaxBytes {
		return nil
	}
	slices.SortFunc(es, func(a, b entry) int { return a.mod.Compare(b.mod) })
	for _, e := range es {
		if total <= s.MaxBytes {
			break
		}
		if e.path == keep {
			continue
		}
		if os.Remove(e.path) == nil {
			total -= e.size
			s.count(func(st *Stats) { st.Evicted++ })
		}
	}
	return nil
}
