package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/model"
)

// runTrain: embedtune train --config run.yaml [--resume latest|latest-valid|DIR].
func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "--config run.yaml [--resume latest|latest-valid|CHECKPOINT]", stderr)
	cfgPath := fs.String("config", "", "YAML or JSON run description: model, train_dataset, eval_dataset, loss, evaluator, args (required)")
	resume := fs.String("resume", "", "continue from a checkpoint folder, \"latest\" (the newest in output_dir) or \"latest-valid\" (the newest whose files match its SHA256SUMS)")
	noProgress := fs.Bool("no-progress", false, "do not draw the progress bar")
	skipMemory := fs.Bool("skip-memory-check", false, "start even when the estimated peak memory exceeds what is available (skip_memory_check)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return errors.New("--config is required")
	}
	rc, err := trainlib.LoadRunConfig(*cfgPath)
	if err != nil {
		return err
	}
	targs, err := trainlib.TrainingArgumentsFromMap(*cfgPath+": args", rc.Args)
	if err != nil {
		return err
	}
	if *skipMemory {
		targs.SkipMemoryCheck = true
	}
	m, err := model.Load(rc.Model, model.WithLogger(stderr))
	if err != nil {
		return err
	}
	if rc.LoRA != nil {
		if err := m.AddAdapter(*rc.LoRA); err != nil {
			return fmt.Errorf("lora: %w", err)
		}
	}
	train, err := rc.TrainDataset.Load()
	if err != nil {
		return fmt.Errorf("train_dataset: %w", err)
	}
	opts := []trainlib.TrainerOption{}
	if rc.Evaluator != nil {
		ev, err := rc.Evaluator.BuildEvaluator()
		if err != nil {
			return err
		}
		opts = append(opts, trainlib.WithEvaluator(ev))
	}
	loss, err := trainlib.BuildLoss(m, rc.Loss)
	if err != nil {
		return err
	}
	var tr *trainlib.Trainer
	if rc.EvalDataset != nil {
		ed, err := rc.EvalDataset.Load()
		if err != nil {
			return fmt.Errorf("eval_dataset: %w", err)
		}
		tr, err = trainlib.NewTrainer(m, targs, train, ed, loss, opts...)
		if err != nil {
			return err
		}
	} else if tr, err = trainlib.NewTrainer(m, targs, train, nil, loss, opts...); err != nil {
		return err
	}
	if !*noProgress {
		display.AttachProgress(tr, display.WithWriter(stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	topts := []trainlib.TrainOption{trainlib.WithContext(ctx)}
	if *resume != "" {
		topts = append(topts, trainlib.ResumeFrom(*resume))
	}
	out, trainErr := tr.Train(topts...)
	if tr.State != nil && len(tr.State.LogHistory) > 0 {
		if err := writeCharts(filepath.Join(tr.Args.OutputDir, "charts.html"), tr.Args.RunName, tr.State.LogHistory); err != nil {
			fmt.Fprintf(stderr, "embedtune train: %v\n", err)
		}
	}
	if trainErr != nil {
		return trainErr
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeCharts writes the loss, learning-rate and (when evaluated) metric charts of a run.
func writeCharts(path, title string, h charts.LogHistory) error {
	var cs []*charts.Chart
	if c, err := charts.Loss(h); err == nil {
		cs = append(cs, c)
	}
	if c, err := charts.LearningRate(h); err == nil {
		cs = append(cs, c)
	}
	if c, err := charts.EvalMetrics(h, nil); err == nil {
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil
	}
	return charts.WriteHTML(path, title, cs...)
}
