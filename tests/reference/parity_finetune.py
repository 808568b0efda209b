#!/usr/bin/env python3
"""Fine-tunes a sentence-transformers model with Python's own SentenceTransformerTrainer, the reference side of
embedtune's fine-tuning parity test (tests/parity/finetune_test.go), and reports held-out retrieval metrics
before and after, the per-step loss history and the wall time of every step.

The Go test writes the inputs, so both sides train on exactly the same (question, context) pairs, with the same
hyperparameters, and are evaluated on exactly the same held-out queries and corpus:

  parity_finetune.py REQUEST.json        (or the request on stdin); the result JSON goes to stdout

Request:
  {"model": DIR, "max_seq_length": 128 | null,
   "train_file": "pairs.jsonl",          one {"question": ..., "context": ...} per line (anchor, positive)
   "eval_file": "heldout.json",          {"queries": {id: text}, "corpus": {id: text}, "relevant_docs": {qid: [ids]}}
   "eval_name": "squad",                  metric prefix, as the Go evaluator's IROptions.Name
   "output_dir": DIR,                     the trained model is saved here (sentence-transformers folder)
   "batches_file": null | "batches.json", optional [[row, ...], ...] per epoch: train on exactly these batches
                                          (the Go sampler's) instead of sentence-transformers' own sampler
   "args": {"max_steps": 5, "per_device_train_batch_size": 16, "learning_rate": 2e-5, "warmup_ratio": 0.1,
            "seed": 42, "batch_sampler": "no_duplicates", "scale": 20.0},
   "threads": 2}

Result: {"before": {metric: value}, "after": {...}, "log_history": [...], "step_seconds": [...],
         "train_runtime": s, "warmup_steps": n, "optim": "...", "versions": {...}}

Everything runs on CPU, offline, in fp32; the loss is MultipleNegativesRankingLoss(scale, cos_sim).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from parity_common import RequestError, read_ir, read_request, step_timer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")


def read_pairs(path: Path) -> tuple[list[str], list[str]]:
    qs, cs = [], []
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    qs.append(str(row["question"]))
                    cs.append(str(row["context"]))
                except (ValueError, KeyError, TypeError) as e:
                    raise RequestError(f"{path}:{n}: expected {{\"question\": ..., \"context\": ...}}: {e}") from e
    except OSError as e:
        raise RequestError(f"train_file {path}: {e}") from e
    if not qs:
        raise RequestError(f"train_file {path}: no pairs")
    return qs, cs


def main() -> int:
    # Libraries print progress and logs on stdout: keep it for the JSON answer only.
    answer, sys.stdout = sys.stdout, sys.stderr
    try:
        req = read_request()
        args = req["args"]
        model_dir, out_dir = req["model"], req["output_dir"]
    except (OSError, ValueError, KeyError) as e:
        print(f"parity_finetune: bad request: {e}", file=sys.stderr)
        return 2

    import torch
    import transformers
    import sentence_transformers
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers, DefaultBatchSampler
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    torch.set_num_threads(int(req.get("threads") or 2))
    try:
        qs, cs = read_pairs(Path(req["train_file"]))
        queries, corpus, relevant = read_ir(Path(req["eval_file"]))
        batches = None
        if req.get("batches_file"):
            batches = json.loads(Path(req["batches_file"]).read_text(encoding="utf-8"))
            if not batches or not all(isinstance(e, list) and e for e in batches):
                raise RequestError(f"batches_file {req['batches_file']}: expected a non-empty list of epochs of batches")
    except RequestError as e:
        print(f"parity_finetune: error: {e}", file=sys.stderr)
        return 2

    model = SentenceTransformer(model_dir, device="cpu")
    if req.get("max_seq_length"):
        model.max_seq_length = int(req["max_seq_length"])
    name = req.get("eval_name", "squad")
    evaluator = InformationRetrievalEvaluator(queries=queries, corpus=corpus, relevant_docs=relevant, name=name,
                                              batch_size=32, write_csv=False, show_progress_bar=False)
    before = {k: float(v) for k, v in evaluator(model).items()}

    train = Dataset.from_dict({"question": qs, "context": cs})
    sampler = BatchSamplers.NO_DUPLICATES if args.get("batch_sampler", "no_duplicates") == "no_duplicates" \
        else BatchSamplers.BATCH_SAMPLER
    if batches is not None:
        class GivenBatches(DefaultBatchSampler):
            """The Go sampler's batches, epoch by epoch (the trainer calls set_epoch)."""

            def __iter__(self):
                yield from batches[self.epoch % len(batches)]

            def __len__(self):
                return len(batches[self.epoch % len(batches)])

        sampler = GivenBatches

    steps = int(args["max_steps"])
    targs = SentenceTransformerTrainingArguments(
        output_dir=str(Path(out_dir) / "trainer"),
        max_steps=steps,
        per_device_train_batch_size=int(args.get("per_device_train_batch_size", 16)),
        learning_rate=float(args.get("learning_rate", 2e-5)),
        warmup_steps=float(args.get("warmup_ratio", 0.1)),  # transformers 5: a value in (0, 1) is a ratio
        seed=int(args.get("seed", 42)),
        batch_sampler=sampler,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        use_cpu=True,
        fp16=False,
        bf16=False,
        disable_tqdm=True,
        dataloader_drop_last=False,
    )
    loss = MultipleNegativesRankingLoss(model, scale=float(args.get("scale", 20.0)))

    timer = step_timer()
    trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=train, loss=loss, callbacks=[timer])
    start = time.perf_counter()
    trainer.train()
    runtime = time.perf_counter() - start
    after = {k: float(v) for k, v in evaluator(model).items()}
    model.save(out_dir)

    result = {
        "before": before,
        "after": after,
        "log_history": trainer.state.log_history,
        "step_seconds": timer.seconds,
        "train_runtime": runtime,
        "warmup_steps": targs.get_warmup_steps(steps),
        "optim": str(targs.optim),
        "sampler": "given" if batches is not None else str(sampler),
        "threads": torch.get_num_threads(),
        "versions": {"sentence_transformers": sentence_transformers.__version__,
                     "transformers": transformers.__version__, "torch": torch.__version__},
    }
    json.dump(result, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
