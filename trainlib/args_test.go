package trainlib

import (
	"strings"
	"testing"
)

func TestArgumentDefaults(t *testing.T) {
	a := DefaultTrainingArguments("out")
	if a.NumTrainEpochs != 3 || a.MaxSteps != -1 || a.PerDeviceTrainBatchSize != 8 || a.LearningRate != 5e-5 ||
		a.LRSchedulerType != "linear" || a.AdamBeta1 != 0.9 || a.AdamBeta2 != 0.999 || a.AdamEpsilon != 1e-8 ||
		a.MaxGradNorm != 1 || a.Seed != 42 || a.BatchSampler != "batch_sampler" || a.EvalStrategy != "no" ||
		a.LoggingSteps != 500 || a.SaveStrategy != "steps" || a.SaveSteps != 500 || a.EvalSteps != 500 ||
		a.GradientAccumulationSteps != 1 || a.WeightDecay != 0 {
		t.Fatalf("defaults differ from Hugging Face's: %+v", a)
	}
	lit, err := TrainingArguments{OutputDir: "o", MaxGradNorm: -1}.resolved()
	if err != nil || lit.MaxGradNorm != 0 {
		t.Fatalf("MaxGradNorm -1 should disable clipping: %v %v", lit.MaxGradNorm, err)
	}
}

func TestArgumentsFromYAMLAreLiteral(t *testing.T) {
	a, err := LoadTrainingArguments("run.yaml", []byte("output_dir: out\nseed: 0\nmax_grad_norm: 0\nlearning_rate: 3.0e-6\nwarmup_ratio: 0.1\nprompts: {question: 'query: '}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.resolved()
	if err != nil {
		t.Fatal(err)
	}
	if r.Seed != 0 || r.MaxGradNorm != 0 || r.LearningRate != 3e-6 || r.MaxSteps != -1 || r.promptFor("question") != "query: " || r.promptFor("context") != "" {
		t.Fatalf("%+v", r)
	}
	a2, _ := LoadTrainingArguments("run.json", []byte(`{"output_dir": "o", "per_device_train_batch_size": 16}`))
	if r2, _ := a2.resolved(); r2.PerDeviceTrainBatchSize != 16 || r2.Seed != 42 {
		t.Fatalf("%+v", r2)
	}
}

func TestInvalidArguments(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"max_steps: 10", "output_dir is required"},
		{"output_dir: o\nmax_steps: 0", "max_steps must be positive"},
		{"output_dir: o\nlearning_rate: -1", "learning_rate"},
		{"output_dir: o\nlr_scheduler_type: polynomial", "polynomial"},
		{"output_dir: o\nfp16: true\nbf16: true", "fp16 and bf16"},
		{"output_dir: o\nbatch_sampler: group_by_label", "group_by_label"},
		{"output_dir: o\neval_strategy: sometimes", "eval_strategy"},
		{"output_dir: o\nsave_strategy: best", "needs evaluations"},
		{"output_dir: o\nload_best_model_at_end: true", "load_best_model_at_end needs eval_strategy"},
		{"output_dir: o\nload_best_model_at_end: true\neval_strategy: steps\neval_steps: 30\nsave_steps: 100", "multiple of eval_steps"},
		{"output_dir: o\nload_best_model_at_end: true\neval_strategy: epoch", "match eval_strategy"},
		{"output_dir: o\nwarmup_ratio: 1.5", "warmup_ratio"},
		{"output_dir: o\nadam_beta2: 1", "adam_beta"},
		{"output_dir: o\nprompts: 3", "prompts"},
		{"output_dir: o\nper_device_train_batch_size: 0", "per_device_train_batch_size"},
	}
	for _, tc := range tests {
		a, err := LoadTrainingArguments("x.yaml", []byte(tc.yaml))
		if err == nil {
			_, err = a.resolved()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := LoadTrainingArguments("x.yaml", []byte("output_dir: o\nmax_stepz: 3")); err == nil || !strings.Contains(err.Error(), "max_stepz") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := LoadTrainingArguments("x.yaml", []byte("output_dir: o\nmax_steps: many")); err == nil || !strings.Contains(err.Error(), "wrong type") {
		t.Errorf("wrong type: %v", err)
	}
}
