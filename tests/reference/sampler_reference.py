"""Batches of sentence-transformers' NoDuplicatesBatchSampler for a given permutation.

Reads JSON on stdin: {"cases": [{"rows": [{"col": value, ...}, ...], "perm": [...],
"batch_size": N, "drop_last": bool}, ...]} and prints {"batches": [[[...], ...], ...]}: per case,
the batches of one epoch when
torch.randperm returns perm (patched), so Go's implementation can be compared on the same order.
"""
import json
import sys

import torch
from datasets import Dataset
from sentence_transformers.base import sampler as st_sampler

req = json.load(sys.stdin)
results = []
for case in req["cases"]:
    perm = torch.tensor(case["perm"], dtype=torch.int32)
    st_sampler.torch.randperm = lambda n, generator=None, dtype=None, perm=perm: perm.to(dtype or torch.int64)
    ds = Dataset.from_list(case["rows"])
    s = st_sampler.NoDuplicatesBatchSampler(
        ds, batch_size=case["batch_size"], drop_last=case["drop_last"], valid_label_columns=["label", "score"],
        generator=torch.Generator(), seed=0,
    )
    values = lambda i, s=s: {  # noqa: E731
        st_sampler._sample_value_str(v) for k, v in s.dataset[i].items() if k not in st_sampler._EXCLUDE_DATASET_COLUMNS
    }
    results.append([list(map(int, b)) for b in s._iter_one_pass(values, lambda sv, bv: not sv.isdisjoint(bv))])
json.dump({"batches": results}, sys.stdout)
