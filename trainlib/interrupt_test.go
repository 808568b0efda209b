package trainlib

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/tensors"
)

// slowRun trains a model big enough that a step takes far longer than the work between steps (so a
// cancellation timed half way through a step lands inside it), with a context and InterruptInFlight.
func slowRun(t *testing.T, outDir string, ctx context.Context, cb Callback, opts ...TrainOption) (*Trainer, error) {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 600); err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.InitConfig{HiddenSize: 96, NumLayers: 2, NumHeads: 2, IntermediateSize: 384,
		MaxPositionEmbeddings: 128, MaxSeqLength: 64, Pooling: []string{"mean"}, TokenizerDir: tok, Seed: 5}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	train := pairsDataset(t, synth.Pairs(60, 2, 3))
	args := TrainingArguments{OutputDir: outDir, MaxSteps: 8, PerDeviceTrainBatchSize: 16, LearningRate: 1e-3,
		WarmupRatio: 0.2, BatchSampler: "no_duplicates", LoggingSteps: 3, SaveSteps: 4, SaveTotalLimit: 2}
	topts := []TrainerOption{WithoutProgress()}
	if cb != nil {
		topts = append(topts, WithCallbacks(cb))
	}
	tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), topts...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Train(append([]TrainOption{WithContext(ctx), InterruptInFlight()}, opts...)...)
	return tr, err
}

// stepTimer cancels the context half way through step cancelAt, timed from the previous step. Step
// cancelAt-1 must save a checkpoint: the timer starts when it is written (OnSave), right before step
// cancelAt begins — timed from OnStepEnd, a slow save on a fast machine would swallow the half step.
type stepTimer struct {
	BaseCallback
	cancelAt int
	cancel   func()
	last     time.Time
	half     time.Duration
	mu       sync.Mutex
}

func (c *stepTimer) OnStepEnd(s *TrainerState, _ *TrainingArguments) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if s.GlobalStep == c.cancelAt-1 {
		c.half = now.Sub(c.last) / 2
	}
	c.last = now
}

func (c *stepTimer) OnSave(s *TrainerState, _ *TrainingArguments, _ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.GlobalStep == c.cancelAt-1 {
		time.AfterFunc(c.half, c.cancel)
	}
}

// TestInterruptInFlightAbandonsTheStep: cancelled during a step, Train writes the checkpoint of the
// last completed step without finishing the step in progress, and resuming from it ends bit-identical to
// an uninterrupted run.
func TestInterruptInFlightAbandonsTheStep(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several times")
	}
	ref := filepath.Join(t.TempDir(), "reference")
	if _, err := slowRun(t, ref, context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(ref, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	abandoned := false
	for try := 0; try < 2 && !abandoned; try++ {
		dir := filepath.Join(t.TempDir(), "interrupted")
		ctx, cancel := context.WithCancel(context.Background())
		timer := &stepTimer{cancelAt: 5, cancel: cancel}
		_, err := slowRun(t, dir, ctx, timer)
		cancel()
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Train = %v, want ErrInterrupted", err)
		}
		abandoned = strings.Contains(err.Error(), "abandoned")
		ck, _ := LatestCheckpoint(dir)
		t.Logf("try %d: %v (newest checkpoint %s)", try, err, filepath.Base(ck))
		if abandoned && filepath.Base(ck) != "checkpoint-4" {
			t.Fatalf("step 5 was abandoned but the newest checkpoint is %s", ck)
		}
		if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
			t.Fatal("the interrupted run wrote a final model")
		}
		resumed, err := slowRun(t, dir, context.Background(), nil, ResumeFrom("latest"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("interrupted at %s and resumed: the final weights differ from an uninterrupted run", filepath.Base(ck))
		}
		if resumed.State.GlobalStep != 8 {
			t.Fatalf("resumed to step %d", resumed.State.GlobalStep)
		}
	}
	if !abandoned {
		t.Error("two tries never cancelled during a step")
	}
}

// TestAbandonedStepChangesNothing calls one step with an already cancelled context: the run returns
// at once, and the step's results, computed afterwards in the background, are discarded.
func TestAbandonedStepChangesNothing(t *testing.T) {
	m := tiny(t, "mean")
	train := pairsDataset(t, synth.Pairs(40, 2, 3))
	args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 4, PerDeviceTrainBatchSize: 8, LearningRate: 1e-2,
		BatchSampler: "no_duplicates", GradientAccumulationSteps: 1}
	for _, accum := range []int{1, 2} {
		args.GradientAccumulationSteps = accum
		tr, err := NewTrainer(m, args, train, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		j := &job{model: tr.Model, args: &tr.Args, trainDataset: tr.TrainDataset, loss: tr.Loss, cbs: nil, logf: t.Logf}
		r, err := newRun(j, trainCall{ctx: ctx, abandonSteps: true})
		if err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, m.GraphParams(), r.ts)
		micro, err := r.nextMicroBatches()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.step(micro, 1e-2); !errors.Is(err, errStepAbandoned) {
			t.Fatalf("accumulation %d: step = %v, want errStepAbandoned", accum, err)
		}
		<-r.abandoned // the background computation ends and is discarded
		r.abandoned = nil
		if after := snapshot(t, m.GraphParams(), r.ts); after != before {
			t.Fatalf("accumulation %d: an abandoned step changed the weights, moments or RNG", accum)
		}
		r.releaseStepper()
		r.unlock()
	}
}

// snapshot renders the weights, AdamW moments and RNG state as bytes.
func snapshot(t *testing.T, params []*tensors.Tensor, ts *trainState) string {
	t.Helper()
	var b bytes.Buffer
	all := append(append(append(append([]*tensors.Tensor{}, params...), ts.m...), ts.v...), ts.rng)
	for _, x := range all {
		if err := x.ConstBytes(func(d []byte) { b.Write(d) }); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
