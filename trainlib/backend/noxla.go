//go:build noxla

package backend

// xlaAvailable is false: this binary was built with -tags noxla (pure Go, no cgo).
const xlaAvailable = false
