package display

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// tinyTrainer returns a trainer of a tiny random BERT on synthetic (question, context) pairs: 6 steps,
// a log every 2 steps, an evaluation of the validation loss every 3.
func tinyTrainer(t *testing.T, opts ...trainlib.TrainerOption) *trainlib.Trainer {
	t.Helper()
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	var qs, cs []string
	for _, p := range synth.Pairs(24, 2, 3) {
		qs, cs = append(qs, p.Question), append(cs, p.Context)
	}
	ds, err := datasets.FromColumns(datasets.Col("question", qs), datasets.Col("context", cs))
	if err != nil {
		t.Fatal(err)
	}
	args := trainlib.TrainingArguments{OutputDir: filepath.Join(t.TempDir(), "run"), RunName: "tiny-run", MaxSteps: 6,
		PerDeviceTrainBatchSize: 8, LearningRate: 1e-3, LoggingSteps: 2, EvalStrategy: "steps", EvalSteps: 3, SaveStrategy: "no"}
	tr, err := trainlib.NewTrainer(m, args, ds, ds, losses.MultipleNegativesRankingLoss(m), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestAttachProgress trains with the progress view attached (terminal fallback into a buffer) and checks
// what it drew: the run's title and complete bar, the table with a Validation Loss column and one row per
// evaluation (steps 3 and 6), and the end-of-training summary.
func TestAttachProgress(t *testing.T) {
	tr := tinyTrainer(t)
	var first, out bytes.Buffer
	AttachProgress(tr, WithWriter(&first))
	AttachProgress(tr, WithWriter(&out)) // replaces the first: one progress display per trainer
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	if first.Len() != 0 {
		t.Errorf("the replaced progress view drew:\n%s", first.String())
	}
	text := out.String()
	for _, want := range []string{"tiny-run |" + strings.Repeat("█", 30) + "| [6/6", "Validation Loss", "Training finished in"} {
		if !strings.Contains(text, want) {
			t.Errorf("progress output lacks %q:\n%s", want, text)
		}
	}
	var rows []string
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && (f[0] == "3" || f[0] == "6") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 {
		t.Errorf("want the table rows of steps 3 and 6, got %q in:\n%s", rows, text)
	}
}

// TestWithoutProgress checks that a trainer built WithoutProgress ignores AttachProgress.
func TestWithoutProgress(t *testing.T) {
	tr := tinyTrainer(t, trainlib.WithoutProgress())
	var out bytes.Buffer
	AttachProgress(tr, WithWriter(&out))
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("WithoutProgress, yet the progress view drew:\n%s", out.String())
	}
}
