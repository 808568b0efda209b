// Package optim implements the optimizer pieces of Hugging Face's Trainer exactly: AdamW as
// torch.optim.AdamW, global-norm gradient clipping as torch.nn.utils.clip_grad_norm_, and the
// learning-rate schedules of transformers.get_scheduler.
package optim

import (
	"fmt"
	"math"
)

// Schedule returns the multiplier λ(step) of the base learning rate for the named schedule
// (transformers' lr_scheduler_type), with w warmup steps over total training steps:
//
//	warmup (step < w):  λ = step / max(1, w)
//	linear:             λ = max(0, (total - step) / max(1, total - w))
//	cosine:             λ = max(0, ½(1 + cos(π · 2·0.5 · (step - w)/max(1, total - w))))
//	constant:           λ = 1 (no warmup)
//	constant_with_warmup: λ = 1 after warmup
//
// The optimizer step k (0-based) uses λ(k); after k steps the logged learning rate is λ(k). name is a
// SchedulerType or its spelling ("" is linear); other names are an error listing the valid ones.
func Schedule[S ~string](name S, warmup, total int) (func(step int) float64, error) {
	if warmup < 0 || total < 0 {
		return nil, fmt.Errorf("lr schedule: warmup %d and total %d steps must be non-negative", warmup, total)
	}
	warm := func(step int) (float64, bool) {
		if step < warmup {
			return float64(step) / math.Max(1, float64(warmup)), true
		}
		return 0, false
	}
	switch SchedulerType(name) {
	case SchedulerLinear, "":
		return func(step int) float64 {
			if v, ok := warm(step); ok {
				return v
			}
			return math.Max(0, float64(total-step)/math.Max(1, float64(total-warmup)))
		}, nil
	case SchedulerCosine:
		return func(step int) float64 {
			if v, ok := warm(step); ok {
				return v
			}
			progress := float64(step-warmup) / math.Max(1, float64(total-warmup))
			return math.Max(0, 0.5*(1+math.Cos(math.Pi*0.5*2*progress)))
		}, nil
	case SchedulerConstant:
		return func(int) float64 { return 1 }, nil
	case SchedulerConstantWithWarmup:
		return func(step int) float64 {
			if v, ok := warm(step); ok {
				return v
			}
			return 1
		}, nil
	}
	return nil, SchedulerType(name).Validate()
}

// WarmupSteps resolves transformers' warmup rule: warmupSteps ≥ 1 is a step count; a value in
// (0, 1) is a ratio of the total (as is warmupRatio when warmupSteps is 0): ⌈total·ratio⌉.
func WarmupSteps(warmupSteps, warmupRatio float64, total int) int {
	if warmupSteps >= 1 {
		return int(warmupSteps)
	}
	ratio := warmupSteps
	if ratio == 0 {
		ratio = warmupRatio
	}
	return int(math.Ceil(float64(total) * ratio))
}
