#!/usr/bin/env python3
"""Runs sentence-transformers' own InformationRetrievalEvaluator on precomputed embeddings and writes the
inputs and its outputs (metrics, primary metric, CSV, predictions) as JSON, for embedtune's Go parity tests
(trainlib/evaluation/parity_test.go).

The evaluator takes a model; here the "model" is a minimal stand-in whose encode_query / encode_document
return the given embedding of each text (texts are the ids, so the lookup is exact) truncated to
truncate_dim like SentenceTransformer.encode does, and whose similarity is sentence-transformers' own
cos_sim / dot_score. Everything else - top-k selection, tie handling, metrics, keys, CSV - is the
library's code.

Usage:
  python tests/reference/eval_parity.py --out trainlib/evaluation/testdata/st_ir_parity.json            # committed fixture
  python tests/reference/eval_parity.py --seed 7 --out /tmp/cases.json                                 # fresh random cases
  python tests/reference/eval_parity.py --input cases.json --out /tmp/results.json                     # given cases
  python tests/reference/eval_parity.py --seed 7 --input cases.json --out /tmp/results.json            # both

A case is {"title", "options": {name, accuracy_at_k, ..., score_functions, main_score_function, model_similarity,
corpus_chunk_size, truncate_dim, unknown_ids (Go side only: sentence-transformers always keeps unknown ids)}, "queries": {id: embedding}, "corpus": {id: embedding},
"relevant_docs": {query id: [corpus ids]}}; the output adds "expected": {"metrics", "primary_metric", "csv",
"predictions": {score function: [{"query_id", "results": [{"corpus_id", "score"}]}]}} (top 20 hits per query).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile

import numpy as np
import torch

import sentence_transformers
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from sentence_transformers.util.similarity import SimilarityFunction


class _CardData:
    def set_evaluation_metrics(self, *args, **kwargs):
        pass


class EmbeddingLookupModel:
    """Duck-typed SentenceTransformer for the evaluator: text -> fixed embedding."""

    def __init__(self, embeddings: dict[str, list[float]], similarity_fn_name: str):
        self.embeddings = embeddings
        self.similarity_fn_name = similarity_fn_name
        self.similarity = SimilarityFunction.to_similarity_fn(similarity_fn_name)
        self.model_card_data = _CardData()

    def encode(self, sentences, truncate_dim=None, convert_to_tensor=True, **kwargs):
        emb = torch.tensor(np.array([self.embeddings[s] for s in sentences], dtype=np.float32))
        if truncate_dim is not None:
            emb = emb[:, :truncate_dim]
        return emb

    encode_query = encode
    encode_document = encode


def _f32list(v: np.ndarray) -> list[float]:
    """Shortest decimal forms that round-trip through float32, to keep the JSON small and exact."""
    return [float(str(np.float32(x))) for x in v]


PREDICTION_DEPTH = 20  # hits per query kept in the JSON (the metrics use the full depth)


def _rand_id(rng: random.Random, used: set[str]) -> str:
    while True:
        s = "".join(rng.choice("abcdefghij0123456789") for _ in range(rng.randint(1, 6)))
        if s not in used:
            used.add(s)
            return s


def make_case(rng: random.Random, nprng: np.random.Generator, *, title: str, n_queries: int, n_corpus: int,
              dim: int, kind: str, options: dict, unknown_docs: bool = False) -> dict:
    used: set[str] = set()
    qids = [_rand_id(rng, used) for _ in range(n_queries)]
    cids = [_rand_id(rng, used) for _ in range(n_corpus)]
    if kind == "gaussian":
        q = nprng.standard_normal((n_queries, dim)).astype(np.float32)
        c = nprng.standard_normal((n_corpus, dim)).astype(np.float32)
    elif kind == "ties":  # small integers: many dot products are exactly equal
        q = nprng.integers(-1, 2, (n_queries, dim)).astype(np.float32)
        c = nprng.integers(-1, 2, (n_corpus, dim)).astype(np.float32)
    else:  # "cosine-ties": 1 or 4 entries of +-1, so norms are 1 or 2 and every cosine is computed exactly
        def vec():
            v = np.zeros(dim, dtype=np.float32)
            idx = nprng.choice(dim, size=rng.choice([1, 4]), replace=False)
            v[idx] = nprng.choice([-1.0, 1.0], size=len(idx))
            return v
        q = np.stack([vec() for _ in range(n_queries)])
        c = np.stack([vec() for _ in range(n_corpus)])
    relevant: dict[str, list[str]] = {}
    for i, qid in enumerate(qids):
        r = rng.random()
        if r < 0.15:
            continue  # no judgement at all
        if r < 0.2:
            relevant[qid] = []  # judged with an empty set
            continue
        n = rng.choice([1, 1, 1, 2, 3, 5])
        # Bias the relevant documents towards well-scoring ones so that metrics are not all zero.
        scores = c @ q[i]
        order = np.argsort(-scores, kind="stable")
        pool = [cids[j] for j in order[: max(10, 3 * n)]]
        docs = set(rng.sample(pool, min(n, len(pool))))
        if rng.random() < 0.3:
            docs.add(rng.choice(cids))
        if unknown_docs and rng.random() < 0.3:
            docs.add("missing-" + qid)
        relevant[qid] = sorted(docs)
    return {
        "title": title,
        "options": options,
        "queries": {qid: _f32list(q[i]) for i, qid in enumerate(qids)},
        "corpus": {cid: _f32list(c[i]) for i, cid in enumerate(cids)},
        "relevant_docs": relevant,
    }


def run_case(case: dict) -> dict:
    opts = case["options"]
    # The text of a query is "q:" + its id, that of a document "d:" + its id: the model looks them up.
    # Ids are inserted in sorted order, the order embedtune uses, so that the averages are summed in the
    # same order and must agree to the last bit (the rankings do not depend on dict order).
    queries = {qid: "q:" + qid for qid in sorted(case["queries"])}
    corpus = {cid: "d:" + cid for cid in sorted(case["corpus"])}
    relevant = {qid: set(docs) for qid, docs in case["relevant_docs"].items()}
    embeddings = {"q:" + k: v for k, v in case["queries"].items()}
    embeddings.update({"d:" + k: v for k, v in case["corpus"].items()})
    fns = opts.get("score_functions") or [opts.get("model_similarity", "cosine")]
    kwargs = dict(
        name=opts.get("name", ""),
        corpus_chunk_size=opts.get("corpus_chunk_size", 50000),
        write_csv=True,
        write_predictions=True,
        truncate_dim=opts.get("truncate_dim"),
    )
    for key in ("accuracy_at_k", "precision_recall_at_k", "mrr_at_k", "ndcg_at_k", "map_at_k"):
        if key in opts:
            kwargs[key] = opts[key]
    if opts.get("score_functions"):
        kwargs["score_functions"] = {fn: SimilarityFunction.to_similarity_fn(fn) for fn in opts["score_functions"]}
    if opts.get("main_score_function"):
        kwargs["main_score_function"] = opts["main_score_function"]
    evaluator = InformationRetrievalEvaluator(queries, corpus, relevant, **kwargs)
    model = EmbeddingLookupModel(embeddings, opts.get("model_similarity", "cosine"))
    with tempfile.TemporaryDirectory() as out:
        metrics = evaluator(model, output_path=out)
        with open(os.path.join(out, evaluator.csv_file), encoding="utf-8") as f:
            csv_text = f.read()
        predictions = {}
        for fn in fns:
            path = os.path.join(out, evaluator.predictions_file.replace(".jsonl", f"_{fn}.jsonl"))
            with open(path, encoding="utf-8") as f:
                predictions[fn] = []
                for line in f:
                    p = json.loads(line)
                    predictions[fn].append({"query_id": p["query_id"], "results": p["results"][:PREDICTION_DEPTH]})
    return {
        "metrics": metrics,
        "primary_metric": evaluator.primary_metric,
        "csv": csv_text,
        "predictions": predictions,
    }


def st_test_case() -> dict:
    """The data, model and options of sentence-transformers' tests/evaluation/test_information_retrieval_evaluator.py
    (test_metrices): one-hot keyword embeddings."""
    keywords = ["pokemon", "car", "vehicle", "fruit", "vegetable"]

    def embed(text: str) -> list[float]:
        return [1.0 if kw in text else 0.0 for kw in keywords]

    queries = {"0": "What is a pokemon?", "1": "What is a vegetable?", "2": "What is a fruit?",
               "3": "What is a vehicle?", "4": "What is a car?"}
    corpus = {"0": "A pokemon is a fictional creature", "1": "A vegetable is a plant", "2": "A fruit is a plant",
              "3": "A vehicle is a machine", "4": "A car is a vehicle"}
    return {
        "title": "sentence-transformers test_metrices data",
        "options": {"name": "test", "accuracy_at_k": [1, 3], "precision_recall_at_k": [1, 3], "mrr_at_k": [3],
                    "ndcg_at_k": [3], "map_at_k": [5]},
        "queries": {k: embed(v) for k, v in queries.items()},
        "corpus": {k: embed(v) for k, v in corpus.items()},
        "relevant_docs": {"0": ["0"], "1": ["1"], "2": ["2"], "3": ["3", "4"], "4": ["4"]},
    }


def cases(seed: int) -> list[dict]:
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    out = [
        st_test_case(),
        make_case(rng, nprng, title="gaussian, defaults", n_queries=40, n_corpus=300, dim=16, kind="gaussian",
                  options={}),
        make_case(rng, nprng, title="gaussian, named, dot and cosine, custom k, small corpus chunks", n_queries=25,
                  n_corpus=150, dim=8, kind="gaussian",
                  options={"name": "dev", "score_functions": ["dot", "cosine"], "accuracy_at_k": [1, 2, 50],
                           "precision_recall_at_k": [2, 7], "mrr_at_k": [5, 200], "ndcg_at_k": [3, 20],
                           "map_at_k": [4, 1000], "corpus_chunk_size": 37}),
        make_case(rng, nprng, title="integer embeddings with many exact ties, dot, chunked", n_queries=30,
                  n_corpus=120, dim=4, kind="ties",
                  options={"model_similarity": "dot", "corpus_chunk_size": 16, "map_at_k": [10, 50]}),
        make_case(rng, nprng, title="exact cosine ties, cosine and dot, main score function", n_queries=20,
                  n_corpus=60, dim=5, kind="cosine-ties",
                  options={"name": "ties", "score_functions": ["cosine", "dot"], "main_score_function": "dot",
                           "ndcg_at_k": [10, 5]}),
        make_case(rng, nprng, title="relevant ids missing from the corpus, truncate_dim, k beyond corpus", n_queries=15,
                  n_corpus=12, dim=10, kind="gaussian", unknown_docs=True,
                  options={"truncate_dim": 6, "accuracy_at_k": [1, 20], "precision_recall_at_k": [3, 30],
                           "unknown_ids": "keep"}),
    ]
    for c in out:
        c["expected"] = run_case(c)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, help="seed of the random cases (default 20240605 without --input)")
    ap.add_argument("--input", help="JSON file with {\"cases\": [...]} (inputs only) to evaluate (after the random cases "
                                    "when --seed is also given)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    doc = {
        "generator": "tests/reference/eval_parity.py",
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
    }
    if args.seed is not None or not args.input:
        doc["seed"] = 20240605 if args.seed is None else args.seed
        doc["cases"] = cases(doc["seed"])
    else:
        doc["cases"] = []
    if args.input:
        with open(args.input, encoding="utf-8") as f:
            given = json.load(f)["cases"]
        for c in given:
            c["expected"] = run_case(c)
        doc["cases"] += given
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
