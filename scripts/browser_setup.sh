#!/usr/bin/env bash
# Prepares the headless-browser checks: Debian's Chromium (never a downloaded browser build) and the pinned
# playwright-core from tests/browser/package-lock.json. Idempotent.
#   EMBEDTUNE_CHROMIUM  path of a Chromium binary to use instead of /usr/bin/chromium
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "browser_setup: $*" >&2; }
chromium=${EMBEDTUNE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ -z "${EMBEDTUNE_CHROMIUM:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium package"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    say "ERROR: Chromium not found at $chromium: install it (Debian/Ubuntu, as root: apt-get install -y chromium) or set EMBEDTUNE_CHROMIUM"
    exit 1
  fi
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "ERROR: node and npm are required (Node.js 20 or newer; Debian/Ubuntu: apt-get install nodejs npm)"
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  say "ERROR: Node.js 20 or newer is required by playwright-core, found $(node --version)"
  exit 1
fi
want=$(node -p 'require(process.argv[1]).packages["node_modules/playwright-core"].version' "$root/tests/browser/package-lock.json")
have=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' "$root/tests/browser/node_modules/playwright-core/package.json")
if [ "$have" != "$want" ]; then
  say "installing playwright-core $want (npm ci in tests/browser)"
  (cd "$root/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
