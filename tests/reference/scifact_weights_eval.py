#!/usr/bin/env python3
"""BEIR SciFact retrieval scores of a sentence-transformers folder, computed by Python
sentence-transformers itself (InformationRetrievalEvaluator), to compare with published MTEB numbers.

Protocol (MTEB's for BGE English v1.5 models): queries are prefixed with
"Represent this sentence for searching relevant passages: ", documents are title + " " + text without prefix,
the model's own pooling (CLS for BGE) and normalisation, cosine similarity, relevance from qrels/<split>.tsv
(score > 0). Published reference for BAAI/bge-small-en-v1.5 (MTEB SciFact test, see
../shared/data/reference-scores.md): nDCG@10 0.71273, MAP@10 0.66804, MRR@10 0.68229, Recall@10 0.83622,
Recall@100 0.945.

Usage (inside the reference environment, e.g. `$(scripts/pyenv.sh) tests/reference/scifact_weights_eval.py`):
  scifact_weights_eval.py [--model DIR] [--data DIR] [--split test] [--batch 32] [--max-seq-length 512]
                          [--query-prompt TEXT] [--json FILE] [--go-embeddings QUERIES.jsonl CORPUS.jsonl]
--go-embeddings compares Python's query and document embeddings with embedtune's (JSON Lines
{"id", "embedding"}, as `embedtune encode --id-field _id` writes them): max abs difference and minimum
cosine over every evaluated query and every document.
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


def read_embeddings(path: Path) -> dict[str, list[float]]:
    """Reads JSON Lines {"id", "embedding"} (ids as strings)."""
    out = {}
    for n, row in enumerate(read_jsonl(path), 1):
        if "id" not in row or not isinstance(row.get("embedding"), list) or not row["embedding"]:
            raise DataError(f"{path}:{n}: expected {{\"id\", \"embedding\": [...]}}")
        out[str(row["id"])] = row["embedding"]
    return out


def compare(ours: dict[str, list[float]], ids: list[str], theirs, path: Path) -> dict[str, float]:
    """Max abs difference and min cosine between our embeddings and Python's (rows in ids order)."""
    import torch

    missing = [i for i in ids if str(i) not in ours]
    if missing:
        raise DataError(f"{path}: no embedding for {len(missing)} ids, e.g. {missing[:5]}")
    a = torch.tensor([ours[str(i)] for i in ids], dtype=torch.float32)
    b = theirs.detach().to("cpu", torch.float32)
    if a.shape != b.shape:
        raise DataError(f"{path}: embeddings of shape {tuple(a.shape)}, Python's {tuple(b.shape)}")
    cos = torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=1)
    return {"n": len(ids), "max_abs_diff": float((a - b).abs().max()), "min_cosine": float(cos.min())}


def main(argv: list[str]) -> int:
    default_model = Path(os.environ.get("EMBEDTUNE_MODELS") or Path.home() / ".cache/embedtune/models")
    root = Path(__file__).resolve().parents[2]  # tests/reference/ -> the repository
    ap = argparse.ArgumentParser(description="BEIR SciFact nDCG@10 with Python sentence-transformers")
    ap.add_argument("--model", type=Path, default=default_model / "bge-small-en-v1.5")
    ap.add_argument("--data", type=Path, default=root.parent / "shared/data/beir-scifact")
    ap.add_argument("--split", default="test")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-seq-length", type=int, default=512)
    ap.add_argument("--query-prompt", default=BGE_QUERY_PROMPT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the scores to this file")
    ap.add_argument("--go-embeddings", nargs=2, type=Path, metavar=("QUERIES", "CORPUS"), default=None,
                    help="embedtune's embeddings to compare with Python's")
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
    go_diff = None
    if args.go_embeddings:
        try:
            go_q = read_embeddings(args.go_embeddings[0])
            go_c = read_embeddings(args.go_embeddings[1])
        except DataError as e:
            print(f"scifact_weights_eval: error: {e}", file=sys.stderr)
            return 2
        # The evaluator's own encode path (encode_document / encode_query with its prompts), once.
        corpus_emb = evaluator.embed_inputs(model, evaluator.corpus, encode_fn_name="document",
                                            prompt_name=evaluator.corpus_prompt_name, prompt=evaluator.corpus_prompt)
        query_emb = evaluator.embed_inputs(model, evaluator.queries, encode_fn_name="query",
                                           prompt_name=evaluator.query_prompt_name, prompt=evaluator.query_prompt)
        try:
            go_diff = {"queries": compare(go_q, evaluator.queries_ids, query_emb, args.go_embeddings[0]),
                       "corpus": compare(go_c, evaluator.corpus_ids, corpus_emb, args.go_embeddings[1])}
        except DataError as e:
            print(f"scifact_weights_eval: error: {e}", file=sys.stderr)
            return 2
        scores = evaluator(model, corpus_embeddings=corpus_emb)
    else:
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
    }
    # The published numbers are bge-small-en-v1.5's: only a folder of that model is compared with them.
    published = PUBLISHED if args.model.resolve().name == "bge-small-en-v1.5" else None
    if published:
        report["published_bge_small_en_v1_5"] = published
    if go_diff is not None:
        report["go_embeddings_vs_python"] = go_diff
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if "ndcg@10" in ours:
        vs = (f" (published bge-small-en-v1.5: {published['ndcg@10']:.5f}, "
              f"difference {ours['ndcg@10'] - published['ndcg@10']:+.5f})") if published else ""
        print(f"nDCG@10 {ours['ndcg@10']:.5f}{vs}; {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
