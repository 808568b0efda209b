package repo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	wd, _ := os.Getwd()
	root, ok := Root(wd)
	if !ok || filepath.Base(filepath.Dir(wd)) != "internal" || root != filepath.Dir(filepath.Dir(wd)) {
		t.Fatalf("Root(%s) = %s, %v", wd, root, ok)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if r, ok := Root(filepath.Join(other)); ok {
		t.Errorf("another module's folder was taken for the repository: %s", r)
	}
}
