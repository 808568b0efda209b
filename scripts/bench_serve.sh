#!/usr/bin/env bash
# Serving benchmark: `embedtune serve` beside sentence-transformers (PyTorch) behind a minimal Python HTTP server
# with the same API (tests/reference/serve_st.py), measured the same way in one run by `embedtune serve-bench`:
# N concurrent clients on loopback for a fixed time; throughput, p50/p99 latency, errors (only 429 with
# Retry-After allowed), and the server's resident memory sampled over the run.
#
#   scripts/bench_serve.sh [--duration 30s] [--rounds 3] [--warmup 10s] [--concurrency 64]
#                          [--texts-per-request 1] [--model DIR] [--quick]
#
# Servers, all on the same machine: embedtune serve (GOMLX_BACKEND as set; otherwise the default order, XLA CPU
# when its plugin is installed; --warmup), sentence-transformers with one encode call per request, and
# sentence-transformers with the same dynamic batching as embedtune (--batching). All three run at once and the
# load alternates between them (--duration per server, in --rounds slices), so the machine's other jobs weigh on
# each about equally. Afterwards each server is stopped with SIGTERM (embedtune must exit 0). Texts: SQuAD v1.1
# dev questions and passages (../shared/data) when present, else generated ones. Default model: all-MiniLM-L6-v2
# from scripts/fetch_weights.sh. --quick: 6 s per server, 2 s warm-up.
#
# Writes build/bench_serve/results.md (and the JSON reports, server logs) and prints results.md.
# Environment: EMBEDTUNE_BENCH_OUT (output folder), EMBEDTUNE_PYENV (see scripts/pyenv.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=30s warmup=10s concurrency=64 per=1 model="" rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    --texts-per-request) per=$2; shift ;;
    --model) model=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --quick) duration=6s warmup=2s ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_serve.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
out=${EMBEDTUNE_BENCH_OUT:-$root/build/bench_serve}
mkdir -p "$out"
export GOEXPERIMENT=simd HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
py=$("$root/scripts/pyenv.sh")
if [ -z "$model" ]; then
  model=$("$root/scripts/fetch_weights.sh" fetch all-MiniLM-L6-v2 | tail -1)
fi
go build -o "$out/embedtune" ./cmd/embedtune

texts="$out/texts.jsonl"
squad="$root/../shared/data/squad-v1.1/dev-v1.1.json"
if [ -f "$squad" ]; then
  "$py" - "$squad" "$texts" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))["data"]
qs, cs = [], []
for art in data:
    for p in art["paragraphs"]:
        cs.append(p["context"])
        qs.extend(q["question"] for q in p["qas"])
# Four questions for each passage, interleaved: RAG traffic is mostly short queries with some documents.
out = []
for i in range(500):
    out.extend(qs[4 * i:4 * i + 4])
    out.append(cs[i])
with open(sys.argv[2], "w") as f:
    for t in out:
        f.write(json.dumps({"text": t}) + "\n")
EOF
  texts_desc="SQuAD v1.1 dev: 2,000 questions and 500 passages, interleaved 4:1"
else
  texts=""
  texts_desc="generated questions and passages (../shared/data absent)"
fi

# wait_url LOG: the URL a server printed once listening.
wait_url() {
  for _ in $(seq 1200); do
    u=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$1" | head -1 || true)
    if [ -n "$u" ]; then echo "$u"; return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "bench_serve: the server exited:" >&2; tail -20 "$1" >&2; return 1; fi
    sleep 0.5
  done
  echo "bench_serve: the server did not start within 10 minutes" >&2
  return 1
}

# start NAME CMD...: start a server in the background; sets pids[NAME] and urls[NAME].
declare -A pids urls
start() {
  local name=$1; shift
  "$@" >"$out/$name.log" 2>&1 &
  pids[$name]=$!
  urls[$name]=$(wait_url "$out/$name.log" "${pids[$name]}")
  echo "bench_serve: $name at ${urls[$name]} (pid ${pids[$name]})" >&2
}

# load NAME ROUND SECONDS WARMUP: one measured slice of load on a server.
load() {
  "$out/embedtune" serve-bench --url "${urls[$1]}" --concurrency "$concurrency" --duration "$3s" --warmup "$4" \
    --texts-per-request "$per" --pid "${pids[$1]}" --json ${texts:+--input "$texts"} >"$out/$1.round$2.json"
}

