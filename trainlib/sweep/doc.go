// Package sweep is the hyperparameter-sweep specification of embedtune: the Weights & Biases sweep
// configuration schema (https://docs.wandb.ai/guides/sweeps/sweep-config-keys), the choice of every run's
// parameters (grid, random, Bayesian), Hyperband early termination and the results table. It knows
// nothing of training: trainlib.Sweep applies a Spec to a run config and trains the runs.
//
// # The spec
//
//	program: run.yaml                       # the run config every run starts from (embedtune train --config)
//	method: bayes                           # grid | random | bayes
//	metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
//	run_cap: 20                             # required by random and bayes
//	seed: 0                                 # embedtune's: seeds random and Bayesian suggestions
//	parameters:
//	  learning_rate: {distribution: log_uniform_values, min: 1.0e-6, max: 1.0e-4}
//	  per_device_train_batch_size: {values: [16, 32, 64]}
//	  loss: {parameters: {scale: {min: 10, max: 40}}}        # nested: loss.scale
//	  lora.r: {values: [4, 8, 16]}                            # dotted: the same
//	early_terminate: {type: hyperband, min_iter: 2, eta: 3}
//
// Parameters are paths into the run config: a training argument by its Hugging Face name
// (learning_rate, warmup_ratio, weight_decay, max_steps, seed, ...), or a path under one of the run
// config's keys — model, train_dataset.source, loss.scale, lora.r, lora.lora_alpha, evaluator.…,
// args.… . Nested W&B parameters ({parameters: {...}}) are joined with dots. A parameter definition
// is W&B's: value (constant), values (categorical; with probabilities), or a distribution with its
// keys — int_uniform, uniform, q_uniform (min, max, q), log_uniform_values, q_log_uniform_values,
// inv_log_uniform_values (min, max as values), log_uniform, q_log_uniform, inv_log_uniform (min, max
// as natural logarithms), normal, q_normal, log_normal, q_log_normal (mu, sigma), beta, q_beta (a, b).
// Without a distribution key it is inferred as W&B does: value → constant, values → categorical,
// integer min and max → int_uniform, other min and max → uniform. Every distribution's quantile
// function matches W&B's (tests compare them with its sweeps library); q_ distributions give
// integers when q is an integer, as W&B does.
//
// Unknown keys, impossible ranges (min above max, log ranges through zero, q ≤ 0, probabilities that
// do not sum to 1, ...) and keys that only make sense on W&B's servers (command, controller, job,
// scheduler, metrics, method custom) are errors naming the key; name, description, entity and project
// are kept as labels. embedtune adds two keys: seed, and run (the run config inline, instead of
// program).
//
// # Methods
//
// grid takes every combination of the parameters' values: constants, categorical values,
// int_uniform's min..max and q_uniform's min, min+q, … below max (numpy.arange, as W&B); the
// parameters in sorted order, the last varying fastest, as W&B's controller suggests them. run_cap,
// if set, keeps the first run_cap combinations.
//
// random draws every parameter from its distribution. Run i draws from a random stream seeded by
// (seed, i) alone, so it is the same whatever ran before it, in whatever process.
//
// bayes is Bayesian optimization with a Gaussian process and expected improvement, like W&B's: each
// searchable parameter is mapped to [0, 1] by its distribution function (Parameter.Quantile); the
// metric of each earlier run (the best value it logged; failed and early-terminated runs count as the
// worst value seen, or as metric.impute says) is normalized to mean 0 and deviation 1; a process with a
// Matérn ν=3/2 kernel, whose length scale and noise are chosen by maximum marginal likelihood on a
// fixed grid, is fitted; and the next run is the point of highest expected improvement among 1,000
// uniform random candidates and 500 perturbations of the best run so far (drawn from run i's stream),
// mapped back through the quantile functions. While fewer than two earlier runs have a metric, bayes
// draws at random. Run i is fitted on runs 0..i-1, so its suggestion waits for them to end.
//
// # Early termination
//
// early_terminate {type: hyperband} is W&B's Hyperband rule, made deterministic: see Hyperband for the
// bands, the thresholds and which runs are compared.
//
// # Determinism
//
// Run i is a pure function of (spec, seed, i): its parameters (Spec.Suggest) and, with training being
// deterministic and resuming bit-identically from checkpoints, everything it logs. What depends on
// earlier runs — Bayesian suggestions, early termination, a metric.target that skips later runs —
// depends on runs 0..i-1 only, never on timing. So a sweep split over processes, or killed and
// started again, gives the same results table.
package sweep
