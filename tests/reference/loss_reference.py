"""Reference loss values and gradients from sentence-transformers' own loss classes.

Reads JSON on stdin: {"cases": [{"name", "loss", "params", "embeddings": [[[...]]...], "labels": [...]|null}]}
and prints {"results": [{"name", "loss", "grads": [[[...]]...]}]}: the loss computed by the
sentence-transformers class's compute_loss_from_embeddings and d loss / d embeddings (torch autograd,
float64), for Go's graph to be checked against. MatryoshkaLoss (which calls the model) gets a model
that returns the embeddings, and its inner loss as params {"loss": {"name", "params"}}.
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


class _EmbeddingModel(torch.nn.Module):
    """Stands in for the SentenceTransformer of a loss that calls the model (MatryoshkaLoss wraps its
    forward): the "features" of each column are the case's embeddings, returned as they are."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, features):
        return {"sentence_embedding": features["sentence_embedding"]}

    def get_embedding_dimension(self):
        return self.dim


def build(model, name, params):
    params = dict(params or {})
    if "similarity_fct" in params:
        params["similarity_fct"] = SIM[params["similarity_fct"]]
    if "directions" in params:
        params["directions"] = tuple(params["directions"])
    if "loss" in params:
        inner = params["loss"]
        params["loss"] = build(model, inner["name"], inner.get("params"))
    return getattr(losses, name)(model, **params)


SIM = {"cos_sim": util.cos_sim, "dot_score": util.dot_score,
       "pairwise_cos_sim": util.pairwise_cos_sim, "pairwise_dot_score": util.pairwise_dot_score}

out = []
for case in req["cases"]:
    embs = [torch.tensor(e, dtype=torch.float64, requires_grad=True) for e in case["embeddings"]]
    labels = torch.tensor(case["labels"], dtype=torch.float64) if case.get("labels") is not None else None
    if labels is None:
        labels = torch.arange(len(case["embeddings"][0]))
    if case["loss"] == "MatryoshkaLoss":
        loss_obj = build(_EmbeddingModel(len(case["embeddings"][0][0])), case["loss"], case.get("params"))
        value = loss_obj([{"sentence_embedding": e} for e in embs], labels)
    else:
        value = build(_NoModel(), case["loss"], case.get("params")).compute_loss_from_embeddings(embs, labels)
    value.backward()
    out.append({"name": case["name"], "loss": value.item(), "grads": [e.grad.tolist() for e in embs]})
json.dump({"results": out}, sys.stdout)
