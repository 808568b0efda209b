#!/usr/bin/env bash
# Runs embedtune's fuzz targets (native Go fuzzing: go test -fuzz) one after the other and prints, per
# target, the inputs tried (execs), the corpus entries found (new interesting inputs) and the findings
# (failing inputs, which go test writes to the package's testdata/fuzz/<target>/; commit them with the fix
# as regression tests: plain go test runs them).
#
#   scripts/fuzz.sh                 every target for 60 s each
#   scripts/fuzz.sh -t 10m          every target for 10 minutes
#   scripts/fuzz.sh -t 5s -r Parquet only the targets matching a regular expression
#   scripts/fuzz.sh -t 20000x       every target for 20000 inputs (a count, not a duration: see below)
#   scripts/fuzz.sh --smoke         CI: every target briefly (-t 50x by default), bounded total time
#   scripts/fuzz.sh --list          the targets and their packages
#
# Exit status 1 when a target found a failing input. Output ends with a table:
#   package  target  seconds  execs  new-corpus  findings
# Go 1.26's fuzzing coordinator can end a duration-bounded run (-fuzztime 60s) with a bare "context deadline
# exceeded" and no failing input when workers are slow to stop (go.dev/issue/75804, fixed in Go 1.27): that is
# reported as such, not as a finding. A count (-t 50x) has no deadline, so the smoke run uses one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOEXPERIMENT=simd
duration=60s
regex=.
smoke=0
list=0
while [ $# -gt 0 ]; do
  case $1 in
    -t|--time) duration=$2; shift 2 ;;
    -r|--run) regex=$2; shift 2 ;;
    --smoke) smoke=1; duration=${FUZZ_SMOKE_TIME:-50x}; shift ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The packages holding fuzz targets, and their targets (the func Fuzz... declarations of their tests).
mapfile -t pkgs < <(grep -l '^func Fuzz' $(git ls-files '*_test.go') | xargs -n1 dirname | sort -u)
targets=()
for dir in "${pkgs[@]}"; do
  for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go | sort -u | grep -E -- "$regex" || true); do
    targets+=("$dir $t")
  done
done
if [ "$list" = 1 ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
if [ ${#targets[@]} = 0 ]; then
  echo "fuzz.sh: no fuzz target matches $regex" >&2
  exit 2
fi

# go test -fuzz keeps the inputs it found interesting in $GOCACHE/fuzz/<import path>/: the same here.
gocache=$(go env GOCACHE) module=$(go list -m)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
summary=()
found=0
start=$(date +%s)
for entry in "${targets[@]}"; do
  read -r dir t <<<"$entry"
  echo "== fuzz.sh: $t ($dir) for $duration" >&2
  t0=$(date +%s)
  status=0
  # One instrumented test binary per package (go test -c -fuzz), built at its first target: every fuzz build
  # instruments the package's whole dependency tree, and go test -fuzz would re-link it for each target.
  bin="$log/bin/${dir//\//_}.test"
  if [ ! -x "$bin" ]; then
    mkdir -p "$log/bin"
    go test -c -fuzz=. -o "$bin" "./$dir" >"$log/$t" 2>&1 || status=$?
  fi
  # Run in the package's folder (testdata/fuzz/ holds the seed corpora) with go test's flags.
  [ $status != 0 ] || (cd "$dir" && "$bin" -test.run='^$' -test.fuzz="^$t\$" -test.fuzztime="$duration" \
    -test.parallel="${FUZZ_PARALLEL:-2}" -test.fuzzcachedir="$gocache/fuzz/$module/$dir" -test.timeout=10m) >>"$log/$t" 2>&1 || status=$?
  secs=$(( $(date +%s) - t0 ))
  # The last progress line: "fuzz: elapsed: 3s, execs: 1234 (411/sec), new interesting: 5 (total: 12)".
  execs=$(grep -o 'execs: [0-9]*' "$log/$t" | tail -1 | grep -o '[0-9]*' || echo 0)
  newc=$(grep -o 'new interesting: [0-9]*' "$log/$t" | tail -1 | grep -o '[0-9]*' || echo 0)
  findings=0
  if [ $status != 0 ] && grep -q 'context deadline exceeded' "$log/$t" && ! grep -q 'Failing input written' "$log/$t"; then
    echo "fuzz.sh: $t stopped with Go's fuzztime deadline race (go.dev/issue/75804), not a finding" >&2
    status=0
  fi
  if [ $status != 0 ]; then
    findings=1
    found=1
    grep -E -A12 -- '--- FAIL|panic:|Failing input written' "$log/$t" | head -40 >&2 || tail -20 "$log/$t" >&2
  fi
  summary+=("$(printf '%-22s %-26s %5s %10s %6s %4s' "$dir" "$t" "$secs" "${execs:-0}" "${newc:-0}" "$findings")")
done
echo
printf '%-22s %-26s %5s %10s %6s %4s\n' package target secs execs corpus+ fail
printf '%s\n' "${summary[@]}"
echo "fuzz.sh: ${#targets[@]} targets, $(( $(date +%s) - start ))s, $( [ $found = 0 ] && echo 'no findings' || echo 'FINDINGS (see above)')"
exit $found
