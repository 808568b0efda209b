"""The spellings Hugging Face accepts for the settings that embedtune types as enums.

Prints {"eval_strategy": [...], "save_strategy": [...], "lr_scheduler_type": [...], "batch_sampler": [...],
"directions": [...], "partition_mode": [...], "hardness_mode": [...]}: transformers' IntervalStrategy,
SaveStrategy and SchedulerType, sentence-transformers' BatchSamplers, and the Literal values of
MultipleNegativesRankingLoss's arguments, read from the installed packages.
"""
import inspect
import json
import sys
import typing
import warnings

from transformers.trainer_utils import IntervalStrategy, SaveStrategy, SchedulerType

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.training_args import BatchSamplers


def literals(annotation):
    """Every string of the Literal types inside an annotation (tuple[Literal[...], ...], Literal[...] | None)."""
    if typing.get_origin(annotation) is typing.Literal:
        return [a for a in typing.get_args(annotation) if isinstance(a, str)]
    out = []
    for a in typing.get_args(annotation):
        out += [v for v in literals(a) if v not in out]
    return out


params = inspect.signature(MultipleNegativesRankingLoss.__init__).parameters


def values(name):
    """The Literal strings of an __init__ argument; its annotation may be a string (postponed evaluation)."""
    annotation = params[name].annotation
    if isinstance(annotation, str):
        annotation = eval(annotation, {"Literal": typing.Literal, "tuple": tuple})  # noqa: S307 (the package's own text)
    return literals(annotation)


json.dump({
    "eval_strategy": [e.value for e in IntervalStrategy],
    "save_strategy": [e.value for e in SaveStrategy],
    "lr_scheduler_type": [e.value for e in SchedulerType],
    "batch_sampler": [e.value for e in BatchSamplers],
    "directions": values("directions"),
    "partition_mode": values("partition_mode"),
    "hardness_mode": values("hardness_mode"),
}, sys.stdout)
