package trainlib

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sampler"
)

const oomChildEnv = "EMBEDTUNE_TEST_OOM_CHILD"

// TestOutOfMemoryStep runs a training whose third step needs more memory than the process may have
// (a child process with a 4 GB address-space limit, ulimit -v): the engine's allocation failure is
// reported with the batch shape, what to change and the last checkpoint, which stays intact. The
// pure-Go backend cannot report it (Go's runtime ends the process on out-of-memory), so the test
// needs XLA.
func TestOutOfMemoryStep(t *testing.T) {
	if dir := os.Getenv(oomChildEnv); dir != "" {
		oomChild(t, dir)
		return
	}
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	if backend.IsGo(b) {
		t.Skip("the pure-Go backend cannot survive an out-of-memory condition (Go's runtime aborts)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash for ulimit")
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", `ulimit -v 4000000 && exec "$0" -test.run '^TestOutOfMemoryStep$' -test.count=1`, os.Args[0])
	cmd.Env = append(os.Environ(), oomChildEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "error.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "out", "checkpoint-2")
	for _, want := range []string{"training step 3", "out of memory", "columns of shape [4096 64] and [4096 64]",
		"per_device_train_batch_size with gradient_accumulation_steps keeping the effective batch (e.g. 2048 and 2",
		"max_seq_length (now 64)", "fp16 or bf16", "LoRA", ckpt + ", is intact", `ResumeFrom("latest")`} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	state, err := ReadTrainerState(ckpt)
	if err != nil || state.GlobalStep != 2 {
		t.Fatalf("checkpoint-2: %+v %v", state, err)
	}
	m, err := LoadTrainedModel(ckpt)
	if err != nil {
		t.Fatalf("the last checkpoint does not load: %v", err)
	}
	if _, err := m.Encode([]string{"a question"}, nil); err != nil {
		t.Fatal(err)
	}
}

// oomChild trains with batches of 4096 rows: the first two of short texts, checkpointed, then long
// ones (the rows the sampler puts in the third batch).
func oomChild(t *testing.T, dir string) {
	const bs = 4096
	m, err := synth.TinyModel(filepath.Join(dir, "tok"), "mean", 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	pairs := synth.Pairs(3*bs/2, 2, 5)
	perm := sampler.Permutation(len(pairs), 42, 0)
	qs, cs := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		qs[i], cs[i] = p.Question, p.Question
	}
	for _, row := range perm[2*bs:] {
		qs[row] = strings.Repeat(pairs[row].Context+" ", 8)
		cs[row] = qs[row]
	}
	ds, err := datasets.FromColumns(datasets.Col("question", qs), datasets.Col("context", cs))
	if err != nil {
		t.Fatal(err)
	}
	args := TrainingArguments{OutputDir: filepath.Join(dir, "out"), MaxSteps: 3, PerDeviceTrainBatchSize: bs, SaveSteps: 1, LoggingSteps: 1, Seed: 42}
	tr, err := NewTrainer(m, args, ds, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Train()
	if !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("got %v, want an out-of-memory error at step 3", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "error.txt"), []byte(err.Error()), 0o644); err != nil {
		t.Fatal(err)
	}
}
