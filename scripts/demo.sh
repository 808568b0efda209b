#!/usr/bin/env bash
# The README's first command: installs everything (Go modules, the GoNB kernel "embedtune", JupyterLab, the
# echarts assets) and runs the tutorial notebook notebooks/01_finetune_embedder.ipynb headless, writing
#
#   build/demo/01_finetune_embedder.ipynb   the executed notebook (open it in JupyterLab)
#   build/demo/01_finetune_embedder.html    the same as a self-contained page (no CDN)
#   build/demo/finetuned/                   checkpoints and the fine-tuned model (sentence-transformers folder)
#
# With the Hugging Face Hub reachable it fine-tunes the real BAAI/bge-base-en-v1.5 on
# dipanjanS/india_rag_wikidata, 332 steps as in the tutorial: minutes on a GPU, but more than an HOUR on a CPU
# with the XLA CPU engine that kernel/install.sh installs (several hours on the pure-Go backend; the script says
# which engine it found). Otherwise it says so and runs the same notebook on the offline fixtures
# (scripts/notebook_fixtures.sh: a tiny random BERT and 1,340 SQuAD question/passage pairs).
#
#   scripts/demo.sh                          # as above
#   EMBEDTUNE_MAX_STEPS=20 scripts/demo.sh   # a short run (any EMBEDTUNE_* setting is honoured)
#   EMBEDTUNE_OFFLINE=1 scripts/demo.sh      # the offline fixtures even when the Hub is reachable
#
# Environment: EMBEDTUNE_MODEL / EMBEDTUNE_DATASET / EMBEDTUNE_DATASET_SPLIT / EMBEDTUNE_MAX_STEPS /
# EMBEDTUNE_OUTPUT_DIR / EMBEDTUNE_LEARNING_RATE (see the notebook; a set EMBEDTUNE_MODEL skips the Hub check),
# HF_ENDPOINT (default https://huggingface.co), EMBEDTUNE_DEMO_OUT (default <repo>/build/demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${EMBEDTUNE_DEMO_OUT:-$root/build/demo}
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
say() { echo "demo: $*" >&2; }
export GOEXPERIMENT=simd

"$root/kernel/install.sh"
say "downloading Go modules and building the CLI"
(cd "$root" && go mod download && go build -o "$out/bin/embedtune" ./cmd/embedtune)
backend=$("$out/bin/embedtune" env 2>/dev/null | "$venv/bin/python" -c '
import json, sys
d = json.load(sys.stdin)
e = d.get("engine") or {}
print(e.get("engine", "?"), "(" + e.get("why", d.get("backend_error", "")) + ")")
if e.get("faster"):
    print("  faster here:", e["faster"])' || true)

export EMBEDTUNE_OUTPUT_DIR=${EMBEDTUNE_OUTPUT_DIR:-$out/finetuned}
mode=custom
if [ -z "${EMBEDTUNE_MODEL:-}" ]; then
  endpoint=${HF_ENDPOINT:-https://huggingface.co}
  if [ "${EMBEDTUNE_OFFLINE:-0}" = 1 ]; then
    mode=offline
    say "EMBEDTUNE_OFFLINE=1: using the offline fixtures"
  elif [ "${HF_HUB_OFFLINE:-0}" != 1 ] && command -v curl >/dev/null &&
    curl -sfI --max-time 8 "$endpoint/api/models/BAAI/bge-base-en-v1.5" -o /dev/null &&
    curl -sfI --max-time 8 "$endpoint/api/datasets/dipanjanS/india_rag_wikidata" -o /dev/null; then
    mode=hub
  else
    mode=offline
    say "the Hugging Face Hub ($endpoint) is not reachable from here (or HF_HUB_OFFLINE=1):"
    say "running the tutorial OFFLINE on generated fixtures (a tiny random BERT, 1,340 SQuAD pairs)"
  fi
  if [ $mode = offline ]; then
    eval "$("$root/scripts/notebook_fixtures.sh")"
  fi
fi
steps=${EMBEDTUNE_MAX_STEPS:-332}
say "model ${EMBEDTUNE_MODEL:-BAAI/bge-base-en-v1.5}, dataset ${EMBEDTUNE_DATASET:-dipanjanS/india_rag_wikidata}, $steps steps"
say "compute backend: ${backend:-unknown}"
if [ $mode = hub ] && [ "$steps" -gt 40 ] && ! grep -qi 'cuda' <<<"$backend"; then
  say "NOTE: no CUDA GPU: fine-tuning bge-base (110M parameters) for $steps steps on a CPU takes a long time:"
  say "      on a 2-core machine with the XLA CPU engine a step of 16 pairs at 256 tokens takes ~15 s (~80 minutes"
  say "      for 332 steps; the pure-Go engine is 5-8x slower). For a short look, stop it (Ctrl-C) and run:"
  say "      EMBEDTUNE_MAX_STEPS=20 scripts/demo.sh"
fi

mkdir -p "$out"
say "executing notebooks/01_finetune_embedder.ipynb (log: $out/01_finetune_embedder.log)"
t0=$(date +%s)
"$venv/bin/jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \
  --ExecutePreprocessor.kernel_name=embedtune --output-dir "$out" --output 01_finetune_embedder \
  "$root/notebooks/01_finetune_embedder.ipynb" >"$out/01_finetune_embedder.log" 2>&1 ||
  { grep -v '^[IWE][0-9]\{4\} ' "$out/01_finetune_embedder.log" | tail -30 >&2; say "FAILED: the notebook did not run"; exit 1; }
say "executed in $(($(date +%s) - t0)) s"
"$venv/bin/jupyter" nbconvert --to html --template embedtune_offline --output-dir "$out" --output 01_finetune_embedder \
  "$out/01_finetune_embedder.ipynb" >>"$out/01_finetune_embedder.log" 2>&1
ok=1
"$venv/bin/python" "$root/tests/notebooks/check_outputs.py" "$out/01_finetune_embedder.ipynb" >&2 || ok=0

cat <<EOF

  Executed notebook: $out/01_finetune_embedder.ipynb
  As a web page:     $out/01_finetune_embedder.html
  Fine-tuned model:  $EMBEDTUNE_OUTPUT_DIR

  Open the notebooks in JupyterLab (same settings, so notebook 02 finds this run's model):

    cd $root && $(for v in EMBEDTUNE_MODEL EMBEDTUNE_DATASET EMBEDTUNE_DATASET_SPLIT EMBEDTUNE_MAX_STEPS EMBEDTUNE_LEARNING_RATE EMBEDTUNE_OUTPUT_DIR; do
  if [ -n "${!v:-}" ]; then printf '%s=%q ' "$v" "${!v}"; fi
done)${venv#"$root"/}/bin/jupyter lab notebooks/

EOF
[ $ok = 1 ] || { say "the notebook ran but some cells did not show what they should (see above)"; exit 1; }
