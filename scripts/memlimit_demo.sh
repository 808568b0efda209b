#!/usr/bin/env bash
# Shows, under a REAL memory limit (a Linux control group), a batch that does not fit with
# MultipleNegativesRankingLoss training with CachedMultipleNegativesRankingLoss (GradCache) in the same memory:
#
#   1. MNRL, batch B, in a control group limited to L: refused by the memory check before the first step, with
#      the estimate, the limit it read and "CachedMultipleNegativesRankingLoss with mini_batch_size N" among the fixes;
#   2. the same with --skip-memory-check: killed by the kernel's OOM killer (exit status 137, the group's
#      oom_kill count);
#   3. CachedMNRL with mini_batch_size M, same batch, same limit: trains; its peak resident memory (GNU time's
#      "Maximum resident set size") and the group's peak usage stay within L.
#
# The model is a random all-MiniLM-L6-v2-shaped BERT (`embedtune init-model`, 384×6, max_seq_length 128), the data
# SQuAD v1.1 dev (question, context) pairs from ../shared/data (synthetic pairs when that is absent), fp32, AdamW,
# a few steps, on the default engine (XLA CPU when scripts/pjrt.sh installed it; GOMLX_BACKEND=go for pure Go).
# Defaults: B=64, M=8, L=2600 MiB — between the peaks measured for the two losses at this batch on both CPU
# engines (docs/performance.md, "Memory").
#
#   scripts/memlimit_demo.sh                  # as above (root, or a delegated cgroup; about 5 minutes on 2 cores)
#   MEMLIMIT_MIB=3000 BATCH=64 MINI=8 STEPS=3 scripts/memlimit_demo.sh
#
# Control groups: cgroup v2 (a child of this shell's group, memory.max, with the memory controller enabled in
# the parent's cgroup.subtree_control) or v1 (/sys/fs/cgroup/memory/<child>, memory.limit_in_bytes), whichever
# is writable; the group is removed at the end. Neither writable: a message and exit status 2. Output: the
# three outcomes and a summary; the logs are kept in $OUT (default build/memlimit_demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build/memlimit_demo}
limit_mib=${MEMLIMIT_MIB:-2600}
batch=${BATCH:-64}
mini=${MINI:-8}
steps=${STEPS:-3}
say() { echo "memlimit_demo: $*" >&2; }
export GOEXPERIMENT=simd
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- a control group with a memory limit ---------------------------------------------------------------
name=embedtune-memlimit-demo.$$
cg= version=
v2_self=$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null | head -1)
if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
  parent=/sys/fs/cgroup${v2_self%/}
  # A process may not sit in a group whose children have controllers ("no internal processes"): the
  # demo's group is a sibling's child only where the parent delegates memory to its children.
  if grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null || echo +memory >"$parent/cgroup.subtree_control" 2>/dev/null; then
    if mkdir "$parent/$name" 2>/dev/null; then
      cg=$parent/$name version=2
      echo $((limit_mib << 20)) >"$cg/memory.max"
      echo 0 >"$cg/memory.swap.max" 2>/dev/null || true
    fi
  fi
