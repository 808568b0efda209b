"""sentence-transformers' mine_hard_negatives on given pairs, for the Go miner's parity tests.

Reads JSON on stdin, {"requests": [request, ...]} with each request
  {"model": DIR, "columns": [anchor, positive], "rows": [[a, p], ...], "corpus": [...] | null,
   "embeddings": {"queries": [[...]], "corpus": [[...]], "query_texts": [...], "corpus_texts": [...]} | null,
   "cases": [{"seed": 0, "options": {mine_hard_negatives keyword arguments}}, ...]}
and prints {"responses": [{"results": [{"columns": [...], "rows": [[...], ...], "log": "printed text"}, ...]}, ...],
"literals": {"sampling_strategy": [...], "output_format": [...]}} (the Literal values mine_hard_negatives accepts).

With "embeddings", the model's encode_query / encode_document return those vectors (looked up by text)
instead of running the model, so the mining logic (search, filters, sampling, output formats) is
compared on identical inputs; without, the model encodes (real-weights parity). random.seed(seed) runs
before each case, as a user seeds Python's global random for sampling_strategy="random".
"""
import contextlib
import inspect
import io
import json
import os
import random
import sys
import typing

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from sentence_transformers.util import mine_hard_negatives  # noqa: E402

torch.set_num_threads(max(1, os.cpu_count() or 1))


def fake_encoder(vectors):
    """encode_query / encode_document returning given (already normalized) vectors by text."""
    def encode(sentences, **kwargs):
        return np.stack([vectors[s] for s in sentences])
    return encode


def run(req):
    model = SentenceTransformer(req["model"], device="cpu")
    emb = req.get("embeddings")
    if emb:
        model.encode_query = fake_encoder({t: np.asarray(v, dtype=np.float32) for t, v in zip(emb["query_texts"], emb["queries"])})
        model.encode_document = fake_encoder({t: np.asarray(v, dtype=np.float32) for t, v in zip(emb["corpus_texts"], emb["corpus"])})
    columns = req["columns"]
    dataset = Dataset.from_dict({c: [r[i] for r in req["rows"]] for i, c in enumerate(columns)})
    results = []
    for case in req["cases"]:
        options = dict(case["options"])
        for k in ("max_score", "min_score", "absolute_margin", "relative_margin"):
            if k in options:
                options[k] = float(options[k])  # JSON writes 0.0 as 0
        random.seed(case.get("seed", 0))
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            out = mine_hard_negatives(dataset, model, corpus=req.get("corpus"), verbose=True, **options)
        results.append({"columns": out.column_names, "rows": [[row[c] for c in out.column_names] for row in out],
                        "log": log.getvalue()})
    return {"results": results}


def literals(name):
    ann = inspect.signature(mine_hard_negatives).parameters[name].annotation
    if isinstance(ann, str):
        ann = eval(ann, {"Literal": typing.Literal})  # noqa: S307 (the package's own annotation)
    return [a for a in typing.get_args(ann) if isinstance(a, str)]


json.dump({"responses": [run(r) for r in json.load(sys.stdin)["requests"]],
           "literals": {n: literals(n) for n in ("sampling_strategy", "output_format")}}, sys.stdout)
