#!/usr/bin/env bash
# Measures the peak memory of training runs and compares it with memplan's estimate: each case trains
# a randomly initialized model of a real model's shape in a child process (trainlib's TestMemoryBench)
# and prints the estimate, the measured peak RSS and their ratio. The CI test
# (TestEstimateMatchesMeasuredPeak) covers the all-MiniLM-L6-v2 and bge-small-en-v1.5 shapes at small
# batches; this script runs the bge-base-en-v1.5 shape and larger batches (minutes per case on 2 cores).
#
#   scripts/memplan_bench.sh                                  bge-base: 16x128, 16x256, 32x128 and 16x128+lora
#   scripts/memplan_bench.sh 'all-MiniLM-L6-v2:16x64,32x128+fp16'
#   GOMLX_BACKEND=go scripts/memplan_bench.sh                 the pure-Go engine (default: the default engine)
#
# Cases are SHAPE:BATCHxLEN[+lora][+fp16][+ckpt][+miniN],... with SHAPE one of all-MiniLM-L6-v2,
# bge-small-en-v1.5, bge-base-en-v1.5; +ckpt is gradient_checkpointing, +miniN
# CachedMultipleNegativesRankingLoss with mini_batch_size N (MNRL otherwise). Output: one "RESULT {json}"
# line per case and a table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOEXPERIMENT=simd
spec=${1:-bge-base-en-v1.5:16x128,16x256,32x128,16x128+lora}
go test -c -o "${TMPDIR:-/tmp}/embedtune-memplan.test" ./trainlib
EMBEDTUNE_MEMORY_BENCH="$spec" "${TMPDIR:-/tmp}/embedtune-memplan.test" -test.run '^TestMemoryBench$' -test.v -test.timeout 3h |
  tee "${TMPDIR:-/tmp}/embedtune-memplan.log" | grep '^RESULT ' | sed 's/^RESULT //' |
  python3 -c '
import json, sys
print(f"{\"shape\":<18} {\"case\":<16} {\"engine\":<9} {\"estimate\":>9} {\"measured\":>9} {\"ratio\":>6}")
for line in sys.stdin:
    r = json.loads(line)
    case = f"{r[\"Batch\"]}x{r[\"SeqLen\"]}" + ("+lora" if r["LoRA"] else "") + ("+fp16" if r["FP16"] else "") + ("+ckpt" if r.get("Checkpointing") else "") + (f"+mini{r[\"MiniBatch\"]}" if r.get("MiniBatch") else "")
    print(f"{r[\"Name\"]:<18} {case:<16} {r[\"Engine\"]:<9} {r[\"Estimate\"]/2**20:>7.0f}Mi {r[\"Peak\"]/2**20:>7.0f}Mi {r[\"Estimate\"]/r[\"Peak\"]:>6.2f}")
'
