// Package repo finds the embedtune repository a program runs in: where the charts' echarts assets
// (kernel/assets) and the shared test data (../shared/data) are looked up when no setting names them.
package repo

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the repository's Go module path.
const ModulePath = "github.com/embedtune/embedtune"

// Root walks up from dir to the folder whose go.mod declares ModulePath.
func Root(dir string) (string, bool) {
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if len(fields) == 2 && fields[0] == "module" && strings.Trim(fields[1], `"`) == ModulePath {
					_ = f.Close()
					return dir, true
				}
			}
			_ = f.Close()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// FromWorkingDir is Root of the current directory.
func FromWorkingDir() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	return Root(wd)
}
