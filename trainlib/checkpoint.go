package trainlib

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/gomlx/gomlx/core/tensors"
)

// saveCheckpoint writes output_dir/checkpoint-<step> atomically (built in a temporary folder and
// renamed), then rotates old checkpoints by save_total_limit.
func (r *run) saveCheckpoint() error {
	a, s := r.a, r.state
	dir := filepath.Join(a.OutputDir, fmt.Sprintf("%s%d", checkpointPrefix, s.GlobalStep))
	r.rs.TrainRuntimeSecs = r.prevRuntime + timeSince(r.start)
	s.BestModelCheckpoint = r.bestCheckpoint()
	s.StatefulCallbacks = r.callbackStates()
	err := atomicio.ReplaceDir(dir, func(tmp string) error {
		if err := r.model.Save(tmp); err != nil {
			return err
		}
		var ts []safetensors.Tensor
		names := r.model.GraphParamNames()
		for k, i := range r.st.train {
			for _, kv := range []struct {
				prefix string
				t      *tensors.Tensor
			}{{"exp_avg", r.ts.m[k]}, {"exp_avg_sq", r.ts.v[k]}} {
				vals, err := tensors.CopyFlatData[float32](kv.t)
				if err != nil {
					return err
				}
				data, _ := safetensors.EncodeFloat32(vals, safetensors.F32)
				ts = append(ts, safetensors.Tensor{Name: kv.prefix + "/" + names[i], DType: safetensors.F32, Shape: kv.t.Shape().Dimensions, Data: data})
			}
		}
		if err := safetensors.WriteFile(filepath.Join(tmp, optimizerFile), ts, map[string]string{
			"optimizer": "AdamW", "step": fmt.Sprint(r.rs.AdamStep)}); err != nil {
			return err
		}
		rng, err := tensors.CopyFlatData[uint64](r.ts.rng)
		if err != nil {
			return err
		}
		files := map[string]any{
			schedulerFile: map[string]any{"lr_scheduler_type": a.LRSchedulerType, "last_epoch": r.rs.SchedulerStep,
				"base_lr": a.LearningRate, "warmup_steps": r.rs.WarmupSteps, "num_training_steps": s.MaxSteps},
			rngFile:          map[string]any{"dropout_rng_state": rng, "sampler_seed": a.Seed, "epoch": r.rs.EpochIndex, "batch_in_epoch": r.rs.BatchInEpoch},
			trainerStateFile: s,
			trainingArgsFile: a,
			resumeStateFile:  r.rs,
		}
		for name, v := range files {
			data, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := os.WriteFile(filepath.Join(tmp, name), append(data, '\n'), 0o644); err != nil {
				return err
			}
		}
		return writeChecksums(tmp)
	})
	if err != nil {
		return fmt.Errorf("saving checkpoint %s: %w", dir, err)
	}
	r.lastSaved = s.GlobalStep
	for _, cb := range r.cbs {
		cb.OnSave(s, a, dir)
	}
	return r.rotate()
}

// rotate deletes the oldest checkpoints beyond save_total_limit, always keeping the newest and
// the best one (Hugging Face's rotate_checkpoints).
func (r *run) rotate() error {
	limit := r.a.SaveTotalLimit
	if limit <= 0 {
		return nil
	}
	cks, err := listCheckpoints(r.a.OutputDir)
	if err != nil || len(cks) <= limit {
		return err
	}
	protected := map[string]bool{cks[len(cks)-1]: true}
	if b := r.state.BestModelCheckpoint; b != nil {
		protected[filepath.Clean(*b)] = true
	}
	keep := max(limit, len(protected))
	remaining := len(cks)
	for _, c := range cks {
		if remaining <= keep {
			break
		}
		if !protected[c] {
			if err := os.RemoveAll(c); err != nil {
				return err
			}
			remaining--
		}
	}
	return nil
}

