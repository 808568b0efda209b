package trainlib

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// Trainer fine-tunes a sentence-transformers model, like sentence-transformers'
// SentenceTransformerTrainer: batches from the train dataset (anchor, positive, … columns and an
// optional "label"/"score" column) go through the loss, AdamW updates the weights under the
// learning-rate schedule, and logs, evaluations and checkpoints happen at the configured steps.
//
// Checkpoints (output_dir/checkpoint-<step>/) hold the model as a sentence-transformers folder
// plus optimizer.safetensors (AdamW moments), scheduler.json, rng_state.json, trainer_state.json
// (Hugging Face's format), training_args.json and embedtune_state.json; resuming from one gives
// the same final weights, bit for bit, as an uninterrupted run. The final model is saved to
// output_dir when Train returns successfully.
type Trainer struct {
	Model        *model.SentenceTransformer
	Args         TrainingArguments
	TrainDataset *datasets.Dataset
	EvalDataset  *datasets.Dataset
	Loss         losses.Loss
	Evaluator    evaluation.Evaluator
	Callbacks    []Callback
	// State is the live Hugging Face trainer state (log history included).
	State *TrainerState

	progress   Callback // the progress display (SetProgress), called first
	noProgress bool     // WithoutProgress: SetProgress is ignored
	logf       func(format string, args ...any)
	graphs     *GraphCache // WithGraphCache, or nil
}

// TrainerOption configures NewTrainer.
type TrainerOption func(*Trainer)

// WithEvaluator runs e at every evaluation (its metrics are logged with the "eval_" prefix).
func WithEvaluator(e evaluation.Evaluator) TrainerOption {
	return func(t *Trainer) { t.Evaluator = e }
}

// WithCallbacks adds callbacks (called in order, after the progress display if one is attached).
func WithCallbacks(cbs ...Callback) TrainerOption {
	return func(t *Trainer) { t.Callbacks = append(t.Callbacks, cbs...) }
}

// WithoutProgress keeps the trainer without a progress display: SetProgress (and so
// display.AttachProgress) leaves it unchanged, like transformers' disable_tqdm=True.
func WithoutProgress() TrainerOption {
	return func(t *Trainer) { t.noProgress, t.progress = true, nil }
}

// WithGraphCache shares compiled graphs with the other trainers given the same cache (see
// GraphCache): a run whose graphs have the same structure as an earlier run's compiles nothing.
// It also makes the model's inference graphs (Encode, used by evaluators) shared through the cache.
func WithGraphCache(c *GraphCache) TrainerOption {
	return func(t *Trainer) { t.graphs = c }
}

// NewTrainer checks the configuration and data and returns a trainer. evalDataset may be nil.
func NewTrainer(m *model.SentenceTransformer, args TrainingArguments, trainDataset, evalDataset *datasets.Dataset, loss losses.Loss, opts ...TrainerOption) (*Trainer, error) {
	if m == nil {
		return nil, errors.New("NewTrainer: model is nil")
	}
	if loss == nil {
		return nil, errors.New("NewTrainer: loss is nil")
	}
	if loss.Model() != nil && loss.Model() != m {
		return nil, errors.New("NewTrainer: the loss was built for another model")
	}
	if trainDataset == nil || trainDataset.Len() == 0 {
		return nil, errors.New("NewTrainer: the train dataset is empty")
	}
	resolved, err := args.resolved()
	if err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, Args: resolved, TrainDataset: trainDataset, EvalDataset: evalDataset, Loss: loss,
		logf: func(format string, a ...any) { fmt.Fprintf(os.Stderr, "embedtune: "+format+"\n", a...) }}
	for _, o := range opts {
		o(t)
	}
	if t.graphs != nil {
		m.ShareGraphs(t.graphs.models)
	}
	train, err := newTextTable("train dataset", trainDataset)
	if err != nil {
		return nil, err
	}
	if err := loss.Validate(len(train.textCols), train.labels != nil); err != nil {
		return nil, fmt.Errorf("train dataset columns %v: %w", trainDataset.Columns(), err)
	}
	if evalDataset != nil {
		ev, err := newTextTable("eval dataset", evalDataset)
		if err != nil {
			return nil, err
		}
		if len(ev.textCols) != len(train.textCols) || (ev.labels == nil) != (train.labels == nil) {
			return nil, fmt.Errorf("eval dataset columns %v do not match the train dataset's %v", evalDataset.Columns(), trainDataset.Columns())
		}
	}
	if _, err := checkCallbacks(t.Callbacks, &t.Args); err != nil {
		return nil, err
	}
	if t.Args.EvalStrategy != IntervalStrategyNo && evalDataset == nil && t.Evaluator == nil {
		return nil, fmt.Errorf("eval_strategy %q needs an eval dataset or an evaluator", t.Args.EvalStrategy)
	}
	if _, err := computeDType(m, &t.Args); err != nil {
		return nil, err
	}
	return t, nil
}

