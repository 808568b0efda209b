"""Tests of check_outputs.py: each broken notebook must be reported, a correct one must pass.

    python3 -m unittest discover -s tests/notebooks -p 'test_*.py'
"""
import json
import os
import tempfile
import unittest

import check_outputs

LIB = '<script data-embedtune-echarts="5.6.0">/* library */</script>'
CHART = '<div class="embedtune-chart" style=""><div class="embedtune-chart-note">note</div></div><script>\n(function(){})();\n</script>'
BAR_DONE = "<div class=\"embedtune-progress\"><progress value='200' max='200' style=''></progress> [200/200 00:05]</div>"
BAR_HALF = "<div class=\"embedtune-progress\"><progress value='100' max='200' style=''></progress> [100/200 00:05]</div>"
TABLE = ('<div class="embedtune-training-log"><div class="embedtune-table"><table border="1" class="dataframe"><thead>'
         "<tr><th>Step</th><th>Training Loss</th><th>Validation Loss</th></tr></thead><tbody>"
         "<tr><td>20</td><td>0.443520</td><td>0.375976</td></tr>"
         "<tr><td>40</td><td>0.340563</td><td>No log</td></tr></tbody></table></div>" + CHART + "</div>")
TABLE_NO_VAL = TABLE.replace("0.375976", "No log")
TABLE_NO_ROWS = ('<div class="embedtune-training-log"><div class="embedtune-table"><table><thead><tr><th>Step</th>'
                 "<th>Training Loss</th></tr></thead><tbody></tbody></table></div>" + CHART + "</div>")
ERROR_BOX = ('<div class="embedtune-error" style="color:#611a15;"><b>Error:</b> no such folder '
             '&quot;/x/model&quot;</div>')
DATASET = '<div class="embedtune-dataset"><table class="dataframe"><tr><td>q</td></tr></table></div>'
COMPARISON = '<div class="embedtune-retrieval-comparison"><p><b>fine-tuned vs base</b></p></div>'


def html_out(h):
    return {"output_type": "display_data", "data": {"text/html": h}, "metadata": {}}


def cell(outputs, tags=(), executed=True, source="%%\nx()"):
    return {"cell_type": "code", "id": "c", "metadata": {"tags": list(tags)}, "source": source,
            "outputs": outputs, "execution_count": 1 if executed else None}


def notebook(*cells):
    return {"nbformat": 4, "nbformat_minor": 5, "cells": list(cells),
            "metadata": {"kernelspec": {"name": "embedtune", "display_name": "Go", "language": "go"}}}


GOOD = notebook(
    cell([html_out(LIB), html_out(BAR_DONE), html_out(TABLE)], tags=["expect-training-progress", "expect-chart"]),
    cell([html_out(CHART)], tags=["expect-chart"]),
)


class CheckExecutedTest(unittest.TestCase):
    def run_check(self, nb):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "nb.ipynb")
            with open(p, "w") as f:
                json.dump(nb, f)
            return check_outputs.check_executed(p)

    def test_cases(self):
        cases = [
            ("good", GOOD, None),
            ("not executed", notebook(cell([], executed=False)), "not executed"),
            ("error output", notebook(cell([{"output_type": "error", "ename": "ERROR", "evalue": "boom", "traceback": []}])),
             "error output"),
            ("error allowed", notebook(cell([{"output_type": "error", "ename": "E", "evalue": "x", "traceback": []}],
                                            tags=["raises-exception"])), None),
            ("stderr", notebook(cell([{"output_type": "stream", "name": "stderr", "text": "warn"}])), "stderr output"),
            ("stderr allowed", notebook(cell([{"output_type": "stream", "name": "stderr", "text": "w"}],
                                             tags=["allow-stderr"])), None),
            ("missing chart", notebook(cell([html_out("<p>hi</p>")], tags=["expect-chart"])), "expect-chart"),
            ("library twice", notebook(cell([html_out(LIB), html_out(CHART)]), cell([html_out(LIB), html_out(CHART)])),
             "embedded 2 times"),
            ("library missing", notebook(cell([html_out(CHART)])), "embedded 0 times"),
            ("library after chart", notebook(cell([html_out(CHART)]), cell([html_out(LIB)])), "after the first chart"),
            ("bar not finished", notebook(cell([html_out(LIB), html_out(BAR_HALF), html_out(TABLE)],
                                               tags=["expect-training-progress"])), "not finished"),
            ("no validation loss", notebook(cell([html_out(LIB), html_out(BAR_DONE), html_out(TABLE_NO_VAL)],
                                                 tags=["expect-training-progress"])), "numeric Validation Loss"),
            ("no rows", notebook(cell([html_out(LIB), html_out(BAR_DONE), html_out(TABLE_NO_ROWS)],
                                      tags=["expect-training-progress"])), "no rows"),
            ("assets missing", notebook(cell([html_out('<div class="embedtune-chart-missing">x</div>')])),
             "not installed"),
            ("expect-error", notebook(cell([html_out("<p>fine</p>")], tags=["expect-error"])), "no error box"),
            ("expected error box", notebook(cell([html_out(ERROR_BOX)], tags=["expect-error"])), None),
            ("unexpected error box", notebook(cell([html_out(ERROR_BOX)])), "error box: Error: no such folder"),
            ("dataset", notebook(cell([html_out(DATASET)], tags=["expect-dataset"])), None),
            ("missing dataset", notebook(cell([html_out("<table></table>")], tags=["expect-dataset"])), "expect-dataset"),
            ("comparison", notebook(cell([html_out(COMPARISON)], tags=["expect-comparison"])), None),
            ("missing comparison", notebook(cell([html_out(DATASET)], tags=["expect-comparison"])), "expect-comparison"),
        ]
        for name, nb, want in cases:
            with self.subTest(name):
                problems = self.run_check(nb)
                if want is None:
                    self.assertEqual(problems, [])
                else:
                    self.assertTrue(any(want in p for p in problems), f"{want!r} not in {problems}")


