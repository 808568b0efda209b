#!/usr/bin/env bash
# Installs Python packages into a virtual environment: scripts/venv_install.sh VENV PIP-INSTALL-ARGUMENTS...
# (e.g. -r requirements.txt -c constraints.txt). It uses uv (pinned below, installed into VENV first), which
# downloads and unpacks the wheels in parallel — the reference environment's torch and its CUDA wheels are
# several GB, which pip fetches one after the other, about twice as slowly on the CI machine. Where uv cannot
# be installed, pip does the same work (and says so).
set -euo pipefail
uv_version=0.9.9
venv=$1
shift
if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version" >&2; then
  "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" "$@" >&2
else
  echo "venv_install: uv $uv_version could not be installed into $venv from PyPI; installing with pip (slower)" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
fi
