package backend

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/embedtune/embedtune/trainlib/internal/xlaplugin"
)

// compileCache opens the process's persistent XLA compile cache (xlaplugin.DefaultDir) once, when
// the first XLA backend is created.
var compileCache = sync.OnceValues(func() (*xlaplugin.Store, error) {
	cacheOpened.Store(true)
	return xlaplugin.Open(xlaplugin.DefaultDir())
})

// cacheOpened tells whether this process opened the cache (created an XLA backend).
var cacheOpened atomic.Bool

// CompileCacheInfo describes the persistent cache of compiled XLA executables: its folder and
// content, and what it did in this process.
type CompileCacheInfo struct {
	Dir     string `json:"dir"`
	Enabled bool   `json:"enabled"`
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`
	// Hits and Misses count this process's compilations loaded from the cache and compiled (then
	// stored); Failures the unusable entries and executables that could not be stored.
	Hits     int `json:"hits"`
	Misses   int `json:"misses"`
	Failures int `json:"failures,omitempty"`
	// SavedSec is the compile time the hits avoided, CompiledSec the compile time of the misses.
	SavedSec    float64 `json:"saved_seconds"`
	CompiledSec float64 `json:"compiled_seconds"`
	Error       string  `json:"error,omitempty"`
}

// CompileCacheStats returns the compile cache's state. It is enabled unless $EMBEDTUNE_XLA_CACHE
// is "off" or the build has no XLA.
func CompileCacheStats() CompileCacheInfo {
	info := CompileCacheInfo{Dir: xlaplugin.DefaultDir(), Enabled: xlaAvailable && xlaplugin.Available && !xlaplugin.Disabled()}
	if !info.Enabled {
		return info
	}
	if !cacheOpened.Load() { // Only look: no XLA backend in this process.
		info.Entries, info.Bytes = (&xlaplugin.Store{Dir: info.Dir}).Usage()
		return info
	}
	store, err := compileCache()
	if err != nil {
		info.Error = err.Error()
		return info
	}
	info.Entries, info.Bytes = store.Usage()
	st := store.Stats()
	info.Hits, info.Misses, info.Failures, info.Error = st.Hits, st.Misses, st.Failures, st.LastError
	info.SavedSec, info.CompiledSec = st.Saved.Seconds(), st.Compiled.Seconds()
	return info
}

// Since returns c with the process counters (hits, misses, failures, seconds) of before subtracted:
// what happened between two calls of [CompileCacheStats].
func (c CompileCacheInfo) Since(before CompileCacheInfo) CompileCacheInfo {
	c.Hits -= before.Hits
	c.Misses -= before.Misses
	c.Failures -= before.Failures
	c.SavedSec -= before.SavedSec
	c.CompiledSec -= before.CompiledSec
	return c
}

// Summary returns one line on what the cache did in this process ("" when it did nothing worth a
// line: no compilation that took or saved a second).
func (c CompileCacheInfo) Summary() string {
	if !c.Enabled || (c.SavedSec < 1 && c.CompiledSec < 1) {
		return ""
	}
	var parts []string
	if c.Hits > 0 {
		parts = append(parts, fmt.Sprintf("%d program(s) loaded instead of compiled (%.1f s saved)", c.Hits, c.SavedSec))
	}
	if c.Misses > 0 {
		parts = append(parts, fmt.Sprintf("%d compiled (%.1f s) and saved for the next run", c.Misses, c.CompiledSec))
	}
	return fmt.Sprintf("XLA compile cache (%s): %s", c.Dir, strings.Join(parts, ", "))
}
