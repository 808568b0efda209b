#!/usr/bin/env bash
# kernel/install.sh — installs everything the embedtune notebooks need, in one idempotent command:
#
#   1. checks the prerequisites (Go >= 1.26, python3 with venv) and says exactly what is missing;
#   2. installs the pinned GoNB kernel, goimports and gopls into the environment's bin/ folder;
#   3. creates a Python virtual environment with the pinned JupyterLab, Notebook, nbconvert and nbclient
#      (kernel/requirements.txt, every transitive dependency pinned by kernel/constraints.txt);
#   4. registers the Jupyter kernel "embedtune" (GoNB) inside that environment, with a go.work that
#      points at this repository, so notebook cells import github.com/embedtune/embedtune/... with no
#      go.mod editing, and with GOEXPERIMENT=simd for every cell build;
#   5. builds the embedtune CLI into the environment's bin/ and installs with it (`embedtune assets install`)
#      the echarts JavaScript library from the npm registry into kernel/assets/ (never committed), verified
#      against a pinned SHA-256, and tells Jupyter's server to serve that folder under /static/;
#   6. installs the nbconvert template "embedtune_offline" (HTML export without CDN scripts);
#   7. presets JupyterLab for workshops (overrides.json): no "get notified about Jupyter news?" prompt, no
#      update check — a room of fresh profiles opens straight on the notebook.
#   8. installs the XLA CPU PJRT plugin, the default compute engine on CPUs (scripts/pjrt.sh: PyPI
#      xla-cpu-pjrt pinned by sha256, into ~/.cache/embedtune/pjrt); where that fails, notebooks run on the
#      slower pure-Go backend and this script says so.
#
# Re-running it is cheap: every step checks what is already there and only redoes what is missing or stale.
#
# Environment:
#   EMBEDTUNE_KERNEL_VENV  folder of the virtual environment (default: <repo>/kernel/.venv)
#   EMBEDTUNE_ASSETS_DIR   folder for the echarts assets (default: <repo>/kernel/assets)
#   EMBEDTUNE_KERNELSPEC_DIR  Jupyter data folder that receives the kernel spec (default: <venv>/share/jupyter;
#                          the /tmp kernel test installs a second checkout's kernel there)
#   EMBEDTUNE_KERNEL_GOPLS=0  skips gopls (completion and hover in cells; GoNB runs cells without it). The test
#                          scripts set it: they execute cells and never ask for completions, and GoNB starts
#                          gopls with every kernel, which then type-checks the cells' dependencies in the
#                          background (CPU the executions need).
#
# Afterwards:  kernel/.venv/bin/jupyter lab notebooks/
set -euo pipefail

GONB_VERSION=v0.11.5
GOPLS_VERSION=v0.23.0
# golang.org/x/tools release whose goimports builds with Go 1.26 (gopls v0.23.0 requires a pre-release of
# the same line).
GOIMPORTS_VERSION=v0.47.0
GO_MIN_MINOR=26
KERNEL_NAME=embedtune

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${EMBEDTUNE_KERNEL_VENV:-$root/kernel/.venv}
assets=${EMBEDTUNE_ASSETS_DIR:-$root/kernel/assets}
req=$root/kernel/requirements.txt
constraints=$root/kernel/constraints.txt

