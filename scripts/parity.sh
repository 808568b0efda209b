#!/usr/bin/env bash
# Real-weights parity suite (issue 7): embedtune vs Python sentence-transformers on the same machine.
#
#   scripts/parity.sh [--full] [--bench] [-- GO_TEST_ARGS...]
#
# 1. fetches the real models with scripts/fetch_weights.sh (all-MiniLM-L6-v2, bge-small-en-v1.5; verified
#    by sha256) into $EMBEDTUNE_MODELS (default ~/.cache/embedtune/models);
# 2. runs the Go tests of tests/parity against the pinned Python reference environment (scripts/pyenv.sh):
#    token ids + embeddings, a trainer-saved folder loaded in Python, fine-tuning side by side, BEIR SciFact;
# 3. prints build/parity/results.md (also results.json and loss_curves.html there).
#
# Sizes (tests/parity/sizes_test.go):
#   default   CI size, ~10 minutes on a busy 2-core machine (SciFact on a small deterministic subset, short fine-tuning).
#   --full    the numbers of docs/parity.md (EMBEDTUNE_PARITY_FULL=1): full SciFact test set with both models, longer
#             fine-tuning runs, and the benchmarks; hours on 2 cores with the pure-Go backend.
#   --bench   also run the performance benchmarks (ours vs PyTorch) at the selected size.
# Anything after -- goes to `go test` (e.g. -- -run TestEncodeParity).
#
# Environment: EMBEDTUNE_MODELS, EMBEDTUNE_PYENV (see fetch_weights.sh / pyenv.sh), EMBEDTUNE_PARITY_OUT
# (output folder, default build/parity). Exit status: that of go test (results.md is written either way).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

full=${EMBEDTUNE_PARITY_FULL:-0}
bench=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=1; bench=1 ;;
    --bench) bench=1 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "parity.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -d "$root/../shared/data/squad-v1.1" ] || [ ! -d "$root/../shared/data/beir-scifact" ]; then
  echo "parity: SKIPPED: ../shared/data (SQuAD v1.1 dev and BEIR SciFact, next to the repository) is absent;" \
    "the parity suite compares on that data" >&2
  exit 0
fi

models=${EMBEDTUNE_MODELS:-$HOME/.cache/embedtune/models}
export EMBEDTUNE_MODELS=$models
"$root/scripts/fetch_weights.sh" fetch >/dev/null

export EMBEDTUNE_REAL_MODELS=$models
export EMBEDTUNE_PARITY_FULL=$full
export EMBEDTUNE_PYTHON=${EMBEDTUNE_PYTHON:-$("$root/scripts/pyenv.sh")}
export EMBEDTUNE_REQUIRE_PYTHON=1 EMBEDTUNE_REQUIRE_SHARED=1
export GOEXPERIMENT=simd
# go test runs in tests/parity: a relative output folder means relative to the repository root (where this
# script runs), so make it absolute here.
if [ -n "${EMBEDTUNE_PARITY_OUT:-}" ]; then
  mkdir -p "$EMBEDTUNE_PARITY_OUT"
  export EMBEDTUNE_PARITY_OUT=$(cd "$EMBEDTUNE_PARITY_OUT" && pwd)
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

args=(-count=1 -v)
if [ "$full" = 1 ]; then args+=(-timeout 24h); else args+=(-timeout 60m); fi
if [ "$bench" = 1 ]; then args+=(-bench . -benchtime 1x); fi
echo "parity: size $([ "$full" = 1 ] && echo full || echo ci), models in $models, python $EMBEDTUNE_PYTHON" >&2
status=0
go test "${args[@]}" "${extra[@]}" ./tests/parity/ || status=$?
out=${EMBEDTUNE_PARITY_OUT:-$root/build/parity}
if [ -f "$out/results.md" ]; then
  echo "parity: results in $out/results.md" >&2
fi
exit $status
