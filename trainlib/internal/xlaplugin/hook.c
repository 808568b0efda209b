//go:build !noxla && cgo

// The caching compile function of package xlacache (see doc.go), in C because it runs inside the PJRT
// plugin's function table.
//
// The PJRT C API is an ABI: PJRT_Api is a table of function pointers preceded by a header
// (struct_size, extension_start, then the version as {struct_size, extension_start, int major,
// int minor}), and every argument structure starts with {struct_size, extension_start}. Within a major
// version, fields are only ever appended, so the positions used below hold for every 0.x plugin whose
// table is long enough (checked at install). All the fields we use are pointers or sizes: the argument
// structures are modelled as arrays of machine words.
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"
#include "_cgo_export.h"

typedef uintptr_t word;
typedef void *(*pjrt_fn)(word *args); // Every PJRT API function: PJRT_Error* f(Args*).

// Positions (in words) in PJRT_Api: 5 header words, then the functions in the API's order.
enum {
  API_STRUCT_SIZE = 0,
  API_VERSION_MAJOR_MINOR = 4, // Two ints in one word.
  FN_BASE = 5,
  FN_ERROR_DESTROY = FN_BASE + 0,
  FN_ERROR_MESSAGE = FN_BASE + 1,
  FN_CLIENT_COMPILE = FN_BASE + 20,
  FN_EXECUTABLE_DESTROY = FN_BASE + 40,
  FN_EXECUTABLE_SERIALIZE = FN_BASE + 49,
  FN_LOADED_EXECUTABLE_DESTROY = FN_BASE + 50,
  FN_LOADED_EXECUTABLE_GET_EXECUTABLE = FN_BASE + 51,
  FN_EXECUTABLE_DESERIALIZE_AND_LOAD = FN_BASE + 56,
  FN_LAST_USED = FN_EXECUTABLE_DESERIALIZE_AND_LOAD,
};

// Argument structures: word positions of their fields and their sizes in words.
enum {
  // PJRT_Client_Compile_Args: client, program, compile_options, compile_options_size, executable (out).
  COMPILE_CLIENT = 2, COMPILE_PROGRAM = 3, COMPILE_OPTIONS = 4, COMPILE_OPTIONS_SIZE = 5, COMPILE_EXECUTABLE = 6,
  // PJRT_Program: code, code_size, format, format_size.
  PROGRAM_CODE = 2, PROGRAM_CODE_SIZE = 3, PROGRAM_FORMAT = 4, PROGRAM_FORMAT_SIZE = 5,
  // PJRT_Error_Destroy_Args / PJRT_Error_Message_Args: error, message (out), message_size (out).
  ERROR_ERROR = 2, ERROR_MESSAGE = 3, ERROR_MESSAGE_SIZE = 4, ERROR_DESTROY_WORDS = 3, ERROR_MESSAGE_WORDS = 5,
  // PJRT_LoadedExecutable_GetExecutable_Args: loaded_executable, executable (out).
  GETEXEC_LOADED = 2, GETEXEC_EXECUTABLE = 3, GETEXEC_WORDS = 4,
  // PJRT_Executable_Serialize_Args: executable, serialized_bytes, serialized_bytes_size, serialized_executable,
  // serialized_executable_deleter (all out but the first).
  SER_EXECUTABLE = 2, SER_BYTES = 3, SER_SIZE = 4, SER_HANDLE = 5, SER_DELETER = 6, SER_WORDS = 7,
  // PJRT_Executable_DeserializeAndLoad_Args: client, serialized_executable, size, loaded_executable (out),
  // overridden_serialized_compile_options, its size (both null: use the stored options). Plugins refuse
  // argument structures shorter than the ones they were built with, so the structures are as long as in
  // the PJRT API that go-xla v0.4.5 is built with (0.104).
  DESER_CLIENT = 2, DESER_BYTES = 3, DESER_SIZE = 4, DESER_LOADED = 5, DESER_WORDS = 8,
  // PJRT_Executable_Destroy_Args / PJRT_LoadedExecutable_Destroy_Args: executable.
  DESTROY_EXECUTABLE = 2, DESTROY_WORDS = 3,
};

#define MAX_SLOTS 8
static struct {
  word *api;
  pjrt_fn compile; // The plugin's own PJRT_Client_Compile.
} slots[MAX_SLOTS];
static int num_slots;
static pthread_mutex_t install_mu = PTHREAD_MUTEX_INITIALIZER;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *call(int slot, int fn, word *args) { return ((pjrt_fn)slots[slot].api[fn])(args); }

// error_text copies a PJRT error's message into a malloc'ed C string and destroys the error.
static char *error_text(int slot, void *err) {
  word margs[ERROR_MESSAGE_WORDS] = {sizeof(margs), 0, (word)err, 0, 0};
  ((void (*)(word *))slots[slot].api[FN_ERROR_MESSAGE])(margs);
  size_t n = (size_t)margs[ERROR_MESSAGE_SIZE];
  char *s = malloc(n + 1);
  if (s != NULL) {
    if (n > 0) memcpy(s, (const char *)margs[ERROR_MESSAGE], n);
    s[n] = 0;
  }
  word dargs[ERROR_DESTROY_WORDS] = {sizeof(dargs), 0, (word)err};
  ((void (*)(word *))slots[slot].api[FN_ERROR_DESTROY])(dargs);
  return s;
}

static void report(int slot, int event, const char *key, double seconds, size_t bytes, void *err) {
  char *msg = err != NULL ? error_text(slot, err) : NULL;
  embedtuneXLACacheReport(slot, event, (char *)key, seconds, (size_t)bytes, msg);
  free(msg);
}

