package backend

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// PJRTDirEnv names the folder (a Python virtual environment) where embedtune's scripts install PJRT
// plugins from PyPI: scripts/pjrt.sh installs the pinned XLA CPU plugin there, and the CUDA plugin
// (jax-cuda13-pjrt) can be added with its pip. Default: [DefaultPJRTDir].
const PJRTDirEnv = "EMBEDTUNE_PJRT_DIR"

// DefaultPJRTDir returns $EMBEDTUNE_PJRT_DIR, else <user cache dir>/embedtune/pjrt
// (~/.cache/embedtune/pjrt on Linux).
func DefaultPJRTDir() string {
	if v := os.Getenv(PJRTDirEnv); v != "" {
		return v
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "embedtune", "pjrt")
}

// cpuPluginFiles are the XLA CPU plugins' file names in plugin folders, and cpuPluginPackages their
// paths inside a Python site-packages folder, preferred first: the pinned PyPI package xla-cpu-pjrt
// (OpenXLA's build), then lammps-jax-pjrt-cpu (built from jaxlib's XLA), then go-xla's name.
var (
	cpuPluginFiles    = []string{"xla_cpu_pjrt.so", "pjrt_c_api_cpu_plugin.so", "pjrt_c_api_cpu_*_plugin.so"}
	cpuPluginPackages = []string{"xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so", "lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so"}
	cudaPluginFiles   = []string{"pjrt_c_api_cuda_plugin.so", "pjrt_c_api_cuda*_plugin.so"}
	// The plugin of Python's jax-cuda13-pjrt / jax-cuda12-pjrt.
	cudaPluginPackages = []string{"jax_plugins/xla_cuda13/xla_cuda_plugin.so", "jax_plugins/xla_cuda12/xla_cuda_plugin.so"}
)

// goXLADirs lists go-xla's plugin folders: $PJRT_PLUGIN_LIBRARY_PATH (":"-separated) when set, else
// ~/.local/lib/go-xla, /usr/local/lib/go-xla (and their nvidia/ folders), $LD_LIBRARY_PATH and the
// system library folders.
func goXLADirs() []string {
	if v, ok := os.LookupEnv("PJRT_PLUGIN_LIBRARY_PATH"); ok {
		return splitList(v)
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local", "lib", "go-xla"), filepath.Join(home, ".local", "lib", "go-xla", "nvidia"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia")
	dirs = append(dirs, splitList(os.Getenv("LD_LIBRARY_PATH"))...)
	return append(dirs, "/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
}

func splitList(v string) []string {
	var out []string
	for _, d := range strings.Split(v, ":") {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

// sitePackages lists the site-packages folders of the Python environment at prefix.
func sitePackages(prefix string) []string {
	if prefix == "" {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(prefix, "lib", "python3*", "site-packages"))
	sort.Sort(sort.Reverse(sort.StringSlice(m))) // Newest Python first.
	return m
}

// otherSitePackages lists Python site-packages folders besides embedtune's (virtualenvs first),
// without running Python.
func otherSitePackages() []string {
	var out []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		out = append(out, sitePackages(os.Getenv(env))...)
	}
	var patterns []string
	if home, err := os.UserHomeDir(); err == nil {
		patterns = append(patterns,
			filepath.Join(home, ".local", "lib", "python3*", "site-packages"),
			filepath.Join(home, ".pyenv", "versions", "*", "lib", "python3*", "site-packages"))
	}
	patterns = append(patterns,
		"/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
		"/usr/lib/python3/dist-packages", "/opt/conda/lib/python3*/site-packages")
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		sort.Sort(sort.Reverse(sort.StringSlice(m)))
		out = append(out, m...)
	}
	return out
}

// findPlugin searches, in order: the $PJRT_PLUGIN_LIBRARY_PATH folders when that is set; embedtune's
// PJRT environment ([DefaultPJRTDir]); go-xla's standard folders (when PJRT_PLUGIN_LIBRARY_PATH is
// not set); other Python environments.
func findPlugin(files, packages []string) string {
	inDirs := func(dirs []string) string {
		for _, d := range dirs {
			for _, f := range files {
				if m, _ := filepath.Glob(filepath.Join(d, f)); len(m) > 0 {
					return m[0]
				}
			}
		}
		return ""
	}
	inSites := func(sites []string) string {
		for _, sp := range sites {
			for _, p := range packages {
				if path := filepath.Join(sp, p); fileExists(path) {
					return path
				}
			}
		}
		return ""
	}
	_, explicit := os.LookupEnv("PJRT_PLUGIN_LIBRARY_PATH")
	if explicit {
		if p := inDirs(goXLADirs()); p != "" {
			return p
		}
	}
	if p := inSites(sitePackages(DefaultPJRTDir())); p != "" {
		return p
	}
	if !explicit {
		if p := inDirs(goXLADirs()); p != "" {
			return p
		}
	}
	return inSites(otherSitePackages())
}

// FindCPUPlugin returns the absolute path of an XLA CPU PJRT plugin, or "" when none is installed:
// xla_cpu_pjrt.so (PyPI xla-cpu-pjrt, what scripts/pjrt.sh installs), pjrt_c_api_cpu_plugin.so
// (PyPI lammps-jax-pjrt-cpu, or go-xla's installer) — see findPlugin for the folders.
func FindCPUPlugin() string { return absPath(findPlugin(cpuPluginFiles, cpuPluginPackages)) }

// FindCUDAPlugin returns the absolute path of a CUDA PJRT plugin, or "" when none is installed:
// pjrt_c_api_cuda*_plugin.so in plugin folders, or the plugin of Python's jax-cuda13-pjrt /
// jax-cuda12-pjrt (jax_plugins/xla_cuda1x/xla_cuda_plugin.so) — see findPlugin for the folders.
func FindCUDAPlugin() string { return absPath(findPlugin(cudaPluginFiles, cudaPluginPackages)) }

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
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
