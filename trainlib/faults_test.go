package trainlib

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"golang.org/x/sys/unix"
)

// Fault injection: damaged checkpoints, a second run into the same output_dir, and a full disk (a
// real one: a small tmpfs, or the file-size limit) while checkpoints and the final model are
// written. In every case the error names the path, and what was there before stays intact.

// faultRun is a short tiny run into out: 6 steps, checkpoints every 2 (all kept).
func faultRun(t testing.TB, out string, cbs ...Callback) *Trainer {
	t.Helper()
	m := tiny(t, "mean")
	args := TrainingArguments{OutputDir: out, MaxSteps: 6, PerDeviceTrainBatchSize: 4, SaveSteps: 2, LoggingSteps: 1}
	tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(12, 1, 4)), nil, losses.MultipleNegativesRankingLoss(m),
		WithoutProgress(), WithCallbacks(cbs...))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	tr.logf = func(format string, a ...any) { fmt.Fprintf(&logs, format+"\n", a...) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("trainer log:\n%s", logs.String())
		}
	})
	return tr
}

// stopAt cancels nothing but fails the step after step n, leaving checkpoints up to n.
type stopAt struct {
	BaseCallback
	n int
}

func (s stopAt) OnStepEnd(st *TrainerState, _ *TrainingArguments) {
	if st.GlobalStep == s.n {
		panic(errStop)
	}
}

var errStop = errors.New("stop")

// trainUntil runs faultRun and stops it after step n (as a crash would), returning the output folder.
func trainUntil(t *testing.T, n int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	tr := faultRun(t, out, stopAt{n: n})
	func() {
		defer func() {
			if r := recover(); r != errStop {
				panic(r)
			}
		}()
		tr.Train()
	}()
	return out
}

// TestDamagedCheckpointIsRefused damages the newest checkpoint in several ways: resuming from it
// ("latest" or its path) is refused naming the damaged file, "latest-valid" resumes from the
// previous one and finishes the run.
func TestDamagedCheckpointIsRefused(t *testing.T) {
	trained := trainUntil(t, 5) // checkpoints 2 and 4
	resumed := false
	for _, tc := range []struct {
		name, file string
		damage     func(p string) error
		want       string
	}{
		{"truncated weights", "model.safetensors", func(p string) error { return os.Truncate(p, 100) }, "SHA-256"},
		{"flipped optimizer byte", "optimizer.safetensors", func(p string) error {
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			return os.WriteFile(p, b, 0o644)
		}, "SHA-256"},
		{"missing trainer state", "trainer_state.json", os.Remove, "not a complete embedtune checkpoint"},
		{"damaged checksum list", "SHA256SUMS", func(p string) error { return os.WriteFile(p, []byte("xyz\n"), 0o644) }, "line 1"},
		{"empty scheduler file", "scheduler.json", func(p string) error { return os.WriteFile(p, nil, 0o644) }, "SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			copyDir(t, trained, out)
			bad := filepath.Join(out, "checkpoint-4")
			if err := tc.damage(filepath.Join(bad, tc.file)); err != nil {
				t.Fatal(err)
			}
			for _, from := range []string{"latest", bad} {
				_, err := faultRun(t, out).Train(ResumeFrom(from))
				if err == nil || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("resume from %s: error %v, want one naming %s (%s)", from, err, tc.file, tc.want)
				}
				if from == "latest" && !strings.Contains(err.Error(), "latest-valid") {
					t.Errorf("the error does not say how to go on: %v", err)
				}
			}
			if !resumed {
				// Once: the whole run continues from checkpoint-2 and finishes.
				resumed = true
				tr := faultRun(t, out)
				var logs bytes.Buffer
				tr.logf = func(format string, a ...any) { fmt.Fprintf(&logs, format+"\n", a...) }
				res, err := tr.Train(ResumeFrom(ResumeLatestValid))
				if err != nil || res.GlobalStep != 6 {
					t.Fatalf("resume from latest-valid: %v, %v", res, err)
				}
				if !strings.Contains(logs.String(), "resuming from "+filepath.Join(out, "checkpoint-2")) || !strings.Contains(logs.String(), "skipped damaged checkpoints: checkpoint-4") {
					t.Errorf("latest-valid did not say it skipped checkpoint-4 and resumed from checkpoint-2:\n%s", logs.String())
				}
				return
			}
			cks, _ := listCheckpoints(out)
			var logs bytes.Buffer
			got, err := resumeCheckpoint(ResumeLatestValid, out, cks, func(format string, a ...any) { fmt.Fprintf(&logs, format, a...) })
			if err != nil || got != filepath.Join(out, "checkpoint-2") || !strings.Contains(logs.String(), tc.file) {
				t.Errorf("latest-valid picks %s (%v), log %q; want checkpoint-2, naming %s", got, err, logs.String(), tc.file)
			}
		})
	}
}

