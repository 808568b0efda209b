#!/usr/bin/env bash
# docker/build.sh — the build of the workshop image (docker/Dockerfile runs it as the image's non-root user),
# and exactly what CI runs directly (scripts/test_notebooks.sh: no Docker engine needed):
#
#   1. kernel/install.sh: GoNB kernel "embedtune", JupyterLab (news prompt off), echarts, XLA CPU plugin;
#   2. the embedtune CLI into $EMBEDTUNE_BIN_DIR (default ~/.local/bin);
#   3. with --bundle FILE: `embedtune bundle install FILE` — the workshop's model and dataset into the Hugging
#      Face cache ($HF_HOME), its notebooks and workshop.env (the settings) into $EMBEDTUNE_WORKSHOP_DIR;
#      without one, the repository's notebooks are copied there;
#   4. trusts the workshop's notebooks (their charts draw at once when they carry outputs).
#
#   docker/build.sh [--bundle workshop.tar.zst]
#
# Environment: EMBEDTUNE_BIN_DIR, EMBEDTUNE_WORKSHOP_DIR (default ~/workshop), HF_HOME, EMBEDTUNE_KERNEL_VENV.
# docker/start.sh then serves the workshop with JupyterLab.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=${2:?--bundle needs a file}; shift 2 ;;
    --bundle=*) bundle=${1#--bundle=}; shift ;;
    *) echo "docker/build.sh: unknown argument $1 (usage: docker/build.sh [--bundle FILE])" >&2; exit 2 ;;
  esac
done
say() { echo "docker/build.sh: $*" >&2; }
export GOEXPERIMENT=simd
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
bindir=${EMBEDTUNE_BIN_DIR:-$HOME/.local/bin}
workshop=${EMBEDTUNE_WORKSHOP_DIR:-$HOME/workshop}

"$root/kernel/install.sh"
mkdir -p "$bindir" "$workshop"
cp -f "$venv/bin/embedtune" "$bindir/embedtune.tmp" && mv -f "$bindir/embedtune.tmp" "$bindir/embedtune"
say "embedtune CLI: $bindir/embedtune"
if [ -n "$bundle" ]; then
  [ -f "$bundle" ] || { say "ERROR: bundle $bundle does not exist"; exit 1; }
  "$bindir/embedtune" bundle install "$bundle" --notebooks-dir "$workshop"
else
  cp -f "$root"/notebooks/*.ipynb "$workshop/"
  printf 'export EMBEDTUNE_OUTPUT_DIR=%q\n' "$workshop/finetuned" >"$workshop/workshop.env"
  say "no bundle: the repository's notebooks are in $workshop (they use the Hugging Face Hub)"
fi
shopt -s nullglob
nbs=("$workshop"/*.ipynb)
[ ${#nbs[@]} -eq 0 ] || "$venv/bin/jupyter" trust "${nbs[@]}" >/dev/null
say "workshop ready in $workshop; start it with docker/start.sh"
