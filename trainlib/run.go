package trainlib

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/optim"
	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/embedtune/embedtune/trainlib/sampler"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// job is what a run takes from its Trainer: the run never sees the Trainer itself.
type job struct {
	model                     *model.SentenceTransformer
	args                      *TrainingArguments
	trainDataset, evalDataset *datasets.Dataset // evalDataset may be nil
	loss                      losses.Loss
	evaluator                 evaluation.Evaluator // may be nil
	cbs                       []Callback
	logf                      func(format string, args ...any)
	graphs                    *GraphCache // shared compiled graphs, or nil
	// state is the live trainer state, created by newRun once the run's size is known.
	state *TrainerState
}

// trainCall holds the options of one Train call.
type trainCall struct {
	ctx          context.Context
	resume       string
	stop         func(*TrainerState) bool // StopWhen, or nil
	abandonSteps bool                     // InterruptInFlight
}

// run holds the state of one Train call; its methods are the loop (loop.go), evaluation (evaluate.go) and
// checkpoints (checkpoint.go).
type run struct {
	*job
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
	microPerEpoch int
	devices       int // devices the batch is sharded over (see devices.go)
	stepsPerEpoch int
	nonEmbParams  float64
	start         time.Time
	prevRuntime   float64
	lastSaved     int
	stop          func(*TrainerState) bool // StopWhen, or nil
	card          *cardRecorder
	unlock        func()             // releases output_dir's lock
	abandoned     <-chan stepOutcome // the result of a step abandoned in flight, still computing; or nil
	endDevices    func()             // restores the model's encode devices after a multi-device run; or nil
	memRoot       string             // where checkMemory reads /proc and /sys: "" for /, a fake root in tests
}

// newRun prepares one Train call: data, sampler, schedule, graphs and optimizer state, the output folder,
// and the restored checkpoint when asked to resume.
func newRun(j *job, call trainCall) (_ *run, err error) {
	a := j.args
	r := &run{job: j, a: a, ctx: call.ctx, stop: call.stop, lastSaved: -1}
	defer func() {
		if err != nil && r.st != nil {
			r.st.release()
		}
	}()
	warnings, err := checkCallbacks(j.cbs, a)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		j.logf("%s", w)
	}
	if r.train, err = newTextTable("train dataset", j.trainDataset); err != nil {
		return nil, err
	}
	if j.evalDataset != nil {
		if r.eval, err = newTextTable("eval dataset", j.evalDataset); err != nil {
			return nil, err
		}
	}
	cdt, err := computeDType(j.model, a)
	if err != nil {
		return nil, err
	}
	if r.devices, err = resolveDevices(j.model.Backend(), a); err != nil {
		return nil, err
	}
	// As in Hugging Face, a micro-batch holds per_device_train_batch_size rows per device; the
	// sampler (and its NO_DUPLICATES guarantee) works on the whole micro-batch.
	if r.samp, err = sampler.New(a.BatchSampler, r.train, a.PerDeviceTrainBatchSize*r.devices, a.DataloaderDropLast, a.Seed); err != nil {
		return nil, err
	}
	epoch0 := r.samp.Batches(0)
	microPerEpoch := len(epoch0)
	r.microPerEpoch = microPerEpoch
	if microPerEpoch == 0 {
		return nil, fmt.Errorf("the train dataset (%d rows) gives no batch of %d rows (dataloader_drop_last=%v)", j.trainDataset.Len(), a.PerDeviceTrainBatchSize*r.devices, a.DataloaderDropLast)
	}
	if err := r.checkShards(epoch0); err != nil {
		return nil, err
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
	j.state = &TrainerState{MaxSteps: maxSteps, LoggingSteps: a.LoggingSteps, EvalSteps: a.EvalSteps, SaveSteps: a.SaveSteps,
		TrainBatchSize: a.PerDeviceTrainBatchSize * r.devices, NumTrainEpochs: numEpochs, LogHistory: []map[string]float64{},
		IsLocalProcessZero: true, IsWorldProcessZero: true,
		StatefulCallbacks: map[string]any{"TrainerControl": TrainerControl{}.state(true)}}
	r.rs = resumeState{Version: model.Version, LossScale: 1, Seed: a.Seed, WarmupSteps: warmup}
	if a.FP16 {
		r.rs.LossScale = 65536
	}
	// Trained weights are float32 master weights: checkpoints and the final model store F32.
	for _, n := range j.model.Weights.Names {
		j.model.Weights.StoredDType[n] = safetensors.F32
	}
	if r.st, err = acquireStepper(j.graphs, j.model, j.loss, a, len(r.train.textCols), r.train.labels != nil, cdt); err != nil {
		return nil, err
	}
	r.st.keepInputs = call.abandonSteps && r.st.gc == nil // a GradCache step always completes
	r.ts = &trainState{lossScale: r.rs.LossScale}
	params := j.model.GraphParams()
	for _, i := range r.st.train {
		r.ts.m = append(r.ts.m, tensors.FromShape(params[i].Shape()))
		r.ts.v = append(r.ts.v, tensors.FromShape(params[i].Shape()))
	}
	if r.ts.rng, err = graph.RNGStateFromSeed(a.Seed); err != nil {
		return nil, err
	}
	r.card = newCardRecorder(j)
	j.cbs = append(j.cbs, r.card)
	cfg := j.model.Config
	r.nonEmbParams = float64(j.model.Weights.NumParams() - cfg.VocabSize*cfg.HiddenSize - cfg.MaxPositionEmbeddings*cfg.HiddenSize - cfg.TypeVocabSize*cfg.HiddenSize)

	if err := r.checkMemory(); err != nil {
		return nil, err
	}
	unlock, err := lockOutputDir(a.OutputDir)
	if err != nil {
		return nil, err
	}
	r.unlock = unlock
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	existing, err := listCheckpoints(a.OutputDir)
	if err != nil {
		return nil, err
	}
	if call.resume != "" {
		path, err := resumeCheckpoint(call.resume, a.OutputDir, existing, r.logf)
		if err != nil {
			return nil, err
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
	if r.st.dev != nil {
		// Evaluation encodes data-parallel (the evaluator calls the model); Train restores the setting.
		prev := j.model.EncodeDevices()
		if err := j.model.SetEncodeDevices(r.st.dev.n); err != nil {
			return nil, err
		}
		r.endDevices = func() { j.model.SetEncodeDevices(prev) }
	}
	// Temporary folders of checkpoints a killed run was writing.
	if stale, _ := filepath.Glob(filepath.Join(a.OutputDir, "."+checkpointPrefix+"*.tmp-*")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	return r, nil
}
