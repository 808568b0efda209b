package trainlib

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"

	"github.com/embedtune/embedtune/internal/enum"
	"github.com/embedtune/embedtune/trainlib/optim"
	"github.com/embedtune/embedtune/trainlib/sampler"
	"gopkg.in/yaml.v3"
)

// TrainingArguments mirrors sentence-transformers' SentenceTransformerTrainingArguments (and the
// Hugging Face TrainingArguments it extends): the same names in CamelCase, snake_case in
// JSON/YAML, and the same defaults.
//
// In a Go struct literal a zero value means "the Hugging Face default" (so Seed: 0 gives 42 and
// MaxGradNorm: 0 gives 1.0; use MaxGradNorm: -1 to disable clipping). In JSON/YAML files written
// keys are taken literally (max_grad_norm: 0 disables clipping, seed: 0 is seed 0), missing keys
// take the defaults.
type TrainingArguments struct {
	OutputDir          string `json:"output_dir" yaml:"output_dir"`
	OverwriteOutputDir bool   `json:"overwrite_output_dir" yaml:"overwrite_output_dir"`

	NumTrainEpochs            float64 `json:"num_train_epochs" yaml:"num_train_epochs"`                       // default 3
	MaxSteps                  int     `json:"max_steps" yaml:"max_steps"`                                     // default -1: use epochs
	PerDeviceTrainBatchSize   int     `json:"per_device_train_batch_size" yaml:"per_device_train_batch_size"` // default 8
	PerDeviceEvalBatchSize    int     `json:"per_device_eval_batch_size" yaml:"per_device_eval_batch_size"`   // default 8
	GradientAccumulationSteps int     `json:"gradient_accumulation_steps" yaml:"gradient_accumulation_steps"` // default 1
	// NumDevices is how many of the backend's devices train data-parallel (the first ones); 0, the
	// default, means all of them, as a Hugging Face Trainer uses every visible GPU (its n_gpu;
	// torchrun --nproc_per_node / accelerate --num_processes in DDP). As there, the global batch
	// of an optimizer step is per_device_train_batch_size × devices × gradient_accumulation_steps.
	// On XLA CPU the engine has one device unless EMBEDTUNE_XLA_CPU_DEVICES exposes more host
	// devices (for testing: they share the same cores). See devices.go.
	NumDevices int `json:"num_devices" yaml:"num_devices"`

	LearningRate    float64             `json:"learning_rate" yaml:"learning_rate"`         // default 5e-5
	LRSchedulerType optim.SchedulerType `json:"lr_scheduler_type" yaml:"lr_scheduler_type"` // default "linear"
	WarmupRatio     float64             `json:"warmup_ratio" yaml:"warmup_ratio"`
	// WarmupSteps ≥ 1 is a number of steps; a value in (0, 1) is a ratio (transformers ≥ 5).
	WarmupSteps float64 `json:"warmup_steps" yaml:"warmup_steps"`
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
	AdamBeta1   float64 `json:"adam_beta1" yaml:"adam_beta1"`       // default 0.9
	AdamBeta2   float64 `json:"adam_beta2" yaml:"adam_beta2"`       // default 0.999
	AdamEpsilon float64 `json:"adam_epsilon" yaml:"adam_epsilon"`   // default 1e-8
	MaxGradNorm float64 `json:"max_grad_norm" yaml:"max_grad_norm"` // default 1.0

	// GradientCheckpointing recomputes each encoder layer's activations in the backward pass
	// instead of keeping them (transformers' gradient_checkpointing): the same gradients with a
	// fraction of the activation memory, at the cost of one more forward pass per step.
	GradientCheckpointing bool `json:"gradient_checkpointing" yaml:"gradient_checkpointing"`

	FP16 bool  `json:"fp16" yaml:"fp16"`
	BF16 bool  `json:"bf16" yaml:"bf16"`
	Seed int64 `json:"seed" yaml:"seed"` // default 42

	// BatchSampler is "batch_sampler" (default) or "no_duplicates".
	BatchSampler       sampler.BatchSamplers `json:"batch_sampler" yaml:"batch_sampler"`
	DataloaderDropLast bool                  `json:"dataloader_drop_last" yaml:"dataloader_drop_last"`

	EvalStrategy     IntervalStrategy `json:"eval_strategy" yaml:"eval_strategy"` // "no" (default), "steps", "epoch"
	EvalSteps        int              `json:"eval_steps" yaml:"eval_steps"`       // default: LoggingSteps
	EvalOnStart      bool             `json:"eval_on_start" yaml:"eval_on_start"`
	LoggingSteps     int              `json:"logging_steps" yaml:"logging_steps"` // default 500
	LoggingFirstStep bool             `json:"logging_first_step" yaml:"logging_first_step"`

	SaveStrategy       SaveStrategy `json:"save_strategy" yaml:"save_strategy"` // "steps" (default), "epoch", "best", "no"
	SaveSteps          int          `json:"save_steps" yaml:"save_steps"`       // default 500
	SaveTotalLimit     int          `json:"save_total_limit" yaml:"save_total_limit"`
	LoadBestModelAtEnd bool         `json:"load_best_model_at_end" yaml:"load_best_model_at_end"`
	// MetricForBestModel names a logged eval metric, with or without the "eval_" prefix; default
	// "loss" when best models are tracked.
	MetricForBestModel string `json:"metric_for_best_model" yaml:"metric_for_best_model"`
	// GreaterIsBetter defaults to false for metrics ending in "loss", true otherwise.
	GreaterIsBetter *bool `json:"greater_is_better" yaml:"greater_is_better"`

	// Prompts prepended to the texts of every column (a single string), or per column name
	// (map[string]string), as sentence-transformers' prompts argument.
	Prompts any `json:"prompts" yaml:"prompts"`

	// RunName labels the run in charts and logs (default: the output folder name).
	RunName string `json:"run_name" yaml:"run_name"`

	// SkipMemoryCheck starts the run even when its estimated peak memory exceeds what is available
	// (see package memplan); also EMBEDTUNE_SKIP_MEMORY_CHECK=1. embedtune's own argument.
	SkipMemoryCheck bool `json:"skip_memory_check" yaml:"skip_memory_check"`

	// set records the keys present in a decoded file (zero values there are literal).
	set map[string]bool
}

