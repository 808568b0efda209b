package nb

import (
	"context"
	"errors"
	"fmt"
	"html"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
)

// Resume answers for Train: what to do when output_dir holds an interrupted run.
const (
	// Ask (the default) stops and offers to continue an interrupted run; without one, it trains from
	// the start.
	Ask = "ask"
	// Yes continues the interrupted run from its newest checkpoint.
	Yes = "yes"
	// No starts over (the old checkpoints are deleted).
	No = "no"
)

// Trained is what a training cell shows: trainer.train()'s output and where the model went.
type Trained struct {
	*trainlib.TrainOutput
	Dir string
}

// Train is trainer.train() for the notebook's training cell.
//
// Jupyter's ■ (interrupt) stops it within the few seconds GoNB allows before killing the cell: the
// step in progress is abandoned (trainlib.InterruptInFlight), the checkpoint of the last completed
// step is written, and the cell says how to continue. Running the cell again with resume "ask" (the
// default) finds that interrupted run and offers to continue it — resume "yes" does (weights, AdamW,
// schedule and data order restored: the result is the one an uninterrupted run gives), resume "no"
// starts over. When there is nothing to continue, the run starts from the beginning (old checkpoints
// in output_dir are deleted), like re-running the cell in Python. Errors stop the cell (see Must).
func Train(tr *trainlib.Trainer, resume string) *Trained {
	resume = strings.ToLower(strings.TrimSpace(resume))
	if resume == "" {
		resume = Ask
	}
	if resume != Ask && resume != Yes && resume != No {
		Fail(fmt.Errorf("resume %q: expected %q, %q or %q", resume, Ask, Yes, No))
	}
	dir := tr.Args.OutputDir
	stopped, err := interruptedRun(dir)
	if err != nil {
		Fail(err)
	}
	var opts []trainlib.TrainOption
	switch {
	case stopped != nil && resume == Ask:
		notice(fmt.Sprintf("Training in %s was interrupted at step %d of %d (%s, %s ago).",
			absPath(dir), stopped.GlobalStep, stopped.MaxSteps, filepath.Base(stopped.dir), time.Since(stopped.at).Round(time.Second)),
			`Continue it: set resume := "yes" in this cell and run it again (or "no" to start over).`)
		os.Exit(1)
	case stopped != nil && resume == Yes:
		opts = append(opts, trainlib.ResumeFrom(stopped.dir))
	default:
		tr.Args.OverwriteOutputDir = true // start over, as re-running the cell does in Python
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out, err := tr.Train(append(opts, trainlib.WithContext(ctx), trainlib.InterruptInFlight())...)
	if errors.Is(err, trainlib.ErrInterrupted) {
		notice("■ "+err.Error()+".", `Run this cell again to continue: it will offer to; set resume := "yes" to continue at once.`)
		os.Exit(1)
	}
	return &Trained{TrainOutput: Must(out, err), Dir: dir}
}

// stoppedRun is an interrupted run found in an output folder.
type stoppedRun struct {
	*trainlib.TrainerState
	dir string
	at  time.Time
}

// interruptedRun returns the newest checkpoint of outputDir when it belongs to a run that stopped
// before its end (no final model saved after it), or nil.
func interruptedRun(outputDir string) (*stoppedRun, error) {
	ck, err := trainlib.LatestCheckpoint(outputDir)
	if err != nil || ck == "" {
		return nil, err
	}
	if trainlib.CheckTrainedModel(outputDir) == nil {
		return nil, nil // finished: the final model is newer than its last checkpoint
	}
	st, err := trainlib.ReadTrainerState(ck)
	if err != nil {
		return nil, nil // not a checkpoint a run could continue from: start over
	}
	if st.GlobalStep >= st.MaxSteps {
		return nil, nil
	}
	info, err := os.Stat(ck)
	if err != nil {
		return nil, err
	}
	return &stoppedRun{TrainerState: st, dir: ck, at: info.ModTime()}, nil
}

// notice shows a yellow box (what happened, what to do) in a notebook, or prints it.
func notice(what, todo string) {
	if !display.InNotebook() {
		fmt.Fprintln(os.Stderr, what+"\n"+todo)
		return
	}
	display.HTML(`<div class="embedtune-notice" style="border:1px solid #e0a800;background:#fff8e1;padding:8px 12px;` +
		`margin:4px 0;font:13px sans-serif;color:#5d4200;white-space:pre-wrap;"><b>` + html.EscapeString(what) + `</b><br>` +
		html.EscapeString(todo) + `</div>`)
}

// HTML shows where the model went and how the run went.
func (t *Trained) HTML() string {
	return display.NewSummary("Fine-tuned model saved").
		Add("Folder", absPath(t.Dir)).
		Add("Steps", t.GlobalStep).
		Add("Average training loss", t.TrainingLoss).
		Add("Training time", time.Duration(t.Metrics["train_runtime"]*float64(time.Second)).Round(time.Second)).
		Add("In Python", fmt.Sprintf("SentenceTransformer(%q)", absPath(t.Dir))).HTML()
}

// Precision decides on fp16 as the tutorial does (fp16=True on its GPU): mixed precision only on XLA
// with a CUDA GPU, whose half-precision tensor cores it exists for; fp32 on CPUs, where fp16 would cost
// precision without making training faster. It returns the choice and why.
func Precision() (fp16 bool, why string) {
	b, err := backend.Default()
	switch {
	case err != nil:
		return false, "no backend (" + err.Error() + ")"
	case b.Name() == "xla" && strings.Contains(strings.ToLower(b.Description()), "cuda"):
		return true, "XLA on a CUDA GPU: fp16 mixed precision (float32 master weights, dynamic loss scaling), as the tutorial"
	case backend.IsGo(b):
		return false, "pure-Go backend on the CPU: fp32 (fp16 would cost precision without a speed-up)"
	default:
		return false, b.Name() + " backend without a CUDA GPU: fp32 (fp16 only pays off on a GPU)"
	}
}
