#!/usr/bin/env bash
# Creates (once) the pinned Python reference environment used by parity tests and tools, and prints its
# python path. Cached outside the repository: torch alone is several GB.
#   EMBEDTUNE_PYENV  folder of the virtual environment (default ~/.cache/embedtune/pyref)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${EMBEDTUNE_PYENV:-$HOME/.cache/embedtune/pyref}
req="$root/tests/reference/requirements-ref.txt"
stamp="$venv/.embedtune-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$venv/bin/python"
  exit 0
fi
echo "pyenv: installing pinned reference packages into $venv (first run: several GB, some minutes)" >&2
python3 -m venv "$venv"
"$root/scripts/venv_install.sh" "$venv" -r "$req"
echo "$want" > "$stamp"
echo "$venv/bin/python"
