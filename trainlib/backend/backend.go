// Package backend selects the GoMLX compute backend embedtune runs on.
//
// Selection order (see [Choose] and [New]):
//
//  1. $GOMLX_BACKEND when set, e.g. "go", "go:ops_sequential", "xla:cuda", "xla:cpu" or
//     "xla:/abs/path/xla_cpu_pjrt.so". An explicit choice that fails is an error: it never silently
//     falls back.
//  2. XLA with a CUDA PJRT plugin, when the machine has an NVIDIA GPU and a plugin is found.
//  3. XLA CPU, when its plugin is installed: scripts/pjrt.sh installs the pinned PyPI package
//     xla-cpu-pjrt (sha256-verified) into embedtune's PJRT environment, [DefaultPJRTDir].
//  4. The pure-Go backend configured as [GoDefaultConfig], "go:parallelism=-1" (see below).
//
// The XLA CPU engine exposes one device unless $EMBEDTUNE_XLA_CPU_DEVICES asks for more host
// devices ([CPUDevicesEnv]; they run the multi-device training path, see trainlib's
// TrainingArguments.NumDevices).
//
// Plugins are searched in $PJRT_PLUGIN_LIBRARY_PATH (when set), embedtune's PJRT environment,
// go-xla's folders (~/.local/lib/go-xla, /usr/local/lib/go-xla, the system library path) and other
// Python environments (see [FindCPUPlugin], [FindCUDAPlugin]). A plugin that is found but cannot be
// used (truncated or damaged file, another architecture, a PJRT C API older than 0.81, a failing
// start) is an error that names the file and the alternatives, not a silent slower fallback.
//
// XLA backends compile each graph once per process; [New] installs a persistent cache of compiled
// executables (trainlib/internal/xlaplugin) so that later processes, e.g. the next notebook cell,
// load them instead ($EMBEDTUNE_XLA_CACHE: folder, or "off"; [CompileCacheStats]).
//
// # The pure-Go backend's configuration
//
// The Go backend runs independent operations of a graph concurrently (when a single computation
// is running) and splits each matrix multiplication between workers, both drawing from one
// worker pool. Its default pool has 2×GOMAXPROCS slots, and a slot is held while its task waits
// for more slots: an operation scheduled on the pool that multiplies matrices waits in
// Pool.Saturate for a free slot to start its own workers, so as soon as 2×GOMAXPROCS matrix
// multiplications are ready at the same time (4 on a 2-core machine; a training step's backward
// pass has two independent products per linear layer) every slot is held by a waiting task and
// the computation deadlocks. "parallelism=-1" makes the pool unbounded: scheduling never waits
// for a slot (each matrix multiplication still starts only GOMAXPROCS workers), so this cannot
// happen, and independent operations (the query and passage columns of a training step, the
// single-threaded element-wise operations of one with the products of the other, AdamW's
// per-parameter updates) use both cores. "go:ops_sequential" (one operation at a time, each
// product on every core) is the other configuration that cannot deadlock; it is slower for
// training. "go" alone means [GoDefaultConfig].
//
// MATMUL.md, next to this file, records how the Go backend computes matrix products, why no
// configuration or layout from our side makes them much faster, and what limits them.
//
// Nothing is ever downloaded at run time: go-xla's auto-installer is disabled.
// Building with -tags noxla removes XLA (and cgo) entirely.
//
// Example:
//
//	c, err := backend.Choose()        // what New("") will use, and why
//	fmt.Println(c.Engine, "-", c.Why)
//	b, err := backend.Default()
//	if err != nil { return err }
//	fmt.Println(backend.Describe(b))
package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/embedtune/embedtune/trainlib/internal/xlaplugin"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // Registers the pure-Go backend as "go".
)

// EnvVar is the environment variable that forces a backend configuration.
const EnvVar = compute.ConfigEnvVar

// GoDefaultConfig is the configuration used for the pure-Go backend when none is given: an
// unbounded worker pool, which cannot deadlock (see the package documentation).
const GoDefaultConfig = "go:parallelism=-1"

// Engines, as [Choice.Engine] names them.
const (
	EngineCUDA = "XLA CUDA"
	EngineCPU  = "XLA CPU"
	EngineGo   = "pure Go"
)

// InstallCPUHint says how to install the XLA CPU plugin.
const InstallCPUHint = "scripts/pjrt.sh in the embedtune repository installs the pinned XLA CPU plugin " +
	"(PyPI xla-cpu-pjrt 0.0.1, sha256-verified) into ~/.cache/embedtune/pjrt"

// installCUDAHint says how to install the CUDA plugin.
const installCUDAHint = "install the CUDA PJRT plugin with its CUDA libraries into embedtune's PJRT environment: " +
	"~/.cache/embedtune/pjrt/bin/pip install 'jax-cuda13-plugin[with-cuda]' (or set PJRT_PLUGIN_LIBRARY_PATH)"

