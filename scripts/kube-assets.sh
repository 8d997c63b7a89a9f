#!/usr/bin/env bash
# Finds (or, once, builds) the control-plane binaries the operator tests run
# against: a real kube-apiserver and etcd, like kubebuilder's envtest assets.
#
# Lookup order for each binary:
#   1. $KUBE_APISERVER / $ETCD (explicit paths)
#   2. $KUBEBUILDER_ASSETS/{kube-apiserver,etcd}
#   3. PATH
#   4. the cache: ${REDELIVER_KUBE_CACHE:-$HOME/.cache/redeliver/kube}/bin
# If still missing:
#   - etcd comes from Debian's etcd-server package (/usr/bin/etcd);
#   - kube-apiserver v1.20.2 is built from Debian bookworm's `kubernetes`
#     source package with Debian's Go 1.19, into the cache (never into the
#     checkout). No prebuilt binary can be downloaded on these machines.
#
# Output: exactly two lines on stdout, `KUBE_APISERVER=/abs/path` and
# `ETCD=/abs/path`; all progress goes to stderr. Idempotent; a cached run takes
# well under a second. Cold build: about 5 minutes on 2 cores, ~1.3 GB RAM,
# ~2 GB disk (the build tree is removed afterwards unless
# REDELIVER_KUBE_KEEP_BUILD=1; REDELIVER_KUBE_BUILD_JOBS sets go build -p,
# default 2).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

CACHE_DIR="${REDELIVER_KUBE_CACHE:-${HOME:-/root}/.cache/redeliver/kube}"
BIN_DIR="$CACHE_DIR/bin"
BUILD_DIR="$CACHE_DIR/build"
GO_ROOT=/usr/lib/go-1.19
# Version stamped into the binary (kubectl parses it; the source is 1.20.2).
KUBE_VERSION=v1.20.2

log() { printf '[kube-assets] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Prints the absolute path of the first executable candidate, or nothing.
first_executable() {
  local c
  for c in "$@"; do
    if [[ -n "$c" && -f "$c" && -x "$c" ]]; then
      readlink -f -- "$c"
      return 0
    fi
  done
  return 0
}

find_binary() { # $1 = binary name, $2 = explicit env override value
  local name="$1" explicit="$2" onpath=""
  if [[ -n "$explicit" ]]; then
    # An explicit path that is wrong is a configuration error, not a reason to
    # silently fall back to something else.
    [[ -x "$explicit" ]] || die "$name: explicit path '$explicit' is not executable"
    readlink -f -- "$explicit"
    return 0
  fi
  onpath="$(command -v "$name" 2>/dev/null || true)"
  first_executable \
    "${KUBEBUILDER_ASSETS:+$KUBEBUILDER_ASSETS/$name}" \
    "$onpath" \
    "$BIN_DIR/$name"
}

apt_updated=0
apt_update_once() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    apt-get update -qq >&2
    apt_updated=1
  fi
}

