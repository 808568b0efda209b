//go:build noxla

package backend

import (
	"errors"

	"github.com/gomlx/compute"
)

// xlaAvailable is false: this binary was built with -tags noxla (pure Go, no cgo).
const xlaAvailable = false

func installCompileCache(compute.Backend) error { return nil }

// newXLACPU is unreachable without XLA (newWithConfig refuses "xla" first).
func newXLACPU(string, int) (compute.Backend, error) {
	return nil, errors.New("this binary was built with -tags noxla")
}
