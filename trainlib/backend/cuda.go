package backend

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// CUDASetup is what the CUDA PJRT plugin needs around it, found and missing. XLA's CUDA plugin
// loads the CUDA libraries (cuBLAS, cuDNN, cuFFT, ...) at run time, through the library path
// or its own RPATH, which for Python's jax-cuda13-pjrt points at the nvidia-* pip packages next to it
// (site-packages/nvidia/cu13/lib, nvidia/cudnn/lib, ...); and to compile it needs CUDA's libdevice
// (nvvm/libdevice/libdevice.10.bc) and preferably ptxas (bin/ptxas) under one folder that it is told
// with XLA_FLAGS=--xla_gpu_cuda_data_dir=DIR. go-xla only looks for that folder in
// dirname(dirname(plugin))/nvidia, which is not where pip puts it; [InspectCUDA] finds it.
type CUDASetup struct {
	Plugin string `json:"plugin"`
	// CUDAMajor is the CUDA major version the plugin is built for (13 for xla_cuda13, 0 if unknown).
	CUDAMajor int `json:"cuda_major,omitempty"`
	// DataDir holds nvvm/libdevice (and bin/ptxas): the value for --xla_gpu_cuda_data_dir ("" if
	// none was found).
	DataDir string `json:"cuda_data_dir,omitempty"`
	// Found maps each library (and ptxas) to where it was found.
	Found map[string]string `json:"found,omitempty"`
	// Missing lists, in plain words, what is required and absent; Warnings what is recommended.
	Missing  []string `json:"missing,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// cudaLib is one library the plugin loads: its file name pattern (%d: the CUDA major), what it is,
// and the pip package that provides it (%d again).
type cudaLib struct {
	pattern, what, pip string
	optional           bool
}

var cudaLibs = []cudaLib{
	{"libcudart.so.%d*", "the CUDA runtime", "nvidia-cuda-runtime", false},
	{"libcublas.so.%d*", "cuBLAS", "nvidia-cublas", false},
	{"libcublasLt.so.%d*", "cuBLASLt", "nvidia-cublas", false},
	{"libcufft.so.*", "cuFFT", "nvidia-cufft", false},
	{"libcusolver.so.*", "cuSOLVER", "nvidia-cusolver", false},
	{"libcusparse.so.*", "cuSPARSE", "nvidia-cusparse", false},
	{"libnvJitLink.so.%d*", "nvJitLink", "nvidia-nvjitlink", false},
	{"libcudnn.so.9*", "cuDNN 9", "nvidia-cudnn-cu%d", false},
	{"libnccl.so.2*", "NCCL (multi-GPU collectives)", "nvidia-nccl-cu%d", true},
}

var reCUDAMajor = regexp.MustCompile(`xla_cuda(\d+)|cuda(\d+)`)

// InspectCUDA looks at what the CUDA plugin at path needs: the CUDA data folder, the CUDA libraries
// and the NVIDIA driver library. It only reads the file system.
func InspectCUDA(plugin string) CUDASetup {
	s := CUDASetup{Plugin: plugin, Found: map[string]string{}}
	if m := reCUDAMajor.FindStringSubmatch(plugin); m != nil {
		fmt.Sscan(m[1]+m[2], &s.CUDAMajor)
	}
	major := s.CUDAMajor
	if major == 0 {
		major = 13
	}
	roots := cudaRoots(plugin, major)
	for _, r := range roots {
		if fileExists(filepath.Join(r, "nvvm", "libdevice", "libdevice.10.bc")) {
			s.DataDir = r
			break
		}
	}
	if s.DataDir == "" {
		s.Missing = append(s.Missing, fmt.Sprintf("CUDA's libdevice (nvvm/libdevice/libdevice.10.bc), which XLA needs to compile: pip package %s (looked in %s)",
			pipName("nvidia-nvvm", "nvidia-cuda-nvcc-cu%d", major), strings.Join(roots, ", ")))
	}
	ptxas := ""
	for _, r := range append([]string{s.DataDir}, roots...) {
		if r != "" && fileExists(filepath.Join(r, "bin", "ptxas")) {
			ptxas = filepath.Join(r, "bin", "ptxas")
			break
		}
	}
	if ptxas == "" {
		for _, d := range splitList(os.Getenv("PATH")) {
			if fileExists(filepath.Join(d, "ptxas")) {
				ptxas = filepath.Join(d, "ptxas")
				break
			}
		}
	}
	if ptxas != "" {
		s.Found["ptxas"] = ptxas
	} else {
		s.Warnings = append(s.Warnings, fmt.Sprintf("ptxas not found (pip package %s): XLA then compiles through the driver, which can be slower or fail for new GPUs",
			pipName("nvidia-cuda-nvcc", "nvidia-cuda-nvcc-cu%d", major)))
	}
	dirs := libDirs(plugin, major)
	for _, l := range cudaLibs {
		pattern := l.pattern
		if strings.Contains(pattern, "%d") {
			pattern = fmt.Sprintf(pattern, major)
		}
		pkg := l.pip
		if strings.Contains(pkg, "%d") {
			pkg = fmt.Sprintf(pkg, major)
		} else if major == 12 {
			pkg += "-cu12"
		}
		if where := findIn(dirs, pattern); where != "" {
			s.Found[strings.TrimSuffix(pattern, "*")] = where
		} else if l.optional {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s (%s) not found: pip package %s", l.what, strings.TrimSuffix(pattern, "*"), pkg))
		} else {
			s.Missing = append(s.Missing, fmt.Sprintf("%s (%s): pip package %s", l.what, strings.TrimSuffix(pattern, "*"), pkg))
		}
	}
	if where := findIn(systemLibDirs(), "libcuda.so.1"); where != "" {
		s.Found["libcuda.so.1"] = where
	} else {
		s.Missing = append(s.Missing, "the NVIDIA driver's libcuda.so.1 (install the NVIDIA driver; in a container, run it with the NVIDIA container toolkit, e.g. docker run --gpus all)")
	}
	return s
}

func pipName(v13, v12 string, major int) string {
	if major == 12 {
		return fmt.Sprintf(v12, major)
	}
	return v13
}

// Err describes what is missing, with the fix, or returns nil.
func (s CUDASetup) Err() error {
	if len(s.Missing) == 0 {
		return nil
	}
	pipHint := "pip install 'jax-cuda13-plugin[with-cuda]' in the Python environment of the plugin"
	if s.CUDAMajor == 12 {
		pipHint = "pip install 'jax-cuda12-plugin[with-cuda]' in the Python environment of the plugin"
	}
	return fmt.Errorf("the CUDA PJRT plugin %s cannot run: missing %s. Fix: %s (or set LD_LIBRARY_PATH and XLA_FLAGS=--xla_gpu_cuda_data_dir=DIR for a CUDA installation elsewhere)",
		s.Plugin, strings.Join(s.Missing, "; "), pipHint)
}

// sitePackagesOf returns the site-packages folder of a plugin installed by a Python package
// (…/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so), or "".
func sitePackagesOf(plugin string) string {
	dir := filepath.Dir(plugin)
	if filepath.Base(filepath.Dir(dir)) == "jax_plugins" {
		return filepath.Dir(filepath.Dir(dir))
	}
	return ""
}

// cudaRoots lists candidate CUDA folders for --xla_gpu_cuda_data_dir, most specific first: the
// nvidia-* pip packages next to the plugin (nvidia/cu13 for CUDA 13, nvidia/cuda_nvcc for CUDA 12),
// go-xla's nvidia/ folder, $CUDA_HOME, $CUDA_PATH, /usr/local/cuda.
func cudaRoots(plugin string, major int) []string {
	var roots []string
	if sp := sitePackagesOf(plugin); sp != "" {
		roots = append(roots, filepath.Join(sp, "nvidia", fmt.Sprintf("cu%d", major)), filepath.Join(sp, "nvidia", "cuda_nvcc"))
	}
	roots = append(roots, filepath.Join(filepath.Dir(filepath.Dir(plugin)), "nvidia"))
	for _, env := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if v := os.Getenv(env); v != "" {
			roots = append(roots, v)
		}
	}
	return append(roots, "/usr/local/cuda", fmt.Sprintf("/usr/local/cuda-%d", major))
}

// libDirs lists where the plugin's loader finds libraries: the pip packages its RPATH points at,
// $LD_LIBRARY_PATH and the system's library folders.
func libDirs(plugin string, major int) []string {
	var dirs []string
	if sp := sitePackagesOf(plugin); sp != "" {
		nv := filepath.Join(sp, "nvidia")
		dirs = append(dirs, filepath.Join(nv, fmt.Sprintf("cu%d", major), "lib"), filepath.Join(nv, "cudnn", "lib"), filepath.Join(nv, "nccl", "lib"))
		if major == 12 {
			m, _ := filepath.Glob(filepath.Join(nv, "*", "lib"))
			dirs = append(dirs, m...)
		}
	}
	return append(dirs, systemLibDirs()...)
}

// systemLibDirs returns $LD_LIBRARY_PATH, the folders of /etc/ld.so.conf(.d) and the standard ones.
func systemLibDirs() []string {
	dirs := splitList(os.Getenv("LD_LIBRARY_PATH"))
	confs, _ := filepath.Glob("/etc/ld.so.conf.d/*.conf")
	for _, c := range append([]string{"/etc/ld.so.conf"}, confs...) {
		f, err := os.Open(c)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "/") {
				dirs = append(dirs, l)
			}
		}
		f.Close()
	}
	return append(dirs, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
		"/usr/lib64", "/lib64", "/usr/lib", "/usr/lib/wsl/lib")
}

func findIn(dirs []string, pattern string) string {
	for _, d := range dirs {
		if m, _ := filepath.Glob(filepath.Join(d, pattern)); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

// prepareCUDA checks the CUDA plugin's surroundings and points XLA at the CUDA data folder
// (XLA_FLAGS=--xla_gpu_cuda_data_dir, unless the flag is already set). It also turns off go-xla's
// own check, which looks only in dirname(dirname(plugin))/nvidia and would warn about a pip layout.
func prepareCUDA(plugin string) error {
	s := InspectCUDA(plugin)
	if err := s.Err(); err != nil {
		return err
	}
	flags := os.Getenv("XLA_FLAGS")
	if s.DataDir != "" && !strings.Contains(flags, "--xla_gpu_cuda_data_dir") {
		os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" --xla_gpu_cuda_data_dir="+s.DataDir))
	}
	if os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
		os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	}
	return nil
}
