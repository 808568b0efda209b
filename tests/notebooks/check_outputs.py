#!/usr/bin/env python3
"""Checks the outputs of notebooks executed by nbconvert (scripts/test_notebooks.sh), or that committed
notebooks carry no outputs.

    check_outputs.py EXECUTED.ipynb...            # executed notebooks
    check_outputs.py --committed NOTEBOOK.ipynb... # source notebooks: no outputs, no execution counts
    check_outputs.py --committed --max-cell-lines 15 [--max-lines 150] NOTEBOOK.ipynb...
                                                   # ... and short cells: non-blank code lines per cell / in all

Executed notebooks must have every code cell executed, no error output (except in cells tagged
"raises-exception", which nbclient also lets fail), no stderr output (except in cells tagged
"allow-stderr"), and the echarts library embedded exactly once, before the first chart, when there are
charts. Cell tags state what a cell must show:

  expect-chart               at least one embedtune chart (a .embedtune-chart area with its drawing script)
  expect-training-progress   a finished progress bar (value == max) and the training log table with a
                             numeric Training Loss in every row (and a numeric Validation Loss in some row
                             when the table has that column), followed by the loss chart
  expect-table               an embedtune table
  expect-summary             an embedtune summary (e.g. a model summary)
  expect-dataset             a dataset table (Dataset.HTML, e.g. ds.Head(10))
  expect-comparison          a base vs fine-tuned retrieval comparison (evaluation.RetrievalComparison.HTML)
  expect-error               an embedtune error box (a notebook pointed at bad input shows one clear error)

An embedtune error box in a cell without the expect-error tag is a failure.

    check_outputs.py --bad-input TEXT [--bad-input TEXT2 ...] EXECUTED.ipynb...

checks a notebook executed on purpose (nbconvert --allow-errors) with a bad input (a missing model, dataset
or output folder). nb.Must shows an error as one red box and stops the cell with exit status 1, so a cell
may fail, but only that way: a failed cell shows exactly one error box, its only stderr is GoNB's
"exit status 1" line (no panic, no stack trace), no cell shows more than one error box, and each TEXT (e.g.
a missing path) is mentioned by some error box.

Prints one line per problem and a closing "N passed, N failed" line; exits 1 if any notebook fails.
"""
import argparse
import html
import html.parser
import json
import re
import sys

LIB_MARK = "data-embedtune-echarts="
ERROR_MARK = 'class="embedtune-error"'


def error_texts(h):
    """The texts of the embedtune error boxes in an HTML fragment."""
    out = []
    for part in h.split(ERROR_MARK)[1:]:
        body = part.split(">", 1)[1] if ">" in part else part
        text = re.sub(r"<[^>]*>", "", body.split("</div>", 1)[0])
        out.append(html.unescape(text).strip())
    return out


def cell_html(cell):
    """Concatenated text/html of a code cell's display outputs."""
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        h = data.get("text/html")
        if h is not None:
            parts.append("".join(h) if isinstance(h, list) else h)
    return "\n".join(parts)


