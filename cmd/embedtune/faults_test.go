package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
)

// Faults survived by the CLI: SIGTERM (like Ctrl-C: a checkpoint, a message, a clean exit) for
// train and encode, SIGKILL at random moments of a resumable encode, and two processes training into
// one output_dir. The commands run as child processes: this test binary, re-executed with
// EMBEDTUNE_RUN_MAIN=1, is embedtune.

func TestMain(m *testing.M) {
	if os.Getenv("EMBEDTUNE_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// child starts embedtune with args in a child process; its stderr is collected in the returned buffer.
func child(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "EMBEDTUNE_RUN_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stderr
}

// exitCode waits for cmd and returns its exit status.
func exitCode(cmd *exec.Cmd) int {
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// trainConfig writes a run configuration of maxSteps steps of a tiny model into dir.
func trainConfig(t *testing.T, dir string, maxSteps, saveSteps int) (cfg, out string) {
	t.Helper()
	m := tinyModelDir(t, "mean")
	data := pairsFile(t, dir, 40)
	out = filepath.Join(dir, "out")
	cfg = filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("model: %s\ntrain_dataset: {source: %s, columns: [question, context]}\n"+
		"args: {output_dir: %s, max_steps: %d, per_device_train_batch_size: 4, save_steps: %d, save_total_limit: 2, logging_steps: 5}\n",
		m, data, out, maxSteps, saveSteps)), 0o644)
	return cfg, out
}

// TestTrainSIGTERM: SIGTERM stops `embedtune train` like Ctrl-C: the step in progress finishes, a
// checkpoint of it is written, the exit status is 1 with a message saying how to continue, and
// --resume latest then finishes the run.
func TestTrainSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cfg, out := trainConfig(t, dir, 40, 2)
	cmd, stderr := child(t, "train", "--config", cfg, "--no-progress")
	testutil.WaitFor(t, "the first checkpoint", 2*time.Minute, func() bool { _, err := os.Stat(filepath.Join(out, "checkpoint-2")); return err == nil })
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(cmd); code != 1 {
		t.Fatalf("exit status %d after SIGTERM, want 1; stderr:\n%s", code, stderr)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "training interrupted at step") || !strings.Contains(msg, "--resume latest") || strings.Count(strings.TrimSpace(msg), "\n") > 0 {
		t.Fatalf("stderr after SIGTERM is not the one-line interruption message:\n%s", msg)
	}
	var step int
	fmt.Sscanf(msg[strings.Index(msg, "at step ")+len("at step "):], "%d", &step)
	if step < 2 || step >= 40 {
		t.Fatalf("interrupted at step %d", step)
	}
	if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("checkpoint-%d", step), "SHA256SUMS")); err != nil {
		t.Fatalf("no checkpoint of the interrupted step: %v", err)
	}
	code, stdout, errOut := cli("train", "--config", cfg, "--no-progress", "--resume", "latest")
	if code != 0 || !strings.Contains(stdout, `"global_step": 40`) {
		t.Fatalf("resume after SIGTERM: status %d, %s %s", code, stdout, errOut)
	}
}

// TestTrainTwoProcessesOneOutputDir: while one `embedtune train` runs, a second one into the same
// output_dir is refused, naming the first one's process id; once the first is gone (even killed),
// the folder is free again.
func TestTrainTwoProcessesOneOutputDir(t *testing.T) {
	dir := t.TempDir()
	cfg, out := trainConfig(t, dir, 100000, 100000)
	first, stderr := child(t, "train", "--config", cfg, "--no-progress")
	lock := filepath.Join(out, ".embedtune.lock")
	testutil.WaitFor(t, "the first run's lock", 2*time.Minute, func() bool {
		b, _ := os.ReadFile(lock)
		return strings.TrimSpace(string(b)) == strconv.Itoa(first.Process.Pid)
	})
	code, _, msg := cli("train", "--config", cfg, "--no-progress")
	if code == 0 || !strings.Contains(msg, fmt.Sprintf("in use by process %d", first.Process.Pid)) {
		t.Fatalf("second run: status %d, %q; want a refusal naming process %d (first run: %s)", code, msg, first.Process.Pid, stderr)
	}
	first.Process.Kill()
	first.Wait()
	code, _, msg = cli("train", "--config", strings.Replace(cfg, "run.yaml", "run.yaml", 1), "--no-progress", "--resume", "latest")
	if strings.Contains(msg, "in use") {
		t.Fatalf("the lock of a killed run is still held: %s", msg)
	}
}

