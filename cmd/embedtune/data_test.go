package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDataCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "pairs.jsonl")
	content := `{"question": "q1", "context": "c1", "negs": ["n1", "n2"]}
{"question": "q2", "context": "c2", "negs": []}
{"question": "q3", "context": "c3", "negs": ["n3"]}
`
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "repo", "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "repo", "data", "train.jsonl"), []byte(content), 0o644)
	os.WriteFile(filepath.Join(dir, "repo", "data", "test.jsonl"), []byte(`{"question": "t", "context": "tc", "negs": []}`+"\n"), 0o644)
	pq := filepath.Join(dir, "out", "pairs.parquet")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, or a substring when it starts with "~"
		stderr string // substring
	}{
		{"info", []string{"data", "info", src}, 0, `{"num_rows":3,"columns":["question","context","negs"]}` + "\n", ""},
		{"info with split after the source", []string{"data", "info", filepath.Join(dir, "repo"), "--split", "test"}, 0,
			`{"num_rows":1,"columns":["question","context","negs"]}` + "\n", ""},
		{"head table", []string{"data", "head", src, "-n", "2"}, 0,
			"   question  context  negs\n0  q1        c1       [n1, n2]\n1  q2        c2       []\n", ""},
		{"head jsonl", []string{"data", "head", "-n", "1", "--format", "jsonl", src}, 0,
			`{"question": "q1", "context": "c1", "negs": ["n1", "n2"]}` + "\n", ""},
		{"head columns", []string{"data", "head", src, "--columns", "context", "-n", "1", "--format", "jsonl"}, 0,
			`{"context": "c1"}` + "\n", ""},
		{"convert", []string{"data", "convert", src, pq}, 0, "", "wrote 3 rows"},
		{"info of the converted file", []string{"data", "info", pq}, 0, `{"num_rows":3,"columns":["question","context","negs"]}` + "\n", ""},
		{"unknown split", []string{"data", "info", filepath.Join(dir, "repo"), "--split", "dev"}, 1, "", `unknown split "dev"; the splits are ["train", "test"]`},
		{"missing source", []string{"data", "info"}, 1, "", "want 1 argument(s) SOURCE"},
		{"bad format", []string{"data", "head", src, "--format", "xml"}, 1, "", "--format must be table or jsonl"},
		{"unknown sub-command", []string{"data", "show"}, 1, "", `unknown sub-command "show"`},
		{"convert to an unknown format", []string{"data", "convert", src, filepath.Join(dir, "x.xml")}, 1, "", "unknown format"},
		{"help", []string{"data", "info", "--help"}, 0, "", "usage: embedtune data info"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errs)
			}
			if tc.stdout != "" && out != tc.stdout {
				t.Errorf("stdout:\n%q\nwant\n%q", out, tc.stdout)
			}
			if tc.stderr != "" && !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errs, tc.stderr)
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(errs), "\n") > 0 && !strings.Contains(errs, "usage") {
				t.Errorf("error is not one line: %q", errs)
			}
		})
	}
}
