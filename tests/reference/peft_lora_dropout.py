"""Reference statistics of LoRA dropout in training mode: PEFT's lora_dropout (nn.Dropout on the input of
each adapted layer's LoRA path, nothing else) through sentence-transformers.

Reads JSON on stdin {"model": ADAPTER_DIR, "texts": [...], "samples": N} and prints {"eval": [[...]], "mean":
[[...]], "std": [[...]], "lora_dropout": p}: the embeddings in eval mode, and the per-element mean and standard
deviation of N training-mode forward passes (torch.manual_seed(i) for pass i). The folder's base model must
have hidden and attention dropout 0, so that LoRA dropout is the only randomness.
"""
import json
import sys

import torch

torch.set_num_threads(1)  # a tiny model: one thread is fastest, and CI machines are shared
from sentence_transformers import SentenceTransformer

req = json.load(sys.stdin)
model = SentenceTransformer(req["model"], device="cpu")
features = model.tokenize(req["texts"])
with torch.no_grad():
    model.eval()
    ev = model(dict(features))["sentence_embedding"]
    model.train()
    runs = []
    for i in range(req["samples"]):
        torch.manual_seed(i)
        runs.append(model(dict(features))["sentence_embedding"])
    stack = torch.stack(runs).double()
p = None
for name, module in model.named_modules():
    if name.endswith("lora_dropout.default"):
        p = module.p
        break
json.dump({"eval": ev.tolist(), "mean": stack.mean(0).tolist(), "std": stack.std(0).tolist(), "lora_dropout": p}, sys.stdout)
