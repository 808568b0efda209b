package charts

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
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
	if err := writeFileAtomic(path, page); err != nil {
		return fmt.Errorf("charts.WriteHTML: %w", err)
	}
	if libErr != nil {
		return fmt.Errorf("charts.WriteHTML %s: written without drawable charts: %w", path, libErr)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path and renames it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err = f.Chmod(0o644); err != nil {
		_ = f.Close()
		return fmt.Errorf("setting permissions of %s: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", f.Name(), path, err)
	}
	return nil
}
