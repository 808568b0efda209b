#!/usr/bin/env bash
# Builds the offline inputs of the tutorial notebooks (no Hugging Face Hub needed) and prints the
# EMBEDTUNE_* settings that point the notebooks at them, as shell `export` lines:
#
#   eval "$(scripts/notebook_fixtures.sh)"     # then run notebooks/*.ipynb (scripts/test_notebooks.sh does this)
#
# What it builds in build/notebooks-fixtures/ (outside git; rebuilt only when this recipe changes):
#   squad-pairs.jsonl (synthetic-pairs.jsonl without SQuAD)
#                1,340 (question, context) rows, every context used by two questions as in the tutorial's
#                dipanjanS/india_rag_wikidata: the first 670 SQuAD v1.1 dev paragraphs with two or more
#                questions (../shared/data/squad-v1.1/dev-v1.1.json), or synthetic pairs (internal/synth)
#                when the shared data is absent;
#   model/       a randomly initialized BERT sentence-transformers model, small (hidden 64, 2 layers,
#                max_seq_length 128) with normalized embeddings like BAAI/bge-base-en-v1.5, on the bert-base-uncased
#                WordPiece vocabulary of ../shared/data/models/all-MiniLM-L6-v2-config (30,522 tokens), or on a
#                WordPiece tokenizer trained on the pairs when that is absent. Two choices keep the CPU tests short
#                and meaningful (measured on 2 cores): mean pooling, because from random weights bge's CLS pooling
#                made no progress in 40 steps while mean pooling learns at once; and one attention head, because
#                on the pure-Go backend a tiny model's multi-head attention costs far more than its FLOPs (encoding
#                the 670 passages: 25 s with 4 heads, 8 s with 1; 20 training steps: 58 s vs 30 s).
#
# Printed settings (variables already set in the environment are kept):
#   EMBEDTUNE_MODEL, EMBEDTUNE_DATASET, EMBEDTUNE_DATASET_SPLIT=train,
#   EMBEDTUNE_MAX_STEPS=40 (two logging/evaluation points, so the charts draw lines; under a minute of
#   training on 2 CPU cores), EMBEDTUNE_OUTPUT_DIR=build/notebooks-fixtures/run/finetuned,
#   EMBEDTUNE_LEARNING_RATE=1e-3: the tutorial's 3e-6 nudges a pretrained model; a randomly initialized one
#   needs a larger step to learn anything in 40 steps.
#
# Environment: EMBEDTUNE_FIXTURES_DIR (default <repo>/build/notebooks-fixtures), EMBEDTUNE_SHARED_DATA
# (default <repo>/../shared/data). Progress goes to stderr, the settings to stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fx=${EMBEDTUNE_FIXTURES_DIR:-$root/build/notebooks-fixtures}
shared=${EMBEDTUNE_SHARED_DATA:-$(dirname "$root")/shared/data}
say() { echo "notebook_fixtures: $*" >&2; }
export GOEXPERIMENT=simd

command -v go >/dev/null || { say "Go is not installed (https://go.dev/doc/install); it builds the fixtures"; exit 1; }

squad=$shared/squad-v1.1/dev-v1.1.json
tok=$shared/models/all-MiniLM-L6-v2-config
[ -f "$squad" ] || squad=""
[ -f "$tok/tokenizer.json" ] || tok=""

# The recipe: this script, the fixture program and which inputs exist.
recipe=$(cat "$0" "$root/tests/notebooks/fixtures/main.go"; echo "squad=$squad tok=$tok")
stamp=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)

if [ "$(cat "$fx/stamp" 2>/dev/null || true)" != "$stamp" ]; then
  say "building fixtures in $fx"
  rm -rf "$fx"
  mkdir -p "$fx/bin"
  (cd "$root" && go build -o "$fx/bin/embedtune" ./cmd/embedtune && go build -o "$fx/bin/fixtures" ./tests/notebooks/fixtures)
  if [ -n "$squad" ]; then
    say "dataset: SQuAD v1.1 dev paragraphs from $squad"
    "$fx/bin/fixtures" --squad "$squad" --out "$fx/squad-pairs.jsonl"
  else
    say "dataset: $shared/squad-v1.1 is absent; using synthetic (question, context) pairs"
    "$fx/bin/fixtures" --out "$fx/synthetic-pairs.jsonl"
  fi
  if [ -z "$tok" ]; then
    say "tokenizer: $shared/models/all-MiniLM-L6-v2-config is absent; training a WordPiece tokenizer on the pairs"
    "$fx/bin/embedtune" train-tokenizer --input "$fx/synthetic-pairs.jsonl" --field context --vocab-size 4000 --out "$fx/tokenizer" >&2
    tok=$fx/tokenizer
  fi
  "$fx/bin/embedtune" init-model --tokenizer "$tok" --out "$fx/model" --hidden-size 64 --num-layers 2 --num-heads 1 \
    --intermediate-size 128 --max-position-embeddings 512 --max-seq-length 128 --pooling mean --normalize --seed 42 >&2
  echo "$stamp" >"$fx/stamp"
else
  say "fixtures in $fx are up to date"
fi

emit() { # emit NAME DEFAULT: keep a value set by the caller
  local v=${!1:-$2}
  printf 'export %s=%q\n' "$1" "$v"
}
emit EMBEDTUNE_MODEL "$fx/model"
pairs=$fx/squad-pairs.jsonl
[ -f "$pairs" ] || pairs=$fx/synthetic-pairs.jsonl
emit EMBEDTUNE_DATASET "$pairs"
emit EMBEDTUNE_DATASET_SPLIT train
emit EMBEDTUNE_MAX_STEPS 40
emit EMBEDTUNE_OUTPUT_DIR "$fx/run/finetuned"
emit EMBEDTUNE_LEARNING_RATE 1e-3
