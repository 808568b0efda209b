package backend

import (
	"os"
	"path/filepath"
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
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a real plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindPlugins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", dir)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("VIRTUAL_ENV", "")
	t.Setenv("CONDA_PREFIX", "")
	if p := FindCPUPlugin(); p != "" {
		t.Fatalf("found CPU plugin %s in an empty folder", p)
	}
	touch(t, filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"))
	touch(t, filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"))
	if p := FindCPUPlugin(); p != filepath.Join(dir, "pjrt_c_api_cpu_plugin.so") {
		t.Errorf("CPU plugin: %q", p)
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
}

// TestDefaultOrderWithoutPlugins falls back to the pure-Go backend when no plugin exists.
func TestDefaultOrderWithoutPlugins(t *testing.T) {
	t.Setenv(EnvVar, "")
	os.Unsetenv(EnvVar)
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("VIRTUAL_ENV", "")
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if FindCUDAPlugin() == "" && FindCPUPlugin() == "" && !IsGo(b) {
		t.Errorf("no plugins, got %s", Describe(b))
	}
}
