#!/usr/bin/env bash
# Load test of `embedtune encode` (issue 16, "Load"): N synthetic passages (default 1,000,000) encoded by a
# small random BERT with --resume, the process's peak resident memory measured by /usr/bin/time. Encoding
# streams (the input is read as a stream twice, embeddings are written as they are produced), so the peak
# is the model plus one chunk whatever N is: the script also runs N/10 passages to show it does not grow.
#
#   scripts/encode_load.sh            1,000,000 and 100,000 passages
#   N=200000 scripts/encode_load.sh   another size
#
# Output: a table (passages, seconds, passages/s, peak RSS) on stdout; the work folder is build/encode-load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOEXPERIMENT=simd
n=${N:-1000000}
work=$root/build/encode-load
mkdir -p "$work"
go build -o "$work/embedtune" ./cmd/embedtune
if [ ! -f "$work/model/config.json" ]; then
  "$work/embedtune" init-model --tokenizer trainlib/tokenizer/testdata/hf/minilm --out "$work/model" --hidden-size 64 \
    --num-layers 2 --num-heads 4 --intermediate-size 256 --max-seq-length 32 >/dev/null
fi
python3 - "$work" "$n" <<'PY'
import json, random, sys
work, n = sys.argv[1], int(sys.argv[2])
words = "river capital monsoon delhi temple railway cricket language festival spice harbour desert census parliament".split()
rnd = random.Random(1)
for size in (n, n // 10):
    with open(f"{work}/passages-{size}.jsonl", "w") as f:
        for i in range(size):
            f.write(json.dumps({"id": f"p{i}", "text": " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 24)))}) + "\n")
PY
printf '%-10s %8s %12s %14s\n' passages seconds passages/s "peak RSS MiB"
for size in $((n / 10)) "$n"; do
  rm -f "$work/emb-$size.jsonl" "$work/emb-$size.jsonl".*
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/time-$size" "$work/embedtune" encode --model "$work/model" --input "$work/passages-$size.jsonl" \
    --id-field id --field text --resume --output "$work/emb-$size.jsonl" 2>"$work/encode-$size.log"
  secs=$(python3 -c "import time; print(f'{time.time() - $start:.0f}')")
  lines=$(wc -l <"$work/emb-$size.jsonl")
  [ "$lines" = "$size" ] || { echo "encode_load: $lines embeddings for $size passages (see $work/encode-$size.log)" >&2; exit 1; }
  printf '%-10s %8s %12.0f %14.0f\n' "$size" "$secs" "$(python3 -c "print($size / max($secs, 1))")" "$(python3 -c "print($(cat "$work/time-$size") / 1024)")"
  rm -f "$work/emb-$size.jsonl"
done
