#!/usr/bin/env bash
# Starts a pyfork server (scripts/pyfork.py: the reference environment's torch, transformers,
# sentence-transformers and peft imported once, a forked child per run) for PYTHON and prints the path of a
# `python` launcher that runs scripts through it; the caller exports it as EMBEDTUNE_PYTHON. The server
# stops when process WATCH (default: the caller) exits. With EMBEDTUNE_PYFORK=off, or when the server does not come up within
# two minutes (said on stderr), it prints PYTHON itself.
#
#   EMBEDTUNE_PYTHON=$(scripts/pyfork.sh "$(scripts/pyenv.sh)" $$)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${1:?usage: pyfork.sh PYTHON [WATCH]}
watch=${2:-$PPID}
if [ "${EMBEDTUNE_PYFORK:-on}" = off ]; then
  echo "$py"
  exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/pyfork.XXXXXX")
sock=$dir/sock
"$py" "$root/scripts/pyfork.py" serve "$sock" "$watch" </dev/null >"$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 1200); do
  [ -S "$sock" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ ! -S "$sock" ]; then
  echo "pyfork.sh: the server did not start (log: $dir/server.log); running each script in a fresh interpreter" >&2
  kill "$server" 2>/dev/null || true
  echo "$py"
  exit 0
fi
cat >"$dir/python" <<EOF
#!/bin/sh
exec "$py" -S "$root/scripts/pyfork.py" run "$py" "$sock" "\$@"
EOF
chmod +x "$dir/python"
echo "$dir/python"
