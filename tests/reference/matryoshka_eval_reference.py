"""sentence-transformers' Matryoshka evaluation recipe: one InformationRetrievalEvaluator per dimension
(name f"dim_{d}", or f"{name}_dim_{d}", truncate_dim d) in a SequentialEvaluator, for embedtune's
MatryoshkaEvaluator to be checked against.

Reads JSON on stdin: {"embeddings": {text: [floats]}, "queries": {id: text}, "corpus": {id: text},
"relevant_docs": {qid: [ids]}, "dims": [...], "name": ""} and prints {"metrics": {key: value},
"primary_metric": key}. The model is eval_parity.py's stand-in, which returns each text's given
embedding (truncated to truncate_dim as SentenceTransformer.encode does), so both sides evaluate the same
vectors; everything else is the library's code. CPU, offline.
"""
import json
import sys

from eval_parity import EmbeddingLookupModel
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator, SequentialEvaluator

req = json.load(sys.stdin)
answer, sys.stdout = sys.stdout, sys.stderr  # keep stdout for the JSON answer
model = EmbeddingLookupModel(req["embeddings"], "cosine")
prefix = req["name"] + "_" if req.get("name") else ""
evaluators = [
    InformationRetrievalEvaluator(
        queries=req["queries"], corpus=req["corpus"],
        relevant_docs={q: set(ids) for q, ids in req["relevant_docs"].items()},
        name=f"{prefix}dim_{d}", truncate_dim=d, show_progress_bar=False)
    for d in req["dims"]
]
seq = SequentialEvaluator(evaluators)
metrics = seq(model)
json.dump({"metrics": {k: float(v) for k, v in metrics.items()}, "primary_metric": seq.primary_metric}, answer)
