package trainlib

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/losses"
)

// crashRun trains a fixed small configuration into outDir, optionally resuming; every step is
// reported on stdout as "step N" (the crash test kills this process at a random step).
func crashRun(t testing.TB, outDir string, resume, report bool) *Trainer {
	m := tiny(t, "mean") // Same seed every time: identical initial weights.
	train := pairsDataset(t, synth.Pairs(40, 2, 3))
	args := TrainingArguments{OutputDir: outDir, MaxSteps: 24, PerDeviceTrainBatchSize: 8, LearningRate: 1e-3,
		WarmupRatio: 0.2, BatchSampler: "no_duplicates", LoggingSteps: 3, SaveSteps: 4, SaveTotalLimit: 2,
		GradientAccumulationSteps: 1}
	opts := []TrainerOption{WithoutProgress()}
	if report {
		opts = append(opts, WithCallbacks(stepPrinter{}))
	}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), opts...)
	if err != nil {
		t.Fatal(err)
	}
	var topts []TrainOption
	if resume {
		topts = append(topts, ResumeFrom("latest"))
	}
	if _, err := tr.Train(topts...); err != nil {
		t.Fatal(err)
	}
	return tr
}

type stepPrinter struct{ BaseCallback }

func (stepPrinter) OnStepEnd(s *TrainerState, _ *TrainingArguments) {
	fmt.Printf("step %d\n", s.GlobalStep)
}

// TestCrashChild is the child process of TestKillAndResumeIsBitIdentical.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("EMBEDTUNE_CRASH_CHILD")
	if dir == "" {
		t.Skip("helper process for TestKillAndResumeIsBitIdentical")
	}
	crashRun(t, dir, false, true)
}

// TestKillAndResumeIsBitIdentical kills a training process with SIGKILL at a random step,
// resumes from the newest checkpoint and expects exactly the weights and logs of an
// uninterrupted run.
func TestKillAndResumeIsBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three times")
	}
	ref := filepath.Join(t.TempDir(), "reference")
	refTrainer := crashRun(t, ref, false, false)

	killAt := 5 + rand.IntN(17) // After the first checkpoint (step 4), before the end (24).
	crashed := filepath.Join(t.TempDir(), "crashed")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EMBEDTUNE_CRASH_CHILD="+crashed)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		var step int
		if _, err := fmt.Sscanf(sc.Text(), "step %d", &step); err == nil && step >= killAt {
			cmd.Process.Kill() // SIGKILL: no cleanup, possibly mid-checkpoint.
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child finished without reaching step %d: %s", killAt, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(crashed, "model.safetensors")); err == nil {
		t.Fatal("the killed run already wrote a final model")
	}
	resumed := crashRun(t, crashed, true, false)
	t.Logf("killed at step %d, resumed to step %d", killAt, resumed.State.GlobalStep)

	for _, f := range []string{"model.safetensors"} {
		a, err := os.ReadFile(filepath.Join(ref, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(crashed, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between the uninterrupted and the killed+resumed run", f)
		}
	}
	if got, want := logLosses(resumed.State.LogHistory), logLosses(refTrainer.State.LogHistory); got != want {
		t.Fatalf("log history differs:\n resumed %s\n   ref   %s", got, want)
	}
	cks, _ := listCheckpoints(crashed)
	if len(cks) != 2 {
		t.Fatalf("save_total_limit 2 left %d checkpoints: %v", len(cks), cks)
	}
	entries, _ := os.ReadDir(crashed)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && e.Name() != lockFile { // the lock file stays: see lockOutputDir
			t.Errorf("leftover temporary entry %s", e.Name())
		}
	}
}

// logLosses renders the training-loss entries of a history.
func logLosses(h []map[string]float64) string {
	var b strings.Builder
	for _, e := range h {
		if l, ok := e["loss"]; ok {
			fmt.Fprintf(&b, "%g:%.9g ", e["step"], l)
		}
	}
	return b.String()
}
