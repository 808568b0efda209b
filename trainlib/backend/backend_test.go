package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestNewGoBackend(t *testing.T) {
	for _, cfg := range []string{"go", "go:ops_sequential", "go:ops_sequential,parallelism=2"} {
		b, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		if !IsGo(b) {
			t.Errorf("%s: got %s", cfg, Describe(b))
		}
	}
	t.Setenv(EnvVar, "go")
	b, err := New("")
	if err != nil || !IsGo(b) {
		t.Fatalf("GOMLX_BACKEND=go: %v %v", b, err)
	}
	c, err := Choose()
	if err != nil || c.Engine != EngineGo || !c.Explicit || !strings.Contains(c.Why, "GOMLX_BACKEND=go") {
		t.Errorf("Choose with GOMLX_BACKEND=go: %+v, %v", c, err)
	}
}

// TestBadConfigIsAnError checks explicit choices never panic nor fall back silently.
func TestBadConfigIsAnError(t *testing.T) {
	for _, cfg := range []string{"nosuchbackend", "go:bogus_option", "xla:/no/such/pjrt_c_api_cuda_plugin.so"} {
		b, err := New(cfg)
		if err == nil {
			t.Errorf("%s: got backend %s, want an error", cfg, Describe(b))
			continue
		}
		if !strings.Contains(err.Error(), strings.SplitN(cfg, ":", 2)[0]) {
			t.Errorf("%s: error %q does not name the configuration", cfg, err)
		}
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	writeFile(t, path, []byte("not a real plugin"))
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// isolate makes plugin discovery see only what the test puts in place.
func isolate(t *testing.T) (pjrtDir string) {
	t.Helper()
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("VIRTUAL_ENV", "")
	t.Setenv("CONDA_PREFIX", "")
	pjrtDir = t.TempDir()
	t.Setenv(PJRTDirEnv, pjrtDir)
	t.Setenv(EnvVar, "")
	os.Unsetenv(EnvVar)
	return pjrtDir
}

func TestFindPlugins(t *testing.T) {
	pjrtDir := isolate(t)
	dir := os.Getenv("PJRT_PLUGIN_LIBRARY_PATH")
	if p := FindCPUPlugin(); p != "" {
		t.Fatalf("found CPU plugin %s in empty folders", p)
	}
	// embedtune's PJRT environment (scripts/pjrt.sh), both PyPI packages' layouts: xla-cpu-pjrt first.
	site := filepath.Join(pjrtDir, "lib", "python3.11", "site-packages")
	lammps := filepath.Join(site, "lammps_jax_pjrt_cpu", "pjrt_c_api_cpu_plugin.so")
	touch(t, lammps)
	if p := FindCPUPlugin(); p != lammps {
		t.Errorf("lammps-jax-pjrt-cpu layout: got %q, want %q", p, lammps)
	}
	xcp := filepath.Join(site, "xla_plugins", "xla_cpu_pjrt", "xla_cpu_pjrt.so")
	touch(t, xcp)
	if p := FindCPUPlugin(); p != xcp {
		t.Errorf("xla-cpu-pjrt layout: got %q, want %q", p, xcp)
	}
	// $PJRT_PLUGIN_LIBRARY_PATH, when set, comes first; both file names count.
	touch(t, filepath.Join(dir, "xla_cpu_pjrt.so"))
	touch(t, filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"))
	if p := FindCPUPlugin(); p != filepath.Join(dir, "xla_cpu_pjrt.so") {
		t.Errorf("CPU plugin in PJRT_PLUGIN_LIBRARY_PATH: %q", p)
	}
	if p := FindCUDAPlugin(); p != filepath.Join(dir, "pjrt_c_api_cuda_plugin.so") {
		t.Errorf("CUDA plugin: %q", p)
	}

	// The plugin shipped by Python's jax-cuda13-pjrt inside a virtualenv.
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	venv := t.TempDir()
	t.Setenv("VIRTUAL_ENV", venv)
	plugin := filepath.Join(venv, "lib", "python3.11", "site-packages", "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	touch(t, plugin)
	if p := FindCUDAPlugin(); p != plugin {
		t.Errorf("jax-cuda13-pjrt plugin: got %q, want %q", p, plugin)
	}
	// go-xla's folder, when PJRT_PLUGIN_LIBRARY_PATH is not set: after embedtune's environment.
	os.Unsetenv("PJRT_PLUGIN_LIBRARY_PATH")
	touch(t, filepath.Join(os.Getenv("HOME"), ".local", "lib", "go-xla", "pjrt_c_api_cpu_plugin.so"))
	if p := FindCPUPlugin(); p != xcp {
		t.Errorf("with go-xla's folder too: got %q, want embedtune's %q", p, xcp)
	}
}

// TestDefaultOrderWithoutPlugins falls back to the pure-Go backend when no plugin exists, and says
// what to install.
func TestDefaultOrderWithoutPlugins(t *testing.T) {
	isolate(t)
	c, err := Choose()
	if err != nil {
		t.Fatal(err)
	}
	if !hasNVIDIADevice() && (c.Engine != EngineGo || !strings.Contains(c.Faster, "scripts/pjrt.sh") || c.Why == "") {
		t.Errorf("no plugins: %+v", c)
	}
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if FindCUDAPlugin() == "" && FindCPUPlugin() == "" && !IsGo(b) {
		t.Errorf("no plugins, got %s", Describe(b))
	}
}

// realCPUPlugin returns the installed XLA CPU plugin (scripts/pjrt.sh), skipping the test when there
// is none unless EMBEDTUNE_REQUIRE_XLA=1.
func realCPUPlugin(t *testing.T) string {
	t.Helper()
	p := FindCPUPlugin()
	if p == "" || !xlaAvailable {
		if os.Getenv("EMBEDTUNE_REQUIRE_XLA") == "1" && xlaAvailable {
			t.Fatal("no XLA CPU plugin installed (EMBEDTUNE_REQUIRE_XLA=1): run scripts/pjrt.sh")
		}
		t.Skip("no XLA CPU plugin installed (scripts/pjrt.sh)")
	}
	return p
}

// badPlugins writes real broken files into dir: each is what a user could end up with.
func badPlugins(t *testing.T, real, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	// A download cut short: the first MiB of the real plugin.
	f, err := os.Open(real)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1<<20)
	if _, err := f.Read(head); err != nil {
		t.Fatal(err)
	}
	f.Close()
	files["truncated"] = filepath.Join(dir, "truncated", "xla_cpu_pjrt.so")
	writeFile(t, files["truncated"], head)
	// An HTML error page saved under the plugin's name.
	files["not ELF"] = filepath.Join(dir, "html", "xla_cpu_pjrt.so")
	writeFile(t, files["not ELF"], []byte("<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n"))
	// A shared library of this system that is not a PJRT plugin, and the same library for another
	// architecture (its ELF machine field says AArch64, or x86-64 on an arm64 host).
	lib := systemLibrary(t)
	data, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	files["not a plugin"] = filepath.Join(dir, "notplugin", "xla_cpu_pjrt.so")
	writeFile(t, files["not a plugin"], data)
	other := append([]byte(nil), data...)
	machine := uint16(183) // EM_AARCH64
	if runtime.GOARCH == "arm64" {
		machine = 62 // EM_X86_64
	}
	other[18], other[19] = byte(machine), byte(machine>>8)
	files["wrong architecture"] = filepath.Join(dir, "otherarch", "xla_cpu_pjrt.so")
	writeFile(t, files["wrong architecture"], other)
	if old := oldPlugin(t, dir); old != "" {
		files["too old"] = old
	}
	files["missing"] = filepath.Join(dir, "missing", "xla_cpu_pjrt.so")
	return files
}

// systemLibrary returns a small shared library of the system (libm).
func systemLibrary(t *testing.T) string {
	for _, p := range []string{"/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6", "/lib64/libm.so.6", "/usr/lib64/libm.so.6"} {
		if fileExists(p) {
			return p
		}
	}
	t.Skip("no libm.so.6 found")
	return ""
}

// oldPlugin compiles a shared library that exports GetPjrtApi with a PJRT C API 0.30 table (with
// the system's C compiler, which cgo needs anyway); "" when there is no compiler.
func oldPlugin(t *testing.T, dir string) string {
	cc, err := exec.LookPath("cc")
	if err != nil {
		if cc, err = exec.LookPath("gcc"); err != nil {
			return ""
		}
	}
	src := filepath.Join(dir, "old.c")
	writeFile(t, src, []byte(`#include <stddef.h>
struct version { size_t struct_size; void *ext; int major, minor; };
static struct { size_t struct_size; void *ext; struct version v; void *fns[40]; } api = {
	sizeof(api), NULL, {sizeof(struct version), NULL, 0, 30}, {0}};
void *GetPjrtApi(void) { return &api; }
`))
	out := filepath.Join(dir, "old", "xla_cpu_pjrt.so")
	os.MkdirAll(filepath.Dir(out), 0o755)
	if b, err := exec.Command(cc, "-shared", "-fPIC", "-o", out, src).CombinedOutput(); err != nil {
		t.Logf("could not build the old-API plugin: %v\n%s", err, b)
		return ""
	}
	return out
}

// TestBadPlugins: a plugin file that is missing, truncated, not a library, not a plugin, for another
// architecture or too old gives an error naming the file, the problem and GOMLX_BACKEND=go — both when
// named explicitly and when found by the automatic search (never a silent fallback).
func TestBadPlugins(t *testing.T) {
	real := realCPUPlugin(t)
	dir := t.TempDir()
	problems := map[string]string{
		"truncated": "truncated", "not ELF": "not a shared library", "not a plugin": "GetPjrtApi",
		"wrong architecture": "built for", "too old": "too old", "missing": "does not exist",
	}
	for kind, file := range badPlugins(t, real, dir) {
		check := func(how string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s plugin, %s: no error", kind, how)
				return
			}
			for _, want := range []string{file, problems[kind], "GOMLX_BACKEND=go"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s plugin, %s: error %q does not mention %q", kind, how, err, want)
				}
			}
		}
		_, err := New("xla:" + file)
		check("explicit", err)
		t.Run(kind, func(t *testing.T) {
			t.Setenv(EnvVar, "xla:"+file)
			_, err := New("")
			check("GOMLX_BACKEND", err)
			if kind == "missing" {
				return
			}
			// Found by the automatic search in embedtune's PJRT environment.
			pjrtDir := isolate(t)
			site := filepath.Join(pjrtDir, "lib", "python3.11", "site-packages", "xla_plugins", "xla_cpu_pjrt")
			os.MkdirAll(site, 0o755)
			if err := os.Symlink(file, filepath.Join(site, "xla_cpu_pjrt.so")); err != nil {
				t.Fatal(err)
			}
			file = filepath.Join(site, "xla_cpu_pjrt.so")
			_, err = New("")
			check("automatic", err)
			if _, err := Choose(); err == nil {
				t.Errorf("%s plugin: Choose gave no error", kind)
			}
		})
	}
}

// TestRealCPUPlugin: the installed plugin is what the automatic order picks (no GPU here) and runs.
func TestRealCPUPlugin(t *testing.T) {
	real := realCPUPlugin(t)
	os.Unsetenv(EnvVar)
	t.Setenv(EnvVar, "")
	os.Unsetenv(EnvVar)
	c, err := Choose()
	if err != nil {
		t.Fatal(err)
	}
	if hasNVIDIADevice() && FindCUDAPlugin() != "" {
		t.Skip("this machine has a GPU and a CUDA plugin")
	}
	if c.Engine != EngineCPU || c.Plugin != real || c.APIVersion == "" || c.Explicit {
		t.Errorf("Choose: %+v, want XLA CPU with %s", c, real)
	}
	for _, cfg := range []string{"xla:cpu", "xla", "xla:" + real} {
		b, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		if b.Name() != "xla" || IsGo(b) {
			t.Errorf("%s: got %s", cfg, Describe(b))
		}
	}
}
