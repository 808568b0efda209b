//go:build !noxla

package backend

import (
	"os"
	"strings"

	"github.com/embedtune/embedtune/trainlib/internal/xlaplugin"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
)

// xlaAvailable is true when the XLA backend is compiled in (the default; -tags noxla removes it).
const xlaAvailable = true

func init() {
	// Never download PJRT plugins at run time: plugins are installed explicitly (see the README).
	xla.EnableAutoInstall(false)
	// go-xla v0.4.5 leaves float16 out of the XLA backend's capabilities (it lists bfloat16), although
	// XLA runs float16 on CPU and CUDA and go-xla converts it; without it fp16 mixed precision — the
	// tutorial's setting on GPUs — is refused. trainlib's TestMixedPrecisionTraining checks fp16
	// training against fp32 on XLA. Backends copy the map when they are created, so this must run
	// first.
	xla.Capabilities.DTypes[dtypes.Float16] = true
}

// installCompileCache routes b's compilations through the persistent compile cache (see
// [CompileCache]). It does nothing for other backends or when the cache is off.
func installCompileCache(b compute.Backend) error {
	xb, ok := b.(*xla.Backend)
	if !ok || xlaplugin.Disabled() {
		return nil
	}
	p, err := pjrt.GetPlugin(xb.PluginName())
	if err != nil {
		return err
	}
	store, err := compileCache()
	if err != nil {
		return err
	}
	devs := make([]string, xb.NumDevices())
	for i := range devs {
		devs[i] = xb.DeviceDescription(compute.DeviceNum(i))
	}
	return xlaplugin.Install(p.Path(), strings.Join(devs, "; "), store, os.Stderr)
}

// newXLACPU creates the XLA CPU engine with n host devices (the plugin's cpu_device_count create
// option); options is the "xla:" configuration after the name: the plugin path and go-xla options.
func newXLACPU(options string, n int) (compute.Backend, error) {
	return xla.NewWithOptions(options, pjrt.NamedValuesMap{"cpu_device_count": int64(n)})
}
