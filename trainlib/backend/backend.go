// Package backend selects the GoMLX compute backend embedtune runs on.
//
// Selection order (see [New]):
//
//  1. $GOMLX_BACKEND when set, e.g. "go", "go:ops_sequential", "xla:cuda", "xla:cpu" or
//     "xla:/abs/path/pjrt_c_api_cuda_plugin.so". An explicit choice that fails is an error:
//     it never silently falls back.
//  2. XLA with a CUDA PJRT plugin, when one is found: $PJRT_PLUGIN_LIBRARY_PATH, go-xla's standard
//     folders (~/.local/lib/go-xla, /usr/local/lib/go-xla, the system library path) or the plugin
//     shipped inside an installed Python "jax-cuda13-pjrt" / "jax-cuda12-pjrt" package.
//  3. XLA CPU, when its plugin is installed.
//  4. The pure-Go backend configured as [GoDefaultConfig], "go:parallelism=-1" (see below).
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
//	b, err := backend.Default()
//	if err != nil { return err }
//	fmt.Println(backend.Describe(b))
package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // Registers the pure-Go backend as "go".
)

// EnvVar is the environment variable that forces a backend configuration.
const EnvVar = compute.ConfigEnvVar

// GoDefaultConfig is the configuration used for the pure-Go backend when none is given: an
// unbounded worker pool, which cannot deadlock (see the package documentation).
const GoDefaultConfig = "go:parallelism=-1"

// Default returns the process-wide backend, created on first use by [New] with the environment's
// settings. Backends hold device clients and compiled kernels, so one per process is the norm.
var Default = sync.OnceValues(func() (compute.Backend, error) { return New("") })

// New creates a backend. config follows $GOMLX_BACKEND's format; an empty config means
// "$GOMLX_BACKEND if set, else the automatic order described in the package documentation".
func New(config string) (compute.Backend, error) {
	if config == "" {
		config = strings.TrimSpace(os.Getenv(EnvVar))
	}
	if config != "" {
		return newWithConfig(normalize(config))
	}
	if plugin := FindCUDAPlugin(); plugin != "" && xlaAvailable && hasNVIDIADevice() {
		b, err := newWithConfig("xla:" + plugin)
		if err == nil {
			return b, nil
		}
		fmt.Fprintf(os.Stderr, "embedtune: CUDA PJRT plugin %s found but failed to start (%v); trying the next backend\n", plugin, err)
	}
	if plugin := FindCPUPlugin(); plugin != "" && xlaAvailable {
		b, err := newWithConfig("xla:" + plugin)
		if err == nil {
			return b, nil
		}
		fmt.Fprintf(os.Stderr, "embedtune: XLA CPU plugin %s failed to start (%v); using the pure-Go backend\n", plugin, err)
	}
	return newWithConfig(GoDefaultConfig)
}

// normalize fills in defaults for shorthand configurations: a bare "go" gets ops_sequential.
func normalize(config string) string {
	if config == "go" || config == "go:" {
		return GoDefaultConfig
	}
	return config
}

// newWithConfig wraps compute.NewWithConfig, which panics on unknown backend names.
func newWithConfig(config string) (b compute.Backend, err error) {
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