names=(embedtune pytorch pytorch-batching)
rm -f "$out"/*.round*.json
status=0
start embedtune "$out/embedtune" serve --model "bench=$model" --addr 127.0.0.1:0 --warmup
start pytorch "$py" tests/reference/serve_st.py --model "$model" --name bench --port 0
start pytorch-batching "$py" tests/reference/serve_st.py --model "$model" --name bench --port 0 --batching
# All three servers stay up; the load alternates between them in $rounds rounds, so that the machine's other jobs
# weigh on each about equally. The first slice of each server follows its warm-up load.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
slice=$(( ${duration%s} / rounds ))
[ "$slice" -ge 1 ] || slice=1
for r in $(seq 1 "$rounds"); do
  for n in "${names[@]}"; do
    w=0s
    [ "$r" = 1 ] && w=$warmup
    echo "bench_serve: round $r/$rounds: $n, $concurrency clients, ${slice}s" >&2
    load "$n" "$r" "$slice" "$w" || status=1
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "${names[@]}"; do
  kill -TERM "${pids[$n]}"
  rc=0
  wait "${pids[$n]}" || rc=$?
  if [ "$n" = embedtune ] && [ "$rc" != 0 ]; then
    echo "bench_serve: embedtune serve exited with status $rc after SIGTERM" >&2
    status=1
  fi
done
backend=$(grep -o 'backend=[^ ]*' "$out/embedtune.log" | head -1 | cut -d= -f2)

"$py" - "$out" <<EOF >"$out/results.md"
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = [("embedtune serve ($backend backend, dynamic batching)", "embedtune"),
        ("sentence-transformers, one encode per request", "pytorch"),
        ("sentence-transformers, same dynamic batching", "pytorch-batching")]
rounds = {k: [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, k + ".round*.json")))] for _, k in rows}
ms = lambda ns: f"{ns / 1e6:.0f}"
mib = lambda b: f"{b / 2**20:.0f}"
tps = lambda rs: sum(r["Texts"] for r in rs) / max(sum(r["Elapsed"] for r in rs) / 1e9, 1e-9)
print(f"Serving benchmark ({os.uname().nodename}, {os.cpu_count()} cores; load average {'$load_before'} before, {'$load_after'} after;"
      f" machine shared with other jobs): model $(basename "$model"), $texts_desc, $per text(s) per request,"
      f" $concurrency clients, $duration per server in $rounds alternating rounds, after $warmup of warm-up load.")
print()
print("| server | texts/s | p50 ms (median of rounds) | p99 ms (worst round) | 429 (Retry-After) | errors | server RSS MiB: after warm-up → late median → end (max) |")
print("|---|---|---|---|---|---|---|")
for label, k in rows:
    rs = rounds[k]
    if not rs:
        print(f"| {label} | (failed, see {k}.log) | | | | | |")
        continue
    errs = {}
    for r in rs:
        for e, n in (r["Errors"] or {}).items():
            errs[e] = errs.get(e, 0) + n
    errs = ", ".join(f"{e}: {n}" for e, n in errs.items()) or "0"
    print(f"| {label} | {tps(rs):.1f} | {ms(statistics.median(r['P50'] for r in rs))} | {ms(max(r['P99'] for r in rs))} |"
          f" {sum(r['Throttled'] for r in rs)} | {errs} | {mib(rs[0]['RSSStart'])} → {mib(statistics.median(r['RSSMid'] for r in rs))}"
          f" → {mib(rs[-1]['RSSEnd'])} ({mib(max(r['RSSMax'] for r in rs))}) |")
if rounds["embedtune"]:
    for k, what in (("pytorch", "one encode per request"), ("pytorch-batching", "same batching")):
        rs = rounds[k]
        if rs and tps(rs) > 0:
            per_round = [a["TextsPerSec"] / b["TextsPerSec"] for a, b in zip(rounds["embedtune"], rs) if b["TextsPerSec"] > 0]
            print(f"\nembedtune / PyTorch ({what}): {tps(rounds['embedtune']) / tps(rs):.2f}× throughput"
                  f" (rounds: {', '.join(f'{x:.2f}' for x in per_round)}),"
                  f" p99 {max(r['P99'] for r in rounds['embedtune']) / max(max(r['P99'] for r in rs), 1):.2f}×")
EOF
cat "$out/results.md"
exit $status
