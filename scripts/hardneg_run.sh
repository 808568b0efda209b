#!/usr/bin/env bash
# The documented hard-negative run of issue 15 (scripts/hardneg/main.go): SQuAD v1.1 dev split by
# article, the same base model fine-tuned with in-batch negatives only and with one mined hard negative
# per pair, in-domain nDCG@10 (held-out articles) and out-of-domain nDCG@10 (SciFact) before and after;
# the table goes to docs/hard_negatives.md.
#
#   scripts/hardneg_run.sh [-- FLAGS OF scripts/hardneg]    e.g. -- -steps 300 -model ~/.cache/embedtune/models/bge-small-en-v1.5
#
# Fetches the real weights (scripts/fetch_weights.sh) and uses XLA CPU when its PJRT plugin is installed
# ($GOMLX_BACKEND wins; scripts/pjrt.sh installs the plugin), else the pure-Go backend. About 20-30
# minutes on a shared 2-core machine with XLA CPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -d ../shared/data/squad-v1.1 ] || [ ! -d ../shared/data/beir-scifact ]; then
  echo "hardneg_run: ../shared/data (SQuAD v1.1 dev and BEIR SciFact) is missing" >&2
  exit 2
fi
"$root/scripts/fetch_weights.sh" fetch all-MiniLM-L6-v2 >/dev/null
if [ -z "${GOMLX_BACKEND:-}" ]; then
  plugin=$(find "${EMBEDTUNE_PJRT:-$HOME/.cache/embedtune/pjrt}" -name 'xla_cpu_pjrt.so' -o -name 'pjrt_c_api_cpu_plugin.so' 2>/dev/null | head -1 || true)
  if [ -n "$plugin" ]; then
    export GOMLX_BACKEND="xla:$plugin"
  fi
fi
echo "hardneg_run: backend ${GOMLX_BACKEND:-go (default)}" >&2
[ "${1:-}" = "--" ] && shift
GOEXPERIMENT=simd go run ./scripts/hardneg "$@"
