package main

import (
	"encoding/json"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/hub"
)

// runEnv prints the execution environment as one JSON object.
func runEnv(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("env", "", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	info := map[string]any{
		"go_version":      runtime.Version(),
		"os_arch":         runtime.GOOS + "/" + runtime.GOARCH,
		"num_cpu":         runtime.NumCPU(),
		"gomlx_backend":   os.Getenv(backend.EnvVar),
		"cuda_pjrt":       backend.FindCUDAPlugin(),
		"cpu_pjrt":        backend.FindCPUPlugin(),
		"pjrt_dir":        backend.DefaultPJRTDir(),
		"module_versions": moduleVersions(),
	}
	hs := hub.ResolveEnv(os.Getenv)
	info["hf_endpoint"] = hs.Endpoint
	info["hf_home"] = hs.HFHome
	info["hf_hub_cache"] = hs.CacheDir
	info["hf_hub_offline"] = hs.Offline
	info["hf_token"] = map[bool]string{true: "set (" + hs.TokenSource + ")", false: "not set"}[hs.Token != ""]
	if lib, err := charts.FindLibrary(); err == nil {
		info["echarts"] = lib.Path
	} else {
		info["echarts"] = "missing: " + charts.InstallHint
	}
	if p := backend.FindCUDAPlugin(); p != "" {
		info["cuda_setup"] = backend.InspectCUDA(p) // What the CUDA plugin needs, found and missing.
	}
	// Which engine, why, and what would be faster (the same decision backend.Default makes).
	if c, err := backend.Choose(); err != nil {
		info["backend_error"] = err.Error()
	} else {
		info["engine"] = c
	}
	if b, err := backend.Default(); err != nil {
		info["backend_error"] = err.Error()
	} else {
		info["backend"] = b.Name()
		info["backend_description"] = b.Description()
		info["devices"] = b.NumDevices()
	}
	info["xla_compile_cache"] = backend.CompileCacheStats()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}

// moduleVersions returns the versions of the main dependencies compiled into this binary.
func moduleVersions() map[string]string {
	out := map[string]string{}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/gomlx/gomlx", "github.com/gomlx/compute", "github.com/gomlx/go-xla",
			"github.com/gomlx/go-huggingface", "github.com/go-echarts/go-echarts/v2", "github.com/daulet/tokenizers":
			out[d.Path] = d.Version
		}
	}
	return out
}
