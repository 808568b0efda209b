#!/usr/bin/env python3
"""Retrieval metrics of a sentence-transformers folder computed by Python sentence-transformers itself
(SentenceTransformer + InformationRetrievalEvaluator), on queries/corpus/judgements written by embedtune's parity
tests (tests/parity/scifact_test.go), so that Go and Python evaluate exactly the same set.

  parity_ir_eval.py REQUEST.json         (or the request on stdin); the result JSON goes to stdout

Request:
  {"model": DIR, "eval_file": "ir.json",     {"queries": {id: text}, "corpus": {id: text}, "relevant_docs": {qid: [ids]}}
   "name": "scifact", "query_prompt": "..." | null, "batch_size": 32, "max_seq_length": null, "threads": 2}
Result:
  {"metrics": {"<name>_cosine_ndcg@10": ..., ...}, "seconds": s, "queries": n, "corpus": n, "versions": {...}}

Corpus texts are used as given (for BEIR the Go side already joined title + " " + text, as MTEB does);
documents get no prompt. Runs on CPU, offline.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from parity_common import RequestError, read_ir, read_request

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    # Libraries print progress and logs on stdout: keep it for the JSON answer only.
    answer, sys.stdout = sys.stdout, sys.stderr
    try:
        req = read_request()
        queries, corpus, relevant = read_ir(Path(req["eval_file"]))
        model_dir = req["model"]
    except (OSError, ValueError, KeyError, TypeError, RequestError) as e:
        print(f"parity_ir_eval: bad request or eval_file: {e}", file=sys.stderr)
        return 2
    if not (Path(model_dir) / "modules.json").is_file():
        print(f"parity_ir_eval: {model_dir}: not a sentence-transformers folder (no modules.json)", file=sys.stderr)
        return 2

    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    torch.set_num_threads(int(req.get("threads") or 2))
    model = SentenceTransformer(model_dir, device="cpu")
    if req.get("max_seq_length"):
        model.max_seq_length = int(req["max_seq_length"])
    name = req.get("name", "ir")
    evaluator = InformationRetrievalEvaluator(
        queries=queries, corpus=corpus, relevant_docs=relevant, name=name,
        batch_size=int(req.get("batch_size") or 32), write_csv=False, show_progress_bar=False,
        query_prompt=req.get("query_prompt") or None)
    start = time.perf_counter()
    metrics = {k: float(v) for k, v in evaluator(model).items()}
    json.dump({
        "metrics": metrics,
        "seconds": time.perf_counter() - start,
        "queries": len(evaluator.queries),
        "corpus": len(corpus),
        "max_seq_length": model.max_seq_length,
        "threads": torch.get_num_threads(),
        "versions": {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__},
    }, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
