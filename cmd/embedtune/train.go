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
	if *skipMemory {
		if rc.Args == nil {
			rc.Args = map[string]any{}
		}
		rc.Args["skip_memory_check"] = true
	}
	tr, err := rc.NewTrainer(stderr, []model.Option{model.WithLogger(stderr)})
	if err != nil {
		return fmt.Errorf("%s: %w", *cfgPath, err)
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
