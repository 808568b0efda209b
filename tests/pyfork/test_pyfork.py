"""pyfork runs a command line exactly as a fresh interpreter does: each case runs the same command through
the launcher ($PYFORK_LAUNCHER, from scripts/pyfork.sh) and through the real interpreter ($PYFORK_PYTHON) and
compares exit status, stdout and stderr, and checks that the launcher's run was forked (PYFORK_DEBUG) — run it
with the environment the server was started with (scripts/test.sh does), or every run falls back to a fresh
interpreter and the test fails saying so.

    PYFORK_LAUNCHER=$(scripts/pyfork.sh PYTHON $$) PYFORK_PYTHON=PYTHON PYTHON -m unittest tests/pyfork/test_pyfork.py
"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

LAUNCHER = os.environ.get("PYFORK_LAUNCHER", "")
PYTHON = os.environ.get("PYFORK_PYTHON", sys.executable)

SCRIPT = textwrap.dedent("""
    import atexit, os, sys
    print("argv", sys.argv[1:], "path0", os.path.basename(sys.path[0]), "cwd", os.path.basename(os.getcwd()))
    print("X", os.environ.get("PYFORK_TEST_X"), "name", __name__, "file", os.path.basename(__file__))
    print("stdin", sys.stdin.read().upper(), end="")
    print("to stderr", file=sys.stderr)
    kept = open(sys.argv[1], "w")
    kept.write("written, never closed")
    atexit.register(lambda: print("atexit ran"))
    if sys.argv[2] == "raise":
        raise ValueError("boom")
    sys.exit(int(sys.argv[2]))
""")


@unittest.skipUnless(LAUNCHER, "PYFORK_LAUNCHER is unset (scripts/pyfork.sh prints it)")
class SameAsFreshInterpreter(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pyfork-test-")
        self.script = os.path.join(self.dir, "script.py")
        with open(self.script, "w") as f:
            f.write(SCRIPT)

    def both(self, args, stdin="", env=None, cwd=None, forked=True):
        """Runs args with the real interpreter and through the launcher; returns both (status, stdout, stderr),
        the launcher's stderr without its PYFORK_DEBUG line, which must say forked (or fresh, forked=False)."""
        out = []
        for exe in (PYTHON, LAUNCHER):
            e = dict(os.environ, **(env or {}), PYFORK_DEBUG="1")
            r = subprocess.run([exe] + args, input=stdin, capture_output=True, text=True, env=e, cwd=cwd or self.dir)
            err = r.stderr
            if exe == LAUNCHER:
                lines = err.splitlines(keepends=True)
                said = [l for l in lines if l.startswith("pyfork: ")]
                want = "pyfork: forked" if forked else "pyfork: fresh interpreter"
                self.assertTrue(said and said[0].startswith(want), f"{args}: launcher said {said}, want {want!r}")
                err = "".join(l for l in lines if not l.startswith("pyfork: "))
            out.append((r.returncode, r.stdout, err))
        return out

    def test_script_argv_env_stdin_exit_status(self):
        for code in ("0", "3"):
            fresh, forked = self.both([self.script, os.path.join(self.dir, "kept.txt"), code], stdin="hello\n",
                                      env={"PYFORK_TEST_X": "x1"})
            self.assertEqual(forked, fresh)
            self.assertEqual(int(code), forked[0])
            with open(os.path.join(self.dir, "kept.txt")) as f:
                self.assertEqual("written, never closed", f.read())

    def test_uncaught_exception(self):
        fresh, forked = self.both([self.script, os.path.join(self.dir, "k.txt"), "raise"])
        self.assertEqual(1, forked[0])
        self.assertEqual(fresh, forked)  # the traceback shows the script's frames only, as a fresh interpreter's
        self.assertIn("ValueError: boom", forked[2])

    def test_dash_c_and_dash_m(self):
        fresh, forked = self.both(["-c", "import sys; print(sys.argv, repr(sys.path[0])); sys.exit('bye')", "a"])
        self.assertEqual(fresh, forked)
        self.assertEqual(1, forked[0])
        fresh, forked = self.both(["-m", "json.tool"], stdin='{"b": [1, 2]}')
        self.assertEqual(fresh, forked)

    def test_import_time_variable_gets_a_fresh_interpreter(self):
        fresh, forked = self.both(["-c", "import os; print(os.environ['HF_HOME'])"], env={"HF_HOME": self.dir},
                                  forked=False)
        self.assertEqual(fresh, forked)

    def test_signals_reach_the_run(self):
        marker = os.path.join(self.dir, "started")
        code = f"import time; open({marker!r}, 'w').close(); time.sleep(60)"
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with subprocess.Popen([LAUNCHER, "-c", code], stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, PYFORK_DEBUG="1")) as p:
                t0 = time.time()
                while not os.path.exists(marker) and time.time() - t0 < 30:
                    time.sleep(0.05)
                p.send_signal(sig)
                self.assertEqual(-sig, p.wait(timeout=30))  # as a fresh interpreter killed by sig
                self.assertIn("pyfork: forked", p.stderr.read())
            os.unlink(marker)
            # The run itself is gone too (a killed client takes its run with it).
            time.sleep(0.5)
            out = subprocess.run(["pgrep", "-f", "time.sleep\\(60\\)"], capture_output=True, text=True)
            self.assertEqual("", out.stdout.strip(), "the run survived its client")


if __name__ == "__main__":
    unittest.main()
