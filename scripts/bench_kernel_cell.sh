#!/usr/bin/env bash
# Benchmark (issue 6): wall time to re-run a trivial trainlib-importing cell in a warm embedtune (GoNB)
# kernel — go build with a warm cache plus the program's start. Prints each re-run and the median.
#   scripts/bench_kernel_cell.sh [--runs N] [--package IMPORT_PATH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
[ -x "$venv/bin/python" ] || { echo "bench_kernel_cell: the kernel is not installed: run kernel/install.sh" >&2; exit 1; }
exec "$venv/bin/python" "$root/tests/notebooks/bench_cell.py" "$@"
