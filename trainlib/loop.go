package trainlib

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrInterrupted is returned (wrapped) by Train when its context is cancelled; a checkpoint of
// the last completed step has been written by then.
var ErrInterrupted = errors.New("training interrupted")

// loop runs steps until max_steps, handling logs, evaluations, checkpoints and interruptions.
func (r *run) loop() (*TrainOutput, error) {
	a, s := r.a, r.state
	r.start = time.Now()
	r.prevRuntime = r.rs.TrainRuntimeSecs
	for _, cb := range r.cbs {
		cb.OnTrainBegin(s, a)
	}
	if a.EvalOnStart && s.GlobalStep == 0 {
		if _, err := r.evaluate(); err != nil {
			if cause := r.ctx.Err(); cause != nil {
				return nil, r.interrupt(cause)
			}
			return nil, err
		}
	}
	if r.stop != nil && s.GlobalStep > 0 && s.GlobalStep < s.MaxSteps && r.stop(s) {
		return r.finish() // Resumed from the checkpoint of the step the run was stopped at.
	}
	for s.GlobalStep < s.MaxSteps {
		if err := r.ctx.Err(); err != nil {
			return nil, r.interrupt(err)
		}
		position := r.rs // the data position before this step's batches
		micro, err := r.nextMicroBatches()
		if err != nil {
			return nil, err
		}
		lr := a.LearningRate * r.sched(r.rs.SchedulerStep)
		res, err := r.step(micro, lr)
		if errors.Is(err, errStepAbandoned) {
			r.rs = position
			return nil, r.interrupt(fmt.Errorf("%w; step %d, in progress, was abandoned", r.ctx.Err(), s.GlobalStep+1))
		}
		if err != nil {
			return nil, r.stepFailed(err, micro)
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
		if finite(res.loss) {
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
			if cause := r.ctx.Err(); cause != nil { // an evaluation stopped by the interruption
				return nil, r.interrupt(cause)
			}
			return nil, err
		}
		if r.stop != nil && r.stop(s) {
			break // transformers' control.should_training_stop: end the run now, as if at max_steps
		}
		if s.Control.ShouldTrainingStop {
			why := s.Control.StopReason
			if why == "" {
				why = "a callback set control.should_training_stop"
			}
			r.logf("training stopped at step %d of %d: %s", s.GlobalStep, s.MaxSteps, why)
			break
		}
	}
	return r.finish()
}

// step runs one optimizer step. With InterruptInFlight the step runs in its own goroutine, and a
// cancelled context abandons it: the run goes on at once (to write the checkpoint of the last completed
// step) while the computation finishes in the background, and its results are discarded. The step's
// inputs were not donated, so the state before it is intact.
func (r *run) step(micro []*batchTensors, lr float64) (stepResult, error) {
	if !r.st.keepInputs {
		return r.st.runStep(r.ts, micro, lr, r.rs.AdamStep+1, nil)
	}
	var mu sync.Mutex
	abandoned, committed := false, false
	commit := func(apply func()) bool {
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			return false
		}
		apply()
		committed = true
		return true
	}
	done := make(chan stepOutcome, 1)
	go func() {
		res, err := r.st.runStep(r.ts, micro, lr, r.rs.AdamStep+1, commit)
		done <- stepOutcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-r.ctx.Done():
		mu.Lock()
		abandoned = !committed
		mu.Unlock()
		if !abandoned { // It had just finished: keep the step.
			o := <-done
			return o.res, o.err
		}
		r.abandoned = done
		return stepResult{}, errStepAbandoned
	}
}

// stepOutcome is what a step run in its own goroutine returns.
type stepOutcome struct {
	res stepResult
	err error
}

