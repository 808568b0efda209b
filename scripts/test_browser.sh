#!/usr/bin/env bash
# Browser tests (headless Debian Chromium, every non-loopback request blocked), artifacts in build/browser/:
#
#   1. the CLI's charts from OUTSIDE the repository: `embedtune train` run in an empty folder with an empty
#      embedtune cache writes charts.html that says how to get the chart library (`embedtune assets install`);
#      after that one command, the same run's charts.html draws (pixels checked in Chromium);
#   2. JupyterLab (tests/browser/jupyterlab.test.mjs): the demo notebook run with its live training chart
#      captured, save/reopen, Notebook 7, trust, the server-side echarts fallback, and no "Jupyter news"
#      prompt in a fresh profile.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${EMBEDTUNE_BROWSER_OUT:-$root/build/browser}
say() { echo "test_browser: $*" >&2; }
# No gopls: these tests execute cells and never ask for completions (kernel/install.sh, EMBEDTUNE_KERNEL_GOPLS).
export EMBEDTUNE_KERNEL_GOPLS=${EMBEDTUNE_KERNEL_GOPLS:-0}
"$root/kernel/install.sh"
"$root/scripts/browser_setup.sh"
export GOEXPERIMENT=simd
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
embedtune=$venv/bin/embedtune
eval "$("$root/scripts/notebook_fixtures.sh")"

say "CLI charts outside the repository"
work=$(mktemp -d) # outside the repository, with an empty embedtune cache (XDG_CACHE_HOME)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/cli-charts"
cat >"$work/run.yaml" <<YAML
model: $EMBEDTUNE_MODEL
train_dataset: {source: $EMBEDTUNE_DATASET, columns: [question, context]}
loss: {name: MultipleNegativesRankingLoss}
args:
  output_dir: $work/run
  overwrite_output_dir: true
  max_steps: 6
  per_device_train_batch_size: 16
  learning_rate: 1.0e-3
  batch_sampler: no_duplicates
  logging_steps: 2
  save_steps: 6
YAML
train() { (cd "$work" && env -u EMBEDTUNE_ASSETS_DIR XDG_CACHE_HOME="$work/cache" "$embedtune" train --config run.yaml --no-progress >/dev/null 2>"$work/train.log") ||
  { cat "$work/train.log" >&2; say "FAIL: embedtune train"; exit 1; }; }
train
grep -q 'embedtune assets install' "$work/run/charts.html" ||
  { say "FAIL: charts.html without the library does not say to run embedtune assets install"; exit 1; }
grep -q 'embedtune-chart-missing' "$work/run/charts.html" || { say "FAIL: charts.html without the library shows no notice"; exit 1; }
(cd "$work" && env -u EMBEDTUNE_ASSETS_DIR XDG_CACHE_HOME="$work/cache" "$embedtune" assets install) >&2
[ -f "$work/cache/embedtune/assets/embedtune/echarts-LICENSE.txt" ] || { say "FAIL: assets install left no licence file"; exit 1; }
train
cp "$work/run/charts.html" "$out/cli-charts/charts.html"
node "$root/tests/browser/screenshot_html.mjs" --min-charts 2 --out "$out/cli-charts" "$out/cli-charts/charts.html"

say "JupyterLab"
cd "$root/tests/browser"
exec node --test --test-reporter=spec jupyterlab.test.mjs
