#!/usr/bin/env bash
# Executes notebooks headless and checks what they show, as CI does (issue 6):
#
#   1. installs/verifies the kernel (kernel/install.sh, idempotent) and the browser tools
#      (scripts/browser_setup.sh: Debian's Chromium + pinned playwright-core);
#   2. checks that the committed notebooks carry no outputs;
#   3. executes each notebook with nbconvert (embedtune kernel, per-cell timeout): any cell error fails;
#   4. checks the executed notebooks (tests/notebooks/check_outputs.py): no error or stderr output, charts
#      and the training table where the cells' tags expect them, the echarts library embedded exactly once;
#   5. exports each to HTML with the offline template and with nbconvert's stock "lab" template, opens the
#      exports in headless Chromium with every request outside the machine blocked, screenshots them and
#      checks every chart area has drawn pixels (and that the offline export requested nothing outside);
#   6. (default notebooks only) runs the tutorial notebooks pointed at a missing dataset, model and output
#      folder and checks each cell shows at most one clear error box, with no failing cell or stack trace;
#   7. (default notebooks only) runs the tutorial notebook again with a LoRA adapter (EMBEDTUNE_LORA_RANK=4,
#      20 steps): same output checks, and the output folder must hold a PEFT adapter.
#
# Unless EMBEDTUNE_MODEL is set, the tutorial notebooks run offline on generated fixtures
# (scripts/notebook_fixtures.sh: a tiny random BERT, 1,340 SQuAD (question, context) pairs, 40 steps).
#
#   scripts/test_notebooks.sh [NOTEBOOK.ipynb ...]
#
# Default notebooks: tests/notebooks/*.ipynb and notebooks/*.ipynb. Artifacts (executed notebooks, HTML,
# screenshots) go to build/notebooks/. Environment:
#   EMBEDTUNE_NOTEBOOK_CELL_TIMEOUT  seconds allowed per cell (default 900)
#   EMBEDTUNE_NOTEBOOK_OUT           artifacts folder (default <repo>/build/notebooks)
#   EMBEDTUNE_NOTEBOOK_BAD_INPUT=0   skips step 6
# Notebooks also receive the caller's environment (EMBEDTUNE_MODEL, EMBEDTUNE_MAX_STEPS, ...); the sweep
# notebook gets EMBEDTUNE_SWEEP_DIR=<artifacts>/sweep and EMBEDTUNE_SWEEP_MAX_STEPS=10 unless they are set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
out=${EMBEDTUNE_NOTEBOOK_OUT:-$root/build/notebooks}
timeout=${EMBEDTUNE_NOTEBOOK_CELL_TIMEOUT:-900}
say() { echo "test_notebooks: $*" >&2; }

"$root/kernel/install.sh"
"$root/scripts/browser_setup.sh"
export GOEXPERIMENT=simd
if [ -z "${EMBEDTUNE_MODEL:-}" ]; then
  eval "$("$root/scripts/notebook_fixtures.sh")"
fi

