package trainlib_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// TestNoUIDependencies checks that the library does not depend on the notebook front end: no package of
// trainlib/... (nor its tests) imports kernel/... or GoNB. User interfaces attach to a Trainer from outside
// (display.AttachProgress), as in GoMLX, where train never imports its progress bar.
func TestNoUIDependencies(t *testing.T) {
	root := testutil.RepoRoot(t)
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, args := range [][]string{{"list", "-deps", "./trainlib/..."}, {"list", "-deps", "-test", "./trainlib/..."}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		pkgs := strings.Fields(string(out))
		if len(pkgs) < 10 {
			t.Fatalf("go %s listed only %q", strings.Join(args, " "), pkgs)
		}
		for _, p := range pkgs {
			if strings.HasPrefix(p, "github.com/embedtune/embedtune/kernel") || strings.HasPrefix(p, "github.com/janpfeifer/gonb") {
				t.Errorf("go %s: trainlib depends on %s", strings.Join(args, " "), p)
			}
		}
	}
}
