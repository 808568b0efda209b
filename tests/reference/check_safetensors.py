"""Loads a safetensors file with the reference `safetensors` package and prints, as JSON, every
tensor's dtype, shape and values (as float64 lists), plus the metadata. Used by Go tests to check
files written by our writer. Usage: python tests/reference/check_safetensors.py FILE"""
import json
import sys

from safetensors import safe_open

out = {"tensors": {}, "metadata": None}
with safe_open(sys.argv[1], framework="pt") as f:
    out["metadata"] = f.metadata()
    for k in f.keys():
        t = f.get_tensor(k)
        out["tensors"][k] = {
            "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape),
            "values": t.double().flatten().tolist(),
        }
json.dump(out, sys.stdout)
