// Package nb makes notebook cells as short as the Python tutorial's. GoNB compiles and runs each cell as a
// fresh Go program — declarations carry over, variables do not — so a notebook declares one small function
// per step and later cells call it again. This package keeps those functions one line long and cheap to
// call again:
//
//   - Must and Check turn errors into the cell's error: a red box with the message and, for the errors a
//     workshop meets, how to fix it; the cell stops and Jupyter marks it failed, like a Python exception.
//   - Settings reads the tutorial's inputs from EMBEDTUNE_* variables, with real offline defaults (a fetched
//     bge-small-en-v1.5 or all-MiniLM-L6-v2, SQuAD pairs) when the Hub is off, and the tutorial's LoRA adapter.
//   - LoadDataset, LoadModel, LoadTrainedModel and Evaluate are remembered across cells by content in
//     embedtune's cache (package trainlib/cache): a Model reads its weights only when an embedding is
//     missing from the embedding cache (model.CachedEncoder), so re-running an evaluation after training costs
//     about the time GoNB takes to build the cell.
//   - SplitHeldOut is the tutorial's evaluation split, searched against every passage of the dataset.
//   - Train is trainer.train() for a cell: Jupyter's ■ stops it with a checkpoint within the 5 s GoNB allows,
//     and the next run offers to continue.
//   - SweepSettings, SweepConfig.WriteSweep and RunSweep are the same for a hyperparameter sweep
//     (notebooks/03_hyperparameter_sweep.ipynb): the sweep's settings, its run config and W&B spec written
//     as YAML with the settings filled in, and trainlib's Sweep.Run that ■ stops and a re-run resumes.
//
// A cell of notebooks/01_finetune_embedder.ipynb:
//
//	// baseModel is SentenceTransformer(name).
//	func baseModel() *nb.Model { return nb.Must(nb.LoadModel(cfg.Model)) }
//
//	%%
//	display.HTML(nb.Must(nb.Evaluate(evaluator(), baseModel()))) // evaluator(model)
//
// The package draws through kernel/display; trainlib never imports it.
package nb