// Choice is the backend [New] uses for a configuration, and why.
type Choice struct {
	// Config is what New passes to GoMLX: "xla:/abs/path/plugin.so", [GoDefaultConfig], or
	// $GOMLX_BACKEND's other values.
	Config string `json:"config"`
	// Engine is [EngineCUDA], [EngineCPU] or [EngineGo] ("" for other explicit configurations).
	Engine string `json:"engine"`
	// Plugin is the PJRT plugin file (XLA engines) and its PJRT C API version.
	Plugin     string `json:"plugin,omitempty"`
	APIVersion string `json:"pjrt_api_version,omitempty"`
	// Why explains the choice in a sentence.
	Why string `json:"why"`
	// Faster says what to install for a faster engine on this machine ("" when nothing would be).
	Faster string `json:"faster,omitempty"`
	// Explicit is true when $GOMLX_BACKEND (or New's argument) chose.
	Explicit bool `json:"explicit"`
}

// Default returns the process-wide backend, created on first use by [New] with the environment's
// settings. Backends hold device clients and compiled kernels, so one per process is the norm.
var Default = sync.OnceValues(func() (compute.Backend, error) { return New("") })

// New creates a backend. config follows $GOMLX_BACKEND's format; an empty config means
// "$GOMLX_BACKEND if set, else the automatic order described in the package documentation".
func New(config string) (compute.Backend, error) {
	c, err := chooseFor(config)
	if err != nil {
		return nil, err
	}
	if c.Engine == EngineCUDA && c.Plugin != "" {
		if err := prepareCUDA(c.Plugin); err != nil {
			return nil, fmt.Errorf("%s: %w; %s", c.Why, err, alternatives(c))
		}
	}
	b, err := newWithConfig(c.Config, c.Engine)
	if err != nil {
		if c.Plugin != "" {
			return nil, fmt.Errorf("%w; %s", err, alternatives(c))
		}
		return nil, err
	}
	return b, nil
}

// Choose returns what [New]("") would use, and why, without creating the backend. Its error is
// New's for a plugin that is found (or named) but unusable.
func Choose() (Choice, error) { return chooseFor("") }

func chooseFor(config string) (Choice, error) {
	if config == "" {
		config = strings.TrimSpace(os.Getenv(EnvVar))
		if config != "" {
			return explicitChoice(config, EnvVar+"="+config)
		}
		return automaticChoice()
	}
	return explicitChoice(config, fmt.Sprintf("backend configuration %q", config))
}

// explicitChoice resolves a given configuration: "xla:cpu" and "xla:cuda" become the plugins
// FindCPUPlugin / FindCUDAPlugin find, absolute plugin paths are checked.
func explicitChoice(config, source string) (Choice, error) {
	config = normalize(config)
	c := Choice{Config: config, Explicit: true, Why: source}
	name, rest, _ := strings.Cut(config, ":")
	if name == "go" {
		c.Engine = EngineGo
		return c, nil
	}
	if name != "xla" {
		return c, nil
	}
	if !xlaAvailable {
		return c, fmt.Errorf("%s: this binary was built with -tags noxla; rebuild without it to use XLA, or use GOMLX_BACKEND=go", source)
	}
	plugin, opts, _ := strings.Cut(rest, ",")
	switch plugin {
	case "cpu":
		if plugin = FindCPUPlugin(); plugin == "" {
			return c, fmt.Errorf("%s: no XLA CPU PJRT plugin found; %s, or use GOMLX_BACKEND=go", source, InstallCPUHint)
		}
		c.Engine = EngineCPU
	case "cuda":
		if plugin = FindCUDAPlugin(); plugin == "" {
			return c, fmt.Errorf("%s: no CUDA PJRT plugin found; %s, or use GOMLX_BACKEND=go", source, installCUDAHint)
		}
		if !hasNVIDIADevice() {
			return c, fmt.Errorf("%s: the CUDA PJRT plugin %s is installed but this machine has no NVIDIA GPU device (/dev/nvidia0); use GOMLX_BACKEND=xla:cpu or GOMLX_BACKEND=go", source, plugin)
		}
		c.Engine = EngineCUDA
	case "":
		auto, err := automaticChoice()
		if err != nil {
			return auto, err
		}
		if auto.Engine == EngineGo {
			return c, fmt.Errorf("%s: no XLA PJRT plugin found; %s, or use GOMLX_BACKEND=go", source, InstallCPUHint)
		}
		plugin, c.Engine = auto.Plugin, auto.Engine
	}
	if !strings.HasPrefix(plugin, "/") {
		c.Config = "xla:" + plugin
		if opts != "" {
			c.Config += "," + opts
		}
		return c, nil // A plugin name for go-xla's own search.
	}
	info, err := xlaplugin.Check(plugin)
	if err != nil {
		return c, fmt.Errorf("%s: %v; use another plugin or the pure-Go backend: GOMLX_BACKEND=go", source, err)
	}
	if c.Engine == "" {
		c.Engine = engineOf(plugin)
	}
	c.Plugin, c.APIVersion = plugin, info.APIVersion()
	c.Config = "xla:" + plugin
	if opts != "" {
		c.Config += "," + opts
	}
	return c, nil
}