// encodeInput writes n JSON Lines texts with ids.
func encodeInput(t *testing.T, dir string, n int) string {
	t.Helper()
	in := filepath.Join(dir, "corpus.jsonl")
	var b bytes.Buffer
	texts := synth.Texts(synth.Pairs(n/2+1, 1, 9))
	for i := 0; i < n; i++ {
		line, _ := json.Marshal(map[string]any{"_id": fmt.Sprintf("d%d", i), "text": texts[i]})
		b.Write(append(line, '\n'))
	}
	os.WriteFile(in, b.Bytes(), 0o644)
	return in
}

// sameEmbeddings compares two encode outputs line by line (ids equal, vectors within 1e-5: chunks
// after a resume may batch texts differently).
func sameEmbeddings(t *testing.T, got, want string) {
	t.Helper()
	a, b := readIDEmbeddings(t, got), readIDEmbeddings(t, want)
	if len(a) != len(b) {
		t.Fatalf("%s has %d lines, %s %d", got, len(a), want, len(b))
	}
	for i := range a {
		if string(a[i].ID) != string(b[i].ID) || maxAbsDiff(a[i].Embedding, b[i].Embedding) > 1e-5 {
			t.Fatalf("line %d differs: id %s vs %s, max difference %g", i+1, a[i].ID, b[i].ID, maxAbsDiff(a[i].Embedding, b[i].Embedding))
		}
	}
}

// partialLines counts the complete lines of a partial output.
func partialLines(p string) int {
	b, _ := os.ReadFile(p)
	return bytes.Count(b, []byte("\n"))
}

// TestEncodeSignals: SIGTERM stops `embedtune encode --resume` after the batch in progress with a
// message saying how much is kept; SIGKILL at random moments loses at most the chunk being written.
// Every interrupted job, run again, ends with the output of an uninterrupted run.
func TestEncodeSignals(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	const n = 240
	in := encodeInput(t, dir, n)
	args := func(out string) []string {
		return []string{"encode", "--model", m, "--input", in, "--output", out, "--id-field", "_id", "--resume", "--chunk-size", "8", "--batch-size", "4"}
	}
	ref := filepath.Join(dir, "ref.jsonl")
	if code, _, stderr := cli(args(ref)...); code != 0 {
		t.Fatalf("encode: %s", stderr)
	}

	t.Run("SIGTERM", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "emb.jsonl")
		cmd, stderr := child(t, args(out)...)
		testutil.WaitFor(t, "progress", 2*time.Minute, func() bool { return partialLines(out+".partial") >= 16 })
		cmd.Process.Signal(syscall.SIGTERM)
		if code := exitCode(cmd); code != 1 {
			t.Fatalf("exit status %d after SIGTERM, want 1:\n%s", code, stderr)
		}
		last := strings.TrimSpace(stderr.String())
		last = last[strings.LastIndex(last, "\n")+1:]
		if !strings.Contains(last, "interrupted after") || !strings.Contains(last, "kept in "+out+".partial") {
			t.Fatalf("last stderr line after SIGTERM: %q", last)
		}
		var done, total int
		fmt.Sscanf(last[strings.Index(last, "interrupted after "):], "interrupted after %d of %d texts", &done, &total)
		if got := partialLines(out + ".partial"); got != done || total != n {
			t.Fatalf("message says %d of %d texts kept, the partial file has %d lines", done, total, got)
		}
		if code, _, stderr := cli(args(out)...); code != 0 || !strings.Contains(stderr, fmt.Sprintf("resuming %s.partial at text %d", out, done)) {
			t.Fatalf("re-run: status %d, %s", code, stderr)
		}
		sameEmbeddings(t, out, ref)
	})

	t.Run("SIGKILL", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "emb.jsonl")
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		kills := 0
		for round := 0; round < 4; round++ {
			cmd, _ := child(t, args(out)...)
			// Kill at a random moment once some progress was made (possibly mid-write).
			before := partialLines(out + ".partial")
			testutil.WaitFor(t, "progress", 2*time.Minute, func() bool {
				_, err := os.Stat(out)
				return err == nil || partialLines(out+".partial") > before
			})
			time.Sleep(time.Duration(r.IntN(30)) * time.Millisecond)
			if cmd.Process.Signal(syscall.SIGKILL) == nil {
				kills++
			}
			cmd.Wait()
		}
		t.Logf("%d kills; partial file at %d lines", kills, partialLines(out+".partial"))
		if code, _, stderr := cli(args(out)...); code != 0 {
			t.Fatalf("re-run after the kills: status %d, %s", code, stderr)
		}
		sameEmbeddings(t, out, ref)
	})
}