// fieldDefaults are the Hugging Face defaults applied to zero-valued fields.
var fieldDefaults = map[string]any{
	"num_train_epochs": 3.0, "max_steps": -1, "per_device_train_batch_size": 8, "per_device_eval_batch_size": 8,
	"gradient_accumulation_steps": 1, "learning_rate": 5e-5, "lr_scheduler_type": optim.SchedulerLinear,
	"adam_beta1": 0.9, "adam_beta2": 0.999, "adam_epsilon": 1e-8, "max_grad_norm": 1.0, "seed": int64(42),
	"batch_sampler": sampler.BatchSampler, "eval_strategy": IntervalStrategyNo, "logging_steps": 500,
	"save_strategy": SaveStrategySteps, "save_steps": 500,
}

// DefaultTrainingArguments returns the defaults with an output folder.
func DefaultTrainingArguments(outputDir string) TrainingArguments {
	a := TrainingArguments{OutputDir: outputDir}
	a.applyDefaults()
	return a
}

// applyDefaults fills zero-valued fields (not explicitly set in a file) with the defaults.
func (a *TrainingArguments) applyDefaults() {
	v := reflect.ValueOf(a).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		def, ok := fieldDefaults[key]
		if !ok || a.set[key] || !v.Field(i).IsZero() {
			continue
		}
		v.Field(i).Set(reflect.ValueOf(def).Convert(v.Field(i).Type()))
	}
	if a.EvalSteps == 0 && !a.set["eval_steps"] {
		a.EvalSteps = a.LoggingSteps
	}
	if a.MaxGradNorm < 0 {
		a.MaxGradNorm = 0
	}
	if a.RunName == "" && a.OutputDir != "" {
		a.RunName = strings.TrimSuffix(a.OutputDir, "/")
		if i := strings.LastIndex(a.RunName, "/"); i >= 0 {
			a.RunName = a.RunName[i+1:]
		}
	}
}

