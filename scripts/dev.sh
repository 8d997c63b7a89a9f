#!/usr/bin/env bash
# One command from a fresh machine to a running Redeliver (standalone mode): installs
# redis-server and the npm packages (which bring their own Node >= 22.19) if missing, then
# runs `npm start` — all roles in one process, endpoints from examples/endpoints/, a
# redis-server child with its AOF under .data/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (apt-get)…" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server
fi
[ -x node_modules/.bin/node ] || npm install --no-audit --no-fund   # see .ci/run for why not npm ci
exec npm start
