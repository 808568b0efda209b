//go:build !noxla && cgo

package xlaplugin

// #include <stddef.h>
// #include <stdlib.h>
import "C"

import (
	"encoding/hex"
	"time"
	"unsafe"
)

// Events reported by hook.c.
const (
	eventHit = iota
	eventMiss
	eventLoadFailed
	eventSerializeFailed
)

func cBytes(p *C.char, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export embedtuneXLACacheLookup
func embedtuneXLACacheLookup(slot C.int, format *C.char, formatLen C.size_t, code *C.char, codeLen C.size_t,
	opts *C.char, optsLen C.size_t, key *C.char, blob **C.char, blobLen *C.size_t) C.int {
	h := slotState(slot)
	if h == nil {
		return -1
	}
	k := MakeKey(h.salt, cBytes(format, formatLen), cBytes(code, codeLen), cBytes(opts, optsLen))
	hexKey := k.String()
	out := unsafe.Slice((*byte)(unsafe.Pointer(key)), 65)
	copy(out, hexKey)
	out[64] = 0
	payload, recorded, err := h.store.Get(k)
	if err != nil {
		h.store.update(func(s *Stats) { s.Failures++; s.LastError = err.Error() })
		h.logf("ignoring an entry (%v); compiling again", err)
		return 0
	}
	if payload == nil {
		return 0
	}
	h.recorded.Store(hexKey, recorded)
	*blob = (*C.char)(C.CBytes(payload))
	*blobLen = C.size_t(len(payload))
	return 1
}

//export embedtuneXLACacheStore
func embedtuneXLACacheStore(slot C.int, key *C.char, data *C.char, size C.size_t, compileSeconds C.double) {
	h := slotState(slot)
	if h == nil {
		return
	}
	var k Key
	if _, err := hex.Decode(k[:], []byte(C.GoString(key))); err != nil {
		return
	}
	compile := time.Duration(float64(compileSeconds) * float64(time.Second))
	if err := h.store.Put(k, cBytes(data, size), compile); err != nil {
		h.store.update(func(s *Stats) { s.Failures++; s.LastError = err.Error() })
		h.logf("could not save program %s: %v", shortKey(k.String()), err)
		return
	}
	if h.verbose && compile >= LogThreshold {
		h.logf("compiled program %s in %s; saved for the next run (%s in %s)", shortKey(k.String()), seconds(compile), mib(int(size)), h.store.Dir)
	}
}

//export embedtuneXLACacheReport
func embedtuneXLACacheReport(slot C.int, event C.int, key *C.char, secs C.double, size C.size_t, msg *C.char) {
	h := slotState(slot)
	if h == nil {
		return
	}
	k := C.GoString(key)
	d := time.Duration(float64(secs) * float64(time.Second))
	switch event {
	case eventHit:
		var recorded time.Duration
		if v, ok := h.recorded.LoadAndDelete(k); ok {
			recorded = v.(time.Duration)
		}
		h.store.update(func(s *Stats) { s.Hits++; s.Saved += max(recorded-d, 0) })
		if h.verbose && recorded >= LogThreshold {
			h.logf("loaded program %s (%s) in %s instead of compiling it (%s)", shortKey(k), mib(int(size)), seconds(d), seconds(recorded))
		}
	case eventMiss:
		h.store.update(func(s *Stats) { s.Misses++; s.Compiled += d })
	case eventLoadFailed:
		h.recorded.Delete(k)
		m := C.GoString(msg)
		h.store.update(func(s *Stats) { s.Failures++; s.LastError = m })
		h.logf("the plugin could not load program %s (%s); compiling it again", shortKey(k), m)
	case eventSerializeFailed:
		m := C.GoString(msg)
		h.store.update(func(s *Stats) { s.Failures++; s.LastError = m })
		h.logf("the plugin could not serialize program %s (%s); it will be compiled again next time", shortKey(k), m)
	}
}
