package backend

import (
	"sync"

	"github.com/embedtune/embedtune/trainlib/internal/xlaplugin"
)

// compileCache opens the process's persistent XLA compile cache (xlaplugin.DefaultDir) once.
var compileCache = sync.OnceValues(func() (*xlaplugin.Store, error) { return xlaplugin.Open(xlaplugin.DefaultDir()) })

// CompileCacheInfo describes the persistent cache of compiled XLA executables: its folder and
// content, and what it did in this process.
type CompileCacheInfo struct {
	Dir     string `json:"dir"`
	Enabled bool   `json:"enabled"`
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`
	// Hits and Misses count this process's compilations loaded from the cache and compiled (then
	// stored); Failures the unusable entries and executables that could not be stored.
	Hits     int     `json:"hits"`
	Misses   int     `json:"misses"`
	Failures int     `json:"failures,omitempty"`
	SavedSec float64 `json:"saved_seconds"`
	Error    string  `json:"error,omitempty"`
}

// CompileCacheStats returns the compile cache's state. It is enabled unless $EMBEDTUNE_XLA_CACHE
// is "off" or the build has no XLA.
func CompileCacheStats() CompileCacheInfo {
	info := CompileCacheInfo{Dir: xlaplugin.DefaultDir(), Enabled: xlaAvailable && xlaplugin.Available && !xlaplugin.Disabled()}
	if !info.Enabled {
		return info
	}
	store, err := compileCache()
	if err != nil {
		info.Error = err.Error()
		return info
	}
	info.Entries, info.Bytes = store.Usage()
	st := store.Stats()
	info.Hits, info.Misses, info.Failures, info.SavedSec, info.Error = st.Hits, st.Misses, st.Failures, st.Saved.Seconds(), st.LastError
	return info
}
