"""Weights & Biases' sweep library (PyPI sweeps, wandb/sweeps) on the cases of trainlib/sweep's tests.

Reads JSON on stdin:
  {"ppf": [{"name": str, "config": {parameter definition}, "x": [quantiles]}, ...],
   "grid": [{"parameters": {...}, "n": int}, ...],
   "valid": [{sweep config}, ...]}
and prints {"ppf": [{"type": str, "values": [...]}, ...], "grid": [[{name: value}, ...], ...],
"valid": [bool, ...]}: each parameter's distribution type and quantile function values
(HyperParameter.ppf), the first n grid points in W&B's order (grid_search_next_runs, one run at a time, as
its controller suggests them), and whether W&B's schema accepts each config.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from sweeps import SweepRun, RunState, next_run  # noqa: E402
from sweeps.config import schema_violations_from_proposed_config  # noqa: E402
from sweeps.params import HyperParameter  # noqa: E402


def plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


req = json.load(sys.stdin)
out = {"ppf": [], "grid": [], "valid": []}
for case in req.get("ppf", []):
    p = HyperParameter(case["name"], case["config"])
    out["ppf"].append({"type": p.type, "values": [plain(p.ppf(x)) for x in case["x"]]})
for case in req.get("grid", []):
    config = {"method": "grid", "parameters": case["parameters"]}
    runs = []
    for _ in range(case["n"]):
        r = next_run(config, runs)
        if r is None:
            break
        r.state = RunState.finished
        runs.append(r)
    out["grid"].append([{k: plain(v["value"]) for k, v in r.config.items()} for r in runs])
for config in req.get("valid", []):
    out["valid"].append(len(schema_violations_from_proposed_config(config)) == 0)
json.dump(out, sys.stdout)
