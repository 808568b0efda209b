package trainlib

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

func TestLoadTrainedModel(t *testing.T) {
	out := t.TempDir()
	if _, err := LoadTrainedModel(out); err == nil || !strings.Contains(err.Error(), "no trained model") {
		t.Fatalf("empty output_dir: %v", err)
	}
	m := tiny(t, "mean")
	args := TrainingArguments{OutputDir: out, MaxSteps: 4, PerDeviceTrainBatchSize: 8, SaveSteps: 2, LoggingSteps: 2, LearningRate: 1e-3}
	data := pairsDataset(t, synth.Pairs(30, 2, 1))
	tr, err := NewTrainer(m, args, data, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	ck, err := LatestCheckpoint(out)
	if err != nil || filepath.Base(ck) != "checkpoint-4" {
		t.Fatalf("latest checkpoint: %q, %v", ck, err)
	}
	if st, err := ReadTrainerState(ck); err != nil || st.GlobalStep != 4 || len(st.LogHistory) == 0 {
		t.Fatalf("trainer state: %+v, %v", st, err)
	}
	if _, err := ReadTrainerState(out); err == nil || !strings.Contains(err.Error(), "trainer_state.json") {
		t.Fatalf("trainer state of a folder without one: %v", err)
	}
	got, err := LoadTrainedModel(out, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"a question about rivers", "a passage"}
	want, _ := m.Encode(texts, nil)
	have, err := got.Encode(texts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j := range want[i] {
			if want[i][j] != have[i][j] {
				t.Fatalf("text %d, dim %d: loaded %g, trained %g", i, j, have[i][j], want[i][j])
			}
		}
	}

	// A second run into the same folder, interrupted after its first checkpoint: the folder still
	// holds the first run's model, older than the new checkpoint.
	time.Sleep(20 * time.Millisecond) // distinct modification times
	m2 := tiny(t, "mean")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args.OverwriteOutputDir = true
	tr2, err := NewTrainer(m2, args, data, nil, losses.MultipleNegativesRankingLoss(m2), WithoutProgress(),
		WithCallbacks(cancelAt{step: 2, cancel: cancel}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.Train(WithContext(ctx)); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := LoadTrainedModel(out); err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("unfinished run: %v", err)
	}

	// LoRA: the output folder is an adapter folder.
	base := filepath.Join(t.TempDir(), "base")
	if err := tiny(t, "mean").Save(base); err != nil {
		t.Fatal(err)
	}
	lm, err := model.Load(base, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.AddAdapter(model.LoRAConfig{R: 2}); err != nil {
		t.Fatal(err)
	}
	loraOut := t.TempDir()
	args = TrainingArguments{OutputDir: loraOut, MaxSteps: 2, PerDeviceTrainBatchSize: 8, SaveStrategy: "no", LearningRate: 1e-2}
	tr3, err := NewTrainer(lm, args, data, nil, losses.MultipleNegativesRankingLoss(lm), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr3.Train(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(loraOut, "model.safetensors")); err == nil {
		t.Fatal("LoRA run wrote model.safetensors")
	}
	lt, err := LoadTrainedModel(loraOut, model.WithLogger(nil))
	if err != nil || lt.Adapter == nil {
		t.Fatalf("LoRA output: %v (adapter %v)", err, lt != nil && lt.Adapter != nil)
	}
}
