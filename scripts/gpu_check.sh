#!/usr/bin/env bash
# The accelerator check (issue 12): embedtune on XLA CUDA against sentence-transformers on PyTorch CUDA, in one
# run of under 8 minutes, on a machine with an NVIDIA GPU and NO internet. Its Python must have torch (CUDA),
# sentence-transformers and jax-cuda13-pjrt (the CUDA PJRT plugin, with the nvidia-* CUDA libraries); Go is
# optional there: the Go side is a test binary (tests/gpu) that `--prepare` builds here, with the data it needs,
# into build/gpu/ (an ignored folder to carry along).
#
#   scripts/gpu_check.sh --prepare   here: build build/gpu/gpucheck.test, build/gpu/data/pairs.jsonl (SQuAD
#                                    pairs from ../shared/data) and build/gpu/assets (echarts, if installed)
#   scripts/gpu_check.sh             on the GPU machine (builds the test binary itself when Go is installed)
#   scripts/gpu_check.sh --cpu       dry run of the same steps on the XLA CPU plugin, a small model and fp32
#
# What it does (tests/gpu/gpu_test.go, tests/reference/gpu_check.py): creates a random bge-base-shaped model (768×12,
# CLS pooling, normalized, dropout 0) as `embedtune init-model` does; compares embeddings of 64 SQuAD texts with
# SentenceTransformer.encode on CUDA (max |Δ| ≤ 1e-3, fp32); runs 30 fp16 training steps of both (MNRL, AdamW,
# lr 1e-4 (a random model learns little at 2e-5), batch 16, loss scaling) on exactly the same batches and checks both loss curves are finite and
# falling (overlaid in loss_curves.html); measures samples/s of both, encoding and training, at batch 16 and
# 64 with max_seq_length 256. When the backend has several devices (a multi-GPU machine; --cpu: 2 XLA CPU host
# devices) it also trains data-parallel on all of them with gather_across_devices on the same global batches
# (step losses vs 1 device) and measures samples/s at the largest batch; on one device the "multi-device"
# check says UNTESTED. With --cpu, EMBEDTUNE_XLA_CPU_DEVICES=2 exposes 2 host devices (embedtune sizes the
# plugin's thread pool for them, see the README's "Several devices"). It writes $OUT (default build/gpu-check): results.md (the table), results.json,
# loss_curves.html, log.txt, nvidia-smi.txt. Exit status: that of the checks.
#
# Environment: OUT, EMBEDTUNE_PYTHON (default: python3 on PATH; for --cpu the reference venv of
# scripts/pyenv.sh), GPU_CHECK_TIMEOUT (seconds, default 450).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gpu=$root/build/gpu
mode=cuda
case "${1:-}" in
  --prepare) mode=prepare ;;
  --cpu) mode=cpu ;;
  "") ;;
  -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
  *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
say() { echo "gpu_check: $*" >&2; }
export GOEXPERIMENT=simd

build_binary() {
  mkdir -p "$gpu"
  (cd "$root" && go test -c -ldflags='-s -w' -o "$gpu/gpucheck.test" ./tests/gpu)
}

if [ $mode = prepare ]; then
  squad=$root/../shared/data/squad-v1.1/dev-v1.1.json
  [ -f "$squad" ] || { say "ERROR: $squad is absent (needed once, to write build/gpu/data/pairs.jsonl)"; exit 1; }
  say "building the Go side (test binary) into $gpu"
  build_binary
  mkdir -p "$gpu/data"
  python3 - "$squad" "$gpu/data/pairs.jsonl" <<'PY'
import json, sys
squad, out = sys.argv[1:]
rows = []
for art in json.load(open(squad))["data"]:
    for p in art["paragraphs"]:
        for q in p["qas"][:1]:  # One question per context: no duplicate positives in a batch.
            rows.append({"question": q["question"], "context": p["context"]})
with open(out, "w") as f:
    for r in rows[:1200]:
        f.write(json.dumps(r) + "\n")