// Events reported to Go (cache.go's eventKind).
enum { EV_HIT = 0, EV_MISS = 1, EV_LOAD_FAILED = 2, EV_SERIALIZE_FAILED = 3 };

// store serializes a freshly compiled executable and hands the bytes to Go.
static void store(int slot, const char *key, void *loaded, double compile_seconds) {
  word gargs[GETEXEC_WORDS] = {sizeof(gargs), 0, (word)loaded, 0};
  void *err = call(slot, FN_LOADED_EXECUTABLE_GET_EXECUTABLE, gargs);
  if (err != NULL) {
    report(slot, EV_SERIALIZE_FAILED, key, compile_seconds, 0, err);
    return;
  }
  void *exec = (void *)gargs[GETEXEC_EXECUTABLE];
  word sargs[SER_WORDS] = {sizeof(sargs), 0, (word)exec, 0, 0, 0, 0};
  err = call(slot, FN_EXECUTABLE_SERIALIZE, sargs);
  if (err != NULL) {
    report(slot, EV_SERIALIZE_FAILED, key, compile_seconds, 0, err);
  } else {
    embedtuneXLACacheStore(slot, (char *)key, (char *)sargs[SER_BYTES], (size_t)sargs[SER_SIZE], compile_seconds);
    if (sargs[SER_DELETER] != 0) ((void (*)(void *))sargs[SER_DELETER])((void *)sargs[SER_HANDLE]);
  }
  word dargs[DESTROY_WORDS] = {sizeof(dargs), 0, (word)exec};
  err = call(slot, FN_EXECUTABLE_DESTROY, dargs);
  if (err != NULL) free(error_text(slot, err));
}

// compile is what the plugin's table points at after install: look up, else compile and store.
static void *compile(int slot, word *args) {
  word *program = (word *)args[COMPILE_PROGRAM];
  char key[65];
  char *blob = NULL;
  size_t blob_size = 0;
  int found = embedtuneXLACacheLookup(slot, (char *)program[PROGRAM_FORMAT], (size_t)program[PROGRAM_FORMAT_SIZE],
                                      (char *)program[PROGRAM_CODE], (size_t)program[PROGRAM_CODE_SIZE],
                                      (char *)args[COMPILE_OPTIONS], (size_t)args[COMPILE_OPTIONS_SIZE], key, &blob,
                                      &blob_size);
  if (found < 0) return slots[slot].compile(args); // Cache disabled or key not computable.
  if (found) {
    double t0 = now_seconds();
    word dargs[DESER_WORDS] = {sizeof(dargs), 0, args[COMPILE_CLIENT], (word)blob, (word)blob_size, 0, 0, 0};
    void *err = call(slot, FN_EXECUTABLE_DESERIALIZE_AND_LOAD, dargs);
    free(blob);
    if (err == NULL && dargs[DESER_LOADED] != 0) {
      args[COMPILE_EXECUTABLE] = dargs[DESER_LOADED];
      report(slot, EV_HIT, key, now_seconds() - t0, blob_size, NULL);
      return NULL;
    }
    report(slot, EV_LOAD_FAILED, key, now_seconds() - t0, blob_size, err);
  }
  double t0 = now_seconds();
  void *err = slots[slot].compile(args);
  if (err != NULL) return err;
  double secs = now_seconds() - t0;
  report(slot, EV_MISS, key, secs, 0, NULL);
  store(slot, key, (void *)args[COMPILE_EXECUTABLE], secs);
  return NULL;
}

// One entry point per slot: the table holds plain function pointers.
#define HOOK(i) static void *hook##i(word *args) { return compile(i, args); }
HOOK(0) HOOK(1) HOOK(2) HOOK(3) HOOK(4) HOOK(5) HOOK(6) HOOK(7)
static const pjrt_fn hooks[MAX_SLOTS] = {hook0, hook1, hook2, hook3, hook4, hook5, hook6, hook7};

void embedtune_xlacache_api_version(void *api, int *major, int *minor) {
  int *v = (int *)&((word *)api)[API_VERSION_MAJOR_MINOR];
  *major = v[0];
  *minor = v[1];
}

int embedtune_xlacache_install(void *api_ptr, const char **err) {
  word *api = (word *)api_ptr;
  if ((size_t)api[API_STRUCT_SIZE] < (FN_LAST_USED + 1) * sizeof(word)) {
    *err = "the plugin's PJRT_Api table is too short (PJRT C API too old)";
    return -1;
  }
  pthread_mutex_lock(&install_mu);
  int slot = -1;
  for (int i = 0; i < num_slots; i++) {
    if (slots[i].api == api) slot = i;
  }
  if (slot < 0) {
    if (num_slots == MAX_SLOTS) {
      pthread_mutex_unlock(&install_mu);
      *err = "too many PJRT plugins in one process";
      return -1;
    }
    // The table is data the plugin filled in when it was first asked for it; make sure its page is
    // writable before changing one entry.
    long page = sysconf(_SC_PAGESIZE);
    word *entry = &api[FN_CLIENT_COMPILE];
    uintptr_t start = (uintptr_t)entry & ~(uintptr_t)(page - 1);
    if (mprotect((void *)start, (uintptr_t)(entry + 1) - start, PROT_READ | PROT_WRITE) != 0) {
      pthread_mutex_unlock(&install_mu);
      *err = "the plugin's PJRT_Api table cannot be made writable";
      return -1;
    }
    slot = num_slots;
    slots[slot].api = api;
    slots[slot].compile = (pjrt_fn)api[FN_CLIENT_COMPILE];
    __atomic_store_n(&api[FN_CLIENT_COMPILE], (word)hooks[slot], __ATOMIC_SEQ_CST);
    num_slots++;
  }
  pthread_mutex_unlock(&install_mu);
  return slot;
}