// releaseStepper ends the run's use of its stepper (stepper.release): at once, or, when a step was
// abandoned and still computes in the background, as soon as it ends — its graphs must stay alive
// until then, while the run returns at once.
func (r *run) releaseStepper() {
	if r.abandoned == nil {
		r.st.release()
		return
	}
	go func(done <-chan stepOutcome, st *stepper) {
		<-done
		st.release()
	}(r.abandoned, r.st)
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
			if err := r.checkShards(r.epochs); err != nil {
				return nil, err
			}
		}
		if r.rs.BatchInEpoch >= len(r.epochs) {
			r.rs.EpochIndex++
			r.rs.BatchInEpoch = 0
			continue
		}
		rows := r.epochs[r.rs.BatchInEpoch]
		r.rs.BatchInEpoch++
		b, err := r.train.batch(r.model, r.a, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// maybeLogEvalSave follows Hugging Face's DefaultFlowCallback: log, then evaluate, then save.
func (r *run) maybeLogEvalSave(res stepResult) error {
	a, s := r.a, r.state
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
	shouldEval := (a.EvalStrategy == IntervalStrategySteps && (step%a.EvalSteps == 0 || last)) || (a.EvalStrategy == IntervalStrategyEpoch && endOfEpoch)
	shouldSave := (a.SaveStrategy == SaveStrategySteps && (step%a.SaveSteps == 0 || last)) || (a.SaveStrategy == SaveStrategyEpoch && endOfEpoch)
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
			if a.SaveStrategy == SaveStrategyBest {
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
	s := r.state
	entry["epoch"] = s.Epoch
	entry["step"] = float64(s.GlobalStep)
	s.LogHistory = append(s.LogHistory, entry)
	for _, cb := range r.cbs {
		cb.OnLog(s, r.a, entry)
	}
}

// interrupt writes a checkpoint of the last completed step and returns ErrInterrupted.
func (r *run) interrupt(cause error) error {
	s := r.state
	if s.GlobalStep > 0 && r.lastSaved != s.GlobalStep {
		if err := r.saveCheckpoint(); err != nil {
			return fmt.Errorf("%w at step %d (%v), and saving a checkpoint failed: %v", ErrInterrupted, s.GlobalStep, cause, err)
		}
	}
	where := "no step was completed"
	if s.GlobalStep > 0 {
		where = fmt.Sprintf("checkpoint %s written; continue with ResumeFrom(\"latest\") (CLI: --resume latest)", filepath.Join(r.a.OutputDir, fmt.Sprintf("%s%d", checkpointPrefix, s.GlobalStep)))
	}
	return fmt.Errorf("%w at step %d (%v): %s", ErrInterrupted, s.GlobalStep, cause, where)
}

// diverged reports a non-finite loss or gradient; parameters stay at the previous step.
func (r *run) diverged(res stepResult) error {
	s := r.state
	last := "no checkpoint was written yet"
	if cks, _ := listCheckpoints(r.a.OutputDir); len(cks) > 0 {
		last = "the last good checkpoint is " + cks[len(cks)-1]
	}
	return fmt.Errorf("training diverged at step %d: loss %v, gradient norm %v (not finite); the weights are kept at step %d and %s; try a lower learning_rate or fp32",
		s.GlobalStep+1, res.loss, res.gradNorm, s.GlobalStep, last)
}

// finish logs the summary, loads the best model when asked and saves the final model.
func (r *run) finish() (*TrainOutput, error) {
	a, s := r.a, r.state
	runtime := r.prevRuntime + time.Since(r.start).Seconds()
	if a.LoadBestModelAtEnd && s.BestModelCheckpoint != nil {
		if err := r.model.LoadWeightsFrom(*s.BestModelCheckpoint); err != nil {
			return nil, fmt.Errorf("load_best_model_at_end: %w", err)
		}
		r.logf("loaded the best model (%s = %g) from %s", a.MetricForBestModel, *s.BestMetric, *s.BestModelCheckpoint)
	}
	// As transformers: with save_total_limit 1 only the best checkpoint outlives the run.
	if b := s.BestModelCheckpoint; b != nil && a.SaveTotalLimit == 1 {
		cks, err := listCheckpoints(a.OutputDir)
		if err != nil {
			return nil, err
		}
		for _, c := range cks {
			if filepath.Clean(c) != filepath.Clean(*b) {
				if err := os.RemoveAll(c); err != nil {
					return nil, err
				}
			}
		}
	}
	samples := float64(s.MaxSteps * a.PerDeviceTrainBatchSize * r.devices * a.GradientAccumulationSteps)
	trainLoss := r.rs.TotalLossSum / math.Max(1, float64(s.GlobalStep))
	metrics := map[string]float64{
		"train_runtime":            math.Round(runtime*1e4) / 1e4,
		"train_samples_per_second": math.Round(samples/runtime*1e3) / 1e3,
		"train_steps_per_second":   math.Round(float64(s.MaxSteps)/runtime*1e3) / 1e3,
		"total_flos":               s.TotalFlos,
		"train_loss":               trainLoss,
	}
	r.log(maps.Clone(metrics))
	metrics["epoch"] = s.Epoch
	r.card.finish(s, a)
	if err := r.model.Save(a.OutputDir); err != nil {
		return nil, fmt.Errorf("saving the final model to %s: %w", a.OutputDir, err)
	}
	out := &TrainOutput{GlobalStep: s.GlobalStep, TrainingLoss: trainLoss, Metrics: metrics}
	for _, cb := range r.cbs {
		cb.OnTrainEnd(s, a, out)
	}
	return out, nil
}

// checkShards checks that every micro-batch of an epoch splits evenly over the devices.
func (r *run) checkShards(batches [][]int) error {
	if r.devices <= 1 {
		return nil
	}
	for _, rows := range batches {
		if len(rows)%r.devices != 0 {
			return fmt.Errorf("train dataset: a batch of %d rows (the last of an epoch of %d rows, per_device_train_batch_size %d × %d devices) cannot be split evenly over num_devices=%d: set dataloader_drop_last=true, or a num_devices that divides %d",
				len(rows), r.train.Len(), r.a.PerDeviceTrainBatchSize, r.devices, r.devices, len(rows))
		}
	}
	return nil
}
