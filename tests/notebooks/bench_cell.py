#!/usr/bin/env python3
"""Benchmarks of cell re-runs in a warm embedtune (GoNB) kernel.

GoNB turns every cell into a fresh Go program, so re-running a cell costs `go build` (with a warm build
cache: mostly linking), the program's start, and whatever the cell recomputes.

Trivial cell (default): runs a cell that imports trainlib once to warm the caches, then re-runs it --runs
times and prints the wall time of each re-run (execute_request to idle) and their median.

    kernel/.venv/bin/python tests/notebooks/bench_cell.py [--runs 5] [--package github.com/...]

Tutorial notebook (--notebook): runs every cell of the notebook once in order (training included, with the
EMBEDTUNE_* settings of the environment), then re-runs each cell after the training cell --runs times with
warm caches (embeddings, evaluation results) and prints, per cell, the first run and the median re-run: the
"re-run the evaluation after training" times the README reports.

    kernel/.venv/bin/python tests/notebooks/bench_cell.py --notebook notebooks/01_finetune_embedder.ipynb [--runs 3]
"""
import argparse
import os
import statistics
import sys
import time

from jupyter_client.manager import start_new_kernel


def pick_package(root):
    """The trainlib package to import: the top-level one when it exists, else trainlib/backend."""
    for rel in ("trainlib", os.path.join("trainlib", "backend")):
        d = os.path.join(root, rel)
        if os.path.isdir(d) and any(f.endswith(".go") and not f.endswith("_test.go") for f in os.listdir(d)):
            return "github.com/embedtune/embedtune/" + rel.replace(os.sep, "/")
    sys.exit("bench_cell: no trainlib package with Go files found under " + root)


def run_cell(kc, code, timeout):
    """Executes code and returns (seconds, outputs text, error or None)."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    texts, error = [], None
    deadline = t0 + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(1, deadline - time.perf_counter()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            texts.append(content["text"])
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
        elif kind in ("display_data", "execute_result"):
            texts.append(content["data"].get("text/plain", "") or content["data"].get("text/html", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    if reply["content"]["status"] != "ok" and error is None:
        error = f"execute_reply status {reply['content']['status']}"
    return time.perf_counter() - t0, "".join(texts), error


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--package", default=None, help="Go package to import (default: trainlib, else trainlib/backend)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed for one cell (the first builds everything)")
    ap.add_argument("--verbose", action="store_true", help="show the kernel's log")
    ap.add_argument("--notebook", help="benchmark re-runs of this notebook's cells after its training cell")
    args = ap.parse_args()
    if args.runs < 1:
        sys.exit("bench_cell: --runs must be >= 1")
    if args.notebook:
        return bench_notebook(root, args)
    pkg = args.package or pick_package(root)
    name = pkg.rsplit("/", 1)[-1]
    code = f'import "{pkg}"\n\n%%\nfmt.Printf("imported %T\\n", {name}.{sym(root, pkg)})\n'
    log = None if args.verbose else open(os.devnull, "w")
    km, kc = start_new_kernel(kernel_name="embedtune", cwd=root, stderr=log)
    try:
        secs, out, err = run_cell(kc, code, args.timeout)
        if err:
            sys.exit(f"bench_cell: the cell failed: {err}\n{out}\ncell:\n{code}")
        print(f"first run (cold build): {secs:.2f} s  output: {out.strip()}")
        times = []
        for i in range(args.runs):
            secs, out, err = run_cell(kc, code, args.timeout)
            if err:
                sys.exit(f"bench_cell: re-run {i + 1} failed: {err}\n{out}")
            times.append(secs)
            print(f"re-run {i + 1}: {secs:.3f} s")
        print(f"warm re-run of a trivial cell importing {pkg}: median {statistics.median(times):.3f} s, "
              f"min {min(times):.3f} s, max {max(times):.3f} s over {len(times)} runs")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)  # graceful: GoNB then stops its gopls too


def bench_notebook(root, args):
    """Runs the notebook's cells once, then re-runs those after the training cell; prints the timings."""
    import json
    with open(args.notebook) as f:
        nb = json.load(f)
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    train = next((i for i, c in enumerate(cells) if "expect-training-progress" in c["metadata"].get("tags", [])), None)
    if train is None:
        sys.exit(f"bench_cell: {args.notebook} has no cell tagged expect-training-progress")
    log = None if args.verbose else open(os.devnull, "w")
    km, kc = start_new_kernel(kernel_name="embedtune", cwd=os.path.dirname(os.path.abspath(args.notebook)), stderr=log)
    rows = []
    try:
        first = []
        for i, c in enumerate(cells):
            src = "".join(c["source"])
            secs, out, err = run_cell(kc, src, args.timeout)
            if err:
                sys.exit(f"bench_cell: cell {i} failed: {err}\n{out[-2000:]}")
            first.append(secs)
            print(f"first run, cell {i}: {secs:.2f} s  {src.splitlines()[-1][:70]}", flush=True)
        for i in range(train + 1, len(cells)):
            src = "".join(cells[i]["source"])
            times = []
            for _ in range(args.runs):
                secs, out, err = run_cell(kc, src, args.timeout)
                if err:
                    sys.exit(f"bench_cell: re-run of cell {i} failed: {err}\n{out[-2000:]}")
                times.append(secs)
            rows.append((i, first[i], statistics.median(times), min(times), max(times), src))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    print(f"\nre-runs after training ({args.runs} each, warm kernel and caches), {args.notebook}:")
    print("| cell | first run (s) | re-run median (s) | min | max | code |")
    print("|---|---|---|---|---|---|")
    for i, f1, med, lo, hi, src in rows:
        line = next((l.strip() for l in reversed(src.splitlines()) if l.strip()), "")
        print(f"| {i} | {f1:.2f} | {med:.2f} | {lo:.2f} | {hi:.2f} | `{line[:60]}` |")
    worst = max(r[2] for r in rows)
    print(f"slowest re-run median: {worst:.2f} s")


def sym(root, pkg):
    """An exported top-level identifier of pkg, found by scanning its source (so the cell uses the import)."""
    import re
    d = os.path.join(root, pkg[len("github.com/embedtune/embedtune/"):])
    for f in sorted(os.listdir(d)):
        if not f.endswith(".go") or f.endswith("_test.go"):
            continue
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            src = fh.read()
        if re.search(r"^//go:build", src, re.M):
            continue
        m = re.search(r"^func ([A-Z]\w*)\(", src, re.M)
        if m:
            return m.group(1)
    sys.exit(f"bench_cell: no exported function found in {d}")


if __name__ == "__main__":
    main()
