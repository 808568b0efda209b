package charts

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
)

const (
	// EChartsVersion is the version of the echarts npm package that kernel/install.sh installs.
	EChartsVersion = "5.6.0"
	// EChartsSHA256 is the SHA-256 of that package's dist/echarts.min.js.
	EChartsSHA256 = "bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1"
	// AssetsDirEnv names the environment variable that points at the assets folder (the kernel's
	// kernel.json sets it). The library is the file LibraryRelPath inside it.
	AssetsDirEnv = "EMBEDTUNE_ASSETS_DIR"
	// LibraryRelPath is where the library lives inside the assets folder. Jupyter's server also serves it
	// at <base_url>static/LibraryRelPath (kernel/install.sh adds the assets folder to extra_static_paths).
	LibraryRelPath = "embedtune/echarts-" + EChartsVersion + ".min.js"
	// InstallHint says how to get the library.
	InstallHint = "run kernel/install.sh in the embedtune repository (it fetches echarts " + EChartsVersion +
		" from the npm registry into kernel/assets/), or set " + AssetsDirEnv +
		" to a folder holding " + LibraryRelPath
)

// ErrLibraryNotFound is wrapped by FindLibrary's error when no copy of the echarts library was found.
var ErrLibraryNotFound = errors.New("echarts library not found")

// Library is the echarts JavaScript library, read from the local assets folder. It is never fetched from a
// CDN: pages and notebook outputs embed it (once) so that they work offline.
type Library struct {
	// Path is the file it was read from.
	Path string
	js   []byte
}

// LoadLibrary reads the echarts library from path and checks it is the pinned release (EChartsSHA256).
func LoadLibrary(path string) (*Library, error) {
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("charts: reading the echarts library: %w", err)
	}
	sum := sha256.Sum256(js)
	if got := hex.EncodeToString(sum[:]); got != EChartsSHA256 {
		return nil, fmt.Errorf("charts: %s has SHA-256 %s, expected %s (echarts %s): %s",
			path, got, EChartsSHA256, EChartsVersion, InstallHint)
	}
	return &Library{Path: path, js: js}, nil
}

// FindLibrary locates and loads the echarts library:
//
//   - when $EMBEDTUNE_ASSETS_DIR is set (the notebook kernel sets it), only
//     $EMBEDTUNE_ASSETS_DIR/embedtune/echarts-<version>.min.js is considered;
//   - otherwise kernel/assets/embedtune/echarts-<version>.min.js of the embedtune repository containing the
//     current directory (the folder with the go.mod of module github.com/embedtune/embedtune).
//
// When it is not there the error wraps ErrLibraryNotFound and says how to install it.
func FindLibrary() (*Library, error) {
	var p string
	if dir := os.Getenv(AssetsDirEnv); dir != "" {
		p = filepath.Join(dir, filepath.FromSlash(LibraryRelPath))
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("charts: %w (cannot get the current directory: %v): %s", ErrLibraryNotFound, err, InstallHint)
		}
		root, ok := repoRoot(wd)
		if !ok {
			return nil, fmt.Errorf("charts: %w ($%s is unset and %s is not inside the embedtune repository): %s",
				ErrLibraryNotFound, AssetsDirEnv, wd, InstallHint)
		}
		p = filepath.Join(root, "kernel", "assets", filepath.FromSlash(LibraryRelPath))
	}
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("charts: %w at %s: %s", ErrLibraryNotFound, p, InstallHint)
	}
	return LoadLibrary(p)
}

// modulePath is this repository's Go module path.
const modulePath = "github.com/embedtune/embedtune"

// repoRoot walks up from dir to the folder whose go.mod declares modulePath.
func repoRoot(dir string) (string, bool) {
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if len(fields) == 2 && fields[0] == "module" && strings.Trim(fields[1], `"`) == modulePath {
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

// ScriptHTML returns a <script> element that defines window.echarts and then draws every chart of the page
// that was waiting for it (see Chart.HTML). The library is evaluated with AMD/CommonJS hooks masked, so it
// always becomes the global window.echarts, even on pages that load RequireJS. Any "</script" inside the
// library text is escaped so the element cannot end early.
func (l *Library) ScriptHTML() string {
	js := bytes.ReplaceAll(l.js, []byte("</script"), []byte(`<\/script`))
	js = bytes.ReplaceAll(js, []byte("</SCRIPT"), []byte(`<\/SCRIPT`))
	var b strings.Builder
	b.Grow(len(js) + 1024)
	b.WriteString(`<script data-embedtune-echarts="` + EChartsVersion + `">` + "\n")
	b.WriteString("(function(){\n" + stateJS + "if (!window.echarts) {\n(function(define, exports, module){\n")
	b.Write(js)
	b.WriteString("\n}).call(window);\n}\nst.flush();\n})();\n</script>")
	return b.String()
}

// MissingLibraryHTML is a visible notice shown in place of charts when the library could not be found.
func MissingLibraryHTML(err error) string {
	return `<div class="embedtune-chart-missing" style="border:1px solid #e0a800;background:#fff8e1;` +
		`padding:8px 12px;margin:4px 0;font:13px sans-serif;color:#5d4200;">` +
		`<b>Chart not drawn: the echarts library is not installed.</b><br>` +
		html.EscapeString(err.Error()) + `</div>`
}
