//go:build !linux

package atomicio

import "errors"

// exchange is unsupported here: ReplaceDir falls back to two renames.
func exchange(a, b string) error { return errors.New("atomic exchange not supported") }
