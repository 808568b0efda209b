#!/usr/bin/env bash
# docker/start.sh — serves the workshop prepared by docker/build.sh with JupyterLab: the workshop folder as the
# root, its workshop.env settings (HF_HUB_OFFLINE=1 and the bundled model and dataset) in every kernel, and a
# token (JUPYTER_TOKEN, or a random one printed with the URL). The docker image's command.
#
#   docker/start.sh [--port 8888] [--ip 0.0.0.0]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
workshop=${EMBEDTUNE_WORKSHOP_DIR:-$HOME/workshop}
port=8888 ip=0.0.0.0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --ip) ip=$2; shift 2 ;;
    *) echo "docker/start.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -d "$workshop" ] || { echo "docker/start.sh: no workshop in $workshop: run docker/build.sh first" >&2; exit 1; }
if [ -f "$workshop/workshop.env" ]; then
  # shellcheck disable=SC1091
  . "$workshop/workshop.env"
fi
export GOEXPERIMENT=simd
token=${JUPYTER_TOKEN:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
echo "docker/start.sh: open http://127.0.0.1:$port/lab?token=$token" >&2
# The image runs as a non-root user; run directly as root (CI, a root shell), JupyterLab needs --allow-root.
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--allow-root)
exec "$venv/bin/jupyter" lab --no-browser --ip="$ip" --port="$port" --ServerApp.port_retries=0 \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$workshop" ${as_root[@]+"${as_root[@]}"}
