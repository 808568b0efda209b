package trainlib_test

import (
	"os"
	"strings"
	"testing"
)

// tourSource returns the source of fineTune, the tour that Example runs.
func tourSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "func fineTune(")
	end := strings.Index(s[max(start, 0):], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("example_test.go has no func fineTune")
	}
	return s[start : start+end+2]
}

// TestTourIsTheExample checks that the package documentation shows the tour exactly as Example runs it.
func TestTourIsTheExample(t *testing.T) {
	tour := tourSource(t)
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	for _, line := range strings.Split(string(src), "\n") {
		if l, ok := strings.CutPrefix(line, "//"); ok {
			doc.WriteString(strings.TrimPrefix(l, "\t") + "\n")
		}
	}
	if !strings.Contains(doc.String(), tour) {
		t.Errorf("the package documentation (doc.go) does not show fineTune of example_test.go as it is:\n%s", tour)
	}
}
