"""Generates the reference fixtures of trainlib/datasets with Hugging Face `datasets` (and its
pyarrow / fsspec), so the Go tests check against the real implementation.

Run with a Python that has datasets 4.x installed (not the pinned pyref venv, which lacks it):

    python -m venv ~/.cache/embedtune/dsref && ~/.cache/embedtune/dsref/bin/pip install datasets==4.0.0
    ~/.cache/embedtune/dsref/bin/python trainlib/datasets/testdata/reference/make_fixtures.py [outdir]

Writes into outdir (default: this folder):
  *.parquet            files written by datasets/pyarrow
  parquet_expected.json  rows and feature types of each Parquet file as datasets reads them
  text_expected.json     the same for JSON Lines / JSON / CSV files loaded with load_dataset
  splits_expected.json   data files per split chosen by datasets for folder layouts (and errors)
  glob_expected.json     fsspec glob matches for patterns on a file tree
"""
import json
import math
import os
import sys
import tempfile

import datasets
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, Features, Sequence, Value, load_dataset, load_dataset_builder

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
datasets.disable_progress_bars()
datasets.logging.set_verbosity_error()


def feature_type(f):
    """Maps a datasets feature to the Go column type name."""
    if isinstance(f, Value):
        d = f.dtype
        if d in ("string", "large_string"):
            return "string"
        if d.startswith("int") or d.startswith("uint"):
            return "int64"
        if d.startswith("float") or d == "double":
            return "float64"
        if d == "bool":
            return "bool"
        if d == "null":
            return "null"
        return "unsupported:" + d
    if isinstance(f, (Sequence, list)) or type(f).__name__ == "List":
        inner = f.feature if hasattr(f, "feature") else f[0]
        if isinstance(inner, Value) and inner.dtype in ("string", "large_string"):
            return "list<string>"
    return "json"


