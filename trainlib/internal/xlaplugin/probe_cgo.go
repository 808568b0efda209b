//go:build !noxla && cgo

package xlaplugin

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "hook.h"

static void *embedtune_call_get_pjrt_api(void *fn) { return ((void *(*)(void))fn)(); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Check runs [CheckFile], then loads the library and reads the PJRT C API version its table reports:
// it must be 0.x with x ≥ [MinAPIMinor]. The library stays loaded (go-xla loads it next).
func Check(path string) (Plugin, error) {
	if err := CheckFile(path); err != nil {
		return Plugin{}, err
	}
	api, err := loadAPI(path, false)
	if err != nil {
		return Plugin{}, err
	}
	var major, minor C.int
	C.embedtune_xlacache_api_version(api, &major, &minor)
	p := Plugin{Path: path, APIMajor: int(major), APIMinor: int(minor)}
	if p.APIMajor != 0 {
		return p, fmt.Errorf("PJRT plugin %s implements PJRT C API %s; this build (go-xla v0.4.5) understands 0.x only", path, p.APIVersion())
	}
	if p.APIMinor < MinAPIMinor {
		return p, fmt.Errorf("PJRT plugin %s is too old: PJRT C API %s, embedtune needs 0.%d or newer", path, p.APIVersion(), MinAPIMinor)
	}
	return p, nil
}

// loadAPI dlopens path (only if already loaded, with loadedOnly) and returns its PJRT_Api table.
func loadAPI(path string, loadedOnly bool) (unsafe.Pointer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	flags := C.int(C.RTLD_LAZY | C.RTLD_LOCAL)
	if loadedOnly {
		flags |= C.RTLD_NOLOAD
	}
	h := C.dlopen(cpath, flags) // Never closed: plugins stay loaded for the life of the process.
	if h == nil {
		if loadedOnly {
			return nil, fmt.Errorf("PJRT plugin %s is not loaded", path)
		}
		return nil, fmt.Errorf("PJRT plugin %s cannot be loaded: %s", path, C.GoString(C.dlerror()))
	}
	sym := C.CString("GetPjrtApi")
	defer C.free(unsafe.Pointer(sym))
	fn := C.dlsym(h, sym)
	if fn == nil {
		return nil, fmt.Errorf("PJRT plugin %s does not export GetPjrtApi", path)
	}
	api := C.embedtune_call_get_pjrt_api(fn)
	if api == nil {
		return nil, fmt.Errorf("PJRT plugin %s returned no PJRT API table", path)
	}
	return api, nil
}