// restore loads a checkpoint into the run: weights, AdamW moments, RNG, schedule and data
// position, trainer state and logs.
func (r *run) restore(dir string) error {
	var rs resumeState
	if err := readJSONFile(filepath.Join(dir, resumeStateFile), &rs); err != nil {
		return fmt.Errorf("resume from %s: %w (is it an embedtune checkpoint?)", dir, err)
	}
	if rs.Seed != r.a.Seed {
		return fmt.Errorf("resume from %s: the checkpoint was trained with seed %d, the arguments say %d", dir, rs.Seed, r.a.Seed)
	}
	var st TrainerState
	if err := readJSONFile(filepath.Join(dir, trainerStateFile), &st); err != nil {
		return fmt.Errorf("resume from %s: %w", dir, err)
	}
	if st.MaxSteps != r.state.MaxSteps {
		return fmt.Errorf("resume from %s: the checkpoint's run has max_steps %d, this one %d", dir, st.MaxSteps, r.state.MaxSteps)
	}
	if err := r.model.LoadWeightsFrom(dir); err != nil {
		return fmt.Errorf("resume from %s: %w", dir, err)
	}
	f, err := safetensors.Open(filepath.Join(dir, optimizerFile))
	if err != nil {
		return fmt.Errorf("resume from %s: %w", dir, err)
	}
	defer f.Close()
	names := r.model.GraphParamNames()
	for k, i := range r.st.train {
		for _, kv := range []struct {
			prefix string
			dst    []*tensors.Tensor
		}{{"exp_avg", r.ts.m}, {"exp_avg_sq", r.ts.v}} {
			vals, err := f.Float32(kv.prefix + "/" + names[i])
			if err != nil {
				return fmt.Errorf("resume from %s: %w (was it trained with the same adapter setup?)", dir, err)
			}
			kv.dst[k] = tensors.FromFlatDataAndDimensions(vals, kv.dst[k].Shape().Dimensions...)
		}
	}
	var rng struct {
		State []uint64 `json:"dropout_rng_state"`
	}
	if err := readJSONFile(filepath.Join(dir, rngFile), &rng); err != nil {
		return fmt.Errorf("resume from %s: %w", dir, err)
	}
	want := r.ts.rng.Shape().Size()
	if len(rng.State) != want {
		return fmt.Errorf("resume from %s: %s holds %d RNG words, expected %d", dir, rngFile, len(rng.State), want)
	}
	if err := r.checkResumable(rs, &st); err != nil {
		return fmt.Errorf("resume from %s: %w (a damaged checkpoint, or one of another run)", dir, err)
	}
	r.ts.rng = tensors.FromFlatDataAndDimensions(rng.State, r.ts.rng.Shape().Dimensions...)
	r.rs = rs
	r.ts.lossScale = rs.LossScale
	r.ts.scalerGrowth = rs.ScalerGrowth
	*r.state = st
	// The checkpoint is device-independent; train_batch_size is this run's (per device × devices).
	r.state.TrainBatchSize = r.a.PerDeviceTrainBatchSize * r.devices
	if r.state.LogHistory == nil {
		r.state.LogHistory = []map[string]float64{}
	}
	r.lastSaved = st.GlobalStep
	if err := r.restoreCallbacks(st.StatefulCallbacks); err != nil {
		return fmt.Errorf("resume from %s: %w", dir, err)
	}
	r.logf("resuming from %s at step %d", dir, st.GlobalStep)
	return nil
}

// callbackStates is trainer_state.json's stateful_callbacks: the control, then each StatefulCallback
// under its name (a list when several share a name), as transformers writes them.
func (r *run) callbackStates() map[string]any {
	out := map[string]any{"TrainerControl": r.state.Control.state(true)}
	byName := map[string][]CallbackState{}
	var names []string
	for _, cb := range r.cbs {
		if sc, ok := cb.(StatefulCallback); ok {
			n := sc.CallbackName()
			if byName[n] == nil {
				names = append(names, n)
			}
			byName[n] = append(byName[n], sc.State())
		}
	}
	for _, n := range names {
		if len(byName[n]) == 1 {
			out[n] = byName[n][0]
		} else {
			out[n] = byName[n]
		}
	}
	return out
}

