#!/usr/bin/env python3
"""BEIR SciFact retrieval scores of a sentence-transformers folder, computed by Python
sentence-transformers itself (InformationRetrievalEvaluator), to compare with published MTEB numbers.

Protocol (MTEB's for BGE English v1.5 models): queries are prefixed with
"Represent this sentence for searching relevant passages: ", documents are title + " " + text without prefix,
the model's own pooling (CLS for BGE) and normalisation, cosine similarity, relevance from qrels/<split>.tsv
(score > 0). Published reference for BAAI/bge-small-en-v1.5 (MTEB SciFact test, see
../shared/data/reference-scores.md): nDCG@10 0.71273, MAP@10 0.66804, MRR@10 0.68229, Recall@10 0.83622,
Recall@100 0.945.

Usage (inside the reference environment, e.g. `$(scripts/pyenv.sh) python/scifact_weights_eval.py`):
  scifact_weights_eval.py [--model DIR] [--data DIR] [--split test] [--batch 32] [--max-seq-length 512]
                          [--query-prompt TEXT] [--json FILE]
--model defaults to $EMBEDTUNE_MODELS/bge-small-en-v1.5 (see scripts/fetch_weights.sh); runs offline.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

BGE_QUERY_PROMPT = "Represent this sentence for searching relevant passages: "
PUBLISHED = {  # BAAI/bge-small-en-v1.5, MTEB SciFact test (mteb 1.20.0 results file)
    "ndcg@10": 0.71273, "map@10": 0.66804, "mrr@10": 0.68229, "recall@10": 0.83622, "recall@100": 0.945,
}


class DataError(Exception):
    pass


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as e:
                        raise DataError(f"{path}:{n}: invalid JSON: {e}") from e
    except OSError as e:
        raise DataError(f"{path}: {e}") from e
    return rows


def load_beir(data: Path, split: str) -> tuple[dict[str, str], dict[str, str], dict[str, set[str]]]:
    """Returns (queries, corpus, relevant docs) restricted to the queries judged in the split."""
    corpus = {}
    for row in read_jsonl(data / "corpus.jsonl"):
        if "_id" not in row or "text" not in row:
            raise DataError(f"{data / 'corpus.jsonl'}: row without '_id'/'text': {str(row)[:80]}")
        corpus[str(row["_id"])] = (str(row.get("title") or "") + " " + str(row["text"])).strip()
    all_queries = {str(r["_id"]): str(r["text"]) for r in read_jsonl(data / "queries.jsonl")}
    qrels_path = data / "qrels" / f"{split}.tsv"
    relevant: dict[str, set[str]] = {}
    try:
        with qrels_path.open(encoding="utf-8") as f:
            reader = csv.reader(f, delimiter="\t")
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
                raise DataError(f"{qrels_path}: header {header}, expected query-id, corpus-id, score")
            for n, rec in enumerate(reader, 2):
                if len(rec) < 3:
                    raise DataError(f"{qrels_path}:{n}: expected 3 tab-separated fields, got {rec}")
                if int(rec[2]) > 0:
                    relevant.setdefault(rec[0], set()).add(rec[1])
    except OSError as e:
        raise DataError(f"{qrels_path}: {e}") from e
    missing_q = sorted(q for q in relevant if q not in all_queries)
    missing_d = sorted({d for ds in relevant.values() for d in ds if d not in corpus})
    if missing_q or missing_d:
        raise DataError(f"{qrels_path}: unknown query ids {missing_q[:5]} / corpus ids {missing_d[:5]}")
    queries = {q: all_queries[q] for q in relevant}
    return queries, corpus, relevant


def main(argv: list[str]) -> int:
    default_model = Path(os.environ.get("EMBEDTUNE_MODELS") or Path.home() / ".cache/embedtune/models")
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description="BEIR SciFact nDCG@10 with Python sentence-transformers")
    ap.add_argument("--model", type=Path, default=default_model / "bge-small-en-v1.5")
    ap.add_argument("--data", type=Path, default=root.parent / "shared/data/beir-scifact")
    ap.add_argument("--split", default="test")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-seq-length", type=int, default=512)
    ap.add_argument("--query-prompt", default=BGE_QUERY_PROMPT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the scores to this file")
    args = ap.parse_args(argv)

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import cos_sim

    try:
        from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    except ImportError:  # older sentence-transformers
        from sentence_transformers.evaluation import InformationRetrievalEvaluator

    try:
        if not (args.model / "modules.json").is_file():
            raise DataError(f"{args.model}: not a sentence-transformers folder (no modules.json); "
                            "run scripts/fetch_weights.sh first")
        queries, corpus, relevant = load_beir(args.data, args.split)
    except DataError as e:
        print(f"scifact_weights_eval: error: {e}", file=sys.stderr)
        return 2

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(str(args.model), device="cpu")
    model.max_seq_length = args.max_seq_length
    evaluator = InformationRetrievalEvaluator(
        queries=queries,
        corpus=corpus,
        relevant_docs=relevant,
        mrr_at_k=[10],
        ndcg_at_k=[1, 10],
        accuracy_at_k=[1, 10],
        precision_recall_at_k=[10, 100],
        map_at_k=[10, 100],
        batch_size=args.batch,
        name=f"scifact-{args.split}",
        write_csv=False,
        score_functions={"cosine": cos_sim},
        main_score_function="cosine",
        query_prompt=args.query_prompt,
    )
    start = time.perf_counter()
    scores = evaluator(model)
    elapsed = time.perf_counter() - start
    prefix = f"scifact-{args.split}_cosine_"
    ours = {k[len(prefix):]: float(v) for k, v in scores.items() if k.startswith(prefix)}
    report = {
        "model": str(args.model),
        "split": args.split,
        "queries": len(queries),
        "corpus": len(corpus),
        "batch": args.batch,
        "max_seq_length": args.max_seq_length,
        "threads": args.threads,
        "query_prompt": args.query_prompt,
        "seconds": round(elapsed, 1),
        "scores": ours,
        "published_bge_small_en_v1_5": PUBLISHED,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if "ndcg@10" in ours:
        print(f"nDCG@10 {ours['ndcg@10']:.5f} (published bge-small-en-v1.5: {PUBLISHED['ndcg@10']:.5f}, "
              f"difference {ours['ndcg@10'] - PUBLISHED['ndcg@10']:+.5f}); {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
