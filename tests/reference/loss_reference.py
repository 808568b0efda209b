"""Reference loss values and gradients from sentence-transformers' own loss classes.

Reads JSON on stdin: {"cases": [{"name", "loss", "params", "embeddings": [[[...]]...], "labels": [...]|null}]}
and prints {"results": [{"name", "loss", "grads": [[[...]]...]}]}: the loss computed by the
sentence-transformers class's compute_loss_from_embeddings and d loss / d embeddings (torch autograd,
float64), for Go's graph to be checked against.
"""
import json
import sys

import torch
from sentence_transformers import util
from sentence_transformers.sentence_transformer import losses

torch.set_default_dtype(torch.float64)
req = json.load(sys.stdin)


class _NoModel(torch.nn.Module):
    """Stands in for the SentenceTransformer the loss classes store: compute_loss_from_embeddings
    never calls it."""


SIM = {"cos_sim": util.cos_sim, "dot_score": util.dot_score,
       "pairwise_cos_sim": util.pairwise_cos_sim, "pairwise_dot_score": util.pairwise_dot_score}

out = []
for case in req["cases"]:
    params = dict(case.get("params") or {})
    if "similarity_fct" in params:
        params["similarity_fct"] = SIM[params["similarity_fct"]]
    if "directions" in params:
        params["directions"] = tuple(params["directions"])
    loss_obj = getattr(losses, case["loss"])(_NoModel(), **params)
    embs = [torch.tensor(e, dtype=torch.float64, requires_grad=True) for e in case["embeddings"]]
    labels = torch.tensor(case["labels"], dtype=torch.float64) if case.get("labels") is not None else None
    if labels is None:
        labels = torch.arange(len(case["embeddings"][0]))
    value = loss_obj.compute_loss_from_embeddings(embs, labels)
    value.backward()
    out.append({"name": case["name"], "loss": value.item(), "grads": [e.grad.tolist() for e in embs]})
json.dump({"results": out}, sys.stdout)