// restoreCallbacks gives each StatefulCallback its state from a checkpoint's stateful_callbacks (in
// order among callbacks of the same name); a callback the checkpoint does not know starts afresh.
func (r *run) restoreCallbacks(saved map[string]any) error {
	used := map[string]int{}
	for _, cb := range r.cbs {
		sc, ok := cb.(StatefulCallback)
		if !ok {
			continue
		}
		n := sc.CallbackName()
		raw, ok := saved[n]
		if !ok {
			r.logf("resume: the checkpoint holds no state of %s; it starts afresh", n)
			continue
		}
		data, err := json.Marshal(raw)
		if err != nil {
			return fmt.Errorf("stateful_callbacks[%q]: %w", n, err)
		}
		var list []CallbackState
		if err := json.Unmarshal(data, &list); err != nil {
			var one CallbackState
			if err := json.Unmarshal(data, &one); err != nil {
				return fmt.Errorf("stateful_callbacks[%q] is neither a state nor a list of states: %w", n, err)
			}
			list = []CallbackState{one}
		}
		i := used[n]
		used[n]++
		if i >= len(list) {
			r.logf("resume: the checkpoint holds %d state(s) of %s, this run has more; the others start afresh", len(list), n)
			continue
		}
		if err := sc.RestoreState(list[i]); err != nil {
			return fmt.Errorf("stateful_callbacks[%q]: %w", n, err)
		}
	}
	return nil
}

// checkResumable checks that a checkpoint's counters describe a position this run can continue
// from, so that a damaged or hand-edited state is refused with the field named instead of failing
// (or silently misbehaving) steps later.
func (r *run) checkResumable(rs resumeState, st *TrainerState) error {
	bad := func(file, format string, args ...any) error {
		return fmt.Errorf("%s: %s", file, fmt.Sprintf(format, args...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case st.GlobalStep < 0 || st.GlobalStep > st.MaxSteps:
		return bad(trainerStateFile, "global_step %d is outside [0, max_steps=%d]", st.GlobalStep, st.MaxSteps)
	case rs.AdamStep < 0 || rs.AdamStep > st.GlobalStep:
		return bad(resumeStateFile, "adam_step %d is outside [0, global_step=%d]", rs.AdamStep, st.GlobalStep)
	case rs.SchedulerStep < 0 || rs.SchedulerStep > st.GlobalStep:
		return bad(resumeStateFile, "scheduler_step %d is outside [0, global_step=%d]", rs.SchedulerStep, st.GlobalStep)
	case rs.EpochIndex < 0 || rs.EpochIndex > st.GlobalStep*r.a.GradientAccumulationSteps:
		return bad(resumeStateFile, "epoch_index %d is outside [0, %d] (the micro-batches of %d steps)", rs.EpochIndex, st.GlobalStep*r.a.GradientAccumulationSteps, st.GlobalStep)
	case rs.BatchInEpoch < 0 || rs.BatchInEpoch > r.microPerEpoch:
		return bad(resumeStateFile, "batch_in_epoch %d is outside the epoch's %d batches (is it the same train dataset and batch size?)", rs.BatchInEpoch, r.microPerEpoch)
	case rs.LastLoggedStep < 0 || rs.LastLoggedStep > st.GlobalStep:
		return bad(resumeStateFile, "last_logged_step %d is outside [0, global_step=%d]", rs.LastLoggedStep, st.GlobalStep)
	case !(rs.LossScale > 0) || !finite(rs.LossScale):
		return bad(resumeStateFile, "loss_scale %v must be a positive number", rs.LossScale)
	case rs.ScalerGrowth < 0:
		return bad(resumeStateFile, "scaler_growth_tracker %d must be non-negative", rs.ScalerGrowth)
	case !finite(rs.LossSinceLog) || !finite(rs.TotalLossSum) || !finite(rs.TrainRuntimeSecs) || rs.TrainRuntimeSecs < 0:
		return bad(resumeStateFile, "loss_since_log, total_loss_sum and train_runtime_seconds must be finite (runtime non-negative)")
	case st.NumInputTokensSeen < 0 || !finite(st.Epoch) || st.Epoch < 0:
		return bad(trainerStateFile, "num_input_tokens_seen (%d) and epoch (%v) must be non-negative", st.NumInputTokensSeen, st.Epoch)
	}
	if b := st.BestModelCheckpoint; b != nil {
		if !strings.HasPrefix(filepath.Base(*b), checkpointPrefix) {
			return bad(trainerStateFile, "best_model_checkpoint %q does not name a %s<step> folder", *b, checkpointPrefix)
		}
	}
	return nil
}
