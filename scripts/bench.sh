#!/usr/bin/env bash
# Side-by-side benchmark of the three CPU engines (issue 12), in one run on this machine: the pure-Go backend,
# XLA CPU (the default engine) and PyTorch CPU (sentence-transformers), on random MiniLM-shaped (384×6) and
# bge-base-shaped (768×12) BERT models made with `embedtune init-model`, at max_seq_length 128 and 256:
#
#   encode     passages/s, batches of 32 passages of exactly max_seq_length tokens (after one warm-up batch);
#   training   s/step (median), MultipleNegativesRankingLoss, AdamW, fp32, dropout on, 16 (anchor, positive)
#              pairs with both columns max_seq_length tokens; the first step apart: it includes compilation
#              (XLA compiles each graph once per machine and then loads it from its compile cache: "cached");
#   peak RSS   of each measuring process (one process per engine, model, length and workload).
#   memory     peak resident memory of a training step (BenchmarkTrainMemory, one process per configuration,
#              query 32 / passage 128 tokens, fp32, AdamW): MNRL at batches 2, 8, 16, 64, MNRL with
#              gradient_checkpointing, CachedMNRL (GradCache) with mini-batches of 4 (batch 16) and 8
#              (batch 64), beside memplan's estimate (what the pre-run memory check uses); MiniLM-shaped on
#              XLA CPU and pure Go, bge-base-shaped (batches 16 and 64) on XLA CPU: ~12 GB, about an hour.
#   devices    training s/step on XLA CPU with the same global batch of 16 split over N host devices
#              (EMBEDTUNE_XLA_CPU_DEVICES=N, num_devices N, MNRL gather_across_devices), beside 1 device. Host
#              devices share the machine's cores: this measures the SPMD path's overhead, not a speedup.
#
# Ratios are against PyTorch measured in the same run (speed: > 1 means faster than PyTorch). It is NOT a test:
# nothing fails on a slow number. Results: $OUT/results.md (the table) and $OUT/results/*.json.
#
#   scripts/bench.sh            everything (long: the pure-Go bge-base steps take minutes each on 2 cores)
#   scripts/bench.sh --quick    MiniLM at 128 tokens, fewer passages and steps (a few minutes)
#   scripts/bench.sh --resume   keep the results already in $OUT/results (e.g. after an interruption)
#   scripts/bench.sh --devices N    data-parallel row on N XLA CPU host devices (default 2; 1: no such row)
#   scripts/bench.sh --memory   the memory table only (with --quick: MiniLM only, about 15 min on 2 cores)
#   scripts/bench.sh --no-memory    the speed table only (the memory cases add about an hour on 2 cores;
#                               with --resume, memory results already in $OUT/results still make the table)
#
# Environment: OUT (default build/bench), BENCH_ENGINES (default "go xla torch"), EMBEDTUNE_PYENV (see pyenv.sh),
# BENCH_XLA_BACKEND (default xla:cpu; e.g. xla:/abs/path/pjrt_c_api_cpu_plugin.so for another XLA CPU plugin).
# Needs ../shared/data (SQuAD v1.1 dev, for the texts).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build/bench}
quick=0 resume=0 devices=2 memory_only=0 memory=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --resume) resume=1 ;;
    --memory) memory_only=1 ;;
    --no-memory) memory=0 ;;
    --devices)
      devices=${2:-}
      shift
      [[ "$devices" =~ ^[0-9]+$ ]] && ((devices >= 1 && 16 % devices == 0)) || { echo "bench.sh: --devices needs a number of devices dividing the batch of 16 (1, 2, 4, 8, 16)" >&2; exit 2; }
      ;;
    -h | --help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "bench: $*" >&2; }
