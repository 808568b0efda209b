package trainlib

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/memplan"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
)

// SkipMemoryCheckEnv, set to 1, skips the memory check of every run (TrainingArguments.SkipMemoryCheck).
const SkipMemoryCheckEnv = "EMBEDTUNE_SKIP_MEMORY_CHECK"

// checkMemory estimates the run's peak memory (package memplan) at the longest sequences its data
// can produce — with gradient_checkpointing and a GradCache loss's mini_batch_size
// (CachedMultipleNegativesRankingLoss) as set — and refuses to start when it exceeds what the
// process can get, with the numbers and what to change. Nothing is checked with skip_memory_check
// or EMBEDTUNE_SKIP_MEMORY_CHECK=1 (the estimate is then only logged), or where the available
// memory cannot be read.
func (r *run) checkMemory() error {
	a := r.a
	skip := a.SkipMemoryCheck || os.Getenv(SkipMemoryCheckEnv) == "1"
	avail, err := memplan.AvailableIn(cmp.Or(r.memRoot, "/"))
	if err != nil {
		return nil // Not Linux: nothing to compare with.
	}
	lens, err := r.longestBuckets()
	if err != nil {
		return err
	}
	half := a.FP16 || a.BF16
	shape := memplan.ShapeOf(r.model, half)
	shape.GradientCheckpointing = a.GradientCheckpointing
	engine := memplan.EngineOf(r.model.Backend())
	rows, mini := a.PerDeviceTrainBatchSize, losses.MiniBatchSize(r.loss)
	batch := memplan.Batch{Rows: rows, SeqLens: lens, MiniBatch: mini}
	est := memplan.Training(shape, batch, engine)
	budget := avail.Budget()
	if skip {
		r.logf("memory check skipped: the estimated peak is %s, with %s available", est, avail)
		return nil
	}
	if est.Total <= budget {
		if est.Total > budget*3/4 {
			r.logf("the estimated peak memory, %s, is close to the %s available", est, avail)
		}
		return nil
	}
	fits := func(s memplan.Shape, b memplan.Batch) bool { return memplan.Training(s, b, engine).Total <= budget }
	var fixes []string
	if b := memplan.Largest(rows-1, func(n int) bool { return fits(shape, memplan.Batch{Rows: n, SeqLens: lens, MiniBatch: mini}) }); b > 0 {
		effective := rows * a.GradientAccumulationSteps
		fixes = append(fixes, fmt.Sprintf("per_device_train_batch_size %d (with gradient_accumulation_steps %d for the same %d rows per step; in-batch-negatives losses such as MNRL then see fewer negatives per micro-batch)",
			b, (effective+b-1)/b, effective))
	}
	longest := slices.Max(lens)
	if l := memplan.Largest(r.model.MaxSeqLength-1, func(n int) bool {
		capped := make([]int, len(lens))
		for i, x := range lens {
			capped[i] = min(x, model.SeqBucket(n, n))
		}
		return fits(shape, memplan.Batch{Rows: rows, SeqLens: capped, MiniBatch: mini})
	}); l >= 16 && l < longest {
		fixes = append(fixes, fmt.Sprintf("max_seq_length %d (now %d; texts are cut after it)", l, r.model.MaxSeqLength))
	}
	if r.model.Adapter == nil {
		lora := shape
		lora.TrainedParams = shape.Params / 100
		if fits(lora, batch) {
			fixes = append(fixes, "a LoRA adapter (lora: in the run config, or AddAdapter), which trains about 1% of the parameters")
		}
	}
	if !half && r.model.Backend().Capabilities().DTypes[dtypes.BFloat16] {
		s := shape
		s.HalfPrecision = true
		if fits(s, batch) {
			fixes = append(fixes, "bf16 or fp16 mixed precision")
		}
	}
	if !a.GradientCheckpointing {
		s := shape
		s.GradientCheckpointing = true
		if fits(s, batch) {
			fixes = append(fixes, "gradient_checkpointing (each layer recomputed in the backward pass instead of kept)")
		}
	}
	// A GradCache mini-batch below `below`: the largest that fits and divides the batch (the fewest
	// passes, and mini-batches of one size: one compiled graph).
	miniBatch := func(below int) int {
		for n := min(below, rows) - 1; n > 0; n-- {
			if rows%n == 0 && fits(shape, memplan.Batch{Rows: rows, SeqLens: lens, MiniBatch: n}) {
				return n
			}
		}
		return 0
	}
	switch {
	case r.loss.Name() == "MultipleNegativesRankingLoss" && mini == 0:
		if n := miniBatch(rows); n > 0 {
			fixes = append(fixes, fmt.Sprintf("CachedMultipleNegativesRankingLoss with mini_batch_size %d (the same loss and gradients, the activations of %d rows at a time)", n, n))
		}
	case mini > 1:
		if n := miniBatch(mini); n > 0 {
			fixes = append(fixes, fmt.Sprintf("mini_batch_size %d (now %d)", n, mini))
		}
	}
	if len(fixes) == 0 {
		fixes = append(fixes, "a machine or container with more memory")
	}
	cols := make([]string, len(lens))
	for i, l := range lens {
		cols[i] = fmt.Sprintf("%s up to %d tokens", r.train.textCols[i], l)
	}
	var features string
	if a.GradientCheckpointing {
		features += " with gradient_checkpointing"
	}
	if mini > 0 && mini < rows {
		features += fmt.Sprintf(" in mini-batches of %d (mini_batch_size)", mini)
	}
	return fmt.Errorf("not enough memory for this run: the estimated peak is %s, but %s is available; the largest batch holds %d rows of %s, run by %s%s. "+
		"Use %s. To start anyway, set skip_memory_check (CLI: --skip-memory-check, or %s=1)",
		est, avail, rows, strings.Join(cols, " and "), engine, features, strings.Join(fixes, ", or "), SkipMemoryCheckEnv)
}

// longestBuckets returns, per text column of the train dataset, the padded length of its longest
// text (with the column's prompt, truncated to max_seq_length): the sequence length the largest
// batches reach. Texts are tokenized longest first (in bytes) and only while a text could still be
// longer in tokens than the longest found (a text of n bytes has at most n+2 tokens).
func (r *run) longestBuckets() ([]int, error) {
	m := r.model
	out := make([]int, len(r.train.cols))
	for ci, col := range r.train.cols {
		order := make([]int, col.Len())
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return len(col.Str(y)) - len(col.Str(x)) })
		prompt := r.a.promptFor(r.train.textCols[ci])
		longest := 0
		const chunk = 256
		for start := 0; start < len(order) && longest < m.MaxSeqLength; start += chunk {
			end := min(start+chunk, len(order))
			if len(prompt)+len(col.Str(order[start]))+2 <= longest {
				break
			}
			texts := make([]string, end-start)
			for i := range texts {
				texts[i] = col.Str(order[start+i])
			}
			ids, _, err := m.Tokenize(texts, prompt, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: column %q: %w", r.train.name, r.train.textCols[ci], err)
			}
			for _, s := range ids {
				longest = max(longest, len(s))
			}
		}
		out[ci] = model.SeqBucket(longest, m.MaxSeqLength)
	}
	return out, nil
}
