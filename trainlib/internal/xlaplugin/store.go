package xlaplugin

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// EnvVar chooses the cache folder ("off" disables the cache). Default: [DefaultDir].
const EnvVar = "EMBEDTUNE_XLA_CACHE"

// DefaultMaxBytes bounds the folder's size: after each store, the least recently used entries are
// removed until the rest fit.
const DefaultMaxBytes = 4 << 30

const (
	magic      = "EMBEDTUNE-XLA-EXECUTABLE"
	version    = 1
	suffix     = ".xlaexec"
	headerSize = len(magic) + 4 + sha256.Size + 8 + sha256.Size + 8
)

// DefaultDir returns the cache folder: $EMBEDTUNE_XLA_CACHE when set (and not "off"), else
// <user cache dir>/embedtune/xla (~/.cache/embedtune/xla on Linux).
func DefaultDir() string {
	if v := strings.TrimSpace(os.Getenv(EnvVar)); v != "" && v != "off" {
		return v
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "embedtune", "xla")
}

// Disabled reports whether $EMBEDTUNE_XLA_CACHE is "off".
func Disabled() bool { return strings.TrimSpace(os.Getenv(EnvVar)) == "off" }

// Key is the SHA-256 that names an entry.
type Key [sha256.Size]byte

// String returns the key in hexadecimal.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// MakeKey hashes the salt and every part, each prefixed with its length.
func MakeKey(salt string, parts ...[]byte) Key {
	h := sha256.New()
	write := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	write([]byte(salt))
	for _, p := range parts {
		write(p)
	}
	var k Key
	h.Sum(k[:0])
	return k
}

// Store is a folder of serialized executables. Its methods are safe for concurrent use, also by
// several processes sharing the folder.
type Store struct {
	Dir      string
	MaxBytes int64

	mu    sync.Mutex
	stats Stats
}

// Stats counts what the cache did in this process.
type Stats struct {
	Hits, Misses int
	// Failures: entries that were unreadable (bad header, length or checksum), that the plugin
	// could not load, or executables the plugin could not serialize; all were recompiled.
	Failures int
	// Saved is the compile time the hits avoided (from each entry's recorded compile time) minus
	// their load time; Compiled is the compile time of the misses.
	Saved, Compiled time.Duration
	LastError       string
}

// Open returns the store for dir, creating the folder.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("xlacache: empty folder name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("XLA compile cache folder: %w", err)
	}
	return &Store{Dir: dir, MaxBytes: DefaultMaxBytes}, nil
}

func (s *Store) path(k Key) string { return filepath.Join(s.Dir, k.String()+suffix) }

// ErrCorrupt marks an entry that exists but cannot be used.
var ErrCorrupt = errors.New("corrupt XLA compile cache entry")

// Get returns the payload stored under k and the compile time recorded with it; (nil, 0, nil) when
// there is none. A damaged entry gives an error wrapping [ErrCorrupt] and is removed.
func (s *Store) Get(k Key) ([]byte, time.Duration, error) {
	p := s.path(k)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", p, err)
	}
	payload, secs, err := decode(k, data)
	if err != nil {
		os.Remove(p)
		return nil, 0, fmt.Errorf("%s: %w", p, err)
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // Recently used: pruned last.
	return payload, time.Duration(secs * float64(time.Second)), nil
}

// Put stores payload under k (atomically) and prunes the folder.
func (s *Store) Put(k Key, payload []byte, compile time.Duration) error {
	if err := atomicio.WriteStream(s.path(k), 0o644, func(w io.Writer) error {
		_, err := w.Write(encodeHeader(k, payload, compile.Seconds()))
		if err == nil {
			_, err = w.Write(payload)
		}
		return err
	}); err != nil {
		return err
	}
	s.prune(k)
	return nil
}

func encodeHeader(k Key, payload []byte, secs float64) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	binary.Write(&b, binary.LittleEndian, uint32(version))
	b.Write(k[:])
	binary.Write(&b, binary.LittleEndian, uint64(len(payload)))
	sum := sha256.Sum256(payload)
	b.Write(sum[:])
	binary.Write(&b, binary.LittleEndian, math.Float64bits(secs))
	return b.Bytes()
}

func decode(k Key, data []byte) ([]byte, float64, error) {
	if len(data) < headerSize || string(data[:len(magic)]) != magic {
		return nil, 0, fmt.Errorf("%w: not an embedtune XLA executable (bad header)", ErrCorrupt)
	}
	h := data[len(magic):]
	if v := binary.LittleEndian.Uint32(h); v != version {
		return nil, 0, fmt.Errorf("%w: format version %d, want %d", ErrCorrupt, v, version)
	}
	h = h[4:]
	if !bytes.Equal(h[:sha256.Size], k[:]) {
		return nil, 0, fmt.Errorf("%w: the entry holds another key", ErrCorrupt)
	}
	h = h[sha256.Size:]
	n := binary.LittleEndian.Uint64(h)
	h = h[8:]
	sum := h[:sha256.Size]
	secs := math.Float64frombits(binary.LittleEndian.Uint64(h[sha256.Size:]))
	payload := data[headerSize:]
	if uint64(len(payload)) != n {
		return nil, 0, fmt.Errorf("%w: %d bytes of executable, the header says %d (truncated?)", ErrCorrupt, len(payload), n)
	}
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, secs, nil
}

// prune removes the least recently used entries (never keep) until the folder fits MaxBytes.
func (s *Store) prune(keep Key) {
	if s.MaxBytes <= 0 {
		return
	}
	entries, total := s.entries()
	if total <= s.MaxBytes {
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].mod.Before(entries[j].mod) })
	for _, e := range entries {
		if total <= s.MaxBytes {
			break
		}
		if filepath.Base(e.path) == keep.String()+suffix {
			continue
		}
		if os.Remove(e.path) == nil {
			total -= e.size
		}
	}
}

type entry struct {
	path string
	size int64
	mod  time.Time
}

func (s *Store) entries() ([]entry, int64) {
	des, _ := os.ReadDir(s.Dir)
	var out []entry
	var total int64
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), suffix) || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		out = append(out, entry{filepath.Join(s.Dir, de.Name()), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	return out, total
}

// Usage returns the number of entries and their total size in bytes.
func (s *Store) Usage() (n int, bytes int64) {
	e, total := s.entries()
	return len(e), total
}

// Stats returns what the cache did in this process so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Store) update(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}
