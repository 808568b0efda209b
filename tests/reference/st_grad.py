"""Reference loss and gradients of a sentence-transformers model on one batch.

Reads JSON on stdin (or {"batch": [request, ...]}, answered with {"batch": [...]}): {"model": DIR, "columns": [[texts...], ...], "loss": "MultipleNegativesRankingLoss",
"params": {...}, "train_mode": false} and prints {"loss": x, "grads": {name: [flat values]}} where
names are the saved tensor names (transformer tensors without prefix; Dense "2_Dense/linear.weight").
Dropout is off unless train_mode. CPU, float32 (float64 with "float64": true). "grad_names" (a list)
limits the gradients returned to those tensors. Parameters use sentence-transformers' names;
similarity_fct is given by name ("cos_sim", "dot_score"), and a wrapping loss (MatryoshkaLoss) takes its
inner loss as {"loss": {"name": ..., "params": {...}}}.
"""
import json
import sys

import torch
from sentence_transformers import SentenceTransformer, util
from sentence_transformers.sentence_transformer import losses

SIM = {"cos_sim": util.cos_sim, "dot_score": util.dot_score,
       "pairwise_cos_sim": util.pairwise_cos_sim, "pairwise_dot_score": util.pairwise_dot_score}


def build_loss(model, name, params):
    params = dict(params or {})
    if "similarity_fct" in params:
        params["similarity_fct"] = SIM[params["similarity_fct"]]
    if "directions" in params:
        params["directions"] = tuple(params["directions"])
    if "loss" in params:
        inner = params["loss"]
        params["loss"] = build_loss(model, inner["name"], inner.get("params"))
    return getattr(losses, name)(model, **params)


def run(req):
    model = SentenceTransformer(req["model"], device="cpu")
    model.train(bool(req.get("train_mode")))
    if req.get("float64"):
        model.double()
    # A loaded LoRA adapter comes in inference mode: train its matrices (the base stays frozen).
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.requires_grad_(True)
    loss_fn = build_loss(model, req["loss"], req.get("params"))
    features = [model.tokenize(col) for col in req["columns"]]
    labels = torch.tensor(req["labels"]) if req.get("labels") is not None else None
    loss = loss_fn(features, labels)
    loss.backward()
    grads = {}
    wanted = set(req["grad_names"]) if req.get("grad_names") else None
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        parts = name.split(".")
        idx = parts[0]
        mod = model[int(idx)]
        key = ".".join(parts[1:])
        if type(mod).__name__ == "Transformer":
            key = key.split(".", 1)[1]  # drop "auto_model."/"model."
            key = key.replace("base_model.model.", "").replace(".default.", ".")  # PEFT LoRA names
        else:
            key = f"{idx}_{type(mod).__name__}/{key}"
        if wanted is None or key in wanted:
            grads[key] = p.grad.flatten().tolist()
    return {"loss": loss.item(), "grads": grads}


req = json.load(sys.stdin)
if "batch" in req:
    json.dump({"batch": [run(r) for r in req["batch"]]}, sys.stdout)
else:
    json.dump(run(req), sys.stdout)
