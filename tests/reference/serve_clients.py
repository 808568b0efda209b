"""Real clients against a running `embedtune serve`, compared with sentence-transformers on the same folders.

Reads a JSON request on stdin:
  {"url": "http://127.0.0.1:PORT", "api_key": "...", "texts": [...], "dimensions": 8,
   "models": [{"name": "served name", "dir": "sentence-transformers folder (or LoRA adapter folder)"}]}
and prints {"checks": [{"client", "model", "max_abs_diff", "n", "dim"}], "errors": [{"case", "exception", "status",
"message"}], "usage": [{"model", "prompt_tokens", "expected"}]} on stdout.

Clients: the openai SDK (client.embeddings.create: default base64, float, explicit base64, dimensions, a single
string, extra_body prompt_name), LangChain's OpenAIEmbeddings (check_embedding_ctx_length=False: send strings, not
tiktoken ids), huggingface_hub's InferenceClient.feature_extraction pointed at the server URL (TEI protocol) and
plain HTTP POST /embed. References: SentenceTransformer(dir).encode with the matching options. Loopback only, offline.
"""
import base64
import contextlib
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import numpy as np  # noqa: E402
import requests  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

torch.set_num_threads(max(1, os.cpu_count() or 1))

import openai  # noqa: E402
from huggingface_hub import InferenceClient  # noqa: E402
from huggingface_hub import constants as hub_constants  # noqa: E402
from langchain_openai import OpenAIEmbeddings  # noqa: E402

req = json.load(sys.stdin)
url, key, texts, dims = req["url"], req["api_key"], req["texts"], req["dimensions"]
checks, errors, usage = [], [], []


def check(client, name, got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    checks.append({"client": client, "model": name, "max_abs_diff": diff, "n": int(got.shape[0]) if got.ndim else 0,
                   "dim": int(got.shape[-1]) if got.ndim else 0, "shape_ok": got.shape == want.shape})


def expect_error(case, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class is what we report
        status = getattr(e, "status_code", None)
        if status is None and getattr(e, "response", None) is not None:
            status = e.response.status_code
        errors.append({"case": case, "exception": type(e).__name__, "status": status, "message": str(e)[:500]})
        return
    errors.append({"case": case, "exception": None, "status": 200, "message": "no error"})


@contextlib.contextmanager
def hub_online():
    """huggingface_hub's offline mode (set for loading models) also blocks its InferenceClient from reaching
    our loopback server; lift it around those calls only."""
    saved = hub_constants.HF_HUB_OFFLINE
    hub_constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = saved


client = openai.OpenAI(base_url=url + "/v1", api_key=key, timeout=120, max_retries=0)
hf = InferenceClient(model=url, api_key=key, timeout=120)

for spec in req["models"]:
    name, folder = spec["name"], spec["dir"]
    st = SentenceTransformer(folder, device="cpu")
    ref_norm = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    ref_raw = st.encode(texts, normalize_embeddings=False, convert_to_numpy=True)
    ref_query = st.encode(texts, prompt_name="query", normalize_embeddings=True, convert_to_numpy=True)
    ref_query_raw = st.encode(texts, prompt_name="query", normalize_embeddings=False, convert_to_numpy=True)
    st.truncate_dim = dims
    ref_dims = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    st.truncate_dim = None
    tokens = sum(len(st.tokenize([t])["input_ids"][0]) for t in texts)

    # openai SDK: it asks for base64 when no format is given and decodes it.
    r = client.embeddings.create(model=name, input=texts)
    check("openai default (base64)", name, [d.embedding for d in r.data], ref_norm)
    usage.append({"model": name, "prompt_tokens": r.usage.prompt_tokens, "total_tokens": r.usage.total_tokens,
                  "expected": tokens, "response_model": r.model})
    r = client.embeddings.create(model=name, input=texts, encoding_format="float")
    check("openai float", name, [d.embedding for d in r.data], ref_norm)
    r = client.embeddings.create(model=name, input=texts, encoding_format="base64")
    decoded = [np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in r.data]
    check("openai base64 (decoded by hand)", name, decoded, ref_norm)
    r = client.embeddings.create(model=name, input=texts, dimensions=dims)
    check(f"openai dimensions={dims}", name, [d.embedding for d in r.data], ref_dims)
    r = client.embeddings.create(model=name, input=texts[0])
    check("openai single string", name, [r.data[0].embedding], ref_norm[:1])
    r = client.embeddings.create(model=name, input=texts, extra_body={"prompt_name": "query"})
    check("openai extra_body prompt_name", name, [d.embedding for d in r.data], ref_query)

    # LangChain: check_embedding_ctx_length=False sends the strings themselves (the default sends tiktoken ids).
    lc = OpenAIEmbeddings(model=name, base_url=url + "/v1", api_key=key, check_embedding_ctx_length=False,
                          max_retries=0, timeout=120)
    check("langchain embed_documents", name, lc.embed_documents(texts), ref_norm)
    check("langchain embed_query", name, [lc.embed_query(texts[1])], ref_norm[1:2])
    lc_dims = OpenAIEmbeddings(model=name, base_url=url + "/v1", api_key=key, check_embedding_ctx_length=False,
                               dimensions=dims, max_retries=0, timeout=120)
    check(f"langchain dimensions={dims}", name, lc_dims.embed_documents(texts), ref_dims)

    # TEI protocol: plain HTTP, and huggingface_hub's InferenceClient pointed at the server's URL (it posts to /).
    head = {"Authorization": f"Bearer {key}"}
    body = {"inputs": texts, "model": name}
    check("tei POST /embed", name, requests.post(url + "/embed", json=body, headers=head, timeout=120).json(), ref_norm)
    body["normalize"] = False
    check("tei normalize=false", name, requests.post(url + "/embed", json=body, headers=head, timeout=120).json(), ref_raw)
    body["prompt_name"] = "query"
    check("tei prompt_name=query", name, requests.post(url + "/embed", json=body, headers=head, timeout=120).json(),
          ref_query_raw)
    if name == req["models"][0]["name"]:  # InferenceClient has no "model" field: it reaches the default model.
        with hub_online():
            check("huggingface_hub feature_extraction", name, hf.feature_extraction(texts[0]), ref_norm[:1])
            check("huggingface_hub feature_extraction normalize=False truncate=True", name,
                  hf.feature_extraction(texts[-1], normalize=False, truncate=True), ref_raw[-1:])

first = req["models"][0]["name"]
expect_error("openai wrong key", lambda: openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong", max_retries=0)
             .embeddings.create(model=first, input="a"))
expect_error("openai unknown model", lambda: client.embeddings.create(model="text-embedding-3-small", input="a"))
expect_error("openai empty string", lambda: client.embeddings.create(model=first, input=["a", ""]))
expect_error("openai token ids", lambda: client.embeddings.create(model=first, input=[[101, 7592, 102]]))
expect_error("openai dimensions too large", lambda: client.embeddings.create(model=first, input="a", dimensions=100000))
expect_error("langchain wrong key", lambda: OpenAIEmbeddings(model=first, base_url=url + "/v1", api_key="sk-wrong",
                                                             check_embedding_ctx_length=False, max_retries=0)
             .embed_query("a"))
with hub_online():
    expect_error("huggingface_hub wrong key", lambda: InferenceClient(model=url, api_key="sk-wrong").feature_extraction("a"))
    expect_error("huggingface_hub truncate=False over max_seq_length",
                 lambda: hf.feature_extraction("word " * 1000, truncate=False))

json.dump({"checks": checks, "errors": errors, "usage": usage}, sys.stdout)
