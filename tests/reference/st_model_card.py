"""A model card written by sentence-transformers itself, and what huggingface_hub reads from a card.

Reads JSON on stdin:
  {"train": {"model": DIR, "pairs": [[question, context], ...], "output_dir": DIR, "max_steps": N}}
    fine-tunes DIR for a few steps with SentenceTransformerTrainer (MultipleNegativesRankingLoss, an
    InformationRetrievalEvaluator named "dev"), saves the model and prints {"readme": "..."};
  {"read": [README_PATH, ...], "load": MODEL_DIR | null}
    parses each README.md with huggingface_hub.ModelCard (as the Hub does) into "cards": [{"data": card
    metadata, "eval_results": [[task_type, dataset_type, metric_type, value], ...], "headings": [...]}, ...]
    (the card written by "train" last); with "load", also loads MODEL_DIR with SentenceTransformer and
    reports {"loaded": true, "dim": N}.
Both may be given in one request.
"""
import json
import os
import re
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

req = json.load(sys.stdin)
out = {}
if "train" in req:
    import contextlib

    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    r = req["train"]
    model = SentenceTransformer(r["model"], device="cpu")
    pairs = r["pairs"]
    train = Dataset.from_dict({"question": [p[0] for p in pairs], "context": [p[1] for p in pairs]})
    queries = {f"q{i}": p[0] for i, p in enumerate(pairs)}
    docs = {}
    for p in pairs:
        docs.setdefault(p[1], f"d{len(docs)}")
    evaluator = InformationRetrievalEvaluator(queries, {v: k for k, v in docs.items()},
                                              {f"q{i}": {docs[p[1]]} for i, p in enumerate(pairs)}, name="dev")
    args = SentenceTransformerTrainingArguments(
        output_dir=r["output_dir"], max_steps=r["max_steps"], per_device_train_batch_size=8, learning_rate=1e-3,
        eval_strategy="steps", eval_steps=2, save_strategy="no", logging_steps=2, report_to=[], use_cpu=True,
        batch_sampler="no_duplicates")
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=MultipleNegativesRankingLoss(model),
                                         evaluator=evaluator)
    with contextlib.redirect_stdout(sys.stderr):
        trainer.train()
    model.save(r["output_dir"])
    out["readme"] = open(os.path.join(r["output_dir"], "README.md"), encoding="utf-8").read()
if "read" in req:
    from huggingface_hub import ModelCard

    paths = list(req["read"])
    if "train" in req:
        paths.append(os.path.join(req["train"]["output_dir"], "README.md"))
    out["cards"] = []
    for path in paths:
        card = ModelCard.load(path)
        out["cards"].append({
            "data": card.data.to_dict(),
            "eval_results": [[e.task_type, e.dataset_type, e.metric_type, e.metric_value] for e in (card.data.eval_results or [])],
            "headings": re.findall(r"^#{1,4} .*$", card.text, flags=re.M),
        })
if req.get("load"):
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(req["load"], device="cpu")
    out["loaded"] = True
    out["dim"] = m.get_embedding_dimension()
json.dump(out, sys.stdout)
