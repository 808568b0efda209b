"""Drives Python's huggingface_hub against a test Hub server for the Go cache cross-check.

Usage: python hf_cache_check.py '<json request>'  (HF_ENDPOINT and HF_HUB_CACHE set by the caller)

Request: {"ops": [op, ...]} where op is one of
  {"op": "download", "repo_type": "model", "repo_id": "...", "revision": "main", "filename": "..."}
  {"op": "snapshot", "repo_type": "dataset", "repo_id": "...", "revision": "main", "allow_patterns": [...] or null}
  {"op": "fnmatch", "pairs": [[pattern, name], ...]}
Prints one JSON list with, per op, {"path": local path} or {"matches": [bool, ...]} or {"error": "ExceptionClass: msg"}.
"""
import fnmatch
import json
import sys

from huggingface_hub import hf_hub_download, snapshot_download


def run(op):
    kind = op["op"]
    try:
        if kind == "download":
            return {"path": hf_hub_download(op["repo_id"], op["filename"], repo_type=op["repo_type"],
                                            revision=op.get("revision"))}
        if kind == "snapshot":
            return {"path": snapshot_download(op["repo_id"], repo_type=op["repo_type"], revision=op.get("revision"),
                                              allow_patterns=op.get("allow_patterns"))}
        if kind == "fnmatch":
            return {"matches": [fnmatch.fnmatchcase(name, pat) for pat, name in op["pairs"]]}
    except Exception as e:  # reported to the Go test, which asserts on it
        return {"error": f"{type(e).__name__}: {e}"}
    raise ValueError(f"unknown op {kind}")


def main():
    req = json.loads(sys.argv[1])
    print(json.dumps([run(op) for op in req["ops"]]))


if __name__ == "__main__":
    main()
