#!/usr/bin/env bash
# Full BEIR SciFact (test: 300 queries × 5,183 documents) with embedtune's encoder and evaluator on a real
# model, optionally checked against Python sentence-transformers on the same folder (issue 7, item 3).
#
#   scripts/scifact.sh [--python] [MODEL]      MODEL: bge-small-en-v1.5 (default) or all-MiniLM-L6-v2
#
# Steps (each a plain CLI command, printed before it runs):
#   1. embedtune encode the corpus (title + " " + text, the model's own max_seq_length) with --resume: the
#      run saves progress every 1024 documents, so an interrupted run continues where it stopped, and a
#      finished corpus (recorded in corpus.emb.jsonl.job.json) is not encoded again;
#   2. embedtune encode the queries (bge: MTEB's query prompt "Represent this sentence for searching
#      relevant passages: ");
#   3. embedtune evaluate the embeddings against qrels/test.tsv (sentence-transformers' metrics);
#   4. with --python: tests/reference/scifact_weights_eval.py runs sentence-transformers' InformationRetrievalEvaluator
#      on the same folder and compares every query and document embedding with ours.
# Results go to $EMBEDTUNE_SCIFACT_OUT (default build/scifact/MODEL): go.json (ours), python.json.
# The models come from scripts/fetch_weights.sh. On 2 CPU cores with the pure-Go backend the bge-small
# corpus takes about an hour, all-MiniLM-L6-v2 about a quarter of that; Python is about 4× faster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python=0
model=bge-small-en-v1.5
for a in "$@"; do
  case "$a" in
    --python) python=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "scifact.sh: unknown flag $a (see --help)" >&2; exit 2 ;;
    *) model=$a ;;
  esac
done
case "$model" in
  bge-small-en-v1.5) prompt="Represent this sentence for searching relevant passages: "; maxlen=512 ;;
  all-MiniLM-L6-v2) prompt=""; maxlen=256 ;;
  *) echo "scifact.sh: unknown model $model (bge-small-en-v1.5 or all-MiniLM-L6-v2)" >&2; exit 2 ;;
esac

data="$root/../shared/data/beir-scifact"
if [ ! -f "$data/corpus.jsonl" ] || [ ! -f "$data/qrels/test.tsv" ]; then
  echo "scifact: SKIPPED: $data (BEIR SciFact: corpus.jsonl, queries.jsonl, qrels/test.tsv) is absent" >&2
  exit 0
fi
models=${EMBEDTUNE_MODELS:-$HOME/.cache/embedtune/models}
export EMBEDTUNE_MODELS=$models
"$root/scripts/fetch_weights.sh" fetch "$model" >/dev/null
out=${EMBEDTUNE_SCIFACT_OUT:-$root/build/scifact/$model}
mkdir -p "$out"
export GOEXPERIMENT=simd HF_HUB_OFFLINE=1
go build -o "$out/embedtune" ./cmd/embedtune

run() { printf '+' >&2; printf ' %q' "$@" >&2; echo >&2; "$@"; }
start=$(date +%s)
before=$(stat -c %Y "$out/corpus.emb.jsonl" 2>/dev/null || echo none)
run "$out/embedtune" encode --model "$models/$model" --input "$data/corpus.jsonl" --id-field _id \
  --field title,text --normalize --resume --output "$out/corpus.emb.jsonl"
run "$out/embedtune" encode --model "$models/$model" --input "$data/queries.jsonl" --id-field _id \
  --prompt "$prompt" --normalize --output "$out/queries.emb.jsonl"
run "$out/embedtune" evaluate --query-embeddings "$out/queries.emb.jsonl" \
  --corpus-embeddings "$out/corpus.emb.jsonl" --qrels "$data/qrels/test.tsv" --name scifact > "$out/go.json"
go_seconds=$(( $(date +%s) - start ))
# go.seconds keeps the time of the run that encoded the corpus (a finished corpus is not encoded again).
if [ "$before" != "$(stat -c %Y "$out/corpus.emb.jsonl")" ] || [ ! -f "$out/go.seconds" ]; then
  echo "$go_seconds" > "$out/go.seconds"
fi
echo "scifact: $model, ours: nDCG@10 $(sed -nE 's/.*"scifact_cosine_ndcg@10": *([0-9.]+).*/\1/p' "$out/go.json") ($go_seconds s; $out/go.json)" >&2

if [ "$python" = 1 ]; then
  py=$("$root/scripts/pyenv.sh")
  run "$py" "$root/tests/reference/scifact_weights_eval.py" --model "$models/$model" --data "$data" \
    --max-seq-length "$maxlen" --query-prompt "$prompt" --json "$out/python.json" \
    --go-embeddings "$out/queries.emb.jsonl" "$out/corpus.emb.jsonl" >/dev/null
fi

# summary.md: ours vs Python vs published, side by side (whatever of python.json exists).
python3 - "$out" "$model" <<'PY' > "$out/summary.md"
import json, pathlib, sys
out, model = pathlib.Path(sys.argv[1]), sys.argv[2]
go = {k.removeprefix("scifact_cosine_"): v for k, v in json.loads((out / "go.json").read_text())["metrics"].items()}
py = json.loads((out / "python.json").read_text()) if (out / "python.json").exists() else None
pub = py.get("published_bge_small_en_v1_5", {}) if py else {}
print(f"# BEIR SciFact test, full (300 queries x 5,183 documents): {model}\n")
print("| metric | embedtune (Go) | sentence-transformers (Python) | published (MTEB) |\n|---|---|---|---|")
for k in ("ndcg@10", "mrr@10", "recall@10", "map@100", "accuracy@1"):
    pv = f"{py['scores'][k]:.5f}" if py and k in py["scores"] else "-"
    pubv = f"{pub[k]:.5f}" if k in pub else "-"
    print(f"| {k} | {go[k]:.5f} | {pv} | {pubv} |")
secs = (out / "go.seconds").read_text().strip()
print(f"\nWall time (this machine): embedtune encode + evaluate {secs} s (the run that encoded the corpus)" + (f", Python {py['seconds']:.0f} s" if py else ""))
if py and "go_embeddings_vs_python" in py:
    d = py["go_embeddings_vs_python"]
    print(f"Embeddings vs Python: queries max |d| {d['queries']['max_abs_diff']:.1e} (min cosine {d['queries']['min_cosine']:.7f}), "
          f"documents max |d| {d['corpus']['max_abs_diff']:.1e} (min cosine {d['corpus']['min_cosine']:.7f}), n = {d['corpus']['n']}")
PY
cat "$out/summary.md" >&2
