"""Reference embeddings from Python sentence-transformers, for Go parity tests and tools.

Reads a JSON request on stdin (or {"batch": [request, ...]} to answer several in one process, with
{"batch": [response, ...]} as output):
  {"model": DIR, "texts": [...], "batch_size": 32, "prompt": null, "prompt_name": null,
   "normalize_embeddings": false, "truncate_dim": null, "precision": "float32"}
and prints {"embeddings": [[...]], "input_ids": [[...]], "dim": N, "max_seq_length": N,
"similarity_fn_name": "...", "modules": [...]} on stdout. Runs on CPU, offline.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

torch.set_num_threads(max(1, os.cpu_count() or 1))


def run(req):
    model = SentenceTransformer(req["model"], device="cpu", truncate_dim=req.get("truncate_dim"))
    texts = req["texts"]
    kwargs = {}
    if req.get("prompt") is not None:
        kwargs["prompt"] = req["prompt"]
    if req.get("prompt_name") is not None:
        kwargs["prompt_name"] = req["prompt_name"]
    emb = model.encode(
        texts,
        batch_size=req.get("batch_size", 32),
        convert_to_numpy=True,
        normalize_embeddings=req.get("normalize_embeddings", False),
        show_progress_bar=False,
        **kwargs,
    )
    ids = []
    if req.get("with_ids", True) and texts:
        prompt = kwargs.get("prompt") or (model.prompts.get(kwargs["prompt_name"]) if "prompt_name" in kwargs else "")
        for t in texts:
            feats = model.tokenize([(prompt or "") + t])
            ids.append(feats["input_ids"][0].tolist())
    return {
        "embeddings": emb.astype("float64").tolist(),
        "input_ids": ids,
        "dim": model.get_sentence_embedding_dimension(),
        "max_seq_length": model.max_seq_length,
        "similarity_fn_name": model.similarity_fn_name,
        "modules": [type(m).__name__ for m in model],
    }


req = json.load(sys.stdin)
if "batch" in req:
    json.dump({"batch": [run(r) for r in req["batch"]]}, sys.stdout)
else:
    json.dump(run(req), sys.stdout)
