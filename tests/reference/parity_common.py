"""Helpers shared by the parity scripts (parity_bench.py, parity_finetune.py, parity_ir_eval.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def step_timer():
    """A transformers TrainerCallback recording the wall time between consecutive step ends (the first
    from the start of training) in its `seconds` list."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.last = None
            self.seconds = []

        def on_train_begin(self, *a, **k):
            self.last = time.perf_counter()

        def on_step_end(self, *a, **k):
            now = time.perf_counter()
            self.seconds.append(now - self.last)
            self.last = now

    return StepTimer()


class RequestError(Exception):
    """A request or one of its input files is not what the script expects."""


def read_request():
    """The request JSON: the file named by the first argument, else standard input."""
    raw = Path(sys.argv[1]).read_text(encoding="utf-8") if len(sys.argv) > 1 else sys.stdin.read()
    return json.loads(raw)


def read_ir(path: Path) -> tuple[dict, dict, dict]:
    """Reads {"queries": {id: text}, "corpus": {id: text}, "relevant_docs": {qid: [ids]}} (the Go test's
    evaluation file) as queries, corpus and {qid: set of relevant ids}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        queries, corpus = data["queries"], data["corpus"]
        relevant = {q: set(ids) for q, ids in data["relevant_docs"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise RequestError(f"eval_file {path}: expected {{queries, corpus, relevant_docs}}: {e}") from e
    return queries, corpus, relevant
