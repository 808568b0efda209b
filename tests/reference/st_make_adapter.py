"""Adds a PEFT LoRA adapter to a sentence-transformers folder (sentence-transformers' add_adapter),
gives it non-zero weights, saves the adapter folder and reports its embeddings.

Reads JSON on stdin: {"base": DIR, "out": DIR, "r": 4, "lora_alpha": 8, "target_modules": [...],
"seed": 0, "texts": [...]} and prints {"embeddings": [[...]], "merged_embeddings": [[...]]}
(embeddings with the adapter, then after PEFT merges every LoRA layer into its base weights).
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
from peft import LoraConfig, TaskType  # noqa: E402
from peft.tuners.lora import LoraLayer  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

req = json.load(sys.stdin)
torch.manual_seed(req.get("seed", 0))
model = SentenceTransformer(req["base"], device="cpu")
model.add_adapter(LoraConfig(r=req["r"], lora_alpha=req["lora_alpha"], target_modules=req["target_modules"],
                             lora_dropout=0.0, task_type=TaskType.FEATURE_EXTRACTION))
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.normal_(0, 0.05)
model.save(req["out"])
texts = req["texts"]
emb = model.encode(texts, convert_to_numpy=True, show_progress_bar=False)
for module in model.modules():  # PEFT's own merge of every LoRA layer (W += scale * B @ A).
    if isinstance(module, LoraLayer):
        module.merge()
merged = model.encode(texts, convert_to_numpy=True, show_progress_bar=False)
json.dump({"embeddings": emb.astype("float64").tolist(), "merged_embeddings": merged.astype("float64").tolist()}, sys.stdout)
