"""Builds a random-weight sentence-transformers model in Python (sentence-transformers' own save
format), for Go to load.

Reads JSON on stdin (or {"batch": [request, ...]}, answered with {"batch": [...]}): {"out": DIR, "tokenizer": DIR, "hidden": 32, "layers": 2, "heads": 4,
"intermediate": 64, "max_position": 128, "max_seq_length": 48, "pooling": "cls", "dense": 16 | null,
"dense_activation": "Tanh", "normalize": true, "seed": 0, "texts": [...], "prompts": {...},
"include_prompt": true, "prompt": null}
and prints {"embeddings": [[...]]} for the texts, as the saved model computes them (encode(texts, prompt=prompt)).
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from sentence_transformers.sentence_transformer import modules  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402


def run(req):
    torch.manual_seed(req.get("seed", 0))
    cfg = BertConfig(
        vocab_size=AutoTokenizer.from_pretrained(req["tokenizer"]).vocab_size,
        hidden_size=req["hidden"], num_hidden_layers=req["layers"], num_attention_heads=req["heads"],
        intermediate_size=req["intermediate"], max_position_embeddings=req["max_position"],
    )
    hf_dir = req["out"] + ".hf"
    BertModel(cfg).save_pretrained(hf_dir)
    AutoTokenizer.from_pretrained(req["tokenizer"]).save_pretrained(hf_dir)
    mods = [modules.Transformer(hf_dir, max_seq_length=req["max_seq_length"])]
    mods.append(modules.Pooling(req["hidden"], req["pooling"], include_prompt=req.get("include_prompt", True)))
    if req.get("dense"):
        act = getattr(torch.nn, req.get("dense_activation", "Tanh"))()
        mods.append(modules.Dense(req["hidden"], req["dense"], activation_function=act))
    if req.get("normalize"):
        mods.append(modules.Normalize())
    model = SentenceTransformer(modules=mods, device="cpu", prompts=req.get("prompts"))
    model.save(req["out"])
    emb = model.encode(req["texts"], prompt=req.get("prompt"), convert_to_numpy=True, show_progress_bar=False, batch_size=4)
    return {"embeddings": emb.astype("float64").tolist()}


req = json.load(sys.stdin)
if "batch" in req:
    json.dump({"batch": [run(r) for r in req["batch"]]}, sys.stdout)
else:
    json.dump(run(req), sys.stdout)
