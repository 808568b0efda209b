package trainlib

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrOutOfMemory marks a training step the compute engine could not allocate memory for (XLA's
// RESOURCE_EXHAUSTED, a CUDA out-of-memory error). Train returns an error that wraps it, naming the
// batch shape, what to change, and the last checkpoint (which a failed step never touches).
var ErrOutOfMemory = errors.New("out of memory")

// isOutOfMemory reports whether an engine error is an allocation failure.
func isOutOfMemory(err error) bool {
	s := strings.ToLower(err.Error())
	for _, sign := range []string{"resource_exhausted", "out of memory", "failed to allocate", "cannot allocate memory", "oom when allocating"} {
		if strings.Contains(s, sign) {
			return true
		}
	}
	return false
}

// stepFailed explains the error of the step after GlobalStep, run on micro.
func (r *run) stepFailed(err error, micro []*batchTensors) error {
	step := r.state.GlobalStep + 1
	if !isOutOfMemory(err) {
		return fmt.Errorf("training step %d: %w", step, err)
	}
	a := r.a
	var shapes []string
	if len(micro) > 0 {
		for _, ids := range micro[0].ids {
			shapes = append(shapes, fmt.Sprint(ids.Shape().Dimensions))
		}
	}
	precision := "fp32"
	switch {
	case a.FP16:
		precision = "fp16"
	case a.BF16:
		precision = "bf16"
	}
	var fix []string
	if a.PerDeviceTrainBatchSize > 1 {
		half := max(a.PerDeviceTrainBatchSize/2, 1)
		fix = append(fix, fmt.Sprintf("a smaller per_device_train_batch_size with gradient_accumulation_steps keeping the effective batch (e.g. %d and %d; "+
			"note that in-batch-negatives losses such as MNRL then see fewer negatives per micro-batch)", half, a.GradientAccumulationSteps*a.PerDeviceTrainBatchSize/half))
	}
	fix = append(fix, fmt.Sprintf("a shorter max_seq_length (now %d)", r.model.MaxSeqLength))
	if precision == "fp32" {
		fix = append(fix, "fp16 or bf16 mixed precision")
	}
	if r.model.Adapter == nil {
		fix = append(fix, "a LoRA adapter (fewer optimizer states)")
	}
	ckpt := "there is no checkpoint yet"
	if cs, _ := listCheckpoints(a.OutputDir); len(cs) > 0 {
		ckpt = fmt.Sprintf("the last checkpoint, %s, is intact: continue from it with ResumeFrom(\"latest\") (CLI: --resume latest) after the change",
			filepath.Join(a.OutputDir, filepath.Base(cs[len(cs)-1])))
	}
	return fmt.Errorf("training step %d: %w on %s for a batch of %d rows, columns of shape %s (%s, max_seq_length %d): use %s; %s. The model in memory may be incomplete. Engine message: %v",
		step, ErrOutOfMemory, r.model.Backend().Name(), a.PerDeviceTrainBatchSize, strings.Join(shapes, " and "), precision, r.model.MaxSeqLength,
		strings.Join(fix, ", or "), ckpt, err)
}
