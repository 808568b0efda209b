#!/usr/bin/env python3
"""PyTorch CPU timings of sentence-transformers, the reference side of embedtune's performance comparison
(tests/parity/bench_test.go): the Go benchmark sends the same texts and batch shapes and prints the ratio.

  parity_bench.py REQUEST.json           (or the request on stdin); the result JSON goes to stdout

Requests:
  {"mode": "encode", "model": DIR, "texts": [...], "batch_size": 32, "max_seq_length": 256, "threads": 2}
      SentenceTransformer.encode of all texts after one warm-up batch;
      result {"seconds", "passages_per_second", "input_shapes": [[rows, seq], ...]}
  {"mode": "train", "model": DIR, "anchors": [...], "positives": [...], "batch_size": 16, "steps": 3,
   "max_seq_length": 128, "learning_rate": 2e-5, "threads": 2}
      SentenceTransformerTrainer (MultipleNegativesRankingLoss, AdamW, fp32, logging every step) for 1 + steps
      steps; the first (warm-up) step is reported apart; result {"step_seconds": [...], "first_step_seconds",
      "input_shapes": [[rows, seq], ...]} where input_shapes are the shapes of the first batch's columns.

Runs on CPU, offline, with `threads` intra-op threads. Every result also has "max_rss_bytes", the process's peak
resident set size (scripts/bench.sh runs one request per process).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from parity_common import read_request, step_timer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")


def encode(req, model):
    texts = req["texts"]
    bs = int(req.get("batch_size") or 32)
    model.encode(texts[:bs], batch_size=bs, show_progress_bar=False)  # warm-up
    shapes = []
    for i in range(0, len(texts), bs):
        feats = model.tokenize(texts[i:i + bs])
        shapes.append(list(feats["input_ids"].shape))
    start = time.perf_counter()
    model.encode(texts, batch_size=bs, show_progress_bar=False)
    secs = time.perf_counter() - start
    return {"seconds": secs, "passages_per_second": len(texts) / secs, "input_shapes": shapes}


def train(req, model):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    anchors, positives = req["anchors"], req["positives"]
    bs = int(req.get("batch_size") or 16)
    steps = int(req.get("steps") or 3)
    if len(anchors) != len(positives) or len(anchors) < bs * (steps + 1):
        raise ValueError(f"need {bs * (steps + 1)} (anchor, positive) pairs for {steps}+1 steps of {bs}, "
                         f"got {len(anchors)} anchors and {len(positives)} positives")

    timer = step_timer()
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, max_steps=steps + 1, per_device_train_batch_size=bs,
            learning_rate=float(req.get("learning_rate") or 2e-5), logging_steps=1, save_strategy="no",
            report_to="none", use_cpu=True, disable_tqdm=True, seed=42)
        ds = Dataset.from_dict({"anchor": anchors, "positive": positives})
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds,
                                             loss=MultipleNegativesRankingLoss(model), callbacks=[timer])
        trainer.train()
    feats = [model.tokenize(col[:bs]) for col in (anchors, positives)]
    return {"first_step_seconds": timer.seconds[0], "step_seconds": timer.seconds[1:],
            "input_shapes": [list(f["input_ids"].shape) for f in feats], "optim": str(args.optim)}


def main() -> int:
    # Libraries print progress and logs on stdout: keep it for the JSON answer only.
    answer, sys.stdout = sys.stdout, sys.stderr
    try:
        req = read_request()
        mode = req["mode"]
        if mode not in ("encode", "train"):
            raise ValueError(f"mode {mode!r} must be 'encode' or 'train'")
    except (OSError, ValueError, KeyError) as e:
        print(f"parity_bench: bad request: {e}", file=sys.stderr)
        return 2

    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(int(req.get("threads") or 2))
    model = SentenceTransformer(req["model"], device="cpu")
    if req.get("max_seq_length"):
        model.max_seq_length = int(req["max_seq_length"])
    try:
        out = encode(req, model) if mode == "encode" else train(req, model)
    except (ValueError, KeyError) as e:
        print(f"parity_bench: {mode}: {e}", file=sys.stderr)
        return 2
    import resource

    out.update({"threads": torch.get_num_threads(), "max_seq_length": model.max_seq_length,
                "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "versions": {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__}})
    json.dump(out, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
