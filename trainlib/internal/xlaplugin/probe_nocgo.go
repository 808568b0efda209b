//go:build noxla || !cgo

package xlaplugin

import "errors"

// Check runs [CheckFile]; without cgo the API version cannot be read, and XLA cannot run anyway.
func Check(path string) (Plugin, error) {
	if err := CheckFile(path); err != nil {
		return Plugin{}, err
	}
	return Plugin{Path: path}, errors.New("XLA is not available in a build without cgo or with -tags noxla")
}
