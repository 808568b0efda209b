//go:build noxla

package backend

import "github.com/gomlx/compute"

// xlaAvailable is false: this binary was built with -tags noxla (pure Go, no cgo).
const xlaAvailable = false

func installCompileCache(compute.Backend) error { return nil }
