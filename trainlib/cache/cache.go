// Package cache is embedtune's content-addressed on-disk store: values computed once (embeddings,
// evaluation results, parsed datasets, file digests) are kept under a key that hashes everything
// they depend on, so a later process — the next notebook cell, the next CLI run — gets them back
// instead of computing them again.
//
// The idea is memoization across processes. A [Key] is the SHA-256 of a kind (a namespace such as
// "embeddings") and the parts the value depends on, each prefixed with its length, so two different
// inputs never share a key:
//
//	key = SHA-256(len(kind) ‖ kind ‖ len(p₁) ‖ p₁ ‖ … ‖ len(pₙ) ‖ pₙ)
//
// Entries live in {dir}/{kind}/{key[0:2]}/{key}.entry, each a header (magic, format version, key,
// payload length, SHA-256 of the payload) followed by the payload. Writes are atomic (a temporary
// file renamed into place, package internal/atomicio), so a reader never sees half an entry, and a
// damaged entry (bad header, length or checksum) is reported as a miss and removed. The folder's size
// is capped ([Store.MaxBytes]): after a write that takes it over the cap, the least recently used
// entries are removed (reads refresh an entry's time) under a lock (internal/lockfile), so several
// processes can share one folder.
//
// Inputs: the folder ([DefaultDir]: $EMBEDTUNE_CACHE_DIR, else ~/.cache/embedtune/memo) and the cap
// ([DefaultMaxBytes], or $EMBEDTUNE_CACHE_MAX such as "2GiB"). `embedtune cache info` and
// `embedtune cache clear [KIND]` inspect and empty it.
//
// Related: model.CachedEncoder keeps embeddings here (keyed by the model's weights, the texts, the
// prompt, max_seq_length and pooling); kernel/nb memoizes notebook steps with [Memo].
//
//	s, err := cache.Default()
//	k := cache.NewKey("squares", []byte("12"))
//	v, err := cache.Memo(s, k, func() (int, error) { return 12 * 12, nil }) // computed once, then read back
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/internal/atomicio"
)

const (
	// DirEnv names the environment variable that chooses the folder (see DefaultDir).
	DirEnv = "EMBEDTUNE_CACHE_DIR"
	// MaxEnv names the environment variable that sets the size cap: a number of bytes with an
	// optional unit (KB, MB, GB, KiB, MiB, GiB), e.g. "2GiB"; "0" means no cap.
	MaxEnv = "EMBEDTUNE_CACHE_MAX"
	// DefaultMaxBytes is the size cap when $EMBEDTUNE_CACHE_MAX is unset.
	DefaultMaxBytes int64 = 4 << 30

	magic      = "EMBEDTUNE-CACHE\x00"
	version    = 1
	suffix     = ".entry"
	headerSize = len(magic) + 4 + sha256.Size + 8 + sha256.Size
	lockName   = ".lock"
)

// Key names an entry: the SHA-256 of its kind and the parts its value depends on (see NewKey).
type Key struct {
	kind string
	sum  [sha256.Size]byte
}

// NewKey hashes kind and parts, each prefixed with its length (see Hash). kind is also the entry's
// folder, so it must be a short lowercase name ([a-z0-9_-]).
func NewKey(kind string, parts ...[]byte) Key {
	h := NewHash()
	h.Part([]byte(kind))
	for _, p := range parts {
		h.Part(p)
	}
	return Key{kind: kind, sum: h.Sum()}
}

// Hash is the length-prefixed SHA-256 that keys and content fingerprints (model.SentenceTransformer's,
// evaluation.InformationRetrievalEvaluator's) are made of: each Part is written as its length (8 bytes,
// little-endian) then its bytes, so moving bytes from one part to the next changes the sum.
type Hash struct{ h hash.Hash }

// NewHash starts a Hash.
func NewHash() *Hash { return &Hash{h: sha256.New()} }

// Part adds one part.
func (h *Hash) Part(p []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
	h.h.Write(n[:])
	h.h.Write(p)
}

// PartString adds one part given as a string.
func (h *Hash) PartString(s string) { h.Part([]byte(s)) }

// Sum returns the SHA-256 of the parts so far.
func (h *Hash) Sum() (sum [sha256.Size]byte) {
	h.h.Sum(sum[:0])
	return sum
}

// Hex returns Sum in hexadecimal.
func (h *Hash) Hex() string {
	s := h.Sum()
	return hex.EncodeToString(s[:])
}

// Kind returns the key's kind.
func (k Key) Kind() string { return k.kind }

// String returns the key as kind/hex.
func (k Key) String() string { return k.kind + "/" + hex.EncodeToString(k.sum[:]) }

var kindRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ErrCorrupt marks an entry that exists but cannot be used (Get reports it as a miss and removes it).
var ErrCorrupt = errors.New("corrupt cache entry")

// Store is one cache folder. Its methods are safe for concurrent use, also by several processes.
type Store struct {
	// Dir is the folder.
	Dir string
	// MaxBytes caps the total size of the entries; 0 means no cap.
	MaxBytes int64

	mu    sync.Mutex
	stats Stats
}

// Stats counts what a Store did in this process.
type Stats struct {
	Hits, Misses, Puts int
	// Corrupt counts damaged entries found (and removed) by Get.
	Corrupt int
	// Evicted counts entries removed to respect MaxBytes.
	Evicted int
}