PY
  if [ -f "$root/kernel/assets/embedtune/echarts-5.6.0.min.js" ]; then
    mkdir -p "$gpu/assets" && cp -r "$root/kernel/assets/embedtune" "$gpu/assets/"
  fi
  say "ready: $(du -sh "$gpu" | cut -f1) in $gpu (carry it along: build/gpu); glibc here: $(ldd --version | head -1)"
  exit 0
fi

out=${OUT:-$root/build/gpu-check}
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee "$out/log.txt") 2>&1
start=$(date +%s)
if command -v go >/dev/null 2>&1; then
  say "Go $(go env GOVERSION) found: building the test binary"
  build_binary
elif [ -x "$gpu/gpucheck.test" ]; then
  say "no Go toolchain: using the prepared $gpu/gpucheck.test"
else
  say "ERROR: no Go toolchain and no prepared $gpu/gpucheck.test (run scripts/gpu_check.sh --prepare where Go is installed, and carry build/gpu)"
  exit 1
fi
[ -f "$gpu/data/pairs.jsonl" ] || { say "ERROR: $gpu/data/pairs.jsonl is missing (scripts/gpu_check.sh --prepare)"; exit 1; }

if [ $mode = cpu ]; then
  py=${EMBEDTUNE_PYTHON:-$("$root/scripts/pyenv.sh")}
  export GOMLX_BACKEND=${GOMLX_BACKEND:-xla:cpu}
  engine="XLA CPU" device=cpu precision=fp32
  shape='"hidden_size": 128, "num_layers": 2, "num_heads": 4, "intermediate_size": 512, "max_seq_length": 64'
  sizes='"texts": 32, "tolerance": 1e-5, "steps": 30, "batch_size": 16, "bench_batches": [16, 64], "bench_steps": 2'
else
  py=${EMBEDTUNE_PYTHON:-python3}
  nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || say "WARNING: nvidia-smi failed (see $out/nvidia-smi.txt)"
  plugin=$("$py" -c 'import os, jax_plugins.xla_cuda13 as p; print(os.path.join(os.path.dirname(p.__file__), "xla_cuda_plugin.so"))') || {
    say "ERROR: $py cannot import jax_plugins.xla_cuda13 (pip package jax-cuda13-pjrt)"; exit 1; }
  export GOMLX_BACKEND=xla:$plugin
  engine="XLA CUDA" device=cuda precision=fp16
  shape='"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072, "max_seq_length": 256'
  sizes='"texts": 64, "tolerance": 1e-3, "steps": 30, "batch_size": 16, "bench_batches": [16, 64], "bench_steps": 3'
fi
"$py" -c 'import torch, sentence_transformers, transformers; print("python:", torch.__version__, "torch,", sentence_transformers.__version__, "sentence-transformers,", transformers.__version__, "transformers; cuda:", torch.cuda.is_available())' ||
  { say "ERROR: $py lacks torch / sentence-transformers"; exit 1; }
say "engine $engine ($GOMLX_BACKEND), device $device, $precision"

cat >"$out/request.json" <<JSON
{"out": "$out", "device": "$device", "precision": "$precision", "engine": "$engine", $shape, $sizes,
 "tokenizer": "$root/trainlib/tokenizer/testdata/hf/minilm", "pairs_file": "$gpu/data/pairs.jsonl", "learning_rate": 1e-4}
JSON
status=0
(cd "$root/tests/gpu" && EMBEDTUNE_GPU_CHECK="$out/request.json" EMBEDTUNE_PYTHON="$py" EMBEDTUNE_REQUIRE_PYTHON=1 \
  EMBEDTUNE_XLA_CACHE="$out/xla-cache" EMBEDTUNE_ASSETS_DIR="$gpu/assets" HF_HUB_OFFLINE=1 \
  timeout "${GPU_CHECK_TIMEOUT:-450}" "$gpu/gpucheck.test" -test.run '^TestGPUCheck$' -test.v -test.timeout 9m) || status=$?
rm -rf "$out/xla-cache" "$out/model"
say "finished in $(($(date +%s) - start)) s with status $status; results in $out"
[ -f "$out/results.md" ] && cat "$out/results.md"
exit $status
