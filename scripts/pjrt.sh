#!/usr/bin/env bash
# Installs (once) the pinned XLA CPU PJRT plugin, the engine embedtune runs on by default on CPUs, and
# prints the plugin's path:
#
#   1. a small Python virtual environment, embedtune's PJRT environment ($EMBEDTUNE_PJRT_DIR, default
#      ~/.cache/embedtune/pjrt, shared by every checkout, the notebook kernel and the CLI);
#   2. pip install --no-deps --require-hashes -r scripts/requirements-pjrt.txt (PyPI xla-cpu-pjrt 0.0.1,
#      verified by sha256; it contains only the plugin, xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so).
#
# trainlib/backend finds the plugin there without any setting (`embedtune env` shows the choice). Re-running
# is cheap. Platforms without a wheel (anything but Linux x86_64/aarch64) get a message and exit status 3: the
# pure-Go backend then runs everything. The CUDA plugin can be added to the same environment:
#   ~/.cache/embedtune/pjrt/bin/pip install 'jax-cuda13-plugin[with-cuda]'
#
#   scripts/pjrt.sh            install if needed, print the plugin path
#   scripts/pjrt.sh --check    print the path if installed and up to date, else exit 1 (installs nothing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${EMBEDTUNE_PJRT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/embedtune/pjrt}
req="$root/scripts/requirements-pjrt.txt"
rel=xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so
say() { echo "pjrt.sh: $*" >&2; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/aarch64) ;;
  *)
    say "no XLA CPU plugin wheel for $(uname -s)/$(uname -m) on PyPI: embedtune uses the pure-Go backend here"
    exit 3
    ;;
esac

stamp="$dir/.embedtune-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
find_plugin() {
  local p
  for p in "$dir"/lib/python3*/site-packages/$rel; do
    if [ -f "$p" ]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && plugin=$(find_plugin); then
  echo "$plugin"
  exit 0
fi
if [ "${1:-}" = --check ]; then
  exit 1
fi

say "installing the XLA CPU PJRT plugin (PyPI xla-cpu-pjrt, pinned by sha256, ~60 MB) into $dir"
if [ ! -x "$dir/bin/python" ]; then
  python3 -m venv "$dir" || {
    say "ERROR: python3 -m venv $dir failed (Debian/Ubuntu: apt-get install python3-venv)"
    exit 1
  }
fi
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
  --require-hashes -r "$req" >&2 || {
  say "ERROR: pip could not install $req (is PyPI reachable? a hash mismatch means a corrupted download)"
  exit 1
}
plugin=$(find_plugin) || {
  say "ERROR: the package installed but $rel is missing from $dir"
  exit 1
}
echo "$want" >"$stamp"
say "installed $plugin"
echo "$plugin"
