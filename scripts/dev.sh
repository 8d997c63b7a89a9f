#!/usr/bin/env bash
# One command from a fresh machine to a running Redeliver (standalone mode): installs
# redis-server and the npm packages (which bring their own Node >= 22.19) if missing, then
# runs what `npm start` runs — all roles in one process, endpoints from examples/endpoints/, a
# redis-server child with its AOF under .data/.
#
# `exec` of Node itself (not `npm start`): this script's PID becomes Redeliver's, so Ctrl-C or
# `kill -INT <pid>` reaches it and stops everything, its redis-server included (npm would sit in
# between). `npm install --no-save` installs exactly what package-lock.json pins without writing
# it back: a plain `npm install` rewrites the lock when the registry offers optional packages
# for other platforms that the committed lock does not list, leaving a fresh clone dirty.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server (apt-get)…" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server
fi
[ -x node_modules/.bin/node ] || npm install --no-save --no-audit --no-fund
exec node_modules/.bin/node src/main.ts standalone --config examples/redeliver.yaml "$@"