# Installs only the packages that are missing: `apt-get install` of an
# installed package would upgrade it (even dpkg itself), which is not ours to do.
apt_install() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${missing[*]} (or set KUBE_APISERVER/ETCD)"
  apt_update_once
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Writes a deb-src twin of the machine's own Debian apt entries, derived at
# run time so that no mirror host name is ever written into this repository.
# Handles deb822 *.sources files and one-line *.list files.
SRC_LIST_D=/etc/apt/sources.list.d
TWIN_SOURCES="$SRC_LIST_D/redeliver-deb-src.sources"
TWIN_LIST="$SRC_LIST_D/redeliver-deb-src.list"
write_deb_src_twin() {
  local codename f
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [[ -n "$codename" ]] || die "cannot tell the Debian codename from /etc/os-release"
  rm -f "$TWIN_SOURCES" "$TWIN_LIST"

  # deb822: copy each enabled stanza whose Types include `deb` and whose Suites
  # include this release (bookworm, bookworm-updates, ...), as Types: deb-src.
  for f in "$SRC_LIST_D"/*.sources; do
    [[ -f "$f" && "$f" != "$TWIN_SOURCES" ]] || continue
    awk -v cn="$codename" '
      BEGIN { RS = ""; ORS = "\n\n" }
      {
        n = split($0, lines, "\n"); types = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^Types:/)   types = lines[i]
          if (lines[i] ~ /^Suites:/)  suites = lines[i]
          if (lines[i] ~ /^Enabled:/) enabled = tolower(lines[i])
        }
        if (enabled ~ /no/) next
        if (types !~ /(:|[ \t])deb([ \t]|$)/) next
        if (suites !~ ("[ \t]" cn "(-[a-z]+)?([ \t]|$)")) next
        out = ""
        for (i = 1; i <= n; i++) {
          line = (lines[i] ~ /^Types:/) ? "Types: deb-src" : lines[i]
          out = out line "\n"
        }
        printf "%s\n", out
      }' "$f" >>"$TWIN_SOURCES"
  done
  [[ -s "$TWIN_SOURCES" ]] || rm -f "$TWIN_SOURCES"

  # One-line format: `deb [opts] URI suite comps...` -> `deb-src ...`.
  for f in /etc/apt/sources.list "$SRC_LIST_D"/*.list; do
    [[ -f "$f" && "$f" != "$TWIN_LIST" ]] || continue
    awk -v cn="$codename" '
      $1 == "deb" {
        # The suite is the 2nd field after the URI; options may precede it.
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        suite = $(i + 1)
        if (suite ~ ("^" cn "(-[a-z]+)?$")) { sub(/^deb/, "deb-src"); print }
      }' "$f" >>"$TWIN_LIST"
  done
  [[ -s "$TWIN_LIST" ]] || rm -f "$TWIN_LIST"

  [[ -f "$TWIN_SOURCES" || -f "$TWIN_LIST" ]] \
    || die "found no Debian '$codename' apt entry in /etc/apt to derive a deb-src entry from"
}
remove_deb_src_twin() { rm -f "$TWIN_SOURCES" "$TWIN_LIST"; }

# The package list openapi-gen runs over, computed the way Kubernetes 1.20's
# build/root/Makefile.generated_files does (KUBE_OPENAPI_TAG_FILES): every Go
# file outside vendor/ (staging/src/* named as vendor/*) that has a `+k8s:`
# comment tag and asks for `+k8s:openapi-gen=`, minus code-generator and
# sample-apiserver. Prints comma-separated import paths.
openapi_input_dirs() { # run inside the source tree
  find -H . \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune \
      -o -type f -name '*.go' -print0 \
    | xargs -0 grep -l '^// *+k8s:' \
    | xargs grep -l '+k8s:openapi-gen=' \
    | sed -e 's|^\./||' -e 's|/[^/]*$||' -e 's|^staging/src/|vendor/|' \
    | grep -v -e '^vendor/k8s\.io/code-generator/' -e '^vendor/k8s\.io/sample-apiserver/' \
    | LC_ALL=C sort -u \
    | sed 's|^|k8s.io/kubernetes/|' \
    | paste -sd, -
}

build_kube_apiserver() {
  local start dl src gopath pkgroot goflags ldflags v out
  start=$(date +%s)
  log "building kube-apiserver $KUBE_VERSION into $BIN_DIR (one-time, several minutes)"

  # dpkg-dev: dpkg-source to unpack + patch; reflect2 v1.0.2 replaces the
  # vendored v1.0.1, which crashes on Go >= 1.18 at the first custom-resource
  # write (it relies on runtime internals that changed).
  apt_install golang-1.19-go golang-github-modern-go-reflect2-dev dpkg-dev
  [[ -x "$GO_ROOT/bin/go" ]] || die "Go 1.19 not found at $GO_ROOT"

  write_deb_src_twin
  # Keep the machine's apt config as it was once the source is downloaded.
  trap remove_deb_src_twin EXIT
  apt_updated=0
  apt_update_once

  rm -rf "$BUILD_DIR"
  dl="$BUILD_DIR/dl"
  mkdir -p "$dl"
  log "apt-get source --download-only kubernetes"
  # Sandbox user root: the _apt user cannot write into root's cache dir.
  (cd "$dl" && apt-get source -qq --download-only -o APT::Sandbox::User=root kubernetes >&2)
  remove_deb_src_twin
  trap - EXIT

  src="$BUILD_DIR/kubernetes"
  # Unpacks the upstream tarball (it ships vendor/) and applies Debian's patches.
  dpkg-source -x "$dl"/kubernetes_*.dsc "$src" >&2

  log "replacing vendored github.com/modern-go/reflect2 with Debian's v1.0.2"
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -rL /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"

  # GOPATH mode: the 1.20 tree's go.mod/vendor setup does not work in module
  # mode with Go 1.19; its own build also runs in a GOPATH.
  gopath="$BUILD_DIR/gopath"
  pkgroot="$gopath/src/k8s.io/kubernetes"
  mkdir -p "$gopath/src/k8s.io"
  ln -sfn "$src" "$pkgroot"

  export GOROOT="$GO_ROOT" GOPATH="$gopath" GO111MODULE=off CGO_ENABLED=0
  export GOCACHE="$BUILD_DIR/gocache" GOTMPDIR="$BUILD_DIR/tmp"
  export PATH="$GO_ROOT/bin:$PATH"
  mkdir -p "$GOTMPDIR"
  # 2 parallel compiles keep peak memory around 1.3 GB on the 2-core machines.
  goflags="-p=${REDELIVER_KUBE_BUILD_JOBS:-2}"
  export GOFLAGS="$goflags"

  cd "$pkgroot"
  log "building openapi-gen"
  go build -o "$BUILD_DIR/openapi-gen" k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen >&2

  # pkg/generated/openapi/zz_generated.openapi.go is generated at build time
  # upstream and is not in the tarball; kube-apiserver does not compile without it.
  log "generating pkg/generated/openapi/zz_generated.openapi.go"
  "$BUILD_DIR/openapi-gen" \
    --logtostderr \
    -i "$(openapi_input_dirs)" \
    -o "$gopath/src" \
    -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    -h hack/boilerplate/boilerplate.generatego.txt \
    -r "$BUILD_DIR/openapi-violations.report" >&2
  [[ -s pkg/generated/openapi/zz_generated.openapi.go ]] || die "openapi-gen produced nothing"

  # Version stamping as hack/lib/version.sh does it, for both version packages
  # (the server reports component-base's; client-go's is there for parity).
  # Without it the server says v0.0.0-master and clients may refuse it.
  ldflags="-s -w"
  for v in "gitVersion=$KUBE_VERSION" gitMajor=1 gitMinor=20 gitTreeState=archive \
           "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
    ldflags+=" -X k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version.$v"
    ldflags+=" -X k8s.io/kubernetes/vendor/k8s.io/component-base/version.$v"
  done

  log "go build k8s.io/kubernetes/cmd/kube-apiserver (GOFLAGS=$goflags)"
  out="$BUILD_DIR/kube-apiserver"
  # providerless: leaves out the in-tree cloud providers, which a test
  # apiserver never uses; saves a large part of the compile.
  go build -tags providerless -ldflags "$ldflags" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver >&2

  "$out" --version >&2
  mkdir -p "$BIN_DIR"
  # Atomic install: a concurrent reader sees either no binary or a whole one.
  mv -f "$out" "$BIN_DIR/kube-apiserver.tmp"
  mv -f "$BIN_DIR/kube-apiserver.tmp" "$BIN_DIR/kube-apiserver"
  cd /
  if [[ "${REDELIVER_KUBE_KEEP_BUILD:-0}" != 1 ]]; then
    log "removing build tree $BUILD_DIR (set REDELIVER_KUBE_KEEP_BUILD=1 to keep it)"
    chmod -R u+w "$BUILD_DIR" 2>/dev/null || true # the Go cache has read-only files
    rm -rf "$BUILD_DIR"
  fi
  log "kube-apiserver built in $(( $(date +%s) - start ))s"
}

main() {
  local apiserver etcd
  apiserver="$(find_binary kube-apiserver "${KUBE_APISERVER:-}")"
  etcd="$(find_binary etcd "${ETCD:-}")"

  if [[ -z "$apiserver" || -z "$etcd" ]]; then
    mkdir -p "$CACHE_DIR"
    # Serialise concurrent runs (two test processes on a cold machine) so the
    # build happens once; the second one re-checks after getting the lock.
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    apiserver="$(find_binary kube-apiserver "${KUBE_APISERVER:-}")"
    etcd="$(find_binary etcd "${ETCD:-}")"

    if [[ -z "$etcd" ]]; then
      apt_install etcd-server
      etcd="$(find_binary etcd "")"
      [[ -n "$etcd" ]] || etcd="$(first_executable /usr/bin/etcd)"
      [[ -n "$etcd" ]] || die "etcd-server installed but no etcd binary found"
    fi
    if [[ -z "$apiserver" ]]; then
      build_kube_apiserver
      apiserver="$BIN_DIR/kube-apiserver"
    fi
    flock -u 9
  fi

  printf 'KUBE_APISERVER=%s\n' "$apiserver"
  printf 'ETCD=%s\n' "$etcd"
}

main "$@"
