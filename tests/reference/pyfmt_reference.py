"""How Python prints floats, for internal/pyfmt's tests.

Reads {"values": [...], "precisions": [...]} on stdin, where a value is a number or one of the strings
"nan", "inf", "-inf", "-0.0"; prints {"repr": [repr(v) ...], "fixed": [[format(v, f".{p}f") for p in
precisions] ...], "thousands": [f"{n:,}" for n in req["integers"]]}.
"""
import json
import sys

req = json.load(sys.stdin)
values = [float(v) for v in req["values"]]
json.dump({
    "repr": [repr(v) for v in values],
    "fixed": [[format(v, f".{p}f") for p in req["precisions"]] for v in values],
    "thousands": [f"{n:,}" for n in req.get("integers", [])],
}, sys.stdout)
