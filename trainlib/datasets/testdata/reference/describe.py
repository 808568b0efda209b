"""Prints how Hugging Face datasets reads a file: {"num_rows", "columns", "types", "row_index", "rows"}.

Usage: python describe.py FILE   (FILE: .parquet, .jsonl, .json or .csv; needs datasets 4.x, see make_fixtures.py)
Used by the Go test TestSavedFilesReadByDatasets (EMBEDTUNE_DATASETS_PYTHON=/path/to/python).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
from datasets import Dataset, load_dataset  # noqa: E402
from make_fixtures import describe  # noqa: E402

datasets.disable_progress_bars()
datasets.logging.set_verbosity_error()

path = sys.argv[1]
if path.endswith(".parquet"):
    ds = Dataset.from_parquet(path)
else:
    builder = {"jsonl": "json", "json": "json", "csv": "csv"}[path.rsplit(".", 1)[1]]
    ds = load_dataset(builder, data_files=path, split="train")
print(json.dumps(describe(ds), ensure_ascii=False))
