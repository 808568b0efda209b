// Package trainlib fine-tunes sentence-embedding models for retrieval (RAG) in Go, with the names
// and defaults of Python's sentence-transformers, so its tutorial translates step by step:
//
//	func fineTune(modelName, datasetName, outputDir string, maxSteps int) (*trainlib.TrainOutput, error) {
//		ds, err := trainlib.LoadDataset(datasetName, datasets.WithSplit("train")) // a Hub id or local files
//		if err != nil {
//			return nil, err
//		}
//		pairs, err := ds.Select("question", "context") // (anchor, positive) pairs
//		if err != nil {
//			return nil, err
//		}
//		train, test, err := pairs.TrainTestSplit(0.1, 42)
//		if err != nil {
//			return nil, err
//		}
//		ir, err := datasets.IRFromPairs(test, datasets.PairsOptions{})
//		if err != nil {
//			return nil, err
//		}
//		evaluator, err := evaluation.NewInformationRetrievalEvaluator(ir.Queries, ir.Corpus, ir.RelevantDocs,
//			evaluation.IROptions{Name: "dev"})
//		if err != nil {
//			return nil, err
//		}
//		model, err := trainlib.LoadModel(modelName) // a Hub id or a folder; the Hugging Face cache is shared with Python
//		if err != nil {
//			return nil, err
//		}
//		loss := losses.MultipleNegativesRankingLoss(model)
//		args := trainlib.TrainingArguments{OutputDir: outputDir, MaxSteps: maxSteps, PerDeviceTrainBatchSize: 16,
//			LearningRate: 3e-6, WarmupRatio: 0.1, BatchSampler: "no_duplicates", EvalStrategy: "steps",
//			EvalSteps: 20, SaveSteps: 100, SaveTotalLimit: 2, LoggingSteps: 20}
//		trainer, err := trainlib.NewTrainer(model, args, train, nil, loss, trainlib.WithEvaluator(evaluator))
//		if err != nil {
//			return nil, err
//		}
//		// display.AttachProgress(trainer) // in a notebook or a terminal: live progress bar, log table and loss chart
//		return trainer.Train() // checkpoints every 100 steps (the last 2 kept); the model is saved in OutputDir
//	}
//
// (The package Example runs this function on a tiny model.) Sub-packages: model (load, encode and save
// sentence-transformers folders, LoRA), datasets, losses, evaluation, sampler, optim, tokenizer, hub (the
// Hugging Face cache), safetensors, bert, backend, and sweep (hyperparameter sweep specs in the
// Weights & Biases format, which Sweep trains). The progress display lives outside the library, in
// kernel/display, and attaches to a Trainer through its callbacks (display.AttachProgress).
//
// # Files
//
// trainer.go is the public API of training: Trainer, NewTrainer and its options, Train and its options,
// SetProgress. One Train call is a run: run.go sets it up, loop.go steps, logs, interrupts and finishes,
// evaluate.go evaluates and tracks the best model, checkpoint.go writes, rotates and restores checkpoints,
// card.go fills the model card (README.md) as the run goes, memory.go checks before the first step that
// the run's estimated peak memory is available.
// Below them are the building blocks, which know neither the Trainer nor the run: the training arguments
// (args.go, strategy.go and its generated enums), Callback and TrainerControl (callbacks.go),
// EarlyStoppingCallback (early_stopping.go), OutOfDomainGuard (ood_guard.go), the trainer state, TrainOutput and
// the checkpoint layout (state.go), batches of texts (data.go), the compiled training step (step.go), its data-parallel form over several devices (devices.go) and the
// cache that shares it between runs (graph_cache.go), the precision check (precision.go), run configs
// (config.go), loading a trained model (load_trained.go), checkpoint integrity (SHA256SUMS, the checkpoint
// a resume picks) and output_dir's lock (integrity.go). trainer_config.go builds a Trainer from a run
// config. Above the Trainer, a hyperparameter sweep: its API (sweep.go), one run of it (sweep_run.go) and
// its results table and best model (sweep_report.go). A file refers only to names of its own layer or a
// lower one (TestFileLayers checks it).
//
// # Configuration style
//
// trainlib and its sub-packages configure things in three ways, each for one kind of setting:
//
//   - Settings that Python groups in an arguments or config class, or that are saved to files, are a Go
//     struct with the Python names: CamelCase fields, snake_case JSON and YAML keys (TrainingArguments,
//     LoRAConfig, RunConfig, bert.Config). The evaluation and encoding calls, whose Python signatures have
//     a dozen keyword arguments that are set together and reused across calls, take one such struct too
//     (evaluation.IROptions, model.EncodeOptions, evaluation.CompareOptions). In a struct, a zero field
//     means the Python default, documented on the field; where zero is itself a meaningful value, a
//     sentinel turns the setting off (MaxGradNorm: -1) or a pointer tells unset from zero
//     (GreaterIsBetter). In a file, a key that is written is taken as written and a missing key takes the
//     default.
//   - The optional arguments of a constructor or a call, which Python passes as a few keyword arguments,
//     are functional options named WithX: NewTrainer(..., WithEvaluator(e)), Train(ResumeFrom("latest")),
//     losses.MultipleNegativesRankingLoss(m, losses.WithScale(20)), datasets.Load(src,
//     datasets.WithSplit("train")), model.Load(dir, model.WithLogger(nil)).
//   - Settings that Hugging Face spells as fixed strings are typed string enums whose methods are generated
//     by internal/enumgen (IntervalStrategy, SaveStrategy, optim.SchedulerType, sampler.BatchSamplers,
//     losses.Direction, losses.PartitionMode, losses.HardnessMode): files accept exactly Hugging Face's
//     spellings and get them back, and any other value is an error that lists the valid ones.
package trainlib
