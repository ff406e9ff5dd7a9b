#!/usr/bin/env bash
# Build (once per machine) the kube-apiserver and kube-controller-manager used by
# the e2e suite, from Debian bookworm's `kubernetes` source package (upstream
# v1.20.2 with vendor/), and cache them outside the checkout.
#
#   scripts/e2e/build-k8s.sh            # build if not cached; print the bin dir
#   K8S_E2E_CACHE=/some/dir scripts/e2e/build-k8s.sh
#   K8S_E2E_DEB_MIRROR=http://mirror/debian scripts/e2e/build-k8s.sh   # deb-src mirror
#
# Cache: ${K8S_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-postrender/k8s-v1.20.2}
#   bin/kube-apiserver, bin/kube-controller-manager, bin/.complete
# Exit 0 with the bin dir as the last stdout line; non-zero with a reason on stderr
# when the toolchain or the source cannot be had (the e2e suite then skips).
# Needs root (or passwordless apt) only for the first run, to install golang-go,
# rsync, dpkg-dev, etcd-server and golang-github-modern-go-reflect2-dev.
set -euo pipefail

K8S_VERSION=v1.20.2
DEB_SRC_PKG=kubernetes
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/kube-postrender"
CACHE="${K8S_E2E_CACHE:-$CACHE_ROOT/k8s-$K8S_VERSION}"
BIN="$CACHE/bin"
WHAT="cmd/kube-apiserver cmd/kube-controller-manager"

log() { echo "[build-k8s] $*" >&2; }
die() { echo "[build-k8s] FAILED: $*" >&2; exit 1; }

if [[ -f "$BIN/.complete" && -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" ]]; then
  log "cached: $BIN"
  echo "$BIN"
  exit 0
fi

mkdir -p "$CACHE"
# One build at a time per cache dir (parallel CI jobs on one machine).
exec 9>"$CACHE/.lock"
if ! flock -w 1800 9; then die "timed out waiting for another build ($CACHE/.lock)"; fi
if [[ -f "$BIN/.complete" ]]; then log "cached (built by another process): $BIN"; echo "$BIN"; exit 0; fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="__none__"; fi
fi

need_pkgs=()
command -v go >/dev/null 2>&1 || need_pkgs+=(golang-go)
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v dpkg-source >/dev/null 2>&1 || need_pkgs+=(dpkg-dev)
command -v etcd >/dev/null 2>&1 || [[ -x /usr/bin/etcd ]] || need_pkgs+=(etcd-server)
[[ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ]] || need_pkgs+=(golang-github-modern-go-reflect2-dev)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)

APT_UPDATED=0
if (( ${#need_pkgs[@]} )); then
  [[ "$SUDO" == "__none__" ]] && die "missing packages ${need_pkgs[*]} and no root/sudo to install them"
  log "installing: ${need_pkgs[*]}"
  timeout 600 $SUDO apt-get -o Acquire::http::Timeout=30 -o Acquire::Retries=1 update -qq >&2 || die "apt-get update failed (Debian mirror unreachable?)"
  APT_UPDATED=1
  DEBIAN_FRONTEND=noninteractive timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 \
    || die "apt-get install ${need_pkgs[*]} failed"
fi

GO_VER=$(go env GOVERSION 2>/dev/null || true)
log "go: $GO_VER"

# --- source: a private apt configuration with a bookworm deb-src entry, so the
# system's sources.list is left untouched.
SRC_DIR="$CACHE/src"
TREE=""
if [[ -d "$SRC_DIR" ]]; then TREE=$(find "$SRC_DIR" -maxdepth 1 -mindepth 1 -type d -name "${DEB_SRC_PKG}-*" | head -n1 || true); fi
if [[ -z "$TREE" || ! -f "$TREE/.unpacked" ]]; then
  rm -rf "$SRC_DIR"; mkdir -p "$SRC_DIR"
  APTDIR="$CACHE/apt"
  mkdir -p "$APTDIR/lists/partial" "$APTDIR/archives/partial"
  cat > "$APTDIR/sources.list" <<SRC
deb-src ${K8S_E2E_DEB_MIRROR:-http://deb.debian.org/debian} bookworm main
SRC
  APTOPTS=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
           -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache::Archives=$APTDIR/archives"
           -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
           -o Acquire::http::Timeout=30 -o Acquire::Retries=1)
  log "fetching Debian source package $DEB_SRC_PKG (bookworm)"
  timeout 600 apt-get "${APTOPTS[@]}" update -qq >&2 || die "apt-get update (deb-src bookworm) failed"
  ( cd "$SRC_DIR" && timeout 1200 apt-get "${APTOPTS[@]}" source -qq "$DEB_SRC_PKG" >&2 ) || die "apt-get source $DEB_SRC_PKG failed"
  TREE=$(find "$SRC_DIR" -maxdepth 1 -mindepth 1 -type d -name "${DEB_SRC_PKG}-*" | head -n1)
  [[ -n "$TREE" ]] || die "no unpacked source tree under $SRC_DIR"
  [[ -d "$TREE/vendor" ]] || die "$TREE has no vendor/ directory"
  touch "$TREE/.unpacked"
fi
log "source tree: $TREE"
VERSION_IN_TREE=$(grep -ho 'gitVersion *= *"[^"]*"' "$TREE/staging/src/k8s.io/component-base/version/base.go" 2>/dev/null || true)
log "tree version info: ${VERSION_IN_TREE:-unknown}"

# --- known snag: vendored reflect2 v1.0.1 crashes at run time under Go >= 1.18.
R2_SYS=/usr/share/gocode/src/github.com/modern-go/reflect2
R2_VEND="$TREE/vendor/github.com/modern-go/reflect2"
if [[ -d "$R2_VEND" && ! -f "$R2_VEND/.replaced" ]]; then
  log "replacing vendored reflect2 with Debian's $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev 2>/dev/null)"
  rm -rf "$R2_VEND"; mkdir -p "$R2_VEND"
  # only the package's own non-test Go files and license
  find "$R2_SYS" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' -o -name 'LICENSE' \) ! -name '*_test.go' -exec cp {} "$R2_VEND/" \;
  touch "$R2_VEND/.replaced"
fi

log "building $WHAT (first run only; ~10 min on 2 cores)"
start=$(date +%s)
(
  cd "$TREE"
  export KUBE_GIT_VERSION="$K8S_VERSION" KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian-bookworm
  export GOFLAGS="-mod=vendor" GO111MODULE=on GOTOOLCHAIN=local
  export GOCACHE="$CACHE/gocache" GOPATH="$CACHE/gopath"
  timeout 3000 make WHAT="$WHAT" KUBE_VERBOSE=0 >&2
) || die "make WHAT=\"$WHAT\" failed (see output above)"
log "build took $(( $(date +%s) - start ))s"

OUT="$TREE/_output/local/bin/$(go env GOOS)/$(go env GOARCH)"
[[ -x "$OUT/kube-apiserver" ]] || OUT="$TREE/_output/bin"
mkdir -p "$BIN"
cp "$OUT/kube-apiserver" "$OUT/kube-controller-manager" "$BIN/"
"$BIN/kube-apiserver" --version >&2 || die "built kube-apiserver does not run"
touch "$BIN/.complete"
# Keep the tree out of the cache to save ~1.5 GB (set K8S_E2E_KEEP_SRC=1 to keep it).
if [[ "${K8S_E2E_KEEP_SRC:-0}" != 1 ]]; then rm -rf "$SRC_DIR" "$CACHE/gocache" "$CACHE/gopath" "$CACHE/apt"; fi
log "done: $BIN"
echo "$BIN"
