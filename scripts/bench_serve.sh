#!/usr/bin/env bash
# Serving benchmark: `embedtune serve` beside sentence-transformers (PyTorch) behind a minimal Python HTTP server
# with the same API (python/serve_st.py), measured the same way in one run by `embedtune serve-bench`:
# N concurrent clients on loopback for a fixed time; throughput, p50/p99 latency, errors (only 429 with
# Retry-After allowed), and the server's resident memory sampled over the run.
#
#   scripts/bench_serve.sh [--duration 30s] [--warmup 10s] [--concurrency 64] [--texts-per-request 1]
#                          [--model DIR] [--quick]
#
# Servers, one after the other on the same machine: embedtune serve (GOMLX_BACKEND as set; otherwise the default
# order, XLA CPU when its plugin is installed), sentence-transformers one request per encode call, and
# sentence-transformers with the same dynamic batching as embedtune (--batching). Each server is stopped with
# SIGTERM and must exit cleanly. Texts: SQuAD v1.1 dev questions and passages (../shared/data) when present, else
# generated ones. Default model: all-MiniLM-L6-v2 from scripts/fetch_weights.sh. --quick: 5 s runs, 2 s warm-up.
#
# Writes build/bench_serve/results.md (and the JSON reports, server logs) and prints results.md.
# Environment: EMBEDTUNE_BENCH_OUT (output folder), EMBEDTUNE_PYENV (see scripts/pyenv.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=30s warmup=10s concurrency=64 per=1 model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    --texts-per-request) per=$2; shift ;;
    --model) model=$2; shift ;;
    --quick) duration=5s warmup=2s ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

# bench NAME CMD...: start the server, load it, stop it with SIGTERM.
bench() {
  local name=$1; shift
  local log="$out/$name.log"
  "$@" >"$log" 2>&1 &
  local pid=$!
  local url
  url=$(wait_url "$log" "$pid")
  echo "bench_serve: $name at $url (pid $pid): $concurrency clients, $duration after $warmup warm-up" >&2
  local rc=0
  "$out/embedtune" serve-bench --url "$url" --concurrency "$concurrency" --duration "$duration" --warmup "$warmup" \
    --texts-per-request "$per" --pid "$pid" --json ${texts:+--input "$texts"} >"$out/$name.json" || rc=$?
  kill -TERM "$pid"
  local exit_rc=0
  wait "$pid" || exit_rc=$?
  if [ "$exit_rc" != 0 ] && [ "$name" = embedtune ]; then
    echo "bench_serve: embedtune serve exited with status $exit_rc after SIGTERM" >&2
    rc=1
  fi
  return $rc
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
bench embedtune "$out/embedtune" serve --model "bench=$model" --addr 127.0.0.1:0 --warmup || status=1
bench pytorch "$py" python/serve_st.py --model "$model" --name bench --port 0 || status=1
bench pytorch-batching "$py" python/serve_st.py --model "$model" --name bench --port 0 --batching || status=1
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
backend=$(grep -o 'backend=[^ ]*' "$out/embedtune.log" | head -1 | cut -d= -f2)

"$py" - "$out" <<EOF >"$out/results.md"
import json, os, sys
out = sys.argv[1]
rows = [("embedtune serve ($backend backend, dynamic batching)", "embedtune"),
        ("sentence-transformers, one encode per request", "pytorch"),
        ("sentence-transformers, same dynamic batching", "pytorch-batching")]
reps = {k: json.load(open(os.path.join(out, k + ".json"))) for _, k in rows if os.path.exists(os.path.join(out, k + ".json"))}
ms = lambda ns: f"{ns / 1e6:.0f}"
mib = lambda b: f"{b / 2**20:.0f}"
print(f"Serving benchmark ({os.uname().nodename}, {os.cpu_count()} cores; load average {'$load_before'} before, {'$load_after'} after;"
      f" machine shared with other jobs): model $(basename "$model"), $texts_desc, $per text(s) per request,"
      f" $concurrency clients, $duration measured after $warmup warm-up.")
print()
print("| server | texts/s | p50 ms | p99 ms | 429 (Retry-After) | errors | server RSS MiB: after warm-up → late median → end (max) |")
print("|---|---|---|---|---|---|---|")
for label, k in rows:
    r = reps.get(k)
    if not r:
        print(f"| {label} | (failed, see {k}.log) | | | | | |")
        continue
    errs = ", ".join(f"{e}: {n}" for e, n in (r["Errors"] or {}).items()) or "0"
    print(f"| {label} | {r['TextsPerSec']:.1f} | {ms(r['P50'])} | {ms(r['P99'])} | {r['Throttled']} | {errs} |"
          f" {mib(r['RSSStart'])} → {mib(r['RSSMid'])} → {mib(r['RSSEnd'])} ({mib(r['RSSMax'])}) |")
if "embedtune" in reps:
    for k, what in (("pytorch", "one encode per request"), ("pytorch-batching", "with batching")):
        if k in reps and reps[k]["TextsPerSec"] > 0:
            print(f"\nembedtune / PyTorch ({what}): {reps['embedtune']['TextsPerSec'] / reps[k]['TextsPerSec']:.2f}× throughput,"
                  f" p99 {reps['embedtune']['P99'] / max(reps[k]['P99'], 1):.2f}×")
EOF
cat "$out/results.md"
exit $status
