package trainlib

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type IntervalStrategy -setting eval_strategy
//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type SaveStrategy -setting save_strategy

// IntervalStrategy is when evaluations happen (eval_strategy), as transformers' IntervalStrategy: the same
// spellings are accepted in files and printed back.
type IntervalStrategy string

// The eval_strategy values.
const (
	IntervalStrategyNo    IntervalStrategy = "no"    // never
	IntervalStrategySteps IntervalStrategy = "steps" // every eval_steps optimizer steps, and at the last one
	IntervalStrategyEpoch IntervalStrategy = "epoch" // at the end of every epoch
)

// SaveStrategy is when checkpoints are written (save_strategy), as transformers' SaveStrategy.
type SaveStrategy string

// The save_strategy values.
const (
	SaveStrategyNo    SaveStrategy = "no"    // never (the final model is still saved to output_dir)
	SaveStrategySteps SaveStrategy = "steps" // every save_steps optimizer steps, and at the last one
	SaveStrategyEpoch SaveStrategy = "epoch" // at the end of every epoch
	SaveStrategyBest  SaveStrategy = "best"  // after each evaluation that improves metric_for_best_model
)