// LoadTrainingArguments decodes snake_case JSON or YAML (by content), rejecting unknown keys.
func LoadTrainingArguments(name string, data []byte) (TrainingArguments, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return TrainingArguments{}, fmt.Errorf("%s: invalid YAML/JSON: %w", name, err)
	}
	return TrainingArgumentsFromMap(name, raw)
}

// IsTrainingArgument reports whether key is the snake_case name of a TrainingArguments field.
func IsTrainingArgument(key string) bool {
	t := reflect.TypeOf(TrainingArguments{})
	for i := 0; i < t.NumField(); i++ {
		if k := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]; k == key && k != "" && k != "-" {
			return true
		}
	}
	return false
}

// TrainingArgumentsFromMap builds arguments from a decoded snake_case map (e.g. the "args" of a
// run config); unknown keys are errors, and written keys are taken literally.
func TrainingArgumentsFromMap(name string, raw map[string]any) (TrainingArguments, error) {
	var a TrainingArguments
	known := IsTrainingArgument
	a.set = map[string]bool{}
	for k := range raw {
		if !known(k) {
			return a, fmt.Errorf("%s: unknown training argument %q", name, k)
		}
		a.set[k] = true
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return a, fmt.Errorf("%s: %w", name, err)
	}
	set := a.set
	if err := json.Unmarshal(data, &a); err != nil {
		if _, ok := errors.AsType[*enum.Error](err); ok {
			return a, fmt.Errorf("%s: %w", name, err)
		}
		return a, fmt.Errorf("%s: wrong type for a training argument: %w", name, err)
	}
	a.set = set
	return a, nil
}

// MarshalJSON writes every argument in snake_case (training_args.json in checkpoints).
func (a TrainingArguments) MarshalJSON() ([]byte, error) {
	type plain TrainingArguments
	return json.Marshal(plain(a))
}

// resolved returns a copy with defaults applied and validation done.
func (a TrainingArguments) resolved() (TrainingArguments, error) {
	a.applyDefaults()
	return a, a.Validate()
}