fi
if [ -z "$cg" ] && [ -w /sys/fs/cgroup/memory ] && [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  if mkdir "/sys/fs/cgroup/memory/$name" 2>/dev/null; then
    cg=/sys/fs/cgroup/memory/$name version=1
    echo $((limit_mib << 20)) >"$cg/memory.limit_in_bytes"
    echo $((limit_mib << 20)) >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true # no swap beyond the limit
  fi
fi
if [ -z "$cg" ]; then
  say "no writable memory control group here: cgroup v2 needs the memory controller delegated to this shell's"
  say "group (${v2_self:-none}), cgroup v1 a writable /sys/fs/cgroup/memory. Run as root, or in a container or"
  say "systemd scope that delegates memory (systemd-run --user --scope -p Delegate=yes bash $0)."
  exit 2
fi
cleanup() { rmdir "$cg" 2>/dev/null || true; }
trap cleanup EXIT
say "cgroup v$version group $cg limited to $limit_mib MiB"

# oom_kills prints how many processes the kernel's OOM killer killed in the group so far.
oom_kills() {
  if [ $version = 2 ]; then
    awk '$1 == "oom_kill" {print $2}' "$cg/memory.events"
  else
    awk '$1 == "oom_kill" {print $2; f=1} END {if (!f) print 0}' "$cg/memory.oom_control"
  fi
}
# group_peak prints the group's peak memory use in MiB (page cache included), and resets it where it can.
group_peak() {
  local b
  if [ $version = 2 ]; then b=$(cat "$cg/memory.peak" 2>/dev/null || echo 0); else b=$(cat "$cg/memory.max_usage_in_bytes"); fi
  echo $((b >> 20))
  if [ $version = 1 ]; then echo 0 >"$cg/memory.max_usage_in_bytes" 2>/dev/null || true; fi
}

# --- the CLI, the model, the data -----------------------------------------------------------------------
say "building the CLI"
(cd "$root" && go build -o "$out/embedtune" ./cmd/embedtune)
et=$out/embedtune
if [ ! -f "$out/model/config.json" ]; then
  rm -rf "$out/model"
  "$et" init-model --tokenizer "$root/trainlib/tokenizer/testdata/hf/minilm" --out "$out/model" --hidden-size 384 \
    --num-layers 6 --num-heads 12 --intermediate-size 1536 --pooling mean --normalize --max-seq-length 128 >/dev/null
fi
squad=$root/../shared/data/squad-v1.1/dev-v1.1.json
python3 - "$squad" "$out/pairs.jsonl" "$((batch * (steps + 1)))" <<'PY'
import json, os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pairs = []
if os.path.exists(src):
    for a in json.load(open(src))["data"]:
        for p in a["paragraphs"]:
            if p["qas"]:
                pairs.append({"question": p["qas"][0]["question"], "context": p["context"]})
else:
    print("memlimit_demo: SQuAD is absent: synthetic pairs", file=sys.stderr)
    words = "the of a river city museum built century king music team war science law language".split()
    for i in range(n):
        pairs.append({"question": f"what is {words[i % len(words)]} number {i}?",
                      "context": " ".join(words[(i + k) % len(words)] for k in range(200)) + f" {i}"})
with open(dst, "w") as f:
    for p in pairs[:n]:
        f.write(json.dumps(p) + "\n")
PY
config() { # config LOSS_YAML NAME
  cat >"$out/$2.yaml" <<YAML
model: $out/model
train_dataset: {source: $out/pairs.jsonl, columns: [question, context]}
loss: $1
args:
  output_dir: $out/run-$2
  overwrite_output_dir: true
  max_steps: $steps
  per_device_train_batch_size: $batch
  learning_rate: 5.0e-5
  logging_steps: 1
  save_strategy: "no"
YAML
}
config "{name: MultipleNegativesRankingLoss}" mnrl
config "{name: CachedMultipleNegativesRankingLoss, mini_batch_size: $mini}" cached

# train NAME [FLAGS...]: runs embedtune train in the group under GNU time; sets rc, peak_mib (the process's
# peak resident memory), cg_peak_mib and kills (OOM kills during the run).
train() {
  local name=$1
  shift
  local before
  before=$(oom_kills)
  group_peak >/dev/null
  set +e
  bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" \
    /usr/bin/time -f 'peak_rss_kb %M' -o "$out/$name.time" "$et" train --config "$out/${name%%-*}.yaml" --no-progress "$@" \
    >"$out/$name.log" 2>&1
  rc=$?
  set -e
  peak_mib=$(($(awk '/^peak_rss_kb/ {print $2}' "$out/$name.time" 2>/dev/null || echo 0) / 1024))
  cg_peak_mib=$(group_peak)
  kills=$(($(oom_kills) - before))
}

say "1. MNRL, batch $batch, in $limit_mib MiB: the memory check"
train mnrl
mnrl_rc=$rc
if [ $rc = 0 ] || ! grep -q 'not enough memory for this run' "$out/mnrl.log"; then
  say "FAIL: MNRL at batch $batch was not refused by the memory check (exit $rc):"
  tail -5 "$out/mnrl.log" >&2
  exit 1
fi
refusal=$(grep -o 'not enough memory for this run.*' "$out/mnrl.log" | head -1)
echo "$refusal" | grep -q 'CachedMultipleNegativesRankingLoss with mini_batch_size' ||
  { say "FAIL: the refusal does not suggest CachedMultipleNegativesRankingLoss:"; echo "$refusal" >&2; exit 1; }
echo "   refused (exit $mnrl_rc): $refusal"

say "2. MNRL, batch $batch, in $limit_mib MiB, --skip-memory-check"
train mnrl-skip --skip-memory-check
skip_rc=$rc skip_kills=$kills skip_peak=$peak_mib skip_cg_peak=$cg_peak_mib
if [ "$skip_kills" -gt 0 ] || [ $skip_rc = 137 ]; then
  echo "   killed by the kernel's OOM killer: exit status $skip_rc, oom_kill +$skip_kills in the group, group peak $skip_cg_peak MiB"
else
  say "FAIL: MNRL at batch $batch under $limit_mib MiB was not killed (exit $skip_rc, peak RSS $skip_peak MiB):"
  tail -5 "$out/mnrl-skip.log" >&2
  exit 1
fi

say "3. CachedMNRL (mini_batch_size $mini), batch $batch, in $limit_mib MiB"
train cached
cached_rc=$rc cached_peak=$peak_mib cached_cg_peak=$cg_peak_mib
if [ $cached_rc != 0 ]; then
  say "FAIL: CachedMNRL did not train (exit $cached_rc, OOM kills $kills):"
  tail -5 "$out/cached.log" >&2
  exit 1
fi
loss=$(grep -o '"train_loss": [0-9.e+-]*' "$out/cached.log" | tail -1 || true)
echo "   trained $steps steps (exit 0, $loss): peak RSS $cached_peak MiB, group peak $cached_cg_peak MiB (page cache included), limit $limit_mib MiB"
if [ "$cached_peak" -gt "$limit_mib" ]; then
  say "FAIL: CachedMNRL's peak RSS $cached_peak MiB exceeds the limit"
  exit 1
fi

engine=$("$et" env 2>/dev/null | python3 -c 'import json,sys; print((json.load(sys.stdin).get("engine") or {}).get("engine","?"))' 2>/dev/null || echo "?")
cat <<EOF

| run (batch $batch, MiniLM-L6 shape, 128 tokens, $engine, cgroup v$version limit $limit_mib MiB) | outcome | peak RSS |
|---|---|---|
| MultipleNegativesRankingLoss | refused by the memory check (exit $mnrl_rc), suggests CachedMNRL | – |
| MultipleNegativesRankingLoss, --skip-memory-check | OOM-killed (exit $skip_rc, oom_kill +$skip_kills) | killed at the limit ($skip_peak MiB resident, mapped files included) |
| CachedMultipleNegativesRankingLoss, mini_batch_size $mini | trained $steps steps | $cached_peak MiB |
EOF
