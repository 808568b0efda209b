#!/usr/bin/env bash
# Browser test of the notebook kernel in JupyterLab (issue 6): JupyterLab on loopback, the demo notebook run
# in headless Debian Chromium with the live training chart captured, then save/reopen, Notebook 7, trust
# and the server-side echarts fallback (tests/browser/jupyterlab.test.mjs). Screenshots go to build/browser/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/kernel/install.sh"
"$root/scripts/browser_setup.sh"
cd "$root/tests/browser"
exec node --test --test-reporter=spec jupyterlab.test.mjs
