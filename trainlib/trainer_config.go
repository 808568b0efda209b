package trainlib

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
)

// NewTrainer builds the trainer that c describes, as `embedtune train --config` does: it loads the
// model (modelOpts go to model.Load) and attaches the LoRA adapter, loads the datasets, builds the
// evaluator and the loss, and calls NewTrainer with opts.
func (c *RunConfig) NewTrainer(modelOpts []model.Option, opts ...TrainerOption) (*Trainer, error) {
	return c.newTrainer(DatasetSpec.Load, modelOpts, opts...)
}

// newTrainer is NewTrainer with the datasets loaded by load (a sweep loads each dataset once).
func (c *RunConfig) newTrainer(load func(DatasetSpec) (*datasets.Dataset, error), modelOpts []model.Option, opts ...TrainerOption) (*Trainer, error) {
	targs, err := TrainingArgumentsFromMap("args", c.Args)
	if err != nil {
		return nil, err
	}
	train, err := load(c.TrainDataset)
	if err != nil {
		return nil, fmt.Errorf("train_dataset: %w", err)
	}
	var eval *datasets.Dataset
	if c.EvalDataset != nil {
		if eval, err = load(*c.EvalDataset); err != nil {
			return nil, fmt.Errorf("eval_dataset: %w", err)
		}
	}
	if c.Evaluator != nil {
		ev, err := c.Evaluator.buildEvaluator(load)
		if err != nil {
			return nil, err
		}
		opts = append([]TrainerOption{WithEvaluator(ev)}, opts...)
	}
	m, err := model.Load(c.Model, modelOpts...)
	if err != nil {
		return nil, err
	}
	if c.LoRA != nil {
		if err := m.AddAdapter(*c.LoRA); err != nil {
			return nil, fmt.Errorf("lora: %w", err)
		}
	}
	loss, err := BuildLoss(m, c.Loss)
	if err != nil {
		return nil, err
	}
	return NewTrainer(m, targs, train, eval, loss, opts...)
}
