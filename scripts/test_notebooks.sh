#!/usr/bin/env bash
# Executes notebooks headless and checks what they show, as CI does:
#
#   1. installs/verifies the kernel (kernel/install.sh, idempotent) and the browser tools
#      (scripts/browser_setup.sh: Debian's Chromium + pinned playwright-core);
#   2. checks that the committed notebooks carry no outputs, and that the tutorial notebooks stay short:
#      at most 15 non-blank code lines per cell, at most 150 in notebooks/01_finetune_embedder.ipynb;
#   3. (default notebooks) the workshop bundle round trip: packs the offline fixtures' model and dataset and
#      the notebooks with `embedtune bundle`, installs the bundle into an EMPTY Hugging Face cache with
#      docker/build.sh (what the workshop image's build runs), checks docker/start.sh serves JupyterLab behind
#      its token, and runs the tutorial notebooks FROM the installed copies with HF_HUB_OFFLINE=1;
#   4. executes each notebook with nbconvert (embedtune kernel, per-cell timeout): any cell error fails;
#   5. checks the executed notebooks (tests/notebooks/check_outputs.py): no error or stderr output, charts
#      and the training table where the cells' tags expect them, the echarts library embedded exactly once;
#   6. exports each to HTML with the offline template and with nbconvert's stock "lab" template, opens the
#      exports in headless Chromium with every request outside the machine blocked, screenshots them and
#      checks every chart area has drawn pixels (and that the offline export requested nothing outside);
#   7. (default notebooks) runs the tutorial notebooks pointed at a missing dataset, model and output folder and
#      checks each cell shows one clear error box (nb.Must), with no stack trace;
#   8. (default notebooks) runs the tutorial notebook again with the tutorial's LoRA adapter (EMBEDTUNE_LORA=1,
#      rank overridden to 4, 20 steps): the output folder must hold a PEFT adapter with lora_alpha 32 and
#      lora_dropout 0.1;
#   9. (default notebooks) kernel tests (tests/notebooks/test_kernel.py): the kernel installed into a checkout
#      under /tmp starts and runs a cell; ■ during training stops the cell within GoNB's 5 s with a checkpoint,
#      the next run offers to continue, and resume "yes" finishes the run.
#
# The tutorial notebooks run offline on generated fixtures (scripts/notebook_fixtures.sh: a tiny random BERT,
# 1,340 SQuAD (question, context) pairs, 40 steps) unless EMBEDTUNE_MODEL is set.
#
#   scripts/test_notebooks.sh [NOTEBOOK.ipynb ...]
#
# Default notebooks: tests/notebooks/*.ipynb and notebooks/*.ipynb. Artifacts (executed notebooks, HTML,
# screenshots) go to build/notebooks/. Environment:
#   EMBEDTUNE_NOTEBOOK_CELL_TIMEOUT  seconds allowed per cell (default 900)
#   EMBEDTUNE_NOTEBOOK_OUT           artifacts folder (default <repo>/build/notebooks)
#   EMBEDTUNE_NOTEBOOK_BAD_INPUT=0   skips steps 7-9
# Notebooks also receive the caller's environment (EMBEDTUNE_MODEL, EMBEDTUNE_MAX_STEPS, ...); the sweep
# notebook gets EMBEDTUNE_SWEEP_DIR=<artifacts>/sweep and EMBEDTUNE_SWEEP_MAX_STEPS=10 unless they are set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
out=${EMBEDTUNE_NOTEBOOK_OUT:-$root/build/notebooks}
timeout=${EMBEDTUNE_NOTEBOOK_CELL_TIMEOUT:-900}
say() { echo "test_notebooks: $*" >&2; }

# No gopls: these tests execute cells and never ask for completions (kernel/install.sh, EMBEDTUNE_KERNEL_GOPLS).
export EMBEDTUNE_KERNEL_GOPLS=${EMBEDTUNE_KERNEL_GOPLS:-0}
"$root/kernel/install.sh"
"$root/scripts/browser_setup.sh"
export GOEXPERIMENT=simd
fixtures=0
if [ -z "${EMBEDTUNE_MODEL:-}" ]; then
  eval "$("$root/scripts/notebook_fixtures.sh")"
  fixtures=1
fi

rm -rf "$out"
mkdir -p "$out/executed" "$out/html" "$out/html-lab" "$out/screenshots"
# The sweep notebook (03) sweeps in a fresh folder, with short runs.
export EMBEDTUNE_SWEEP_DIR=${EMBEDTUNE_SWEEP_DIR:-$out/sweep} EMBEDTUNE_SWEEP_MAX_STEPS=${EMBEDTUNE_SWEEP_MAX_STEPS:-10}
# A cache of embeddings and results of its own, so every run starts cold, as CI's clean clone does.
export EMBEDTUNE_CACHE_DIR=${EMBEDTUNE_CACHE_DIR:-$out/memo}
py=$venv/bin/python
jupyter=$venv/bin/jupyter
embedtune=$venv/bin/embedtune

say "unit tests of the output checker"
(cd "$root/tests/notebooks" && "$py" -m unittest -q test_check_outputs.py)

