"""Prints the arrays of .npy files as JSON: {"arrays": [{"shape": [...], "dtype": "...", "values": [...]}, ...]}
for the paths given as arguments (numpy.load), to check that files embedtune writes are NumPy files."""
import json
import sys

import numpy as np

out = []
for path in sys.argv[1:]:
    a = np.load(path)
    out.append({"shape": list(a.shape), "dtype": str(a.dtype), "values": a.astype(float).ravel().tolist()})
json.dump({"arrays": out}, sys.stdout)