// TestCheckpointChecksums: SHA256SUMS lists every file of a checkpoint with its SHA-256, in
// sha256sum's format (checked with the sha256sum tool when there is one).
func TestCheckpointChecksums(t *testing.T) {
	out := trainUntil(t, 3)
	ck := filepath.Join(out, "checkpoint-2")
	sums, err := os.ReadFile(filepath.Join(ck, checksumFile))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		listed = append(listed, l[66:])
	}
	for _, want := range append(slices.Clone(checkpointFiles), "model.safetensors", "config.json", "modules.json", "tokenizer.json", "1_Pooling/config.json") {
		if !slices.Contains(listed, want) {
			t.Errorf("%s does not list %s: %v", checksumFile, want, listed)
		}
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "--quiet", "-c", checksumFile)
		cmd.Dir = ck
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c %s: %v\n%s", checksumFile, err, out)
		}
	}
}

// TestSecondRunIntoSameOutputDirIsRefused: while one Train call runs into output_dir, another
// (here in the same process; cmd/embedtune's test uses two processes) is refused, naming the holder.
func TestSecondRunIntoSameOutputDirIsRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := faultRun(t, out, blockAt{step: 1, started: started, release: release}).Train()
		done <- err
	}()
	<-started
	_, err := faultRun(t, out).Train()
	if err == nil || !strings.Contains(err.Error(), "is in use by this process") || !strings.Contains(err.Error(), lockFile) {
		t.Errorf("second run: %v, want a refusal naming the lock", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}
	// Released at the end: a new run (resuming) may start.
	if _, err := faultRun(t, out).Train(ResumeFrom("latest")); err != nil {
		t.Fatalf("run after the first finished: %v", err)
	}
}

type blockAt struct {
	BaseCallback
	step             int
	started, release chan struct{}
}

func (b blockAt) OnStepEnd(s *TrainerState, _ *TrainingArguments) {
	if s.GlobalStep == b.step {
		close(b.started)
		<-b.release
	}
}

// The disk-full tests run in a child process (this test binary again), in which the output folder
// is on a small tmpfs mounted in a new user and mount namespace (no privileges needed where user
// namespaces are allowed), or limited by RLIMIT_FSIZE (writes past the limit fail with EFBIG).

const diskFullEnv = "EMBEDTUNE_DISK_FULL_CHILD"

// TestDiskFull runs TestDiskFullChild under each fault.
func TestDiskFull(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses Linux namespaces and rlimits")
	}
	for _, fault := range []string{"tmpfs", "fsize"} {
		for _, when := range []string{"checkpoint", "final"} {
			t.Run(fault+"/"+when, func(t *testing.T) {
				dir := t.TempDir()
				cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(), diskFullEnv+"="+fault+":"+when+":"+dir)
				if fault == "tmpfs" {
					cmd.SysProcAttr = &syscall.SysProcAttr{
						Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
						UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
						GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
					}
				}
				out, err := cmd.CombinedOutput()
				if fault == "tmpfs" && err != nil && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC)) {
					t.Skipf("no user namespaces here (%v); the fsize variant covers write errors", err)
				}
				if err != nil || !bytes.Contains(out, []byte("--- PASS: TestDiskFullChild")) {
					t.Fatalf("child: %v\n%s", err, out)
				}
				t.Logf("%s", bytes.TrimSpace(grepLines(out, "fault:")))
			})
		}
	}
}

func grepLines(b []byte, prefix string) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(l, []byte(prefix)) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

// fillDisk makes writes fail from now on: fills the tmpfs holding dir (filler files removed by
// free), or lowers the file-size limit below the size of any checkpoint or model file.
type fillDisk struct {
	BaseCallback
	fault, dir string
	atStep     int
	atSave     bool
}