say "committed notebooks carry no outputs; tutorial cells stay short"
shopt -s nullglob
"$py" "$root/tests/notebooks/check_outputs.py" --committed "$root"/tests/notebooks/*.ipynb
"$py" "$root/tests/notebooks/check_outputs.py" --committed --max-cell-lines 15 --max-lines 150 "$root/notebooks/01_finetune_embedder.ipynb"
"$py" "$root/tests/notebooks/check_outputs.py" --committed --max-cell-lines 15 "$root"/notebooks/*.ipynb
shopt -u nullglob

passed=0
failed=0
failures=()
if [ $# -gt 0 ]; then
  notebooks=("$@")
else
  shopt -s nullglob
  notebooks=("$root"/tests/notebooks/*.ipynb)
  tutorial=("$root"/notebooks/*.ipynb)
  shopt -u nullglob
  if [ $fixtures = 1 ]; then
    say "workshop bundle: pack the fixtures, install into an empty Hugging Face cache with docker/build.sh"
    (cd "$root" && "$embedtune" bundle --model "$EMBEDTUNE_MODEL" --model-id embedtune-test/tiny-bert \
      --dataset "$EMBEDTUNE_DATASET" --dataset-id embedtune-test/squad-pairs --notebooks --out "$out/workshop.tar.zst") >&2
    export HF_HOME=$out/hf-home
    unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE
    EMBEDTUNE_WORKSHOP_DIR=$out/workshop EMBEDTUNE_BIN_DIR=$out/bin "$root/docker/build.sh" --bundle "$out/workshop.tar.zst"
    # shellcheck disable=SC1091
    . "$out/workshop/workshop.env" # HF_HUB_OFFLINE=1, EMBEDTUNE_MODEL/DATASET = the bundle's repository ids
    [ "$EMBEDTUNE_MODEL" = embedtune-test/tiny-bert ] && [ "$HF_HUB_OFFLINE" = 1 ] ||
      { say "FAIL: workshop.env: EMBEDTUNE_MODEL=$EMBEDTUNE_MODEL HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-}"; exit 1; }
    say "docker/start.sh serves JupyterLab behind its token"
    port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    JUPYTER_TOKEN=test-token EMBEDTUNE_WORKSHOP_DIR=$out/workshop "$root/docker/start.sh" --ip 127.0.0.1 --port "$port" \
      >"$out/start.log" 2>&1 &
    start_pid=$!
    ok=0
    for _ in $(seq 60); do
      if curl -sf "http://127.0.0.1:$port/api/contents?token=test-token" | grep -q 01_finetune_embedder.ipynb; then ok=1; break; fi
      sleep 1
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/contents" || true)
    kill "$start_pid" 2>/dev/null || true
    wait "$start_pid" 2>/dev/null || true
    if [ $ok = 1 ] && [ "$code" = 403 ]; then
      passed=$((passed + 1))
    else
      tail -20 "$out/start.log" >&2
      say "FAIL: docker/start.sh (workshop listed: $ok, status without the token: $code, want 403)"
      failed=$((failed + 1))
      failures+=("docker/start.sh")
    fi
    # The tutorial notebooks run from the installed bundle, offline.
    tutorial=("$out"/workshop/01_finetune_embedder.ipynb "$out"/workshop/02_evaluate_and_compare.ipynb
      "$out"/workshop/03_hyperparameter_sweep.ipynb)
  fi
  notebooks+=("${tutorial[@]}")
fi
[ ${#notebooks[@]} -gt 0 ] || { say "no notebooks to test"; exit 1; }

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

  say "LoRA: 01_finetune_embedder with EMBEDTUNE_LORA=1, EMBEDTUNE_LORA_R=4"
  mkdir -p "$out/lora"
  if EMBEDTUNE_LORA=1 EMBEDTUNE_LORA_R=4 EMBEDTUNE_MAX_STEPS=20 EMBEDTUNE_OUTPUT_DIR=$out/lora/run \
    "$jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout="$timeout" \
    --ExecutePreprocessor.kernel_name=embedtune --output-dir "$out/lora" --output 01_finetune_embedder \
    "$root/notebooks/01_finetune_embedder.ipynb" >"$out/lora/01_finetune_embedder.log" 2>&1 &&
    "$py" "$root/tests/notebooks/check_outputs.py" "$out/lora/01_finetune_embedder.ipynb" &&
    [ -f "$out/lora/run/adapter_config.json" ] && [ -f "$out/lora/run/adapter_model.safetensors" ] &&
    [ ! -e "$out/lora/run/model.safetensors" ] && grep -q 'LoRA adapter: r=4, lora_alpha=32, lora_dropout=0.1 on query, value' "$out/lora/01_finetune_embedder.ipynb" &&
    "$py" -c 'import json, sys; c = json.load(open(sys.argv[1])); sys.exit(0 if (c["r"], c["lora_alpha"], c["lora_dropout"], sorted(c["target_modules"])) == (4, 32, 0.1, ["query", "value"]) else "adapter_config.json: %r" % c)' \
      "$out/lora/run/adapter_config.json"; then
    passed=$((passed + 1))
  else
    grep -v '^[IWE][0-9]\{4\} ' "$out/lora/01_finetune_embedder.log" | tail -20 >&2 || true
    ls -la "$out/lora/run" >&2 || true
    failed=$((failed + 1))
    failures+=("notebooks/01_finetune_embedder.ipynb (LoRA)")
  fi

  say "kernel tests: install under /tmp, interrupt and resume (tests/notebooks/test_kernel.py)"
  if EMBEDTUNE_TEST_OUT=$out/kernel "$py" -m unittest -v "$root/tests/notebooks/test_kernel.py" >"$out/kernel.log" 2>&1; then
    passed=$((passed + 1))
  else
    tail -40 "$out/kernel.log" >&2
    failed=$((failed + 1))
    failures+=("tests/notebooks/test_kernel.py")
  fi
fi
for f in "${failures[@]}"; do say "FAILED: $f"; done
say "artifacts in $out"
echo "notebooks: $passed passed, $failed failed"
[ "$failed" = 0 ]
