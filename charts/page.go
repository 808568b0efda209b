package charts

import (
	"fmt"
	"html"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// Page returns a complete HTML document showing the charts one below the other. With a library it is
// self-contained and works offline: the echarts library is inlined once in the <head>, never loaded from a
// CDN. With lib == nil the page starts with a notice saying how to install the library (missingErr
// explains why it is missing) and the charts show their "not drawn" note.
func Page(title string, lib *Library, missingErr error, charts ...*Chart) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	if lib != nil {
		b.WriteString(lib.ScriptHTML())
		b.WriteString("\n")
	}
	b.WriteString("<style>body{font-family:sans-serif;margin:24px;} .embedtune-chart{margin:0 auto 32px auto;}</style>\n")
	b.WriteString("</head>\n<body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	if lib == nil {
		if missingErr == nil {
			missingErr = fmt.Errorf("charts: %w: %s", ErrLibraryNotFound, InstallHint)
		}
		b.WriteString(MissingLibraryHTML(missingErr))
		b.WriteString("\n")
	}
	for _, c := range charts {
		b.WriteString(c.HTML())
		b.WriteString("\n")
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

// WriteHTML writes Page(title, ...) to path atomically (a temporary file in the same folder, then a
// rename), finding the library with FindLibrary: the file the CLI leaves as output_dir/charts.html. When
// the library is missing the page is still written — with a notice saying how to install it in place of
// drawn charts — and the returned error wraps ErrLibraryNotFound, so a caller can warn and go on.
func WriteHTML(path, title string, charts ...*Chart) error {
	if len(charts) == 0 {
		return fmt.Errorf("charts.WriteHTML %s: no charts given", path)
	}
	lib, libErr := FindLibrary()
	page := Page(title, lib, libErr, charts...)
	if err := atomicio.WriteFile(path, page, 0o644); err != nil {
		return fmt.Errorf("charts.WriteHTML: %w", err)
	}
	if libErr != nil {
		return fmt.Errorf("charts.WriteHTML %s: written without drawable charts: %w", path, libErr)
	}
	return nil
}
