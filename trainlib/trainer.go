package trainlib

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/optim"
	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/embedtune/embedtune/trainlib/sampler"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// ErrInterrupted is returned (wrapped) by Train when its context is cancelled; a checkpoint of
// the last completed step has been written by then.
var ErrInterrupted = errors.New("training interrupted")

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
	if t.Args.EvalStrategy != "no" && evalDataset == nil && t.Evaluator == nil {
		return nil, fmt.Errorf("eval_strategy %q needs an eval dataset or an evaluator", t.Args.EvalStrategy)
	}
	if _, err := computeDType(m, &t.Args); err != nil {
		return nil, err
	}
	return t, nil
}

// computeDType picks the matmul dtype from fp16/bf16 and checks the backend runs it.
func computeDType(m *model.SentenceTransformer, a *TrainingArguments) (dtypes.DType, error) {
	dt := dtypes.Float32
	name := ""
	switch {
	case a.FP16:
		dt, name = dtypes.Float16, "fp16"
	case a.BF16:
		dt, name = dtypes.BFloat16, "bf16"
	default:
		return dt, nil
	}
	if err := probeDType(m, dt); err != nil {
		return dt, fmt.Errorf("%s=true, but backend %s cannot run %s matrix multiplications (%v); use %s",
			name, m.Backend().Name(), dt, err, map[bool]string{true: "bf16=true or fp32", false: "fp32"}[a.FP16])
	}
	return dt, nil
}

