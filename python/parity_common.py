"""Helpers shared by the parity scripts (parity_bench.py, parity_finetune.py)."""

from __future__ import annotations

import time


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