say() { echo "kernel/install.sh: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------------------
# 1. Prerequisites: report everything that is missing at once.
missing=()
if ! command -v go >/dev/null 2>&1; then
  missing+=("Go (1.${GO_MIN_MINOR} or newer) is not on PATH: install it from https://go.dev/dl/ and add its bin/ folder to PATH")
else
  gover=$(go env GOVERSION)
  minor=$(echo "$gover" | sed -E 's/^go1\.([0-9]+).*/\1/')
  if ! [[ "$minor" =~ ^[0-9]+$ ]] || [ "$minor" -lt "$GO_MIN_MINOR" ]; then
    missing+=("Go 1.${GO_MIN_MINOR} or newer is required, found $gover ($(command -v go))")
  fi
fi
if ! command -v python3 >/dev/null 2>&1; then
  missing+=("python3 is not on PATH: install Python 3.9+ (Debian/Ubuntu: apt-get install python3 python3-venv)")
elif ! python3 -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 1)' >/dev/null 2>&1; then
  missing+=("python3 ($(python3 --version 2>&1)) lacks the venv/ensurepip modules or is older than 3.9: install them (Debian/Ubuntu: apt-get install python3-venv)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "missing prerequisites:"
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi

# ---------------------------------------------------------------------------------------------------------
# 2. Python virtual environment with the pinned Jupyter packages.
stamp=$venv/.embedtune-kernel-requirements.sha256
want=$( (cat "$req"; [ ! -f "$constraints" ] || cat "$constraints") | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "Python environment $venv is up to date"
else
  say "creating the Python environment $venv (pinned JupyterLab, Notebook, nbconvert, nbclient)"
  python3 -m venv "$venv" || die "python3 -m venv $venv failed (Debian/Ubuntu: apt-get install python3-venv)"
  pipargs=(-r "$req")
  [ -f "$constraints" ] && pipargs+=(-c "$constraints")
  "$root/scripts/venv_install.sh" "$venv" "${pipargs[@]}" || die "installing $req into $venv failed (see the messages above)"
  echo "$want" >"$stamp"
fi
bin=$venv/bin

# ---------------------------------------------------------------------------------------------------------
# 3. Go tools, installed into the environment's bin/ (not the user's GOPATH/bin).
# mod_version BINARY MODULE prints the version of MODULE that BINARY was built from (empty if unknown).
mod_version() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}
# install_tool NAME MODULE PACKAGE VERSION builds PACKAGE from MODULE@VERSION into $bin/NAME. It is what
# `go install PACKAGE@VERSION` does (same go.mod requirements), done in a scratch module so that it also works
# behind module proxies that refuse to list versions (go install always asks for the module's deprecation).
install_tool() {
  local name=$1 module=$2 pkg=$3 version=$4
  if [ "$(mod_version "$bin/$name" "$module")" = "$version" ]; then
    say "$name $version is installed"
    return
  fi
  say "installing $name $version ($pkg@$version)"
  local work
  work=$(mktemp -d)
  (
    cd "$work" &&
      go mod init embedtune.local/kernel-tools >/dev/null 2>&1 &&
      GOFLAGS=-mod=mod go get "$module@$version" &&
      GOFLAGS=-mod=mod go build -trimpath -o "$bin/$name.tmp" "$pkg"
  ) >"$work.log" 2>&1 || {
    cat "$work.log" >&2
    rm -rf "$work" "$work.log"
    die "building $pkg@$version failed (see the messages above; the Go module proxy must be reachable)"
  }
  rm -rf "$work" "$work.log"
  mv -f "$bin/$name.tmp" "$bin/$name"
}
install_tool gonb github.com/janpfeifer/gonb github.com/janpfeifer/gonb "$GONB_VERSION"
install_tool goimports golang.org/x/tools golang.org/x/tools/cmd/goimports "$GOIMPORTS_VERSION"
gopls=${EMBEDTUNE_KERNEL_GOPLS:-1}
if [ "$gopls" = 0 ]; then
  say "gopls skipped (EMBEDTUNE_KERNEL_GOPLS=0): cells run, without completion or hover"
else
  install_tool gopls golang.org/x/tools/gopls golang.org/x/tools/gopls "$GOPLS_VERSION"
fi

# ---------------------------------------------------------------------------------------------------------
# 4. The embedtune CLI, and with it echarts from the npm registry (pinned and SHA-256-checked in
#    charts/library.go and charts/install.go: the one home of that pin), into the assets folder.
say "building the embedtune CLI into $bin"
(cd "$root" && GOEXPERIMENT=simd go build -trimpath -o "$bin/embedtune.tmp" ./cmd/embedtune) || die "go build ./cmd/embedtune failed (see the messages above)"
mv -f "$bin/embedtune.tmp" "$bin/embedtune"
ech=$("$bin/embedtune" assets install --dir "$assets") || die "embedtune assets install failed (is the npm registry reachable? EMBEDTUNE_NPM_REGISTRY names a mirror)"
say "$ech"

# ---------------------------------------------------------------------------------------------------------
# 5. Jupyter configuration inside the environment: the kernel spec and the static assets path.
# gonb --install writes a kernel.json into $JUPYTER_DATA_DIR/kernels/gonb; we let it do so in a scratch
# folder, then install it under the name "embedtune" in the environment's own data folder
# (<venv>/share/jupyter/kernels/embedtune), adding the go.work path and the environment variables.
scratch=$(mktemp -d)
force=() # gonb --install refuses to register the kernel without gopls unless told it is meant
[ "$gopls" = 0 ] && force=(--force_deps)
PATH=$bin:$PATH JUPYTER_DATA_DIR=$scratch "$bin/gonb" --install "${force[@]}" --go_work="$root" --logtostderr >/dev/null 2>"$scratch/install.log" ||
  die "gonb --install failed: $(cat "$scratch/install.log")"
kdir=${EMBEDTUNE_KERNELSPEC_DIR:-$venv/share/jupyter}/kernels/$KERNEL_NAME
mkdir -p "$kdir"
"$bin/python" - "$scratch/kernels/gonb/kernel.json" "$kdir" "$bin" "$assets" "$GONB_VERSION" <<'PY'
import json, os, shutil, sys
src, kdir, bindir, assets, gonb_version = sys.argv[1:]
with open(src) as f:
    spec = json.load(f)
# Always the installed binary: gonb --install copies itself into the scratch folder (deleted below) when it
# runs from a temporary or cache folder (a checkout under /tmp, a venv under ~/.cache), and points the spec there.
spec["argv"][0] = os.path.join(bindir, "gonb")
spec["display_name"] = f"Go · embedtune (GoNB {gonb_version})"
spec["env"] = {
    # goimports, gopls and the embedtune CLI are looked up on PATH; cells are built with the simd experiment.
    "PATH": bindir + ":${PATH}",
    "GOEXPERIMENT": "simd",
    "EMBEDTUNE_ASSETS_DIR": assets,
}
spec.setdefault("metadata", {})["embedtune"] = {"gonb": gonb_version}
logo = os.path.join(os.path.dirname(src), "logo-svg.svg")
if os.path.exists(logo):
    shutil.copyfile(logo, os.path.join(kdir, "logo-svg.svg"))
tmp = os.path.join(kdir, "kernel.json.tmp")
with open(tmp, "w") as f:
    json.dump(spec, f, indent=1)
    f.write("\n")
os.replace(tmp, os.path.join(kdir, "kernel.json"))
PY
rm -rf "$scratch"

# Serve the assets folder at <base_url>static/ (charts fetch echarts from there when a notebook no longer
# holds the library). jupyter_server reads extra_static_paths from jupyter_server_config.json (its
# jupyter_server_config.d/ folder is only for enabling extensions); merge into the environment's file.
"$bin/python" - "$venv/etc/jupyter/jupyter_server_config.json" "$assets" <<'PY'
import json, os, sys
path, assets = sys.argv[1:]
cfg = {}
if os.path.exists(path):
    with open(path) as f:
        cfg = json.load(f)
paths = cfg.setdefault("ServerApp", {}).setdefault("extra_static_paths", [])
if assets not in paths:
    paths.append(assets)
os.makedirs(os.path.dirname(path), exist_ok=True)
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(cfg, f, indent=1)
    f.write("\n")
os.replace(tmp, path)
PY

# nbconvert template that exports HTML without CDN scripts (kernel/nbconvert/embedtune_offline).
tdir=$venv/share/jupyter/nbconvert/templates/embedtune_offline
mkdir -p "$tdir"
cp "$root"/kernel/nbconvert/embedtune_offline/* "$tdir/"

# Workshop defaults for every profile of this environment (users' own settings still win): JupyterLab's
# "Would you like to get notified about official Jupyter news?" prompt answered "Never", no update check.
"$bin/python" - "$venv/share/jupyter/lab/settings/overrides.json" <<'PY'
import json, os, sys
path = sys.argv[1]
cfg = {}
if os.path.exists(path):
    with open(path) as f:
        cfg = json.load(f)
cfg.setdefault("@jupyterlab/apputils-extension:notification", {}).update({"fetchNews": "false", "checkForUpdates": False})
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path + ".tmp", "w") as f:
    json.dump(cfg, f, indent=1)
    f.write("\n")
os.replace(path + ".tmp", path)
PY

# ---------------------------------------------------------------------------------------------------------
# 8. The XLA CPU PJRT plugin (the default engine on CPUs; trainlib/backend finds it without settings).
if plugin=$("$root/scripts/pjrt.sh"); then
  say "XLA CPU plugin: $plugin"
else
  say "WARNING: the XLA CPU plugin could not be installed (see above): notebooks will run on the pure-Go backend, 4-6x slower"
fi

# ---------------------------------------------------------------------------------------------------------
# Final check: Jupyter sees the kernel.
JUPYTER_PATH=${EMBEDTUNE_KERNELSPEC_DIR:-${JUPYTER_PATH:-}} "$bin/jupyter" kernelspec list --json | "$bin/python" -c '
import json, sys
specs = json.load(sys.stdin)["kernelspecs"]
name = sys.argv[1]
if name not in specs:
    sys.exit("kernel/install.sh: ERROR: jupyter does not list the kernel %r after installation" % name)
print("kernel/install.sh: kernel %r registered in %s" % (name, specs[name]["resource_dir"]), file=sys.stderr)
' "$KERNEL_NAME"
say "done. Start JupyterLab with:  $bin/jupyter lab $root/notebooks"
