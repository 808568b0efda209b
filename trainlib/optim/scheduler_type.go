package optim

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type SchedulerType -setting lr_scheduler_type -unsupported cosine_with_restarts,polynomial,inverse_sqrt,reduce_lr_on_plateau,cosine_with_min_lr,cosine_warmup_with_min_lr,warmup_stable_decay,greedy

// SchedulerType names a learning-rate schedule (lr_scheduler_type), spelled as transformers'
// SchedulerType. The other transformers schedules (cosine_with_restarts, polynomial, inverse_sqrt,
// reduce_lr_on_plateau, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay, greedy) are
// recognized and refused as not implemented. See Schedule for the formulas.
type SchedulerType string

// The implemented schedules.
const (
	SchedulerLinear             SchedulerType = "linear"
	SchedulerCosine             SchedulerType = "cosine"
	SchedulerConstant           SchedulerType = "constant"
	SchedulerConstantWithWarmup SchedulerType = "constant_with_warmup"
)
