"""Kernel-level tests of the embedtune notebook kernel (GoNB), driven through jupyter_client as JupyterLab
drives it (scripts/test_notebooks.sh runs them with the kernel's Python):

* TestInstallUnderTmp: kernel/install.sh run from a checkout under /tmp registers a kernel whose spec points at
  the installed gonb binary (gonb --install would point it at a copy in a deleted scratch folder), and that
  kernel starts and compiles a cell against the /tmp checkout.
* TestInterruptAndResume: the tutorial notebook's training cell, interrupted with Jupyter's ■ while it trains,
  ends within the 5 s GoNB allows before killing the cell, with a checkpoint; run again it offers to continue,
  and with resume "yes" it finishes the run from that checkpoint.

    kernel/.venv/bin/python -m unittest -v tests/notebooks/test_kernel.py

The interrupt test uses the notebook settings of the environment (EMBEDTUNE_MODEL, EMBEDTUNE_DATASET, ...: the
offline fixtures under scripts/test_notebooks.sh); EMBEDTUNE_TEST_OUT names the folder for its artifacts.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.environ.get("EMBEDTUNE_KERNEL_VENV", os.path.join(ROOT, "kernel", ".venv"))
OUT = os.environ.get("EMBEDTUNE_TEST_OUT", os.path.join(ROOT, "build", "kernel-tests"))


def start_kernel(env=None, spec_dirs=None, cwd=ROOT):
    """Starts the embedtune kernel (from spec_dirs first when given) and returns (manager, client)."""
    ksm = KernelSpecManager()
    if spec_dirs:
        ksm.kernel_dirs = [os.path.join(d, "kernels") for d in spec_dirs] + ksm.kernel_dirs
    km = KernelManager(kernel_name="embedtune", kernel_spec_manager=ksm)
    km.start_kernel(env={**os.environ, **(env or {})}, cwd=cwd, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def stop_kernel(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def execute(kc, code, timeout=900, on_output=None):
    """Runs code, returns (texts of the outputs, error or None). on_output(text) sees each output as it comes
    and may return True to stop waiting (the cell keeps running)."""
    msg_id = kc.execute(code)
    texts, error = [], None
    deadline = time.time() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        text = None
        if kind == "stream":
            text = content["text"]
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
            text = error
        elif kind in ("display_data", "update_display_data", "execute_result"):
            text = content["data"].get("text/html", "") or content["data"].get("text/plain", "")
        elif kind == "status" and content["execution_state"] == "idle":
            return texts, error
        if text is not None:
            texts.append(text)
            if on_output and on_output(text):
                return texts, "stopped waiting"


def wait_idle(kc, timeout):
    """Waits for the kernel's next idle status; returns the texts seen meanwhile."""
    texts = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            texts.append(content["text"])
        elif kind == "error":
            texts.append(f"{content['ename']}: {content['evalue']}")
        elif kind in ("display_data", "update_display_data"):
            texts.append(content["data"].get("text/html", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            return texts
    raise TimeoutError(f"the kernel did not become idle within {timeout} s")


class TestInstallUnderTmp(unittest.TestCase):
    def test_kernel_installed_under_tmp_starts(self):
        tmp = tempfile.mkdtemp(prefix="embedtune-checkout-", dir="/tmp")
        try:
            files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
            tar = subprocess.Popen(["tar", "-C", ROOT, "--null", "-T", "-", "-cf", "-"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE)
            untar = subprocess.Popen(["tar", "-C", tmp, "-xf", "-"], stdin=tar.stdout)
            tar.stdin.write(files)
            tar.stdin.close()
            self.assertEqual(untar.wait(), 0)
            self.assertEqual(tar.wait(), 0)
            tar.stdout.close()
            # A marker that exists only in this checkout: the cell prints it, so it compiled against /tmp.
            with open(os.path.join(tmp, "charts", "zz_tmp_checkout.go"), "w") as f:
                f.write(f'package charts\n\n// TmpCheckout is written by tests/notebooks/test_kernel.py.\nconst TmpCheckout = "{tmp}"\n')
            specs = os.path.join(tmp, "jupyter")
            env = {**os.environ, "EMBEDTUNE_KERNEL_VENV": VENV, "EMBEDTUNE_KERNELSPEC_DIR": specs,
                   "EMBEDTUNE_ASSETS_DIR": os.path.join(ROOT, "kernel", "assets")}
            r = subprocess.run([os.path.join(tmp, "kernel", "install.sh")], env=env, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            with open(os.path.join(specs, "kernels", "embedtune", "kernel.json")) as f:
                spec = json.load(f)
            gonb = os.path.join(VENV, "bin", "gonb")
            self.assertEqual(spec["argv"][0], gonb, "the kernel spec must point at the installed gonb")
            self.assertTrue(os.access(spec["argv"][0], os.X_OK))
            self.assertIn(f"-go_work={tmp}", spec["argv"])
            self.assertTrue(spec["display_name"].startswith("Go · embedtune"), spec["display_name"])
            km, kc = start_kernel(spec_dirs=[specs], cwd=tmp)
            try:
                texts, err = execute(kc, 'import "github.com/embedtune/embedtune/charts"\n\n%%\nfmt.Println("checkout:", charts.TmpCheckout)\n')
                self.assertIsNone(err, texts)
                self.assertIn(f"checkout: {tmp}", "".join(texts))
            finally:
                stop_kernel(km, kc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def tutorial_cells():
    """Notebook 01's code cells: the declarations of the cells before training (their %% bodies dropped) as
    one cell, and the training cell."""
    with open(os.path.join(ROOT, "notebooks", "01_finetune_embedder.ipynb")) as f:
        nb = json.load(f)
    decls = []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"])
        if "expect-training-progress" in c["metadata"].get("tags", []):
            return "\n".join(decls), src
        decls.append(src.split("%%", 1)[0])
    raise AssertionError("notebook 01 has no training cell")


class TestInterruptAndResume(unittest.TestCase):
    def test_interrupt_then_resume(self):
        run = os.path.join(OUT, "interrupt-run")
        shutil.rmtree(run, ignore_errors=True)
        os.makedirs(OUT, exist_ok=True)
        env = {"EMBEDTUNE_MAX_STEPS": "12", "EMBEDTUNE_EVAL_STEPS": "6", "EMBEDTUNE_OUTPUT_DIR": run}
        decls, train = tutorial_cells()
        km, kc = start_kernel(env=env, cwd=os.path.join(ROOT, "notebooks"))
        try:
            texts, err = execute(kc, decls + "\n%%\nfmt.Println(\"declared\")\n")
            self.assertIsNone(err, "".join(texts)[-2000:])

            # Train; interrupt once two steps are done.
            def step_done(text):
                bars = re.findall(r"<progress value='(\d+)' max='(\d+)'", text)
                return bool(bars) and int(bars[-1][0]) >= 2
            texts, waited = execute(kc, train, timeout=600, on_output=step_done)
            self.assertEqual(waited, "stopped waiting", "the training cell ended before step 2:\n" + "".join(texts)[-2000:])
            t0 = time.time()
            km.interrupt_kernel()
            texts = wait_idle(kc, 30)
            elapsed = time.time() - t0
            out = "".join(texts)
            self.assertLess(elapsed, 5.0, f"the interrupted cell took {elapsed:.1f} s to stop (GoNB kills it at 5 s)")
            self.assertNotIn("signal: killed", out)
            self.assertIn("training interrupted at step", out)
            cks = [d for d in os.listdir(run) if d.startswith("checkpoint-")]
            self.assertEqual(len(cks), 1, os.listdir(run))
            step = int(cks[0].split("-")[1])
            self.assertGreaterEqual(step, 2)

            # Run again: it offers to continue, and does not train.
            texts, err = execute(kc, train)
            out = html.unescape("".join(texts))
            self.assertIn(f"was interrupted at step {step} of 12", out)
            self.assertIn('resume := "yes"', out)
            self.assertIsNotNone(err)

            # resume "yes": continues from the checkpoint to the end.
            texts, err = execute(kc, train.replace('resume := "ask"', 'resume := "yes"'), timeout=600)
            out = "".join(texts)
            self.assertIsNone(err, out[-3000:])
            self.assertIn("Fine-tuned model saved", out)
            self.assertIn(f"resuming from {os.path.join(run, cks[0])} at step {step}", out)
            with open(os.path.join(run, "checkpoint-12", "trainer_state.json")) as f:
                self.assertEqual(json.load(f)["global_step"], 12)
            self.assertTrue(os.path.exists(os.path.join(run, "model.safetensors")))
        finally:
            stop_kernel(km, kc)


if __name__ == "__main__":
    unittest.main()
