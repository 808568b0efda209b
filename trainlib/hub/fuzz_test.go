package hub

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidateRepoPath: a file name the Hub sends (or a caller gives) is accepted only when joining it
// to a cache folder stays inside that folder, whatever the platform's separators.
func FuzzValidateRepoPath(f *testing.F) {
	for _, s := range []string{"config.json", "1_Pooling/config.json", "../x", "a/../../b", "/etc/passwd", `..\evil`, "a//b",
		"nul\x00.txt", "C:/x", "./a", "a/.", "a/b/", ".hidden/..x", "…/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidateRepoPath(p) != nil {
			return
		}
		if strings.ContainsAny(p, "\x00\\") || path.IsAbs(p) || path.Clean(p) != p || p == "." {
			t.Fatalf("accepted %q", p)
		}
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			t.Fatalf("accepted %q, which is not local", p)
		}
		root := filepath.Join("cache", "snapshots", "abc")
		if j := filepath.Join(root, filepath.FromSlash(p)); !strings.HasPrefix(j, root+string(filepath.Separator)) {
			t.Fatalf("%q joined to %s gives %s", p, root, j)
		}
	})
}