class CheckBadInputTest(unittest.TestCase):
    def test_cases(self):
        stderr = {"output_type": "stream", "name": "stderr", "text": "panic: x"}
        failure = {"output_type": "error", "ename": "ERROR", "evalue": "exit status 2", "traceback": []}
        stopped = {"output_type": "error", "ename": "ERROR", "evalue": "exit status 1", "traceback": []}
        exit_line = {"output_type": "stream", "name": "stderr", "text": "exit status 1\n"}
        cases = [
            ("one box per cell", notebook(cell([html_out("<p>ok</p>")]), cell([html_out(ERROR_BOX)]),
                                          cell([html_out(ERROR_BOX)])), None),
            ("stopped by nb.Must", notebook(cell([html_out(ERROR_BOX), exit_line, stopped])), None),
            ("stopped without a box", notebook(cell([exit_line, stopped])), "without one error box"),
            ("one needle absent", notebook(cell([html_out(ERROR_BOX)])), "no error box mentions '/y'"),
            ("two boxes", notebook(cell([html_out(ERROR_BOX), html_out(ERROR_BOX)])), "2 error boxes"),
            ("cell failed", notebook(cell([html_out(ERROR_BOX), failure])), "the cell failed"),
            ("panic", notebook(cell([stderr, stopped])), "stderr output"),
            ("stderr", notebook(cell([html_out(ERROR_BOX), stderr])), "stderr output"),
        ]
        for name, nb, want in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "nb.ipynb")
                with open(p, "w") as f:
                    json.dump(nb, f)
                needles = ['"/x/model"', "/y"] if name == "one needle absent" else ['"/x/model"']
                problems = check_outputs.check_bad_input(p, needles)
                if want is None:
                    self.assertEqual(problems, [])
                else:
                    self.assertTrue(any(want in p for p in problems), f"{want!r} not in {problems}")


class CheckCommittedTest(unittest.TestCase):
    def test_cases(self):
        cases = [
            ("clean", notebook(cell([], executed=False)), None),
            ("outputs", notebook(cell([html_out("x")], executed=False)), "with outputs"),
            ("count", notebook(cell([], executed=True)), "execution count"),
            ("kernel", dict(notebook(cell([], executed=False)), metadata={"kernelspec": {"name": "gonb"}}), "kernelspec"),
            ("short cells", notebook(cell([], executed=False, source="a\n\nb\n  \nc")), None),
            ("long cell", notebook(cell([], executed=False, source="a\nb\nc\nd")), "4 non-blank code lines, at most 3"),
            ("long notebook", notebook(*[cell([], executed=False, source="a\nb")] * 3), "6 non-blank code lines, at most 5"),
        ]
        for name, nb, want in cases:
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "nb.ipynb")
                with open(p, "w") as f:
                    json.dump(nb, f)
                problems = check_outputs.check_committed(p, 3, 5)
                if want is None:
                    self.assertEqual(problems, [])
                else:
                    self.assertTrue(any(want in p for p in problems), f"{want!r} not in {problems}")


if __name__ == "__main__":
    unittest.main()