class TableParser(html.parser.HTMLParser):
    """Collects the tables of an HTML fragment as lists of rows of cell texts (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def check_training_progress(where, h):
    problems = []
    bars = re.findall(r"<progress value='(\d+)' max='(\d+)'", h)
    if not bars:
        problems.append(f"{where}: expect-training-progress: no progress bar")
    elif any(v != m for v, m in bars):
        problems.append(f"{where}: expect-training-progress: progress bar not finished ({bars[-1][0]}/{bars[-1][1]})")
    start = h.find('class="embedtune-training-log"')
    if start < 0:
        return problems + [f"{where}: expect-training-progress: no training log output"]
    log = h[start:]
    p = TableParser()
    p.feed(log)
    if not p.tables:
        return problems + [f"{where}: expect-training-progress: no table in the training log"]
    table = p.tables[0]
    header, rows = table[0], table[1:]
    if len(header) < 2 or header[1] != "Training Loss" or header[0] not in ("Step", "Epoch"):
        problems.append(f"{where}: expect-training-progress: table header is {header}, expected Step | Training Loss | ...")
    if not rows:
        problems.append(f"{where}: expect-training-progress: the loss table has no rows")
    for r in rows:
        if len(r) != len(header):
            problems.append(f"{where}: expect-training-progress: row {r} has {len(r)} cells for {len(header)} columns")
        elif not is_number(r[1]) and r[1] != "No log":  # transformers' placeholder: no loss logged since the last row
            problems.append(f"{where}: expect-training-progress: row {r}: Training Loss {r[1]!r} is not a number")
    if rows and not any(len(r) > 1 and is_number(r[1]) for r in rows):
        problems.append(f"{where}: expect-training-progress: no row has a numeric Training Loss")
    if "Validation Loss" in header:
        i = header.index("Validation Loss")
        if not any(len(r) > i and is_number(r[i]) for r in rows):
            problems.append(f"{where}: expect-training-progress: no row has a numeric Validation Loss")
    if 'class="embedtune-chart"' not in log:
        problems.append(f"{where}: expect-training-progress: the training log has no loss chart")
    return problems


def check_executed(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    problems = []
    lib_count, first_lib, first_chart = 0, None, None
    order = 0
    for idx, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        where = f"{path}: cell {idx} ({cell.get('id', '?')})"
        src = "".join(cell.get("source", ""))
        if src.strip() and cell.get("execution_count") is None:
            problems.append(f"{where}: not executed")
        for out in cell.get("outputs", []):
            order += 1
            kind = out.get("output_type")
            if kind == "error" and "raises-exception" not in tags:
                problems.append(f"{where}: error output: {out.get('ename')}: {out.get('evalue')}")
            if kind == "stream" and out.get("name") == "stderr" and "allow-stderr" not in tags:
                text = "".join(out.get("text", ""))
                problems.append(f"{where}: stderr output (tag the cell allow-stderr if expected): {text.strip()[:300]}")
            h = out.get("data", {}).get("text/html")
            if h is not None:
                h = "".join(h) if isinstance(h, list) else h
                n = h.count(LIB_MARK)
                lib_count += n
                if n and first_lib is None:
                    first_lib = order
                if 'class="embedtune-chart"' in h and first_chart is None:
                    first_chart = order
        h = cell_html(cell)
        if "expect-chart" in tags and not re.search(r'class="embedtune-chart"[^>]*>.*?<script>', h, re.S):
            problems.append(f"{where}: expect-chart: no chart in the outputs")
        if "expect-training-progress" in tags:
            problems += check_training_progress(where, h)
        if "expect-table" in tags and 'class="embedtune-table"' not in h:
            problems.append(f"{where}: expect-table: no table in the outputs")
        if "expect-summary" in tags and 'class="embedtune-summary"' not in h:
            problems.append(f"{where}: expect-summary: no summary in the outputs")
        if "expect-dataset" in tags and 'class="embedtune-dataset"' not in h:
            problems.append(f"{where}: expect-dataset: no dataset table in the outputs")
        if "expect-comparison" in tags and 'class="embedtune-retrieval-comparison"' not in h:
            problems.append(f"{where}: expect-comparison: no retrieval comparison in the outputs")
        if "expect-error" in tags and ERROR_MARK not in h:
            problems.append(f"{where}: expect-error: no error box in the outputs")
        if "expect-error" not in tags and ERROR_MARK in h:
            problems.append(f"{where}: error box: {error_texts(h)[0][:300]}")
        if 'class="embedtune-chart-missing"' in h:
            problems.append(f"{where}: a chart says the echarts library is not installed (run kernel/install.sh)")
    if first_chart is not None:
        if lib_count != 1:
            problems.append(f"{path}: the echarts library is embedded {lib_count} times, expected exactly once")
        elif first_lib > first_chart:
            problems.append(f"{path}: the echarts library is embedded after the first chart")
    return problems


def check_bad_input(path, needles):
    """A notebook executed with a bad input: one clear error per cell at most, no failure, no stderr, and every
    needle mentioned by some error box."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    problems, found = [], set()
    for idx, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        where = f"{path}: cell {idx} ({cell.get('id', '?')})"
        errs = error_texts(cell_html(cell))
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error" and not (len(errs) == 1 and "exit status 1" in str(out.get("evalue", ""))):
                problems.append(f"{where}: the cell failed ({out.get('ename')}: {out.get('evalue')}) without one error box saying why")
            if kind == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", "")).strip()
                if text not in ("exit status 1", ""):
                    problems.append(f"{where}: stderr output: {text[:300]}")
        if len(errs) > 1:
            problems.append(f"{where}: {len(errs)} error boxes, expected at most one: {errs}")
        found.update(n for n in needles if any(n in e for e in errs))
    for n in needles:
        if n not in found:
            problems.append(f"{path}: no error box mentions {n!r}")
    return problems


def code_lines(cell):
    """The non-blank lines of a code cell (comments and the %% line included)."""
    return sum(1 for line in "".join(cell.get("source", "")).splitlines() if line.strip())


def check_committed(path, max_cell_lines=None, max_lines=None):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    problems = []
    total = 0
    for idx, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        n = code_lines(cell)
        total += n
        if max_cell_lines is not None and n > max_cell_lines:
            problems.append(f"{path}: cell {idx}: {n} non-blank code lines, at most {max_cell_lines} allowed")
        if cell.get("outputs"):
            problems.append(f"{path}: cell {idx}: committed with outputs (clear them before committing)")
        if cell.get("execution_count") is not None:
            problems.append(f"{path}: cell {idx}: committed with an execution count")
    if max_lines is not None and total > max_lines:
        problems.append(f"{path}: {total} non-blank code lines, at most {max_lines} allowed")
    ks = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if ks != "embedtune":
        problems.append(f"{path}: kernelspec name is {ks!r}, expected 'embedtune' (kernel/install.sh)")
    return problems


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--committed", action="store_true", help="check source notebooks carry no outputs")
    ap.add_argument("--bad-input", metavar="TEXT", action="append",
                    help="check notebooks executed with a bad input whose error boxes mention TEXT (see above)")
    ap.add_argument("--max-cell-lines", type=int, help="with --committed: most non-blank code lines per cell")
    ap.add_argument("--max-lines", type=int, help="with --committed: most non-blank code lines in a notebook")
    ap.add_argument("notebooks", nargs="+")
    args = ap.parse_args(argv)
    passed = failed = 0
    for path in args.notebooks:
        try:
            if args.committed:
                problems = check_committed(path, args.max_cell_lines, args.max_lines)
            elif args.bad_input is not None:
                problems = check_bad_input(path, args.bad_input)
            else:
                problems = check_executed(path)
        except (OSError, ValueError) as e:
            problems = [f"{path}: cannot read the notebook: {e}"]
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {p}")
        else:
            passed += 1
            print(f"ok {path}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
