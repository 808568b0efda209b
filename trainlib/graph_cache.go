package trainlib

import (
	"sync"

	"github.com/embedtune/embedtune/trainlib/model"
)

// GraphCache lets trainers share their compiled graphs — the training step, the evaluation loss and
// the model's inference graph (model.GraphCache) — so that the runs of a hyperparameter sweep
// compile once: give the same cache to every trainer with WithGraphCache (Sweep does).
//
// Runs share graphs when their structure is the same: the model's architecture and adapter layout,
// the loss and its options, the precision, gradient_accumulation_steps, and whether gradients are
// clipped (max_grad_norm > 0) and weight decay is on (weight_decay ≠ 0). The values of the learning
// rate and its schedule, warmup, AdamW's betas and epsilon, weight decay, max_grad_norm, the seed,
// the loss's scale and lora_alpha are graph inputs and never cause a compilation; the batch size
// and max_seq_length change input shapes, which GoMLX compiles once per shape. Trainers running at
// the same time with the same structure each get their own graphs.
type GraphCache struct {
	models *model.GraphCache
	mu     sync.Mutex
	free   map[string][]*stepper // steppers not in use, by stepperKey
}

// NewGraphCache returns an empty cache.
func NewGraphCache() *GraphCache {
	return &GraphCache{models: model.NewGraphCache(), free: map[string][]*stepper{}}
}

// Compilations returns how many graphs were built and compiled through the cache: one per graph
// and input-shape combination.
func (c *GraphCache) Compilations() int64 { return c.models.Builds() }

// Models returns the cache of the models' inference graphs (see model.SentenceTransformer.ShareGraphs).
func (c *GraphCache) Models() *model.GraphCache { return c.models }

// take removes and returns a free stepper of the key, or nil.
func (c *GraphCache) take(key string) *stepper {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.free[key]
	if len(list) == 0 {
		return nil
	}
	s := list[len(list)-1]
	c.free[key] = list[:len(list)-1]
	return s
}

// put returns a stepper no run uses any more.
func (c *GraphCache) put(key string, s *stepper) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.free[key] = append(c.free[key], s)
}
