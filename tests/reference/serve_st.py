"""A minimal sentence-transformers embedding server with the API of `embedtune serve`, the PyTorch baseline of
scripts/bench_serve.sh.

  python serve_st.py --model DIR [--name NAME] [--port 8081] [--batching]

Routes: POST /v1/embeddings (OpenAI: input, model, encoding_format float|base64, dimensions), POST /embed (TEI:
inputs, normalize, dimensions), GET /health. Embeddings are SentenceTransformer.encode's, normalized as
`embedtune serve` does. Without --batching each request is one encode call (one at a time: torch already uses
every core); with --batching a worker thread gathers the texts of concurrent requests into encode calls of up to
--max-batch texts, waiting at most --max-wait-ms for a batch to fill (what `embedtune serve` does). Prints
"listening on http://HOST:PORT" on stderr when ready.
"""
import argparse
import base64
import json
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--name", default="")
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=8081)
ap.add_argument("--batching", action="store_true")
ap.add_argument("--max-batch", type=int, default=32)
ap.add_argument("--max-wait-ms", type=float, default=5)
args = ap.parse_args()
torch.set_num_threads(max(1, os.cpu_count() or 1))
model = SentenceTransformer(args.model, device="cpu")
name = args.name or os.path.basename(os.path.normpath(args.model))
lock = threading.Lock()
jobs: "queue.Queue[dict]" = queue.Queue()


def encode_now(texts):
    with lock:
        return model.encode(texts, batch_size=args.max_batch, convert_to_numpy=True, show_progress_bar=False)


def batch_worker():
    while True:
        pending = [jobs.get()]
        n = len(pending[0]["texts"])
        deadline = pending[0]["t"] + args.max_wait_ms / 1000
        while n < args.max_batch:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                j = jobs.get(timeout=timeout)
            except queue.Empty:
                break
            pending.append(j)
            n += len(j["texts"])
        texts = [t for j in pending for t in j["texts"]]
        try:
            emb = encode_now(texts)
            k = 0
            for j in pending:
                j["out"] = emb[k:k + len(j["texts"])]
                k += len(j["texts"])
        except Exception as e:  # noqa: BLE001 - reported to each request
            for j in pending:
                j["err"] = e
        for j in pending:
            j["done"].set()


def encode(texts):
    if not args.batching:
        return encode_now(texts)
    j = {"texts": texts, "done": threading.Event(), "t": time.monotonic()}
    jobs.put(j)
    j["done"].wait()
    if "err" in j:
        raise j["err"]
    return j["out"]


def postprocess(emb, dims, normalize):
    if dims:
        emb = emb[:, :dims]
    if normalize:
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return emb.astype(np.float32)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, {})
        else:
            self.reply(404, {"error": "not found", "error_type": "NotFound"})

    def do_POST(self):
        try:
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if self.path == "/v1/embeddings":
                texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
                emb = postprocess(encode(texts), req.get("dimensions"), True)
                b64 = req.get("encoding_format") == "base64"
                data = [{"object": "embedding", "index": i,
                         "embedding": base64.b64encode(e.astype("<f4").tobytes()).decode() if b64 else e.tolist()}
                        for i, e in enumerate(emb)]
                tokens = sum(len(model.tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"])
                             for t in texts)
                self.reply(200, {"object": "list", "data": data, "model": name,
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
            elif self.path in ("/embed", "/"):
                texts = req["inputs"] if isinstance(req["inputs"], list) else [req["inputs"]]
                emb = postprocess(encode(texts), req.get("dimensions"), req.get("normalize", True))
                self.reply(200, emb.tolist())
            else:
                self.reply(404, {"error": "not found", "error_type": "NotFound"})
        except (ValueError, KeyError, TypeError) as e:
            self.reply(400, {"error": {"message": str(e), "type": "invalid_request_error", "param": None, "code": None}})


if args.batching:
    threading.Thread(target=batch_worker, daemon=True).start()
encode_now(["warm-up"])
server = ThreadingHTTPServer((args.host, args.port), Handler)
server.daemon_threads = True
print(f"listening on http://{args.host}:{server.server_address[1]}", file=sys.stderr, flush=True)
server.serve_forever()