export GOEXPERIMENT=simd HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$out/results"
out=$(cd "$out" && pwd)
if [ $resume = 0 ]; then
  if [ $memory_only = 1 ]; then rm -f "$out"/results/memory-*.json; else rm -f "$out"/results/*.json; fi
fi

# name:hidden:layers:heads:intermediate:pooling
models="minilm:384:6:12:1536:mean bge-base:768:12:12:3072:cls"
lens="128 256" passages=64 steps=3
if [ $quick = 1 ]; then
  models="minilm:384:6:12:1536:mean" lens=128 passages=32 steps=1
fi
engines=${BENCH_ENGINES:-go xla torch}
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)

# memory_bench ENGINE PATTERN... runs BenchmarkTrainMemory's cases matching each PATTERN (-test.bench's after
# "TrainMemory/", e.g. 'bge-base/batch(16|64)/') on ENGINE (go, xla) into results/memory-ENGINE.json: one object
# per configuration with its metrics.
trainlib_built=0
memory_bench() {
  local engine=$1 res=$out/results/memory-$1.json backend=go pattern avail
  shift
  if [ $resume = 1 ] && [ -s "$res" ]; then return; fi
  [ "$engine" = go ] || backend=${BENCH_XLA_BACKEND:-xla:cpu}
  avail=$(($(awk '/^MemAvailable/ {print $2}' /proc/meminfo) >> 20))
  say "memory, $engine: $* ($avail GiB available; bge-base at batch 64 needs ~12 GB)"
  if [ $trainlib_built = 0 ]; then # one test binary for both engines (the engine is chosen at run time)
    (cd "$root" && go test -c -o "$out/trainlib.test" ./trainlib)
    trainlib_built=1
  fi
  : >"$out/results/memory-$engine.log"
  for pattern in "$@"; do
    (cd "$root/trainlib" && GOMLX_BACKEND=$backend "$out/trainlib.test" -test.run '^$' -test.bench "TrainMemory/$pattern" \
      -test.benchtime 1x -test.timeout 3h >>"$out/results/memory-$engine.log" 2>&1) || say "FAILED memory $engine $pattern (see $out/results/memory-$engine.log)"
  done
  python3 - "$out/results/memory-$engine.log" "$res" <<'PY'
import json, re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"BenchmarkTrainMemory/(\S+?)(-\d+)?\s+\d+\s+(.*)", line)
    if m:
        metrics = {unit: float(v) for v, unit in re.findall(r"([\d.e+-]+) (\S+)", m.group(3))}
        rows.append({"case": m.group(1), **metrics})
json.dump(rows, open(sys.argv[2], "w"), indent=1)
PY
}

if [ $memory_only = 1 ]; then
  "$root/scripts/pjrt.sh" >/dev/null || true
  say "$(nproc) cores ($cpu), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ $quick = 1 ]; then memory_bench xla MiniLM-L6/; else memory_bench xla MiniLM-L6/ 'bge-base/batch(16|64)/'; fi
  memory_bench go MiniLM-L6/
  models=""
else
  py=$("$root/scripts/pyenv.sh")
  "$root/scripts/pjrt.sh" >/dev/null
fi
if [ -n "$models" ]; then
  say "building the CLI and the Go side (tests/bench)"
  (cd "$root" && go build -o "$out/embedtune" ./cmd/embedtune && go test -c -o "$out/bench.test" ./tests/bench)
  squad=$root/../shared/data/squad-v1.1/dev-v1.1.json
  [ -f "$squad" ] || { say "ERROR: $squad is absent (the texts come from SQuAD v1.1 dev)"; exit 1; }
  # Texts of 6 consecutive contexts: longer than 256 tokens, so every batch is [rows, max_seq_length].
  python3 - "$squad" "$out/texts.json" <<'PY'
import json, sys
ctx = [p["context"] for a in json.load(open(sys.argv[1]))["data"] for p in a["paragraphs"]]
json.dump([" ".join(ctx[i * 6:(i + 1) * 6]) for i in range(256)], open(sys.argv[2], "w"))
PY
fi
tok=$root/trainlib/tokenizer/testdata/hf/minilm
for spec in $models; do
  IFS=: read -r name hidden layers heads inter pool <<<"$spec"
  if [ ! -f "$out/models/$name/config.json" ]; then
    rm -rf "$out/models/$name"
    GOMLX_BACKEND=go "$out/embedtune" init-model --tokenizer "$tok" --out "$out/models/$name" --hidden-size "$hidden" \
      --num-layers "$layers" --num-heads "$heads" --intermediate-size "$inter" --pooling "$pool" --max-seq-length 512 >/dev/null
  fi
done

rm -rf "$out/xla-cache"
[ -z "$models" ] || say "$(nproc) cores ($cpu), load average $(cut -d' ' -f1-3 /proc/loadavg), engines: $engines"

# run KEY ENGINE MODE MODEL L [STEPS] measures one cell in its own process.
run() {
  local key=$1 engine=$2 mode=$3 name=$4 len=$5 nsteps=${6:-$steps} ndev=1
  local res=$out/results/$key.json req=$out/results/$key.request.json
  if [ $resume = 1 ] && [ -s "$res" ]; then return; fi
  local t0=$(date +%s)
  if [ "$engine" = torch ]; then
    python3 - "$out/texts.json" "$req" "$mode" "$out/models/$name" "$len" "$passages" "$nsteps" <<'PY'
import json, sys
texts, req, mode, model, L, passages, steps = sys.argv[1:]
t = json.load(open(texts))
r = {"mode": mode, "model": model, "max_seq_length": int(L), "threads": 2}
if mode == "encode":
    r.update(texts=t[:int(passages)], batch_size=32)
else:
    n = 16 * (int(steps) + 1)
    r.update(anchors=[t[i % len(t)] for i in range(n)], positives=[t[(i + 1) % len(t)] for i in range(n)],
             batch_size=16, steps=int(steps), learning_rate=2e-5)
json.dump(r, open(req, "w"))
PY
    "$py" "$root/tests/reference/parity_bench.py" "$req" >"$res.tmp" 2>"$out/results/$key.log" || { say "FAILED $key (see $out/results/$key.log)"; return; }
  else
    # XLA runs share a compile cache, emptied at the start: the "xla" run of a cell compiles (and stores),
    # the "xla-cached" run after it loads.
    local backend=go cache=off bs=32
    [ "$engine" = go ] || backend=${BENCH_XLA_BACKEND:-xla:cpu} cache=$out/xla-cache
    case "$engine" in xla-d*) ndev=${engine#xla-d} ;; esac
    [ "$mode" = encode ] || bs=16
    printf '{"mode": "%s", "model": "%s", "max_seq_length": %d, "texts_file": "%s", "passages": %d, "batch_size": %d, "steps": %d, "devices": %d, "out": "%s"}\n' \
      "$mode" "$out/models/$name" "$len" "$out/texts.json" "$passages" "$bs" "$nsteps" "$ndev" "$res.tmp" >"$req"
    (cd "$root/tests/bench" && EMBEDTUNE_BENCH="$req" GOMLX_BACKEND=$backend EMBEDTUNE_XLA_CACHE=$cache EMBEDTUNE_XLA_CPU_DEVICES=$ndev \
      "$out/bench.test" -test.run '^TestBench$' -test.timeout 3h >"$out/results/$key.log" 2>&1) || { say "FAILED $key (see $out/results/$key.log)"; return; }
  fi
  mv "$res.tmp" "$res"
  say "$key: $(($(date +%s) - t0)) s"
}

for spec in $models; do
  name=${spec%%:*}
  for len in $lens; do
    for mode in encode train; do
      for engine in $engines; do
        run "$name-$len-$mode-$engine" "$engine" "$mode" "$name" "$len"
        if [ "$engine" = xla ]; then
          # The first call of a later process, with the executable in the compile cache.
          run "$name-$len-$mode-xla-cached" xla-cached "$mode" "$name" "$len" 0
          if [ "$mode" = train ] && [ "$devices" -gt 1 ]; then
            run "$name-$len-train-xla-d$devices" "xla-d$devices" train "$name" "$len"
          fi
        fi
      done
    done
  done
done
if [ -n "$models" ] && [ $quick = 0 ] && [ $memory = 1 ]; then
  case " $engines " in *" xla "*) memory_bench xla MiniLM-L6/ 'bge-base/batch(16|64)/' ;; esac
  case " $engines " in *" go "*) memory_bench go MiniLM-L6/ ;; esac
fi

python3 - "$out" "$cpu" "$quick" "$devices" <<'PY'
import json, os, sys, time
out, cpu, quick, ndev = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
def res(key):
    p = os.path.join(out, "results", key + ".json")
    return json.load(open(p)) if os.path.exists(p) else None
def get(r, *ks):
    for k in ks:
        if r is None or k not in r:
            return None
        r = r[k]
    return r
def f(x, fmt="%.2f"):
    return "–" if x is None else fmt % x
def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b
def gb(x):
    return None if x is None else x / 2**30
rows = []
models = sorted({k.split("-")[0] if not k.startswith("bge-base") else "bge-base" for k in os.listdir(os.path.join(out, "results"))})
load = open("/proc/loadavg").read().split()[:3]
lines = [f"Machine: {os.cpu_count()} cores, {cpu}; load average at the end {' '.join(load)}; {time.strftime('%Y-%m-%d')}" +
         (" (quick mode)" if quick else ""), ""]
lines.append("| model, max_seq_length | workload | pure Go | XLA CPU | PyTorch CPU | XLA ÷ PyTorch | pure Go ÷ PyTorch |")
lines.append("|---|---|---|---|---|---|---|")
for name, label in (("minilm", "MiniLM-shaped (384×6)"), ("bge-base", "bge-base-shaped (768×12)")):
    for L in (128, 256):
        k = f"{name}-{L}"
        if res(f"{k}-encode-torch") is None and res(f"{k}-encode-xla") is None and res(f"{k}-train-xla") is None:
            continue
        e = {x: res(f"{k}-encode-{x}") for x in ("go", "xla", "torch", "xla-cached")}
        t = {x: res(f"{k}-train-{x}") for x in ("go", "xla", "torch", "xla-cached")}
        enc = {x: get(e[x], "passages_per_second") for x in ("go", "xla", "torch")}
        step = {"go": get(t["go"], "median_step_seconds"), "xla": get(t["xla"], "median_step_seconds")}
        ts = get(t["torch"], "step_seconds")
        step["torch"] = sorted(ts)[len(ts) // 2] if ts else None
        first = {"go": get(t["go"], "first_seconds"), "xla": get(t["xla"], "first_seconds"), "torch": get(t["torch"], "first_step_seconds")}
        m = f"{label}, {L}"
        rows.append(f"| {m} | encode, passages/s | {f(enc['go'], '%.1f')} | {f(enc['xla'], '%.1f')} | {f(enc['torch'], '%.1f')} | "
                    f"{f(ratio(enc['xla'], enc['torch']))}× | {f(ratio(enc['go'], enc['torch']))}× |")
        rows.append(f"| | training, s/step | {f(step['go'], '%.2f')} | {f(step['xla'], '%.2f')} | {f(step['torch'], '%.2f')} | "
                    f"{f(ratio(step['torch'], step['xla']))}× | {f(ratio(step['torch'], step['go']))}× |")
        dn = get(res(f"{k}-train-xla-d{ndev}"), "median_step_seconds") if ndev > 1 else None
        if dn is not None:
            rows.append(f"| | training, s/step, global batch 16 on {ndev} XLA CPU host devices (gather_across_devices; "
                        f"same cores: overhead, not speedup) | | {f(dn, '%.2f')} ({f(ratio(dn, step['xla']))}× the 1-device step) | "
                        f"| {f(ratio(step['torch'], dn))}× | |")
        xc = get(t["xla-cached"], "first_seconds")
        rows.append(f"| | first training step, s (compilation; XLA with a cached executable) | {f(first['go'], '%.1f')} | "
                    f"{f(first['xla'], '%.1f')} ({f(xc, '%.1f')} cached) | {f(first['torch'], '%.1f')} | | |")
        ec, ecx = get(e["xla"], "first_seconds"), get(e["xla-cached"], "first_seconds")
        rows.append(f"| | first encode batch, s (XLA cached) | {f(get(e['go'], 'first_seconds'), '%.1f')} | {f(ec, '%.1f')} ({f(ecx, '%.1f')} cached) | | | |")
        rss = lambda d, x: gb(get(d[x], "max_rss_bytes"))
        rows.append(f"| | peak RSS encode / training, GB | {f(rss(e, 'go'))} / {f(rss(t, 'go'))} | {f(rss(e, 'xla'))} / {f(rss(t, 'xla'))} | "
                    f"{f(rss(e, 'torch'))} / {f(rss(t, 'torch'))} | {f(ratio(rss(t, 'xla'), rss(t, 'torch')))}× (training) | {f(ratio(rss(t, 'go'), rss(t, 'torch')))}× |")
lines += rows
mem = {e: json.load(open(os.path.join(out, "results", f"memory-{e}.json"))) for e in ("xla", "go")
       if os.path.exists(os.path.join(out, "results", f"memory-{e}.json"))}
if mem:
    if not rows:
        lines = lines[:1]
    lines += ["", "Peak resident memory of a training step (BenchmarkTrainMemory: random weights, fp32, AdamW, queries 32 and "
              "passages 128 tokens, one process per configuration, the compiling step excluded), MiB; in brackets memplan's "
              "estimate of the whole run's peak (compilation included), what the memory check compares with the memory available.", "",
              "| shape | configuration | " + " | ".join({"xla": "XLA CPU", "go": "pure Go"}[e] for e in mem) + " |",
              "|---|---|" + "---|" * len(mem)]
    by = {e: {r["case"]: r for r in rs} for e, rs in mem.items()}
    cases = []
    for rs in mem.values():
        cases += [r["case"] for r in rs if r["case"] not in cases]
    for case in cases:
        shape, conf = case.split("/", 1)
        cells = []
        for e in mem:
            r = by[e].get(case)
            est = None if r is None else r.get("estimate-MiB")
            cells.append("–" if r is None else f"{r.get('peak-MiB', 0):,.0f}" + (f" ({est:,.0f})" if est else ""))
        lines.append(f"| {shape} | {conf.replace('/', ', ')} | " + " | ".join(cells) + " |")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "results.md"), "w").write(text)
print(text)
PY
