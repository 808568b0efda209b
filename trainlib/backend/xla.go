//go:build !noxla

package backend

import "github.com/gomlx/go-xla/compute/xla"

// xlaAvailable is true when the XLA backend is compiled in (the default; -tags noxla removes it).
const xlaAvailable = true

func init() {
	// Never download PJRT plugins at run time: plugins are installed explicitly (see the README).
	xla.EnableAutoInstall(false)
}