// TrainOption configures one Train call.
type TrainOption func(*trainCall)

// ResumeFrom continues from a checkpoint folder, from the newest checkpoint of output_dir when path
// is "latest", or from the newest one that verifies when it is "latest-valid" ([ResumeLatestValid]).
// A checkpoint whose files differ from its SHA256SUMS (truncated, damaged, changed) is refused, naming
// the file.
func ResumeFrom(path string) TrainOption { return func(c *trainCall) { c.resume = path } }

// StopWhen ends training early, like a transformers callback setting control.should_training_stop:
// after every optimizer step (and its logging, evaluation and checkpoint), stop(state) is asked, and
// when it returns true the run finishes as if max_steps were reached — the summary is logged, the
// best model loaded if asked and the final model saved. (A hyperparameter sweep stops its bad runs
// this way.)
func StopWhen(stop func(*TrainerState) bool) TrainOption { return func(c *trainCall) { c.stop = stop } }

// WithContext makes Train stop cleanly (checkpoint, then ErrInterrupted) when ctx is cancelled.
func WithContext(ctx context.Context) TrainOption { return func(c *trainCall) { c.ctx = ctx } }

// InterruptInFlight makes a cancelled context (WithContext) stop Train without waiting for the step
// in progress: the step is abandoned (its results discarded), the checkpoint of the last completed
// step is written at once, and Train returns ErrInterrupted — within the time a checkpoint takes to
// write, however slow a step is. A notebook needs it: Jupyter's ■ gives a GoNB cell 5 seconds before
// killing it, less than one CPU step of a bge-base-sized model. The price is memory: the step's inputs
// (trained weights, AdamW moments) are kept alive during the step instead of being reused for its
// outputs.
func InterruptInFlight() TrainOption { return func(c *trainCall) { c.abandonSteps = true } }

// Train runs the training loop (see Trainer and the files of the run: run.go sets it up, loop.go steps,
// evaluate.go evaluates, checkpoint.go saves and restores).
func (t *Trainer) Train(opts ...TrainOption) (*TrainOutput, error) {
	call := trainCall{ctx: context.Background()}
	for _, o := range opts {
		o(&call)
	}
	j := &job{model: t.Model, args: &t.Args, trainDataset: t.TrainDataset, evalDataset: t.EvalDataset, loss: t.Loss,
		evaluator: t.Evaluator, cbs: t.callbacks(), logf: t.logf, graphs: t.graphs}
	r, err := newRun(j, call)
	if j.state != nil {
		t.State = j.state // the live state, from the moment the run knows its size
	}
	if err != nil {
		return nil, err
	}
	defer r.releaseStepper()
	defer r.unlock()
	if r.endDevices != nil {
		defer r.endDevices()
	}
	return r.loop()
}

// SetProgress installs cb as the trainer's progress display, the role of transformers'
// ProgressCallback / NotebookProgressCallback: a Callback called before the others at every event.
// A trainer has at most one (a second call replaces the first), and none unless one is attached:
// trainlib itself draws nothing. Package kernel/display provides the notebook and terminal display
// and attaches it with display.AttachProgress(trainer); the embedtune CLI attaches it for `train`.
// After WithoutProgress, SetProgress does nothing.
func (t *Trainer) SetProgress(cb Callback) {
	if !t.noProgress {
		t.progress = cb
	}
}

// callbacks returns the progress display (when one is attached) followed by the user's callbacks.
func (t *Trainer) callbacks() []Callback {
	var cbs []Callback
	if t.progress != nil {
		cbs = append(cbs, t.progress)
	}
	return append(cbs, t.Callbacks...)
}

// Devices returns the number of devices the trainer trains on: num_devices, or all of the model's
// backend's devices when it is 0 (the global batch is per_device_train_batch_size × Devices ×
// gradient_accumulation_steps). The error is Train's for a num_devices the backend cannot give.
func (t *Trainer) Devices() (int, error) { return resolveDevices(t.Model.Backend(), &t.Args) }