func (f fillDisk) inject() {
	if f.fault == "fsize" {
		lim := &unix.Rlimit{Cur: 4096, Max: unix.RLIM_INFINITY}
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, lim); err != nil {
			panic(err)
		}
		return
	}
	fill, err := os.Create(filepath.Join(f.dir, "filler"))
	if err != nil {
		panic(err)
	}
	defer fill.Close()
	block := make([]byte, 64<<10)
	for size := len(block); size >= 1; size /= 2 {
		for {
			if _, err := fill.Write(block[:size]); err != nil {
				break
			}
		}
	}
}

func (f fillDisk) OnSave(s *TrainerState, _ *TrainingArguments, _ string) {
	if f.atSave && s.GlobalStep == f.atStep {
		f.inject()
	}
}

func (f fillDisk) OnStepEnd(s *TrainerState, _ *TrainingArguments) {
	if !f.atSave && s.GlobalStep == f.atStep {
		f.inject()
	}
}

// free undoes inject.
func (f fillDisk) free() {
	if f.fault == "fsize" {
		unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
		return
	}
	os.Remove(filepath.Join(f.dir, "filler"))
}

// TestDiskFullChild: with "checkpoint", the disk fills after checkpoint-2 is written, so writing
// checkpoint-4 fails: the error names it and the cause, checkpoint-2 still verifies and resumes once
// space is back, and no temporary folder is left. With "final", output_dir already holds a finished
// model (of an earlier run) and the disk fills at the last step: saving the final model fails, naming
// output_dir, and the earlier model is still there, complete and loadable.
func TestDiskFullChild(t *testing.T) {
	spec := os.Getenv(diskFullEnv)
	if spec == "" {
		t.Skip("child process of TestDiskFull")
	}
	parts := strings.SplitN(spec, ":", 3)
	fault, when, dir := parts[0], parts[1], parts[2]
	if fault == "tmpfs" {
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"); err != nil {
			t.Fatalf("mounting a tmpfs on %s: %v", dir, err)
		}
	}
	out := filepath.Join(dir, "out")
	f := fillDisk{fault: fault, dir: dir}
	switch when {
	case "checkpoint":
		f.atStep, f.atSave = 2, true
		_, err := faultRun(t, out, f).Train()
		f.free()
		if err == nil || !strings.Contains(err.Error(), filepath.Join(out, "checkpoint-4")) {
			t.Fatalf("error %v does not name checkpoint-4", err)
		}
		if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("error %v is not a full disk / file too large", err)
		}
		t.Logf("fault: %s while writing checkpoint-4 → %v", fault, err)
		if err := verifyCheckpoint(filepath.Join(out, "checkpoint-2")); err != nil {
			t.Fatalf("checkpoint-2 damaged: %v", err)
		}
		if cks, _ := listCheckpoints(out); len(cks) != 1 {
			t.Fatalf("checkpoints after the failure: %v", cks)
		}
		if stale, _ := filepath.Glob(filepath.Join(out, ".*tmp*")); len(stale) > 0 {
			t.Fatalf("temporary files left: %v", stale)
		}
		res, err := faultRun(t, out).Train(ResumeFrom("latest"))
		if err != nil || res.GlobalStep != 6 {
			t.Fatalf("resume after freeing space: %v %v", res, err)
		}
	case "final":
		first := faultRun(t, out)
		first.Args.SaveStrategy = SaveStrategyNo
		if _, err := first.Train(); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(filepath.Join(out, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		f.atStep = 6
		second := faultRun(t, out, f)
		second.Args.SaveStrategy, second.Args.LearningRate = SaveStrategyNo, 1e-2
		_, err = second.Train()
		f.free()
		if err == nil || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), "saving the final model") {
			t.Fatalf("error %v does not name the output folder", err)
		}
		if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("error %v is not a full disk / file too large", err)
		}
		t.Logf("fault: %s while saving the final model → %v", fault, err)
		after, err := os.ReadFile(filepath.Join(out, "model.safetensors"))
		if err != nil || !bytes.Equal(before, after) {
			t.Fatalf("the earlier model was changed (%v)", err)
		}
		if _, err := model.Load(out, model.WithLogger(nil)); err != nil {
			t.Fatalf("the earlier model no longer loads: %v", err)
		}
		if stale, _ := filepath.Glob(filepath.Join(out, ".embedtune-save-*")); len(stale) > 0 {
			t.Fatalf("temporary files left: %v", stale)
		}
	}
}
