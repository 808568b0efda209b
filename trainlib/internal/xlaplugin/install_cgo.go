//go:build !noxla && cgo

package xlaplugin

/*
#include <stdlib.h>
#include "hook.h"
*/
import "C"

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Available reports whether this build can install the cache (cgo and XLA compiled in).
const Available = true

// hooked is what the C hook's callbacks need for one plugin (slot).
type hooked struct {
	store    *Store
	salt     string
	log      io.Writer
	verbose  bool
	recorded sync.Map // Key → compile time recorded in the entry being loaded.
}

var (
	slotsMu sync.RWMutex
	slots   = map[int]*hooked{} // The C hook is process-wide: one entry per hooked plugin.
)

// Install routes every compilation of the PJRT plugin at pluginPath (already loaded by go-xla)
// through store. devices describes the devices programs are compiled for (part of the key, with the
// plugin file, its PJRT API version, the host CPU and $XLA_FLAGS). Failures (unusable entries,
// executables that cannot be stored) are written to log when it is not nil; with
// $EMBEDTUNE_XLA_CACHE_LOG=1, so are the loads and compilations of programs that took a second or more
// to compile ([Store.Stats] counts them all). Installing again for the same plugin replaces the
// store, salt and log.
func Install(pluginPath, devices string, store *Store, log io.Writer) error {
	api, err := loadAPI(pluginPath, true)
	if err != nil {
		return fmt.Errorf("XLA compile cache: %w", err)
	}
	var major, minor C.int
	C.embedtune_xlacache_api_version(api, &major, &minor)
	var cerr *C.char
	slot := int(C.embedtune_xlacache_install(api, &cerr))
	if slot < 0 {
		return fmt.Errorf("XLA compile cache: %s: %s", pluginPath, C.GoString(cerr))
	}
	salt, err := Salt(pluginPath, fmt.Sprintf("PJRT %d.%d", major, minor), devices)
	if err != nil {
		return err
	}
	slotsMu.Lock()
	slots[slot] = &hooked{store: store, salt: salt, log: log, verbose: os.Getenv(LogEnvVar) == "1"}
	slotsMu.Unlock()
	return nil
}

func slotState(slot C.int) *hooked {
	slotsMu.RLock()
	defer slotsMu.RUnlock()
	return slots[int(slot)]
}

// LogEnvVar set to 1 logs every load and compilation of a program that took a second or more to
// compile, not only failures.
const LogEnvVar = "EMBEDTUNE_XLA_CACHE_LOG"

// logf writes one line to the slot's log, if any.
func (h *hooked) logf(format string, args ...any) {
	if h.log != nil {
		fmt.Fprintf(h.log, "embedtune: XLA compile cache: "+format+"\n", args...)
	}
}

// LogThreshold: hits and misses of programs that compiled faster than this are not logged.
const LogThreshold = time.Second

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func shortKey(k string) string { return k[:min(12, len(k))] }

func mib(n int) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