// automaticChoice implements the default order.
func automaticChoice() (Choice, error) {
	goChoice := Choice{Config: GoDefaultConfig, Engine: EngineGo}
	if !xlaAvailable {
		goChoice.Why = "this binary was built with -tags noxla (no XLA)"
		goChoice.Faster = "rebuild without -tags noxla and install the XLA CPU plugin: " + InstallCPUHint
		return goChoice, nil
	}
	gpu := hasNVIDIADevice()
	cuda, cpu := FindCUDAPlugin(), FindCPUPlugin()
	pick := func(engine, plugin, why, faster string) (Choice, error) {
		c := Choice{Config: "xla:" + plugin, Engine: engine, Plugin: plugin, Why: why, Faster: faster}
		info, err := xlaplugin.Check(plugin)
		if err != nil {
			return c, fmt.Errorf("%s engine: %v; %s", engine, err, alternatives(c))
		}
		c.APIVersion = info.APIVersion()
		return c, nil
	}
	switch {
	case gpu && cuda != "":
		return pick(EngineCUDA, cuda, "an NVIDIA GPU and a CUDA PJRT plugin were found", "")
	case cpu != "" && gpu:
		return pick(EngineCPU, cpu, "this machine has an NVIDIA GPU but no CUDA PJRT plugin was found; the XLA CPU plugin was", installCUDAHint)
	case cpu != "":
		return pick(EngineCPU, cpu, "no NVIDIA GPU (/dev/nvidia0); the XLA CPU plugin was found", "")
	case gpu:
		goChoice.Why = "this machine has an NVIDIA GPU but no PJRT plugin was found"
		goChoice.Faster = installCUDAHint
	default:
		goChoice.Why = "no XLA PJRT plugin was found (" + PJRTDirEnv + ", PJRT_PLUGIN_LIBRARY_PATH, go-xla's folders, Python environments)"
		goChoice.Faster = InstallCPUHint + " (4-6× faster than pure Go on CPUs)"
	}
	return goChoice, nil
}

// alternatives says what to do when a chosen plugin cannot be used.
func alternatives(c Choice) string {
	var alt []string
	if c.Engine == EngineCUDA {
		if cpu := FindCPUPlugin(); cpu != "" {
			alt = append(alt, "run on the CPU with GOMLX_BACKEND=xla:"+cpu)
		}
	} else {
		alt = append(alt, "reinstall it ("+InstallCPUHint+")")
	}
	alt = append(alt, "use the pure-Go backend with GOMLX_BACKEND=go")
	return strings.Join(alt, ", or ")
}

func engineOf(plugin string) string {
	if strings.Contains(strings.ToLower(filepathBase(plugin)), "cuda") || strings.Contains(plugin, "xla_cuda") {
		return EngineCUDA
	}
	return EngineCPU
}

func filepathBase(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// normalize fills in defaults for shorthand configurations: a bare "go" means [GoDefaultConfig].
func normalize(config string) string {
	if config == "go" || config == "go:" {
		return GoDefaultConfig
	}
	return config
}

// newWithConfig wraps compute.NewWithConfig, which panics on unknown backend names.
// engine is the Choice's Engine: the XLA CPU engine is created with [CPUDevicesEnv] host devices.
func newWithConfig(config, engine string) (b compute.Backend, err error) {
	name, options, _ := strings.Cut(config, ":")
	if name == "xla" && !xlaAvailable {
		return nil, fmt.Errorf("backend %q: this binary was built with -tags noxla; rebuild without it to use XLA", config)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("backend %q: %v (compiled-in backends: %s)", config, r, strings.Join(compute.List(), ", "))
		}
	}()
	create := func() { b, err = compute.NewWithConfig(config) }
	if name == "xla" && engine == EngineCPU {
		n, nErr := cpuDevices()
		if nErr != nil {
			return nil, nErr
		}
		create = func() { withHostDeviceThreads(n, func() { b, err = newXLACPU(options, n) }) }
	}
	if name == "go" && strings.Contains(options, "parallelism=") {
		// The Go backend prints "Go backend: parallelism set to N" on standard output, which would
		// corrupt the JSON Lines the CLI writes there.
		withStdoutDiscarded(create)
	} else {
		create()
	}
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	if err := installCompileCache(b); err != nil {
		fmt.Fprintf(os.Stderr, "embedtune: %v (graphs are compiled again in every process)\n", err)
	}
	return b, nil
}

// stdoutMu serializes withStdoutDiscarded's swaps of os.Stdout.
var stdoutMu sync.Mutex

// withStdoutDiscarded runs fn with os.Stdout pointing to the null device, and restores it.
func withStdoutDiscarded(fn func()) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fn()
		return
	}
	defer null.Close()
	saved := os.Stdout
	os.Stdout = null
	defer func() { os.Stdout = saved }()
	fn()
}

// IsGo reports whether b is the pure-Go backend.
func IsGo(b compute.Backend) bool { return b != nil && strings.HasPrefix(b.Description(), "Go ") }

// Describe returns a one-line human description of the backend and its devices.
func Describe(b compute.Backend) string {
	if b == nil {
		return "<no backend>"
	}
	return fmt.Sprintf("%s (%s), %d device(s)", b.Name(), b.Description(), b.NumDevices())
}
