package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCUDA13 lays out what pip installs for jax-cuda13-pjrt with its CUDA libraries
// ('jax-cuda13-plugin[with-cuda]'), and a driver library in an LD_LIBRARY_PATH folder.
func fakeCUDA13(t *testing.T) (site, plugin string) {
	t.Helper()
	site = filepath.Join(t.TempDir(), "lib", "python3.12", "site-packages")
	plugin = filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	files := []string{plugin, "nvidia/cu13/bin/ptxas", "nvidia/cu13/nvvm/libdevice/libdevice.10.bc",
		"nvidia/cu13/lib/libcudart.so.13", "nvidia/cu13/lib/libcublas.so.13", "nvidia/cu13/lib/libcublasLt.so.13",
		"nvidia/cu13/lib/libcufft.so.12", "nvidia/cu13/lib/libcusolver.so.12", "nvidia/cu13/lib/libcusparse.so.12",
		"nvidia/cu13/lib/libnvJitLink.so.13", "nvidia/cudnn/lib/libcudnn.so.9", "nvidia/nccl/lib/libnccl.so.2"}
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(site, f)
		}
		touch(t, f)
	}
	driver := t.TempDir()
	touch(t, filepath.Join(driver, "libcuda.so.1"))
	t.Setenv("LD_LIBRARY_PATH", driver)
	t.Setenv("CUDA_HOME", "")
	t.Setenv("CUDA_PATH", "")
	t.Setenv("PATH", t.TempDir())
	return site, plugin
}

func TestInspectCUDAPipLayout(t *testing.T) {
	site, plugin := fakeCUDA13(t)
	s := InspectCUDA(plugin)
	if err := s.Err(); err != nil || len(s.Warnings) != 0 {
		t.Fatalf("complete layout: %v, warnings %v", err, s.Warnings)
	}
	if s.CUDAMajor != 13 || s.DataDir != filepath.Join(site, "nvidia", "cu13") {
		t.Errorf("CUDA %d, data dir %q", s.CUDAMajor, s.DataDir)
	}
	if s.Found["libcudnn.so.9"] != filepath.Join(site, "nvidia", "cudnn", "lib", "libcudnn.so.9") || s.Found["ptxas"] == "" {
		t.Errorf("found: %v", s.Found)
	}

	// XLA is pointed at the data folder; a flag the user set is kept.
	t.Setenv("XLA_FLAGS", "--xla_gpu_autotune_level=0")
	t.Setenv("GOPJRT_CUDA_CHECKS", "")
	if err := prepareCUDA(plugin); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("XLA_FLAGS"); got != "--xla_gpu_autotune_level=0 --xla_gpu_cuda_data_dir="+filepath.Join(site, "nvidia", "cu13") {
		t.Errorf("XLA_FLAGS = %q", got)
	}
	t.Setenv("XLA_FLAGS", "--xla_gpu_cuda_data_dir=/opt/cuda")
	prepareCUDA(plugin)
	if got := os.Getenv("XLA_FLAGS"); got != "--xla_gpu_cuda_data_dir=/opt/cuda" {
		t.Errorf("the user's data dir was changed: %q", got)
	}

	// Missing pieces are named in plain words with the pip package that provides them.
	for _, c := range []struct{ remove, want string }{
		{"nvidia/cu13/nvvm", "libdevice"},
		{"nvidia/cudnn", "cuDNN 9 (libcudnn.so.9): pip package nvidia-cudnn-cu13"},
		{"nvidia/cu13/lib/libcublas.so.13", "cuBLAS (libcublas.so.13): pip package nvidia-cublas"},
	} {
		site, plugin := fakeCUDA13(t)
		os.RemoveAll(filepath.Join(site, c.remove))
		err := InspectCUDA(plugin).Err()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "jax-cuda13-plugin[with-cuda]") || !strings.Contains(err.Error(), plugin) {
			t.Errorf("without %s: %v", c.remove, err)
		}
		if err := prepareCUDA(plugin); err == nil {
			t.Errorf("without %s: prepareCUDA succeeded", c.remove)
		}
	}
	// ptxas and NCCL are recommended, not required.
	site, plugin = fakeCUDA13(t)
	os.Remove(filepath.Join(site, "nvidia", "cu13", "bin", "ptxas"))
	os.RemoveAll(filepath.Join(site, "nvidia", "nccl"))
	s = InspectCUDA(plugin)
	if s.Err() != nil || len(s.Warnings) != 2 || !strings.Contains(strings.Join(s.Warnings, " "), "nvidia-cuda-nvcc") {
		t.Errorf("without ptxas and NCCL: %v, warnings %v", s.Err(), s.Warnings)
	}
	// No driver library.
	t.Setenv("LD_LIBRARY_PATH", "")
	if findIn(systemLibDirs(), "libcuda.so.1") == "" {
		if err := InspectCUDA(plugin).Err(); err == nil || !strings.Contains(err.Error(), "libcuda.so.1") {
			t.Errorf("without the driver: %v", err)
		}
	}
}

// TestInspectCUDA12 checks the CUDA 12 pip layout (one folder per package).
func TestInspectCUDA12(t *testing.T) {
	site := filepath.Join(t.TempDir(), "site-packages")
	plugin := filepath.Join(site, "jax_plugins", "xla_cuda12", "xla_cuda_plugin.so")
	for _, f := range []string{"nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc", "nvidia/cuda_nvcc/bin/ptxas",
		"nvidia/cuda_runtime/lib/libcudart.so.12", "nvidia/cublas/lib/libcublas.so.12", "nvidia/cublas/lib/libcublasLt.so.12",
		"nvidia/cufft/lib/libcufft.so.11", "nvidia/cusolver/lib/libcusolver.so.11", "nvidia/cusparse/lib/libcusparse.so.12",
		"nvidia/nvjitlink/lib/libnvJitLink.so.12", "nvidia/nccl/lib/libnccl.so.2"} {
		touch(t, filepath.Join(site, f))
	}
	touch(t, plugin)
	driver := t.TempDir()
	touch(t, filepath.Join(driver, "libcuda.so.1"))
	t.Setenv("LD_LIBRARY_PATH", driver)
	s := InspectCUDA(plugin)
	if s.CUDAMajor != 12 || s.DataDir != filepath.Join(site, "nvidia", "cuda_nvcc") {
		t.Errorf("CUDA %d, data dir %q", s.CUDAMajor, s.DataDir)
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "nvidia-cudnn-cu12") || !strings.Contains(err.Error(), "jax-cuda12-plugin") {
		t.Errorf("without cuDNN: %v", err)
	}
}
