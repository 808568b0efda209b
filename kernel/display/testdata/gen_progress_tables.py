#!/usr/bin/env python3
"""Generates progress_tables.json: what transformers' NotebookProgressCallback puts in its notebook table
for given log histories, and what its format_time prints — the reference for TrainingProgress's table.

    $(scripts/pyenv.sh) kernel/display/testdata/gen_progress_tables.py > kernel/display/testdata/progress_tables.json

The callback is driven exactly as transformers' Trainer drives it: on_train_begin, then for each log entry
the entry is appended to state.log_history and on_log is called; for evaluation entries on_evaluate is
called with the metrics (the entry without "step"). The table is read from the tracker's inner_table and
formatted as text_to_html_table formats cells (floats with 6 decimals).
"""
import contextlib
import copy
import io
import json
import math
import sys
from types import SimpleNamespace

import transformers
from transformers.trainer_utils import IntervalStrategy
from transformers.utils import notebook


def drive(eval_strategy, entries, max_steps, num_epochs):
    cb = notebook.NotebookProgressCallback()
    args = SimpleNamespace(eval_strategy=eval_strategy)
    state = SimpleNamespace(max_steps=max_steps, global_step=0, epoch=0.0, num_train_epochs=num_epochs, log_history=[])
    control = SimpleNamespace()
    with contextlib.redirect_stdout(io.StringIO()):  # IPython's display prints object reprs outside notebooks
        return _drive(cb, args, state, control, entries)


def _drive(cb, args, state, control, entries):
    cb.on_train_begin(args, state, control)
    for e in entries:
        state.global_step = int(e["step"])
        state.epoch = e.get("epoch", state.epoch)
        state.log_history.append(dict(e))
        logs = {k: v for k, v in e.items() if k != "step"}
        cb.on_log(args, state, control, logs=logs)
        if any(k.startswith("eval_") for k in e):
            cb.on_evaluate(args, state, control, metrics=copy.deepcopy(logs))
    table = cb.training_tracker.inner_table
    fmt = lambda v: f"{v:.6f}" if isinstance(v, float) else str(v)
    return [list(map(str, table[0]))] + [[fmt(v) for v in row] for row in table[1:]]


def bar_label(total, updates):
    """The label of a NotebookProgressBar after updates [(value, time)], every update forced."""
    bar = notebook.NotebookProgressBar(total)
    real_time = notebook.time.time
    try:
        for i, (value, t) in enumerate(updates):
            notebook.time.time = lambda t=t: t
            with contextlib.redirect_stdout(io.StringIO()):
                bar.update(value, force_update=i > 0)
    finally:
        notebook.time.time = real_time
    return bar.label


def history(steps, eval_every, metrics, epochs_per_step):
    out = []
    for s in range(10, steps + 1, 10):
        ep = round(s * epochs_per_step, 4)
        out.append({"step": s, "epoch": ep, "loss": round(2.0 * math.exp(-s / 60) + 0.1, 6),
                    "learning_rate": 3e-6 * (steps - s) / steps, "grad_norm": 1.5})
        if eval_every and s % eval_every == 0:
            e = {"step": s, "epoch": ep, "eval_loss": round(2.2 * math.exp(-s / 70) + 0.2, 6)}
            for i, m in enumerate(metrics):
                e[m] = round(0.5 + 0.3 * (1 - math.exp(-s / (80 + 10 * i))), 6)
            e.update({"eval_runtime": 1.25, "eval_samples_per_second": 80.0, "eval_steps_per_second": 5.0})
            out.append(e)
    return out


def main():
    metrics = ["eval_cosine_accuracy@1", "eval_cosine_ndcg@5", "eval_cosine_ndcg@10", "eval_cosine_mrr@10"]
    cases = []
    h = history(60, 20, metrics, 1 / 30)
    cases.append({"name": "eval every 20 steps with IR metrics", "eval": True, "epoch_column": False, "metric_order": metrics,
                  "max_steps": 60, "entries": h, "table": drive(IntervalStrategy.STEPS, h, 60, 2)})
    h = history(40, 0, [], 1 / 20)
    cases.append({"name": "no evaluation", "eval": False, "epoch_column": False,
                  "max_steps": 40, "entries": h, "table": drive(IntervalStrategy.NO, h, 40, 2)})
    h = history(60, 30, ["eval_accuracy"], 1 / 30)
    cases.append({"name": "evaluation every 3 logs, one metric", "eval": True, "epoch_column": False,
                  "max_steps": 60, "entries": h, "table": drive(IntervalStrategy.STEPS, h, 60, 2)})
    h = history(40, 20, ["eval_accuracy"], 1 / 20)
    cases.append({"name": "epoch strategy", "eval": True, "epoch_column": True,
                  "max_steps": 40, "entries": h, "table": drive(IntervalStrategy.EPOCH, h, 40, 2)})
    bars = []
    for total, updates in [(100, [(1, 1000.0), (11, 1010.0)]), (332, [(5, 0.0), (20, 3.0), (200, 41.5)]),
                           (50, [(1, 0.0), (50, 100.0)]), (1000, [(1, 0.0), (2, 7300.0)])]:
        bars.append({"total": total, "updates": updates, "label": bar_label(total, updates)})
    times = [0, 1.9, 59, 60, 61.5, 599, 3599, 3600, 3661, 86399, 90061]
    json.dump({"transformers_version": transformers.__version__, "cases": cases,
               "format_time": [[t, notebook.format_time(t)] for t in times], "bars": bars}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
