"""sentence-transformers' NanoBEIREvaluator on a NanoBEIR-shaped dataset, for the Go evaluator's parity test.

Reads JSON on stdin: {"model": DIR, "dataset_id": ID_OR_FOLDER, "dataset_names": [...], "output_path": DIR | null,
"kwargs": {more NanoBEIREvaluator arguments}} and prints {"metrics": {...}, "primary_metric": "...",
"name": "...", "csv": "content of the NanoBEIR CSV or null"}. The dataset is read with datasets.load_dataset
(dataset_id, subset, split=Nano{Name}), exactly as the evaluator does; a local folder laid out like the
Hub repository (README.md configs) works offline.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from sentence_transformers import SentenceTransformer  # noqa: E402
from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator  # noqa: E402

req = json.load(sys.stdin)
model = SentenceTransformer(req["model"], device="cpu")
ev = NanoBEIREvaluator(dataset_names=req["dataset_names"], dataset_id=req["dataset_id"], **req.get("kwargs", {}))
metrics = ev(model, output_path=req.get("output_path"))
csv = None
if req.get("output_path"):
    path = os.path.join(req["output_path"], ev.csv_file)
    if os.path.exists(path):
        csv = open(path, encoding="utf-8").read()
json.dump({"metrics": {k: float(v) for k, v in metrics.items()}, "primary_metric": ev.primary_metric, "name": ev.name, "csv": csv},
          sys.stdout)
