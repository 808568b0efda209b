package backend

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pluginDirs lists where PJRT plugins are searched, in order: $PJRT_PLUGIN_LIBRARY_PATH (":"-separated)
// when set, else go-xla's standard folders and the system library folders.
func pluginDirs() []string {
	if v, ok := os.LookupEnv("PJRT_PLUGIN_LIBRARY_PATH"); ok {
		var dirs []string
		for _, d := range strings.Split(v, ":") {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
		return dirs
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local", "lib", "go-xla"), filepath.Join(home, ".local", "lib", "go-xla", "nvidia"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia")
	for _, d := range strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return append(dirs, "/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu")
}

// pythonSitePackages lists candidate Python site-packages folders (virtualenvs first), without running Python.
func pythonSitePackages() []string {
	var patterns []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := os.Getenv(env); v != "" {
			patterns = append(patterns, filepath.Join(v, "lib", "python3*", "site-packages"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		patterns = append(patterns,
			filepath.Join(home, ".local", "lib", "python3*", "site-packages"),
			filepath.Join(home, ".pyenv", "versions", "*", "lib", "python3*", "site-packages"))
	}
	patterns = append(patterns,
		"/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
		"/usr/lib/python3/dist-packages", "/opt/conda/lib/python3*/site-packages")
	var out []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		sort.Sort(sort.Reverse(sort.StringSlice(m))) // Newest Python first.
		out = append(out, m...)
	}
	return out
}

// FindCUDAPlugin returns the absolute path of a CUDA PJRT plugin, or "" when none is installed.
// It looks for pjrt_c_api_cuda*_plugin.so in the plugin folders, then for the plugin shipped by the
// Python packages jax-cuda13-pjrt / jax-cuda12-pjrt (jax_plugins/xla_cuda1x/xla_cuda_plugin.so).
func FindCUDAPlugin() string {
	for _, d := range pluginDirs() {
		if m, _ := filepath.Glob(filepath.Join(d, "pjrt_c_api_cuda*_plugin.so")); len(m) > 0 {
			return m[0]
		}
	}
	for _, sp := range pythonSitePackages() {
		for _, v := range []string{"xla_cuda13", "xla_cuda12"} {
			p := filepath.Join(sp, "jax_plugins", v, "xla_cuda_plugin.so")
			if fileExists(p) {
				return p
			}
		}
	}
	return ""
}

// FindCPUPlugin returns the absolute path of the XLA CPU PJRT plugin (pjrt_c_api_cpu*_plugin.so), or "".
func FindCPUPlugin() string {
	for _, d := range pluginDirs() {
		if m, _ := filepath.Glob(filepath.Join(d, "pjrt_c_api_cpu*_plugin.so")); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

// hasNVIDIADevice reports whether the machine exposes an NVIDIA GPU device node.
func hasNVIDIADevice() bool {
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return len(m) > 0
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
