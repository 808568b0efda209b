#!/usr/bin/env python3
"""The PyTorch side of embedtune's accelerator check (scripts/gpu_check.sh, tests/gpu): sentence-transformers on
the same model folder, texts and batches as the Go side, on CUDA (or on the CPU for the dry run).

  gpu_check.py REQUEST.json        (or the request on stdin); the result JSON goes to stdout

Requests (all carry "model": DIR, "device": "cuda" | "cpu", "max_seq_length": N):
  {"mode": "encode", "texts": [...], "batch_size": 32}
      -> {"embeddings": [[...]], "device_name": "..."}
  {"mode": "train", "pairs_file": "pairs.jsonl", "batches": [[row, ...], ...], "batch_size": 16,
   "learning_rate": 2e-5, "precision": "fp16" | "fp32", "seed": 42}
      SentenceTransformerTrainer, MultipleNegativesRankingLoss (scale 20), AdamW, no warmup, exactly the given
      batches (one per step), logging every step -> {"losses": [...], "step_seconds": [...]}
  {"mode": "bench", "texts": [...], "batch_sizes": [16, 64], "train_steps": 3, "precision": "fp16" | "fp32",
   "learning_rate": 2e-5}
      encode samples/s (after a warm-up batch) and training samples/s (median step after a warm-up step) per batch
      size, every text truncated to max_seq_length -> {"encode": {B: samples/s}, "train": {B: samples/s},
      "input_shapes": {B: [rows, seq]}}

Offline (HF_HUB_OFFLINE); fails with a message on stderr and status 2 on a bad request.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from parity_common import RequestError, read_request, step_timer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")


def load(req):
    import torch
    from sentence_transformers import SentenceTransformer

    device = req.get("device", "cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise RequestError("device cuda: torch.cuda.is_available() is False (no GPU, or a CPU-only torch)")
    model = SentenceTransformer(req["model"], device=device)
    model.max_seq_length = int(req["max_seq_length"])
    return model, device


def sync(device):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def encode(req):
    import torch

    model, device = load(req)
    emb = model.encode(req["texts"], batch_size=int(req.get("batch_size") or 32), convert_to_numpy=True,
                       show_progress_bar=False)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    return {"embeddings": emb.astype("float64").tolist(), "device_name": name}


def trainer_for(model, device, pairs, batches, bs, lr, precision, seed, out):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    class GivenBatches(DefaultBatchSampler):
        """The Go sampler's batches (one epoch)."""

        def __iter__(self):
            yield from batches

        def __len__(self):
            return len(batches)

    args = SentenceTransformerTrainingArguments(
        output_dir=out, max_steps=len(batches), per_device_train_batch_size=bs, learning_rate=lr, warmup_steps=0,
        seed=seed, batch_sampler=GivenBatches, logging_steps=1, save_strategy="no", eval_strategy="no",
        report_to="none", use_cpu=device == "cpu", fp16=precision == "fp16", bf16=precision == "bf16",
        disable_tqdm=True, dataloader_drop_last=False)
    ds = Dataset.from_dict({"anchor": pairs[0], "positive": pairs[1]})
    timer = step_timer()
    tr = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=MultipleNegativesRankingLoss(model),
                                    callbacks=[timer])
    return tr, timer


def read_pairs(path):
    qs, cs = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    qs.append(str(row["question"]))
                    cs.append(str(row["context"]))
                except (ValueError, KeyError) as e:
                    raise RequestError(f"{path}:{n}: expected {{question, context}}: {e}") from e
    return qs, cs


def train(req):
    model, device = load(req)
    pairs = read_pairs(req["pairs_file"])
    batches = req["batches"]
    with tempfile.TemporaryDirectory() as tmp:
        tr, timer = trainer_for(model, device, pairs, batches, int(req["batch_size"]), float(req["learning_rate"]),
                                req.get("precision", "fp16"), int(req.get("seed", 42)), tmp)
        tr.train()
    losses = [e["loss"] for e in tr.state.log_history if "loss" in e and "train_loss" not in e]
    return {"losses": losses, "step_seconds": timer.seconds}


def bench(req):
    model, device = load(req)
    texts = req["texts"]
    steps = int(req.get("train_steps") or 3)
    lr = float(req.get("learning_rate") or 2e-5)
    out = {"encode": {}, "train": {}, "input_shapes": {}}
    for bs in req["batch_sizes"]:
        n = 4 * bs
        if len(texts) < n:
            raise RequestError(f"bench: {len(texts)} texts, need {n} for batch size {bs}")
        sample = texts[:n]
        out["input_shapes"][str(bs)] = list(model.tokenize(sample[:bs])["input_ids"].shape)
        model.encode(sample[:bs], batch_size=bs, show_progress_bar=False)  # warm-up
        sync(device)
        t0 = time.perf_counter()
        model.encode(sample, batch_size=bs, show_progress_bar=False)
        sync(device)
        out["encode"][str(bs)] = n / (time.perf_counter() - t0)

        batches = [list(range(i * bs, (i + 1) * bs)) for i in range(steps + 1)]
        pairs = ([texts[i % len(texts)] for i in range(bs * (steps + 1))],
                 [texts[(i + 1) % len(texts)] for i in range(bs * (steps + 1))])
        with tempfile.TemporaryDirectory() as tmp:
            tr, timer = trainer_for(model, device, pairs, batches, bs, lr, req.get("precision", "fp16"), 42, tmp)
            tr.train()
        out["train"][str(bs)] = bs / statistics.median(timer.seconds[1:])
    return out


def main() -> int:
    answer, sys.stdout = sys.stdout, sys.stderr  # Libraries print on stdout: keep it for the JSON answer.
    try:
        req = read_request()
        mode = req["mode"]
        fn = {"encode": encode, "train": train, "bench": bench}[mode]
        result = fn(req)
    except (RequestError, KeyError, ValueError, OSError) as e:
        print(f"gpu_check.py: error: {e}", file=sys.stderr)
        return 2
    json.dump(result, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
