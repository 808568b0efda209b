package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// readme returns README.md and the repository root.
func readme(t *testing.T) (string, string) {
	t.Helper()
	root := testutil.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), root
}

// tourSource returns the source of fineTune, the tour that trainlib's Example runs.
func tourSource(t *testing.T, root string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "trainlib", "example_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "func fineTune(")
	end := strings.Index(s[max(start, 0):], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("trainlib/example_test.go has no func fineTune")
	}
	return s[start : start+end+3]
}

// TestTourIsTheExample checks that the README's tour and the package documentation of trainlib (doc.go) show
// fineTune of trainlib/example_test.go character for character, so the code they show is the code the test
// suite compiles and runs.
func TestTourIsTheExample(t *testing.T) {
	text, root := readme(t)
	tour := tourSource(t, root)
	if !strings.Contains(text, "```go\n"+tour+"```\n") {
		t.Errorf("README.md does not show fineTune of trainlib/example_test.go in a ```go block; it is:\n%s", tour)
	}
	src, err := os.ReadFile(filepath.Join(root, "trainlib", "doc.go"))
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
		t.Errorf("the package documentation (trainlib/doc.go) does not show fineTune of trainlib/example_test.go as it is")
	}
}

// TestFolderTable checks the README's folder table against the tree: every folder it names exists, and every
// top-level folder of the repository (as git tracks it) has a row.
func TestFolderTable(t *testing.T) {
	text, root := readme(t)
	_, table, ok := strings.Cut(text, "| Folder | What it holds |\n|---|---|\n")
	if !ok {
		t.Fatal("README.md has no \"| Folder | What it holds |\" table")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	code := regexp.MustCompile("`([^`]+)`")
	listed := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(row, "|")
		if len(cells) < 3 {
			t.Fatalf("malformed row %q", row)
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			dir := strings.TrimSuffix(m[1], "/")
			if st, err := os.Stat(filepath.Join(root, dir)); err != nil || !st.IsDir() {
				t.Errorf("the folder table names %s, which is not a folder of the repository", m[1])
			}
			top, _, _ := strings.Cut(dir, "/")
			listed[top] = true
		}
	}
	cmd := exec.Command("git", "ls-files")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	var top []string
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if dir, _, ok := strings.Cut(f, "/"); ok && !strings.HasPrefix(dir, ".") && !slices.Contains(top, dir) {
			top = append(top, dir)
		}
	}
	if len(top) < 5 {
		t.Fatalf("git ls-files lists only the folders %q", top)
	}
	for _, dir := range top {
		if !listed[dir] {
			t.Errorf("the top-level folder %s/ has no row in the README's folder table", dir)
		}
	}
	for dir := range listed {
		if !slices.Contains(top, dir) {
			t.Errorf("the folder table lists %s/, which git does not track", dir)
		}
	}
}
