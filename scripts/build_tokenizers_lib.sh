#!/usr/bin/env bash
# Builds libtokenizers.a, the Rust static library that github.com/daulet/tokenizers (the cgo binding used
# by `go build -tags hftokenizers ./trainlib/tokenizer/`) links against, using only the Rust crate registry.
#
# The Rust glue code (src/lib.rs, Cargo.toml, Cargo.lock) ships inside the Go module zip of
# github.com/daulet/tokenizers, so it is taken from the Go module cache (downloaded with `go mod download`
# from the Go module proxy, like any Go dependency). Its Cargo.toml pulls one crate, tiktoken-rs, from a
# git branch; git hosts are not reachable here, so the copy in the build folder pins the same crate from
# crates.io instead (TIKTOKEN_RS_VERSION). tiktoken-rs only serves tokenizers_from_tiktoken, which embedtune
# never calls; the Hugging Face `tokenizers` crate keeps the version locked by the module's Cargo.lock.
# Nothing is written inside the repository except the (git-ignored) output folder.
#
# Usage:  scripts/build_tokenizers_lib.sh            # prints the folder holding libtokenizers.a
#   EMBEDTUNE_TOKENIZERS_LIB_DIR  output folder (default: <repo>/build/tokenizers-lib)
#   TIKTOKEN_RS_VERSION           crates.io version replacing the git dependency (default 0.9.1)
# Then:
#   CGO_LDFLAGS="-L$(scripts/build_tokenizers_lib.sh)" GOEXPERIMENT=simd go test -tags hftokenizers ./trainlib/tokenizer/
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module="github.com/daulet/tokenizers"
version=$(cd "$root" && go list -m -f '{{.Version}}' "$module" 2>/dev/null || true)
version=${version:-v1.24.0}
out=${EMBEDTUNE_TOKENIZERS_LIB_DIR:-$root/build/tokenizers-lib}
tiktoken=${TIKTOKEN_RS_VERSION:-0.9.1}
stamp="$out/.built-from"
# opt-level 1 instead of cargo's release default 3: the same code, built in 79 s instead of 107 s on the 2-core
# CI-size machine (2026-12-06); the library serves the -tags hftokenizers tests, whose inputs are small.
optlevel=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-1}
want="$module@$version tiktoken-rs@$tiktoken opt-level $optlevel $(rustc --version 2>/dev/null || echo no-rustc)"

if [ -f "$out/libtokenizers.a" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$out"
  exit 0
fi

command -v cargo >/dev/null || { echo "build_tokenizers_lib: cargo not found (install Rust: https://rustup.rs or apt-get install cargo)" >&2; exit 1; }

src=$(cd "$root" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -f "$src/src/lib.rs" ] || [ ! -f "$src/Cargo.toml" ]; then
  echo "build_tokenizers_lib: Rust sources not found in the Go module $module@$version (dir '$src')" >&2
  exit 1
fi

work="$out/crate"
mkdir -p "$work/src"
cp "$src/src/lib.rs" "$work/src/lib.rs"
cp "$src/Cargo.lock" "$work/Cargo.lock"
chmod u+w "$work/src/lib.rs" "$work/Cargo.lock"
# Same manifest, minus the git dependency (pinned from crates.io instead) and the benchmark/dev sections
# (their sources are not needed to build the library).
awk -v tk="$tiktoken" '
  /^\[dev-dependencies\]/ || /^\[\[bench\]\]/ { skip = 1 }
  /^\[/ && !/^\[dev-dependencies\]/ && !/^\[\[bench\]\]/ { skip = 0 }
  skip { next }
  /^tiktoken-rs[[:space:]]*=/ { print "tiktoken-rs = \"=" tk "\""; next }
  { print }
' "$src/Cargo.toml" > "$work/Cargo.toml"

echo "build_tokenizers_lib: building $module@$version Rust library in $work (several minutes on 2 cores)" >&2
# Not --locked: the manifest change makes cargo add tiktoken-rs to the copied Cargo.lock; every other crate
# keeps the version locked by the module.
(cd "$work" && CARGO_PROFILE_RELEASE_OPT_LEVEL=$optlevel cargo build --release >&2)
tmp=$(mktemp "$out/libtokenizers.a.XXXXXX")
cp "$work/target/release/libtokenizers.a" "$tmp"
chmod 644 "$tmp"
mv "$tmp" "$out/libtokenizers.a"
echo "$want" > "$stamp"
echo "$out"