// Validate checks the arguments and their combinations, failing fast with the field names.
func (a *TrainingArguments) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if a.OutputDir == "" {
		bad("output_dir is required")
	}
	if a.MaxSteps == 0 || a.MaxSteps < -1 {
		bad("max_steps must be positive, or -1 to train for num_train_epochs (got %d)", a.MaxSteps)
	}
	if a.MaxSteps == -1 && !(a.NumTrainEpochs > 0) {
		bad("num_train_epochs must be positive when max_steps is -1 (got %g)", a.NumTrainEpochs)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"per_device_train_batch_size", a.PerDeviceTrainBatchSize}, {"per_device_eval_batch_size", a.PerDeviceEvalBatchSize},
		{"gradient_accumulation_steps", a.GradientAccumulationSteps}, {"logging_steps", a.LoggingSteps}} {
		if f.v <= 0 {
			bad("%s must be positive (got %d)", f.name, f.v)
		}
	}
	if a.NumDevices < 0 {
		bad("num_devices must be 0 (all the backend's devices) or a positive number (got %d)", a.NumDevices)
	}
	if !(a.LearningRate > 0) || math.IsInf(a.LearningRate, 0) {
		bad("learning_rate must be a positive number (got %g)", a.LearningRate)
	}
	if err := a.LRSchedulerType.Validate(); err != nil {
		bad("%v", err)
	}
	if a.WarmupRatio < 0 || a.WarmupRatio >= 1 {
		bad("warmup_ratio must be in [0, 1) (got %g)", a.WarmupRatio)
	}
	if a.WarmupSteps < 0 {
		bad("warmup_steps must be non-negative (got %g)", a.WarmupSteps)
	}
	if a.WeightDecay < 0 {
		bad("weight_decay must be non-negative (got %g)", a.WeightDecay)
	}
	if a.AdamBeta1 < 0 || a.AdamBeta1 >= 1 || a.AdamBeta2 < 0 || a.AdamBeta2 >= 1 {
		bad("adam_beta1 and adam_beta2 must be in [0, 1) (got %g, %g)", a.AdamBeta1, a.AdamBeta2)
	}
	if !(a.AdamEpsilon > 0) {
		bad("adam_epsilon must be positive (got %g)", a.AdamEpsilon)
	}
	if a.FP16 && a.BF16 {
		bad("fp16 and bf16 cannot both be set")
	}
	for _, err := range []error{a.BatchSampler.Validate(), a.EvalStrategy.Validate(), a.SaveStrategy.Validate()} {
		if err != nil {
			bad("%v", err)
		}
	}
	if a.EvalStrategy == IntervalStrategySteps && a.EvalSteps <= 0 {
		bad("eval_steps must be positive with eval_strategy \"steps\" (got %d)", a.EvalSteps)
	}
	switch a.SaveStrategy {
	case SaveStrategySteps:
		if a.SaveSteps <= 0 {
			bad("save_steps must be positive with save_strategy \"steps\" (got %d)", a.SaveSteps)
		}
	case SaveStrategyBest:
		if a.EvalStrategy == IntervalStrategyNo {
			bad("save_strategy \"best\" needs evaluations: set eval_strategy to \"steps\" or \"epoch\"")
		}
	}
	if a.SaveTotalLimit < 0 {
		bad("save_total_limit must be non-negative (got %d)", a.SaveTotalLimit)
	}
	if a.LoadBestModelAtEnd {
		switch {
		case a.EvalStrategy == IntervalStrategyNo:
			bad("load_best_model_at_end needs eval_strategy \"steps\" or \"epoch\"")
		case a.SaveStrategy != SaveStrategyBest && string(a.SaveStrategy) != string(a.EvalStrategy):
			bad("load_best_model_at_end needs save_strategy (%q) to match eval_strategy (%q)", a.SaveStrategy, a.EvalStrategy)
		case a.SaveStrategy == SaveStrategySteps && a.SaveSteps%a.EvalSteps != 0:
			bad("load_best_model_at_end needs save_steps (%d) to be a multiple of eval_steps (%d)", a.SaveSteps, a.EvalSteps)
		}
	}
	if (a.LoadBestModelAtEnd || a.SaveStrategy == SaveStrategyBest) && a.MetricForBestModel == "" {
		a.MetricForBestModel = "loss"
	}
	if a.MetricForBestModel != "" && a.GreaterIsBetter == nil {
		gib := !strings.HasSuffix(a.MetricForBestModel, "loss")
		a.GreaterIsBetter = &gib
	}
	switch p := a.Prompts.(type) {
	case nil, string, map[string]string:
	case map[string]any:
		m := map[string]string{}
		for k, v := range p {
			s, ok := v.(string)
			if !ok {
				bad("prompts[%q] must be a string", k)
			}
			m[k] = s
		}
		a.Prompts = m
	default:
		bad("prompts must be a string or a map from column name to string (got %T)", a.Prompts)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid training arguments: %s", strings.Join(errs, "; "))
	}
	return nil
}

// promptFor returns the prompt for a column.
func (a *TrainingArguments) promptFor(column string) string {
	switch p := a.Prompts.(type) {
	case string:
		return p
	case map[string]string:
		return p[column]
	}
	return ""
}

// ReadTrainingArguments reads a JSON or YAML file.
func ReadTrainingArguments(path string) (TrainingArguments, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return TrainingArguments{}, err
	}
	return LoadTrainingArguments(path, data)
}
