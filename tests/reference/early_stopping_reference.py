"""Early stopping and best-model tracking of transformers' Trainer, for given metric sequences.

Reads JSON on stdin: {"cases": [{"values": [...], "metric": "ndcg", "metric_for_best_model": "ndcg",
"greater_is_better": null, "max_steps": 12, "eval_steps": 1, "save_steps": 1, "save_strategy": "steps",
"save_total_limit": null, "load_best": true, "patience": 2, "threshold": 0.0}, ...]} and prints
{"results": [{"global_step", "best_metric", "best_global_step", "best_model_checkpoint", "evaluations",
"checkpoints"}, ...]}: the real transformers.Trainer loop with EarlyStoppingCallback on a two-weight
linear model, whose compute_metrics returns the i-th value of "values" at the i-th evaluation, so the
Go Trainer can be run on the same metric sequence and compared on where it stops, which step is best
and which checkpoints remain.
"""
import contextlib
import json
import logging
import os
import sys
import tempfile

import torch
from datasets import Dataset
from torch import nn
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def forward(self, x, labels=None):
        out = self.lin(x).squeeze(-1)
        return {"loss": ((out - labels) ** 2).mean(), "logits": out}


def run(case):
    torch.manual_seed(0)
    calls = [0]

    def compute_metrics(_):
        calls[0] += 1
        return {case["metric"]: case["values"][calls[0] - 1]}

    ds = Dataset.from_dict({"x": [[1.0, 2.0]] * 8, "labels": [1.0] * 8})
    with tempfile.TemporaryDirectory() as d:
        args = TrainingArguments(
            output_dir=d, max_steps=case["max_steps"], per_device_train_batch_size=2, eval_strategy="steps",
            eval_steps=case["eval_steps"], save_strategy=case.get("save_strategy", "steps"),
            save_steps=case["save_steps"], save_total_limit=case.get("save_total_limit"), logging_steps=1000,
            load_best_model_at_end=case["load_best"], metric_for_best_model=case.get("metric_for_best_model"),
            greater_is_better=case.get("greater_is_better"), report_to=[], disable_tqdm=True, use_cpu=True,
        )
        trainer = Trainer(
            model=Linear(), args=args, train_dataset=ds, eval_dataset=ds, compute_metrics=compute_metrics,
            callbacks=[EarlyStoppingCallback(case["patience"], case["threshold"])],
        )
        with contextlib.redirect_stdout(sys.stderr):
            trainer.train()
        s = trainer.state
        return {
            "global_step": s.global_step, "best_metric": s.best_metric, "best_global_step": s.best_global_step,
            "best_model_checkpoint": os.path.basename(s.best_model_checkpoint) if s.best_model_checkpoint else None,
            "evaluations": calls[0], "checkpoints": sorted(n for n in os.listdir(d) if n.startswith("checkpoint-")),
        }


logging.disable(logging.WARNING)
json.dump({"results": [run(c) for c in json.load(sys.stdin)["cases"]]}, sys.stdout)