if [ $# -gt 0 ]; then
  notebooks=("$@")
else
  shopt -s nullglob
  notebooks=("$root"/tests/notebooks/*.ipynb "$root"/notebooks/*.ipynb)
  shopt -u nullglob
fi
[ ${#notebooks[@]} -gt 0 ] || { say "no notebooks to test"; exit 1; }

rm -rf "$out"
mkdir -p "$out/executed" "$out/html" "$out/html-lab" "$out/screenshots"
# The sweep notebook (03) sweeps in a fresh folder, with short runs.
export EMBEDTUNE_SWEEP_DIR=${EMBEDTUNE_SWEEP_DIR:-$out/sweep} EMBEDTUNE_SWEEP_MAX_STEPS=${EMBEDTUNE_SWEEP_MAX_STEPS:-10}
py=$venv/bin/python
jupyter=$venv/bin/jupyter

say "unit tests of the output checker"
(cd "$root/tests/notebooks" && "$py" -m unittest -q test_check_outputs.py)

say "committed notebooks carry no outputs"
"$py" "$root/tests/notebooks/check_outputs.py" --committed "${notebooks[@]}"

passed=0
failed=0
failures=()
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb" .ipynb)
  say "executing $nb (cell timeout ${timeout}s)"
  t0=$(date +%s)
  if ! "$jupyter" nbconvert --to notebook --execute \
    --ExecutePreprocessor.timeout="$timeout" --ExecutePreprocessor.kernel_name=embedtune \
    --output-dir "$out/executed" --output "$name" "$nb" >"$out/executed/$name.log" 2>&1; then
    grep -v '^[IWE][0-9]\{4\} ' "$out/executed/$name.log" | tail -40 >&2
    say "FAIL $nb: execution failed (full log: $out/executed/$name.log)"
    failed=$((failed + 1))
    failures+=("$nb")
    continue
  fi
  say "executed $nb in $(($(date +%s) - t0)) s"
  ok=1
  "$py" "$root/tests/notebooks/check_outputs.py" "$out/executed/$name.ipynb" || ok=0
  "$jupyter" nbconvert --to html --template embedtune_offline --output-dir "$out/html" --output "$name" \
    "$out/executed/$name.ipynb" >"$out/html/$name.log" 2>&1 || { say "FAIL $nb: HTML export failed"; ok=0; }
  "$jupyter" nbconvert --to html --template lab --output-dir "$out/html-lab" --output "$name" \
    "$out/executed/$name.ipynb" >"$out/html-lab/$name.log" 2>&1 || { say "FAIL $nb: HTML export (lab) failed"; ok=0; }
  if [ $ok = 1 ]; then
    min=0
    grep -q 'class=\\"embedtune-chart\\"' "$out/executed/$name.ipynb" && min=1
    node "$root/tests/browser/screenshot_html.mjs" --min-charts "$min" --out "$out/screenshots" "$out/html/$name.html" || ok=0
    # The stock template loads RequireJS and MathJax from CDNs: those requests are blocked (and listed), and
    # the charts must draw all the same.
    node "$root/tests/browser/screenshot_html.mjs" --allow-blocked --min-charts "$min" --out "$out/screenshots/lab" \
      "$out/html-lab/$name.html" || ok=0
  fi
  if [ $ok = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$nb")
  fi
done
# bad_input NAME TEXT...: runs notebooks/NAME.ipynb with the bad EMBEDTUNE_* settings of the environment; every
# TEXT must appear in an error box.
bad_input() {
  local name=$1 needles=()
  shift
  for n in "$@"; do needles+=(--bad-input "$n"); done
  say "bad input: $name ($*)"
  if "$jupyter" nbconvert --to notebook --execute --allow-errors --ExecutePreprocessor.timeout="$timeout" \
    --ExecutePreprocessor.kernel_name=embedtune --output-dir "$out/bad-input" --output "$name" \
    "$root/notebooks/$name.ipynb" >"$out/bad-input/$name.log" 2>&1 &&
    "$py" "$root/tests/notebooks/check_outputs.py" "${needles[@]}" "$out/bad-input/$name.ipynb"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("notebooks/$name.ipynb (bad input)")
  fi
}
if [ $# -eq 0 ] && [ "${EMBEDTUNE_NOTEBOOK_BAD_INPUT:-1}" != 0 ]; then
  mkdir -p "$out/bad-input"
  EMBEDTUNE_DATASET=$out/bad-input/no-such-dataset.jsonl EMBEDTUNE_MODEL=$out/bad-input/no-such-model \
    EMBEDTUNE_OUTPUT_DIR=$out/bad-input/no-such-run bad_input 01_finetune_embedder no-such-dataset no-such-model no-such-run
  EMBEDTUNE_OUTPUT_DIR=$out/bad-input/no-such-run bad_input 02_evaluate_and_compare no-such-run
fi
if [ $# -eq 0 ] && [ "${EMBEDTUNE_NOTEBOOK_BAD_INPUT:-1}" != 0 ]; then
  say "LoRA: 01_finetune_embedder with EMBEDTUNE_LORA_RANK=4"
  mkdir -p "$out/lora"
  if EMBEDTUNE_LORA_RANK=4 EMBEDTUNE_MAX_STEPS=20 EMBEDTUNE_OUTPUT_DIR=$out/lora/run \
    "$jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout="$timeout" \
    --ExecutePreprocessor.kernel_name=embedtune --output-dir "$out/lora" --output 01_finetune_embedder \
    "$root/notebooks/01_finetune_embedder.ipynb" >"$out/lora/01_finetune_embedder.log" 2>&1 &&
    "$py" "$root/tests/notebooks/check_outputs.py" "$out/lora/01_finetune_embedder.ipynb" &&
    [ -f "$out/lora/run/adapter_config.json" ] && [ -f "$out/lora/run/adapter_model.safetensors" ] &&
    [ ! -e "$out/lora/run/model.safetensors" ] && grep -q 'LoRA adapter, rank 4' "$out/lora/01_finetune_embedder.ipynb"; then
    passed=$((passed + 1))
  else
    grep -v '^[IWE][0-9]\{4\} ' "$out/lora/01_finetune_embedder.log" | tail -20 >&2 || true
    ls -la "$out/lora/run" >&2 || true
    failed=$((failed + 1))
    failures+=("notebooks/01_finetune_embedder.ipynb (LoRA)")
  fi
fi
for f in "${failures[@]}"; do say "FAILED: $f"; done
say "artifacts in $out"
echo "notebooks: $passed passed, $failed failed"
[ "$failed" = 0 ]
