// Declarations shared by hook.c and the Go side of package xlacache (see doc.go).
#ifndef EMBEDTUNE_XLACACHE_HOOK_H
#define EMBEDTUNE_XLACACHE_HOOK_H
#include <stddef.h>

// embedtune_xlacache_install puts the caching compile function in front of the plugin's own, in the
// function table (PJRT_Api) that api points at. It returns the slot (>= 0) that identifies the plugin in
// the callbacks below, or -1 with a static message in *err.
int embedtune_xlacache_install(void *api, const char **err);

// embedtune_xlacache_api_version returns the PJRT C API version the plugin reports.
void embedtune_xlacache_api_version(void *api, int *major, int *minor);

#endif
