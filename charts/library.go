package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/internal/repo"
	"github.com/embedtune/embedtune/trainlib/cache"
)

const (
	// EChartsVersion is the version of the echarts npm package that `embedtune assets install` and
	// kernel/install.sh install.
	EChartsVersion = "5.6.0"
	// EChartsSHA256 is the SHA-256 of that package's dist/echarts.min.js.
	EChartsSHA256 = "bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1"
	// AssetsDirEnv names the environment variable that points at the assets folder (the kernel's
	// kernel.json sets it). The library is the file LibraryRelPath inside it.
	AssetsDirEnv = "EMBEDTUNE_ASSETS_DIR"
	// LibraryRelPath is where the library lives inside an assets folder. Jupyter's server also serves it
	// at <base_url>static/LibraryRelPath (kernel/install.sh adds the assets folder to extra_static_paths).
	LibraryRelPath = "embedtune/echarts-" + EChartsVersion + ".min.js"
	// InstallHint says how to get the library.
	InstallHint = "run `embedtune assets install` (it fetches echarts " + EChartsVersion + " from the npm registry, " +
		"checks its SHA-256 and keeps it in embedtune's cache folder), or kernel/install.sh in the embedtune repository, " +
		"or set " + AssetsDirEnv + " to a folder holding " + LibraryRelPath
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

// AssetsDirs returns the assets folders FindLibrary searches, in order:
//
//   - $EMBEDTUNE_ASSETS_DIR alone when it is set (the notebook kernel sets it);
//   - otherwise kernel/assets of the embedtune repository containing the current directory (what
//     kernel/install.sh fills), then embedtune's cache folder's assets/ (~/.cache/embedtune/assets, what
//     `embedtune assets install` fills, for a binary installed with go install and run anywhere).
func AssetsDirs() []string {
	if dir := os.Getenv(AssetsDirEnv); dir != "" {
		return []string{dir}
	}
	var dirs []string
	if root, ok := repo.FromWorkingDir(); ok {
		dirs = append(dirs, filepath.Join(root, "kernel", "assets"))
	}
	if d, err := DefaultAssetsDir(); err == nil {
		dirs = append(dirs, d)
	}
	return dirs
}

// DefaultAssetsDir is where `embedtune assets install` puts the library: embedtune's cache folder's
// assets/ (~/.cache/embedtune/assets on Linux).
func DefaultAssetsDir() (string, error) {
	base, err := cache.BaseDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "assets"), nil
}

// FindLibrary locates and loads the echarts library in the first of AssetsDirs that holds it. When
// none does, the error wraps ErrLibraryNotFound, lists where it looked and says how to install it.
func FindLibrary() (*Library, error) {
	dirs := AssetsDirs()
	var looked []string
	for _, d := range dirs {
		p := filepath.Join(d, filepath.FromSlash(LibraryRelPath))
		if _, err := os.Stat(p); err == nil {
			return LoadLibrary(p)
		}
		looked = append(looked, p)
	}
	return nil, fmt.Errorf("charts: %w (looked for %s): %s", ErrLibraryNotFound, strings.Join(looked, ", "), InstallHint)
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
