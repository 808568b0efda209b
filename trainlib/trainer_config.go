package trainlib

import (
	"context"
	"fmt"
	"io"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/model"
)

// NewTrainer builds the trainer that c describes, as `embedtune train --config` does: it loads the
// model (modelOpts go to model.Load) and attaches the LoRA adapter, loads the datasets (mining hard
// negatives when mine_hard_negatives asks), builds the callbacks, the evaluators (with the NanoBEIR
// out-of-domain guard when nano_beir_evaluator is set) and the loss, and calls NewTrainer with opts.
// Reports of the setup (mining statistics, warnings) go to log (nil: discarded).
func (c *RunConfig) NewTrainer(log io.Writer, modelOpts []model.Option, opts ...TrainerOption) (*Trainer, error) {
	return c.newTrainer(DatasetSpec.Load, log, modelOpts, opts...)
}

// newTrainer is NewTrainer with the datasets loaded by load (a sweep loads each dataset once).
func (c *RunConfig) newTrainer(load func(DatasetSpec) (*datasets.Dataset, error), log io.Writer, modelOpts []model.Option, opts ...TrainerOption) (*Trainer, error) {
	if log == nil {
		log = io.Discard
	}
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
	cbs, err := c.BuildCallbacks()
	if err != nil {
		return nil, err
	}
	var inDomain evaluation.Evaluator
	if c.Evaluator != nil {
		ev, err := c.Evaluator.buildEvaluator(load)
		if err != nil {
			return nil, err
		}
		inDomain = ev
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
	if c.MineHardNegatives != nil {
		mined, rep, err := c.MineHardNegatives.Mine(m, train, log)
		if err != nil {
			return nil, fmt.Errorf("mine_hard_negatives: %w", err)
		}
		fmt.Fprintln(log, rep.String())
		if w := rep.Warning(); w != "" {
			fmt.Fprintf(log, "warning: %s\n", w)
		}
		train = mined
	}
	pre := []TrainerOption{WithCallbacks(cbs...)}
	if c.NanoBEIR != nil {
		ood, hubErr, err := c.NanoBEIR.Build(context.Background())
		if err != nil {
			return nil, err
		}
		if hubErr != nil {
			fmt.Fprintf(log, "NanoBEIR is not reachable (%v); evaluating out of domain on the local BEIR folders\n", hubErr)
		}
		evs := []evaluation.Evaluator{ood}
		if inDomain != nil {
			evs = []evaluation.Evaluator{inDomain, ood}
		}
		pre = append(pre, WithEvaluator(evaluation.NewSequentialEvaluator(evs, nil)),
			WithCallbacks(c.NanoBEIR.Guard(m, inDomain, ood, log)))
	} else if inDomain != nil {
		pre = append(pre, WithEvaluator(inDomain))
	}
	loss, err := BuildLoss(m, c.Loss)
	if err != nil {
		return nil, err
	}
	return NewTrainer(m, targs, train, eval, loss, append(pre, opts...)...)
}