// BaseDir returns embedtune's cache folder, <user cache dir>/embedtune (~/.cache/embedtune on Linux),
// which holds this store (memo/), fetched models (models/), assets (assets/) and derived data (data/).
func BaseDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: no user cache folder (%v): set HOME or XDG_CACHE_HOME", err)
	}
	return filepath.Join(base, "embedtune"), nil
}

// DefaultDir returns $EMBEDTUNE_CACHE_DIR, else BaseDir()/memo (~/.cache/embedtune/memo on Linux).
func DefaultDir() (string, error) {
	if v := strings.TrimSpace(os.Getenv(DirEnv)); v != "" {
		return v, nil
	}
	base, err := BaseDir()
	if err != nil {
		return "", fmt.Errorf("%w, or %s", err, DirEnv)
	}
	return filepath.Join(base, "memo"), nil
}

// DefaultMax returns the cap set by $EMBEDTUNE_CACHE_MAX, else DefaultMaxBytes.
func DefaultMax() (int64, error) {
	v := strings.TrimSpace(os.Getenv(MaxEnv))
	if v == "" {
		return DefaultMaxBytes, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("cache: %s=%q: %w", MaxEnv, v, err)
	}
	return n, nil
}

var sizeUnits = map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "tib": 1 << 40}

// ParseSize reads a size such as "512MiB", "2GB" or "1000000" (bytes).
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], t[i:]
	}
	mult, ok := sizeUnits[unit]
	x, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || x < 0 {
		return 0, fmt.Errorf("expected a size such as 2GiB, 500MB or a number of bytes")
	}
	return int64(x * float64(mult)), nil
}

// Open returns the store for dir with the given cap, creating the folder.
func Open(dir string, maxBytes int64) (*Store, error) {
	if dir == "" {
		return nil, errors.New("cache: empty folder name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: creating the folder: %w", err)
	}
	return &Store{Dir: dir, MaxBytes: maxBytes}, nil
}

// Default opens the store at DefaultDir with the cap of DefaultMax.
func Default() (*Store, error) {
	dir, err := DefaultDir()
	if err != nil {
		return nil, err
	}
	max, err := DefaultMax()
	if err != nil {
		return nil, err
	}
	return Open(dir, max)
}

func (s *Store) path(k Key) string {
	h := hex.EncodeToString(k.sum[:])
	return filepath.Join(s.Dir, k.kind, h[:2], h+suffix)
}

func checkKind(k Key) error {
	if !kindRe.MatchString(k.kind) {
		return fmt.Errorf("cache: kind %q: expected a short lowercase name ([a-z0-9_-])", k.kind)
	}
	return nil
}

// Get returns the payload stored under k; ok is false when there is none. A damaged entry is
// removed and reported as a miss (its error is not returned: the value is simply recomputed).
func (s *Store) Get(k Key) (payload []byte, ok bool, err error) {
	if err := checkKind(k); err != nil {
		return nil, false, err
	}
	p := s.path(k)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		s.count(func(st *Stats) { st.Misses++ })
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: reading %s: %w", p, err)
	}
	payload, err = decode(k, data)
	if err != nil {
		os.Remove(p)
		s.count(func(st *Stats) { st.Misses++; st.Corrupt++ })
		return nil, false, nil
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // Recently used: evicted last.
	s.count(func(st *Stats) { st.Hits++ })
	return payload, true, nil
}

// Put stores payload under k (atomically, replacing an existing entry), then evicts the least
// recently used entries if the folder is over its cap.
func (s *Store) Put(k Key, payload []byte) error {
	if err := checkKind(k); err != nil {
		return err
	}
	p := s.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := atomicio.WriteStream(p, 0o644, func(w io.Writer) error {
		if _, err := w.Write(header(k, payload)); err != nil {
			return err
		}
		_, err := w.Write(payload)
		return err
	}); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	s.count(func(st *Stats) { st.Puts++ })
	return s.evict(p)
}

func header(k Key, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	binary.Write(&b, binary.LittleEndian, uint32(version))
	b.Write(k.sum[:])
	binary.Write(&b, binary.LittleEndian, uint64(len(payload)))
	sum := sha256.Sum256(payload)
	b.Write(sum[:])
	return b.Bytes()
}

func decode(k Key, data []byte) ([]byte, error) {
	if len(data) < headerSize || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	h := data[len(magic):]
	if v := binary.LittleEndian.Uint32(h); v != version {
		return nil, fmt.Errorf("%w: format version %d, expected %d", ErrCorrupt, v, version)
	}
	h = h[4:]
	if !bytes.Equal(h[:sha256.Size], k.sum[:]) {
		return nil, fmt.Errorf("%w: the entry holds another key", ErrCorrupt)
	}
	h = h[sha256.Size:]
	n := binary.LittleEndian.Uint64(h)
	sum := h[8 : 8+sha256.Size]
	payload := data[headerSize:]
	if uint64(len(payload)) != n {
		return nil, fmt.Errorf("%w: %d bytes, the header says %d (truncated?)", ErrCorrupt, len(payload), n)
	}
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, nil
}

// Memo returns the value stored under k, or computes it, stores it (as JSON) and returns it. A
// failed computation is not stored. An entry that no longer decodes into T is recomputed.
func Memo[T any](s *Store, k Key, compute func() (T, error)) (T, error) {
	var v T
	if data, ok, err := s.Get(k); err != nil {
		return v, err
	} else if ok {
		if err := json.Unmarshal(data, &v); err == nil {
			return v, nil
		}
		v = *new(T)
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return v, fmt.Errorf("cache: encoding %s: %w", k, err)
	}
	return v, s.Put(k, data)
}

// Stats returns what the store did in this process so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Store) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}