// probeDType compiles and runs a tiny matmul in dt with its gradient.
func probeDType(m *model.SentenceTransformer, dt dtypes.DType) (err error) {
	if !m.Backend().Capabilities().DTypes[dt] {
		return fmt.Errorf("dtype not supported")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = graph.ExecOnce(m.Backend(), func(x *graph.Node) *graph.Node {
		h := graph.ConvertDType(x, dt)
		y := graph.ConvertDType(graph.Einsum("ij,kj->ik", h, h), dtypes.Float32)
		return graph.Gradient(graph.ReduceAllSum(y), x)[0]
	}, [][]float32{{1, 2}, {3, 4}})
	return err
}

// TrainOutput is what Train returns, like transformers' TrainOutput.
type TrainOutput struct {
	GlobalStep   int                `json:"global_step"`
	TrainingLoss float64            `json:"training_loss"`
	Metrics      map[string]float64 `json:"metrics"`
}

// TrainOption configures one Train call.
type TrainOption func(*trainCall)

type trainCall struct {
	ctx    context.Context
	resume string
}

// ResumeFrom continues from a checkpoint folder, or from the newest checkpoint of output_dir
// when path is "latest".
func ResumeFrom(path string) TrainOption { return func(c *trainCall) { c.resume = path } }

// WithContext makes Train stop cleanly (checkpoint, then ErrInterrupted) when ctx is cancelled.
func WithContext(ctx context.Context) TrainOption { return func(c *trainCall) { c.ctx = ctx } }

// run holds the state of one Train call.
type run struct {
	t             *Trainer
	a             *TrainingArguments
	ctx           context.Context
	st            *stepper
	ts            *trainState
	rs            resumeState
	train         *textTable
	eval          *textTable
	samp          sampler.Sampler
	sched         func(int) float64
	epochs        [][]int // micro-batches of the current epoch
	epochIdx      int
	stepsPerEpoch int
	nonEmbParams  float64
	start         time.Time
	prevRuntime   float64
	cbs           []Callback
	lastSaved     int
}

// Train runs the training loop. See Trainer.
func (t *Trainer) Train(opts ...TrainOption) (*TrainOutput, error) {
	call := trainCall{ctx: context.Background()}
	for _, o := range opts {
		o(&call)
	}
	r, err := t.setup(call)
	if err != nil {
		return nil, err
	}
	return r.loop()
}

// setup prepares data, graphs, state, and resumes when asked.
func (t *Trainer) setup(call trainCall) (*run, error) {
	a := &t.Args
	r := &run{t: t, a: a, ctx: call.ctx, lastSaved: -1}
	var err error
	if r.train, err = newTextTable("train dataset", t.TrainDataset); err != nil {
		return nil, err
	}
	if t.EvalDataset != nil {
		if r.eval, err = newTextTable("eval dataset", t.EvalDataset); err != nil {
			return nil, err
		}
	}
	cdt, err := computeDType(t.Model, a)
	if err != nil {
		return nil, err
	}
	if r.samp, err = sampler.New(a.BatchSampler, r.train, a.PerDeviceTrainBatchSize, a.DataloaderDropLast, a.Seed); err != nil {
		return nil, err
	}
	microPerEpoch := len(r.samp.Batches(0))
	if microPerEpoch == 0 {
		return nil, fmt.Errorf("the train dataset (%d rows) gives no batch of %d rows (dataloader_drop_last=%v)", t.TrainDataset.Len(), a.PerDeviceTrainBatchSize, a.DataloaderDropLast)
	}
	r.stepsPerEpoch = max(microPerEpoch/a.GradientAccumulationSteps, 1)
	maxSteps := a.MaxSteps
	if maxSteps <= 0 {
		maxSteps = int(math.Ceil(a.NumTrainEpochs * float64(r.stepsPerEpoch)))
	}
	numEpochs := int(math.Ceil(float64(maxSteps) / float64(r.stepsPerEpoch)))
	warmup := optim.WarmupSteps(a.WarmupSteps, a.WarmupRatio, maxSteps)
	if r.sched, err = optim.Schedule(a.LRSchedulerType, warmup, maxSteps); err != nil {
		return nil, err
	}
	t.State = &TrainerState{MaxSteps: maxSteps, LoggingSteps: a.LoggingSteps, EvalSteps: a.EvalSteps, SaveSteps: a.SaveSteps,
		TrainBatchSize: a.PerDeviceTrainBatchSize, NumTrainEpochs: numEpochs, LogHistory: []map[string]float64{},
		IsLocalProcessZero: true, IsWorldProcessZero: true,
		StatefulCallbacks: map[string]any{"TrainerControl": map[string]any{"args": map[string]bool{
			"should_epoch_stop": false, "should_evaluate": false, "should_log": false, "should_save": true, "should_training_stop": false},
			"attributes": map[string]any{}}}}
	r.rs = resumeState{Version: model.Version, LossScale: 1, Seed: a.Seed, WarmupSteps: warmup}
	if a.FP16 {
		r.rs.LossScale = 65536
	}
	// Trained weights are float32 master weights: checkpoints and the final model store F32.
	for _, n := range t.Model.Weights.Names {
		t.Model.Weights.StoredDType[n] = safetensors.F32
	}
	if r.st, err = newStepper(t.Model, t.Loss, a, len(r.train.textCols), r.train.labels != nil, cdt); err != nil {
		return nil, err
	}
	r.ts = &trainState{lossScale: r.rs.LossScale}
	params := t.Model.GraphParams()
	for _, i := range r.st.train {
		r.ts.m = append(r.ts.m, tensors.FromShape(params[i].Shape()))
		r.ts.v = append(r.ts.v, tensors.FromShape(params[i].Shape()))
	}
	if r.ts.rng, err = graph.RNGStateFromSeed(a.Seed); err != nil {
		return nil, err
	}
	cfg := t.Model.Config
	r.nonEmbParams = float64(t.Model.Weights.NumParams() - cfg.VocabSize*cfg.HiddenSize - cfg.MaxPositionEmbeddings*cfg.HiddenSize - cfg.TypeVocabSize*cfg.HiddenSize)

	existing, err := listCheckpoints(a.OutputDir)
	if err != nil {
		return nil, err
	}
	if call.resume != "" {
		path := call.resume
		if path == "latest" {
			if len(existing) == 0 {
				return nil, fmt.Errorf("resume from latest: no %s* folder in %s", checkpointPrefix, a.OutputDir)
			}
			path = existing[len(existing)-1]
		}
		if err := r.restore(path); err != nil {
			return nil, err
		}
	} else if len(existing) > 0 {
		if !a.OverwriteOutputDir {
			return nil, fmt.Errorf("output_dir %s already holds checkpoints (%s): resume with ResumeFrom(\"latest\"), set OverwriteOutputDir to start over (old checkpoints are deleted), or choose another output_dir",
				a.OutputDir, filepath.Base(existing[len(existing)-1]))
		}
		for _, c := range existing {
			if err := os.RemoveAll(c); err != nil {
				return nil, err
			}
		}
	}
	if err := os.MkdirAll(a.OutputDir, 0o755); err != nil {
		return nil, err
	}
	// Temporary folders of checkpoints a killed run was writing.
	if stale, _ := filepath.Glob(filepath.Join(a.OutputDir, "."+checkpointPrefix+"*.tmp-*")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	r.cbs = t.callbacks()
	return r, nil
}

// loop runs steps until max_steps, handling logs, evaluations, checkpoints and interruptions.
func (r *run) loop() (*TrainOutput, error) {
	a, s := r.a, r.t.State
	r.start = time.Now()
	r.prevRuntime = r.rs.TrainRuntimeSecs
	for _, cb := range r.cbs {
		cb.OnTrainBegin(s, a)
	}
	if a.EvalOnStart && s.GlobalStep == 0 {
		if _, err := r.evaluate(); err != nil {
			return nil, err
		}
	}
	for s.GlobalStep < s.MaxSteps {
		if err := r.ctx.Err(); err != nil {
			return nil, r.interrupt(err)
		}
		micro, err := r.nextMicroBatches()
		if err != nil {
			return nil, err
		}
		lr := a.LearningRate * r.sched(r.rs.SchedulerStep)
		res, err := r.st.runStep(r.ts, micro, lr, r.rs.AdamStep+1)
		if err != nil {
			return nil, fmt.Errorf("training step %d: %w", s.GlobalStep+1, err)
		}
		if !res.finite {
			if !a.FP16 {
				return nil, r.diverged(res)
			}
			// fp16 dynamic loss scaling (torch GradScaler): skip the step, halve the scale.
			r.rs.LossScale *= 0.5
			r.rs.ScalerGrowth = 0
			if r.rs.LossScale < 1e-30 {
				return nil, r.diverged(res)
			}
		} else {
			r.rs.AdamStep++
			r.rs.SchedulerStep++
			if a.FP16 {
				if r.rs.ScalerGrowth++; r.rs.ScalerGrowth == 2000 {
					r.rs.LossScale *= 2
					r.rs.ScalerGrowth = 0
				}
			}
		}
		r.ts.lossScale = r.rs.LossScale
		s.GlobalStep++
		if !isNaNOrInf(res.loss) {
			r.rs.LossSinceLog += res.loss
			r.rs.TotalLossSum += res.loss
		}
		for _, b := range micro {
			for _, ids := range b.ids {
				s.NumInputTokensSeen += ids.Shape().Size()
			}
		}
		s.TotalFlos = 6 * r.nonEmbParams * float64(s.NumInputTokensSeen)
		s.Epoch = float64(r.rs.EpochIndex) + float64(r.rs.BatchInEpoch/a.GradientAccumulationSteps)/float64(r.stepsPerEpoch)
		if r.rs.BatchInEpoch >= len(r.epochs) {
			s.Epoch = float64(r.rs.EpochIndex + 1)
		}
		for _, cb := range r.cbs {
			cb.OnStepEnd(s, a)
		}
		if err := r.maybeLogEvalSave(res); err != nil {
			return nil, err
		}
	}
	return r.finish()
}

// nextMicroBatches returns the gradient_accumulation_steps micro-batches of the next step,
// moving to the next epoch (reshuffled with seed + epoch) when one is exhausted.
func (r *run) nextMicroBatches() ([]*batchTensors, error) {
	a := r.a
	var out []*batchTensors
	for len(out) < a.GradientAccumulationSteps {
		if r.epochs == nil || r.epochIdx != r.rs.EpochIndex {
			r.epochs = r.samp.Batches(r.rs.EpochIndex)
			r.epochIdx = r.rs.EpochIndex
		}
		if r.rs.BatchInEpoch >= len(r.epochs) {
			r.rs.EpochIndex++
			r.rs.BatchInEpoch = 0
			continue
		}
		rows := r.epochs[r.rs.BatchInEpoch]
		r.rs.BatchInEpoch++
		b, err := r.train.batch(r.t.Model, &r.t.Args, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// maybeLogEvalSave follows Hugging Face's DefaultFlowCallback: log, then evaluate, then save.
func (r *run) maybeLogEvalSave(res stepResult) error {
	a, s := r.a, r.t.State
	step := s.GlobalStep
	last := step >= s.MaxSteps
	endOfEpoch := r.rs.BatchInEpoch >= len(r.epochs)
	if (step == 1 && a.LoggingFirstStep) || step%a.LoggingSteps == 0 {
		entry := map[string]float64{
			"loss":          r.rs.LossSinceLog / float64(step-r.rs.LastLoggedStep),
			"grad_norm":     res.gradNorm,
			"learning_rate": a.LearningRate * r.sched(r.rs.SchedulerStep),
		}
		r.rs.LossSinceLog, r.rs.LastLoggedStep = 0, step
		r.log(entry)
	}
	shouldEval := (a.EvalStrategy == "steps" && (step%a.EvalSteps == 0 || last)) || (a.EvalStrategy == "epoch" && endOfEpoch)
	shouldSave := (a.SaveStrategy == "steps" && (step%a.SaveSteps == 0 || last)) || (a.SaveStrategy == "epoch" && endOfEpoch)
	if shouldEval {
		metrics, err := r.evaluate()
		if err != nil {
			return err
		}
		if a.MetricForBestModel != "" {
			improved, err := r.updateBest(metrics)
			if err != nil {
				return err
			}
			if a.SaveStrategy == "best" {
				shouldSave = improved
			}
		}
	}
	if shouldSave {
		return r.saveCheckpoint()
	}
	return nil
}

// log appends an entry (with epoch and step) to the history and tells the callbacks.
func (r *run) log(entry map[string]float64) {
	s := r.t.State
	entry["epoch"] = s.Epoch
	entry["step"] = float64(s.GlobalStep)
	s.LogHistory = append(s.LogHistory, entry)
	for _, cb := range r.cbs {
		cb.OnLog(s, r.a, entry)
	}
}

// evaluate computes the eval loss (if there is an eval dataset) and the evaluator's metrics,
// logs them with the "eval_" prefix and returns them.
func (r *run) evaluate() (map[string]float64, error) {
	t, a := r.t, r.a
	start := time.Now()
	metrics := map[string]float64{}
	samples, batches := 0, 0
	if r.eval != nil {
		es, err := sampler.New(a.BatchSampler, r.eval, a.PerDeviceEvalBatchSize, a.DataloaderDropLast, a.Seed)
		if err != nil {
			return nil, err
		}
		var sum float64
		for _, rows := range es.Batches(0) {
			b, err := r.eval.batch(t.Model, a, rows)
			if err != nil {
				return nil, err
			}
			l, err := r.st.evalLoss(b)
			if err != nil {
				return nil, fmt.Errorf("evaluation at step %d: %w", t.State.GlobalStep, err)
			}
			sum += l * float64(len(rows))
			samples += len(rows)
			batches++
		}
		if samples > 0 {
			metrics["eval_loss"] = sum / float64(samples)
		}
	}
	if t.Evaluator != nil {
		ctx := evaluation.WithRunInfo(r.ctx, evaluation.RunInfo{Epoch: t.State.Epoch, Steps: t.State.GlobalStep})
		em, err := t.Evaluator.Evaluate(ctx, t.Model)
		if err != nil {
			return nil, fmt.Errorf("evaluator at step %d: %w", t.State.GlobalStep, err)
		}
		for k, v := range em {
			if !strings.HasPrefix(k, "eval_") {
				k = "eval_" + k
			}
			metrics[k] = v
		}
	}
	secs := time.Since(start).Seconds()
	metrics["eval_runtime"] = math.Round(secs*1e4) / 1e4
	if samples > 0 {
		metrics["eval_samples_per_second"] = math.Round(float64(samples)/secs*1e3) / 1e3
		metrics["eval_steps_per_second"] = math.Round(float64(batches)/secs*1e3) / 1e3
	}
	entry := make(map[string]float64, len(metrics))
	for k, v := range metrics {
		entry[k] = v
	}
	r.log(entry)
	for _, cb := range r.cbs {
		cb.OnEvaluate(t.State, a, metrics)
	}
	return metrics, nil
}

// updateBest tracks metric_for_best_model; it reports whether the metric improved.
func (r *run) updateBest(metrics map[string]float64) (bool, error) {
	a, s := r.a, r.t.State
	key := a.MetricForBestModel
	if !strings.HasPrefix(key, "eval_") {
		key = "eval_" + key
	}
	v, ok := metrics[key]
	if !ok {
		names := make([]string, 0, len(metrics))
		for k := range metrics {
			names = append(names, k)
		}
		return false, fmt.Errorf("metric_for_best_model %q is not among the evaluation metrics %v", a.MetricForBestModel, names)
	}
	better := s.BestMetric == nil || (*a.GreaterIsBetter && v > *s.BestMetric) || (!*a.GreaterIsBetter && v < *s.BestMetric)
	if better {
		s.BestMetric = &v
		step := s.GlobalStep
		s.BestGlobalStep = &step
		if a.SaveStrategy != "no" {
			ck := filepath.Join(a.OutputDir, fmt.Sprintf("%s%d", checkpointPrefix, step))
			s.BestModelCheckpoint = &ck
		}
	}
	return better, nil
}

// interrupt writes a checkpoint of the last completed step and returns ErrInterrupted.
func (r *run) interrupt(cause error) error {
	s := r.t.State
	if s.GlobalStep > 0 && r.lastSaved != s.GlobalStep {
		if err := r.saveCheckpoint(); err != nil {
			return fmt.Errorf("%w at step %d (%v), and saving a checkpoint failed: %v", ErrInterrupted, s.GlobalStep, cause, err)
		}
	}
	where := "no step was completed"
	if s.GlobalStep > 0 {
		where = fmt.Sprintf("checkpoint %s written; continue with ResumeFrom(\"latest\")", filepath.Join(r.a.OutputDir, fmt.Sprintf("%s%d", checkpointPrefix, s.GlobalStep)))
	}
	return fmt.Errorf("%w at step %d (%v): %s", ErrInterrupted, s.GlobalStep, cause, where)
}

// diverged reports a non-finite loss or gradient; parameters stay at the previous step.
func (r *run) diverged(res stepResult) error {
	s := r.t.State
	last := "no checkpoint was written yet"
	if cks, _ := listCheckpoints(r.a.OutputDir); len(cks) > 0 {
		last = "the last good checkpoint is " + cks[len(cks)-1]
	}
	return fmt.Errorf("training diverged at step %d: loss %v, gradient norm %v (not finite); the weights are kept at step %d and %s; try a lower learning_rate or fp32",
		s.GlobalStep+1, res.loss, res.gradNorm, s.GlobalStep, last)
}

// finish logs the summary, loads the best model when asked and saves the final model.
func (r *run) finish() (*TrainOutput, error) {
	t, a, s := r.t, r.a, r.t.State
	runtime := r.prevRuntime + time.Since(r.start).Seconds()
	if a.LoadBestModelAtEnd && s.BestModelCheckpoint != nil {
		if err := t.Model.LoadWeightsFrom(*s.BestModelCheckpoint); err != nil {
			return nil, fmt.Errorf("load_best_model_at_end: %w", err)
		}
		t.logf("loaded the best model (%s = %g) from %s", a.MetricForBestModel, *s.BestMetric, *s.BestModelCheckpoint)
	}
	samples := float64(s.MaxSteps * a.PerDeviceTrainBatchSize * a.GradientAccumulationSteps)
	trainLoss := r.rs.TotalLossSum / math.Max(1, float64(s.GlobalStep))
	metrics := map[string]float64{
		"train_runtime":            math.Round(runtime*1e4) / 1e4,
		"train_samples_per_second": math.Round(samples/runtime*1e3) / 1e3,
		"train_steps_per_second":   math.Round(float64(s.MaxSteps)/runtime*1e3) / 1e3,
		"total_flos":               s.TotalFlos,
		"train_loss":               trainLoss,
	}
	entry := map[string]float64{}
	for k, v := range metrics {
		entry[k] = v
	}
	r.log(entry)
	metrics["epoch"] = s.Epoch
	if err := t.Model.Save(a.OutputDir); err != nil {
		return nil, fmt.Errorf("saving the final model: %w", err)
	}
	out := &TrainOutput{GlobalStep: s.GlobalStep, TrainingLoss: trainLoss, Metrics: metrics}
	for _, cb := range r.cbs {
		cb.OnTrainEnd(s, a, out)
	}
	return out, nil
}

// isNaNOrInf reports whether v is not a finite number.
func isNaNOrInf(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
