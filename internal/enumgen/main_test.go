package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

const directive = "//go:generate go run github.com/embedtune/embedtune/internal/enumgen "

// TestGeneratedFilesUpToDate regenerates every enum named by a go:generate directive of the repository and
// compares it with the file on disk, so an edited constant list cannot go unnoticed.
func TestGeneratedFilesUpToDate(t *testing.T) {
	root := testutil.RepoRoot(t)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "build" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			args, ok := strings.CutPrefix(sc.Text(), directive)
			if !ok {
				continue
			}
			n++
			c, err := parseFlags(strings.Fields(args))
			if err != nil {
				t.Errorf("%s: %s: %v", path, sc.Text(), err)
				continue
			}
			want, err := generate(filepath.Dir(path), c)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			out := filepath.Join(filepath.Dir(path), outputName(c.typeName))
			got, err := os.ReadFile(out)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is not what enumgen generates (err %v): run go generate in %s", out, err, filepath.Dir(path))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 7 {
		t.Errorf("found %d enumgen directives, want at least 7", n)
	}
}

// TestGenerateErrors checks the generator's own bad input: a type without constants, and a constant that is
// not a string literal.
func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\ntype Mode string\n\ntype Level string\n\nconst base = \"x\"\n\nconst Derived Level = base + \"y\"\n"
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(dir, config{typeName: "Mode", setting: "mode"}); err == nil || !strings.Contains(err.Error(), "no string constants of type Mode") {
		t.Errorf("type without constants: %v", err)
	}
	if _, err := generate(dir, config{typeName: "Level", setting: "level"}); err == nil || !strings.Contains(err.Error(), "constant Derived of type Level is not a string literal") {
		t.Errorf("non-literal constant: %v", err)
	}
}
