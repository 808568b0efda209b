package trainlib

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TrainerState is Hugging Face's TrainerState, written as trainer_state.json in every
// checkpoint (same keys, so Python tools can read it).
type TrainerState struct {
	Epoch               float64              `json:"epoch"`
	GlobalStep          int                  `json:"global_step"`
	MaxSteps            int                  `json:"max_steps"`
	LoggingSteps        int                  `json:"logging_steps"`
	EvalSteps           int                  `json:"eval_steps"`
	SaveSteps           int                  `json:"save_steps"`
	TrainBatchSize      int                  `json:"train_batch_size"`
	NumTrainEpochs      int                  `json:"num_train_epochs"`
	NumInputTokensSeen  int                  `json:"num_input_tokens_seen"`
	TotalFlos           float64              `json:"total_flos"`
	LogHistory          []map[string]float64 `json:"log_history"`
	BestMetric          *float64             `json:"best_metric"`
	BestGlobalStep      *int                 `json:"best_global_step"`
	BestModelCheckpoint *string              `json:"best_model_checkpoint"`
	IsLocalProcessZero  bool                 `json:"is_local_process_zero"`
	IsWorldProcessZero  bool                 `json:"is_world_process_zero"`
	IsHyperParamSearch  bool                 `json:"is_hyper_param_search"`
	TrialName           *string              `json:"trial_name"`
	TrialParams         map[string]any       `json:"trial_params"`
	StatefulCallbacks   map[string]any       `json:"stateful_callbacks"`

	// Control is the run's TrainerControl, set by callbacks (not written to the file: its entry in
	// StatefulCallbacks is).
	Control TrainerControl `json:"-"`
}

// TrainOutput is what Train returns, like transformers' TrainOutput.
type TrainOutput struct {
	GlobalStep   int                `json:"global_step"`
	TrainingLoss float64            `json:"training_loss"`
	Metrics      map[string]float64 `json:"metrics"`
}

// resumeState is what embedtune needs beyond trainer_state.json to continue a run exactly; it is
// written as embedtune_state.json next to it.
type resumeState struct {
	Version string `json:"embedtune_version"`
	// AdamStep counts optimizer updates applied (skipped fp16 steps excluded); SchedulerStep the
	// learning-rate scheduler's steps.
	AdamStep      int `json:"adam_step"`
	SchedulerStep int `json:"scheduler_step"`
	// EpochIndex and BatchInEpoch locate the next micro-batch in the sampler's epoch order.
	EpochIndex   int     `json:"epoch_index"`
	BatchInEpoch int     `json:"batch_in_epoch"`
	LossScale    float64 `json:"loss_scale"`
	ScalerGrowth int     `json:"scaler_growth_tracker"`
	// Loss accumulated since the last log, so logs after a resume equal an uninterrupted run's.
	LossSinceLog     float64 `json:"loss_since_log"`
	LastLoggedStep   int     `json:"last_logged_step"`
	TotalLossSum     float64 `json:"total_loss_sum"`
	TrainRuntimeSecs float64 `json:"train_runtime_seconds"`
	Seed             int64   `json:"seed"`
	WarmupSteps      int     `json:"warmup_steps"`
}

// Files of a checkpoint besides the model.
const (
	optimizerFile    = "optimizer.safetensors"
	schedulerFile    = "scheduler.json"
	rngFile          = "rng_state.json"
	trainerStateFile = "trainer_state.json"
	trainingArgsFile = "training_args.json"
	resumeStateFile  = "embedtune_state.json"
)

// checkpointPrefix names checkpoint folders: checkpoint-<global step>.
const checkpointPrefix = "checkpoint-"

// listCheckpoints returns the checkpoint folders of dir sorted by step (oldest first).
func listCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	type ck struct {
		step int
		path string
	}
	var cks []ck
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), checkpointPrefix) {
			continue
		}
		step, err := strconv.Atoi(strings.TrimPrefix(e.Name(), checkpointPrefix))
		if err != nil {
			continue
		}
		cks = append(cks, ck{step, filepath.Join(dir, e.Name())})
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].step < cks[j].step })
	out := make([]string, len(cks))
	for i, c := range cks {
		out[i] = c.path
	}
	return out, nil
}

// readJSONFile decodes a JSON file into v.
func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// timeSince returns the seconds elapsed since t.
func timeSince(t time.Time) float64 { return time.Since(t).Seconds() }
