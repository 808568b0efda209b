//go:build noxla || !cgo

package xlaplugin

import (
	"errors"
	"io"
)

// Available reports whether this build can install the cache: not without cgo and XLA.
const Available = false

// Install fails: this build has no XLA (-tags noxla) or no cgo.
func Install(pluginPath, devices string, store *Store, log io.Writer) error {
	return errors.New("XLA compile cache: not available in a build without XLA or cgo")
}