def clean(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return repr(v)
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def describe(ds, every=1):
    """Column names and types, and the rows (every `every`-th one plus the last, with their index)."""
    rows = ds.to_list()
    idx = sorted(set(list(range(0, len(rows), every)) + [len(rows) - 1]))
    return {
        "num_rows": ds.num_rows,
        "columns": list(ds.column_names),
        "types": [feature_type(ds.features[c]) for c in ds.column_names],
        "row_index": idx,
        "rows": [clean(rows[i]) for i in idx],
    }


def parquet_fixtures():
    expected = {}
    feats = Features({
        "question": Value("string"),
        "n": Value("int64"),
        "small": Value("int8"),
        "u32": Value("uint32"),
        "score": Value("float32"),
        "weight": Value("float64"),
        "flag": Value("bool"),
        "negatives": Sequence(Value("string")),
        "answers": {"text": Sequence(Value("string")), "answer_start": Sequence(Value("int32"))},
        "nothing": Value("null"),
    })
    data = {
        "question": ["What is the capital of India?", "", None, "Ünïcödé — 東京?", "tab\there\nnewline", "last"],
        "n": [1, -2, None, 9007199254740993, 0, 5],
        "small": [1, -128, 127, None, 0, 3],
        "u32": [0, 4294967295, 7, None, 1, 2],
        "score": [0.5, -1.25, None, 3.0, 1e-3, 2.5],
        "weight": [0.1, None, 1e300, -0.0, 2.0, 3.5],
        "flag": [True, False, None, True, False, True],
        "negatives": [["a", "b"], [], None, ["only"], ["x", "", "z"], ["q"]],
        "answers": [
            {"text": ["New Delhi"], "answer_start": [10]},
            {"text": [], "answer_start": []},
            None,
            {"text": ["a", "b"], "answer_start": [1, 2]},
            {"text": ["t"], "answer_start": [0]},
            {"text": ["l"], "answer_start": [4]},
        ],
        "nothing": [None] * 6,
    }
    ds = Dataset.from_dict(data, features=feats)
    ds.to_parquet(os.path.join(OUT, "hf_types.parquet"), batch_size=2)  # 3 row groups
    expected["hf_types.parquet"] = describe(Dataset.from_parquet(os.path.join(OUT, "hf_types.parquet")))

    # Dictionary-encoded strings, large_string, data page v2, zstd, several pages per column.
    n = 3000
    table = pa.table({
        "id": pa.array([f"id-{i:05d}" for i in range(n)], pa.large_string()),
        "label": pa.array([["pos", "neg", None][i % 3] for i in range(n)], pa.string()),
        "tags": pa.array([[f"t{i % 7}"] * (i % 3) if i % 11 else None for i in range(n)], pa.list_(pa.string())),
        "value": pa.array([float(i) / 8 for i in range(n)], pa.float64()),
    })
    pq.write_table(table, os.path.join(OUT, "pyarrow_v2_zstd.parquet"), compression="zstd", data_page_version="2.0",
                   use_dictionary=True, data_page_size=4096, row_group_size=1000)
    expected["pyarrow_v2_zstd.parquet"] = describe(Dataset.from_parquet(os.path.join(OUT, "pyarrow_v2_zstd.parquet")), every=97)

    # A type this package rejects, with the name of the column in the error.
    t2 = pa.table({"text": ["a", "b"], "when": pa.array([1, 2], pa.timestamp("ms"))})
    pq.write_table(t2, os.path.join(OUT, "timestamp.parquet"))
    with open(os.path.join(OUT, "parquet_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


TEXT_FILES = {
    "mixed.jsonl": (
        '{"question": "q1", "score": 1, "negs": ["a"], "meta": {"k": 1}}\n'
        '\n'
        '{"question": "q2", "score": 2.5, "negs": [], "extra": true}\r\n'
        '{"question": null, "score": null, "negs": null, "meta": {"k": 2}}\n'
    ),
    "array.json": '[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3}]',
    "field.json": '{"version": "1.0", "data": [{"q": "one", "n": 1}, {"q": "two", "n": 2}]}',
    "lines.json": '{"q": "one"}\n{"q": "two"}\n',
    "types.csv": (
        "\ufeffid,count,ratio,flag,text,code,empty\r\n"
        "1,10,0.5,True,hello,007,\r\n"
        "2,,1.5,False,\"with, comma\",010,\r\n"
        "3,30,2,True,\"multi\nline\",123,\r\n"
    ),
    "pairs.tsv": "query-id\tcorpus-id\tscore\nq1\t10\t1\nq2\t20\t0\n",
}


def text_fixtures():
    expected = {}
    d = os.path.join(OUT, "text")
    os.makedirs(d, exist_ok=True)
    for name, content in TEXT_FILES.items():
        with open(os.path.join(d, name), "w", encoding="utf-8", newline="") as f:
            f.write(content)
        builder = {"jsonl": "json", "json": "json", "csv": "csv", "tsv": "csv"}[name.rsplit(".", 1)[1]]
        kwargs = {"sep": "\t"} if name.endswith(".tsv") else {}
        if name == "field.json":
            kwargs["field"] = "data"
        ds = load_dataset(builder, data_files=os.path.join(d, name), split="train", **kwargs)
        expected[name] = describe(ds)
    with open(os.path.join(OUT, "text_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


README_TWO_CONFIGS = """---
configs:
- config_name: pairs
  data_files:
  - split: train
    path: "pairs/train-*.jsonl"
  - split: test
    path: pairs/test.jsonl
  default: true
- config_name: corpus
  data_files: "corpus/*.jsonl"
---
# Dataset
"""

README_DICT = """---
configs:
- config_name: default
  data_files:
    test: "holdout/*.csv"
    train: ["a.csv", "b/*.csv"]
---
"""

README_DATA_DIR = """---
configs:
- config_name: sub
  data_dir: sub
---
"""

README_NO_DEFAULT = """---
configs:
- config_name: one
  data_files: a.jsonl
- config_name: two
  data_files: b.jsonl
---
"""

LAYOUTS = {
    "sharded": ["README.md", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet",
                "data/test-00000-of-00001.parquet", "data/validation-00000-of-00001.parquet",
                "data/extra_split-00000-of-00001.parquet", ".gitattributes"],
    "split_dirs": ["train/a.jsonl", "train/b.jsonl", "dev/x.jsonl", "test/y.jsonl", "README.md"],
    "split_dirs_nested": ["data/training/part1.csv", "data/eval/part1.csv", "data/notes.txt"],
    "split_files": ["train.csv", "my-test_01.csv", "valid.csv", "other.csv"],
    "split_files_nested": ["data/train.jsonl", "data/test.jsonl", "data/validation.jsonl"],
    "single_file": ["qa.jsonl", "README.md", "LICENSE"],
    "all_train_mixed": ["a.parquet", "b.parquet", "c.json", "notes.md"],
    "hidden_and_special": ["train.csv", ".hidden/test.csv", "__pycache__/test.csv", "docs/.test.csv"],
    "keyword_inside_word": ["pretrain.csv", "contest.csv", "attest_data.csv"],
    "tie_format": ["train.csv", "train.jsonl", "test.csv", "test.jsonl"],
    "gz": ["train.jsonl.gz", "test.jsonl.gz"],
    "readme_two_configs": ["README.md", "pairs/train-0.jsonl", "pairs/train-1.jsonl", "pairs/test.jsonl",
                           "corpus/c0.jsonl", "corpus/c1.jsonl"],
    "readme_dict": ["README.md", "a.csv", "b/x.csv", "b/y.csv", "holdout/h.csv", "train.csv"],
    "readme_data_dir": ["README.md", "sub/train.jsonl", "sub/test.jsonl", "train.jsonl"],
    "readme_no_default": ["README.md", "a.jsonl", "b.jsonl"],
    "only_readme": ["README.md"],
    "mixed_splits_formats": ["train.csv", "test.jsonl"],
}
READMES = {
    "readme_two_configs": README_TWO_CONFIGS,
    "readme_dict": README_DICT,
    "readme_data_dir": README_DATA_DIR,
    "readme_no_default": README_NO_DEFAULT,
    "sharded": "# no yaml\n",
    "split_dirs": "---\nlicense: mit\n---\n",
    "single_file": "",
    "only_readme": "",
}
CONFIG_ASKED = {"readme_two_configs": [None, "corpus", "nope"], "readme_no_default": [None, "two"]}


def split_fixtures():
    expected = {}
    for name, files in LAYOUTS.items():
        with tempfile.TemporaryDirectory() as root:
            for rel in files:
                p = os.path.join(root, rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(READMES.get(name, "") if rel == "README.md" else "")
            cases = {}
            for cfg in CONFIG_ASKED.get(name, [None]):
                key = cfg or ""
                try:
                    b = load_dataset_builder(root, cfg) if cfg else load_dataset_builder(root)
                    cases[key] = {
                        "config": b.config.name,
                        "splits": {str(s): [os.path.relpath(p, root) for p in fl] for s, fl in b.config.data_files.items()},
                        "split_order": [str(s) for s in b.config.data_files.keys()],
                    }
                except Exception as e:  # the Go side must fail too
                    cases[key] = {"error": type(e).__name__ + ": " + str(e).splitlines()[0]}
            expected[name] = {"files": files, "readme": READMES.get(name, ""), "cases": cases}
    with open(os.path.join(OUT, "splits_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


GLOB_FILES = ["train.csv", "data/train-00000-of-00001.parquet", "data/sub/deep/x.jsonl", "a b/c-d.txt",
              "x1.csv", "x12.csv", "[x].csv", "dev/a.json"]
GLOB_PATTERNS = ["*", "**", "*.csv", "**/*.csv", "data/**", "data/*", "**/train[-._ 0-9]*", "**/*[-._ 0-9]train[-._ 0-9]*",
                 "x?.csv", "x[0-9].csv", "x[!1].csv", "data/**/*.jsonl", "**/dev/**", "**/sub/**", "a b/*",
                 "data/train-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*", "**.csv", "data/**.parquet"]


def glob_fixtures():
    fs = fsspec.filesystem("file")
    expected = {"fsspec": fsspec.__version__, "files": GLOB_FILES, "matches": {}}
    with tempfile.TemporaryDirectory() as root:
        for rel in GLOB_FILES:
            p = os.path.join(root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, "w").close()
        for pat in GLOB_PATTERNS:
            try:
                found = fs.glob(root + "/" + pat, detail=True)
            except ValueError as e:
                expected["matches"][pat] = {"error": str(e)}
                continue
            expected["matches"][pat] = sorted(os.path.relpath(p, root) for p, i in found.items() if i["type"] == "file")
    with open(os.path.join(OUT, "glob_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


DISPLAY_CELLS = [
    "short",
    "x" * 49,
    "y" * 50,
    "z" * 51,
    "The Republic of India is a country in South Asia. It is the seventh-largest country by area.",
    "Ünïcödé — 東京 " * 6,
    "<b>bold</b> & \"quoted\" text that is long enough to be cut by pandas display",
    "",
]


def display_fixtures():
    """pandas' HTML cell texts (display.max_colwidth = 50) for text, list, None and bool cells."""
    import html
    import re

    import pandas as pd

    df = pd.DataFrame({
        "text": DISPLAY_CELLS,
        "list": [["a", "b"], [], None, ["x" * 30, "y" * 30], ["one"], ["two"], ["3"], ["4"]],
        "flag": [True, False, None, True, False, True, False, True],
    })
    page = df._repr_html_()
    rows = re.findall(r"<tr>\s*<th>(\d+)</th>(.*?)</tr>", page, re.S)
    cells = [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", body, re.S)] for _, body in rows]
    expected = {"pandas": pd.__version__, "columns": list(df.columns), "inputs": {
        "text": DISPLAY_CELLS, "list": df["list"].tolist(), "flag": df["flag"].tolist()}, "cells": cells}
    with open(os.path.join(OUT, "display_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    parquet_fixtures()
    text_fixtures()
    split_fixtures()
    glob_fixtures()
    display_fixtures()
    print("datasets", datasets.__version__, "pyarrow", pa.__version__, "fsspec", fsspec.__version__, "->", OUT)
