#!/usr/bin/env bash
# Ensures a real kube-apiserver v1.20.2 binary and etcd exist, then prints the binary's path.
#
# No package registry ships a prebuilt kube-apiserver, so the binary is built once from Debian
# bookworm's `kubernetes` source package (the full upstream tree, vendor/ included) with Debian's
# Go 1.19, and cached OUTSIDE the repository:
#   ${WEIR_KUBE_APISERVER:-$HOME/.cache/weir/kube-apiserver-v1.20.2-r1/kube-apiserver}
# One source change is made before the build (patch_reflect2, below): the vendored
# modern-go/reflect2 v1.0.1 calls the runtime's map iterator the way Go before 1.18 did, and
# with Go 1.19 every custom resource write (which encodes the object's metadata map through
# it) crashes the server with "unexpected fault address". The cache directory's name says the
# binary carries that change ("-r1"), so a binary built without it is never picked up.
# When the binary is cached this takes well under a second (it only checks that etcd, Debian's
# `etcd-server`, is installed, and installs it when it is not). A build takes ~3 min on 2 cores
# plus the apt downloads, and ~1.8 GB of disk that is freed afterwards.
#
# Usage: scripts/kube-apiserver.sh     (stdout: the binary's path; progress goes to stderr)
# Needs root (or sudo) for apt-get. Every failure exits non-zero with a message saying what failed.
set -euo pipefail

readonly KUBE_VERSION=v1.20.2
readonly DEB_VERSION='1.20.5+really1.20.2-1.1+deb12u1'
readonly GO_PACKAGE=golang-1.19-go
readonly GO_BIN=/usr/lib/go-1.19/bin
readonly SRC_LIST=/etc/apt/sources.list.d/weir-deb-src.sources

BIN="${WEIR_KUBE_APISERVER:-$HOME/.cache/weir/kube-apiserver-$KUBE_VERSION-r1/kube-apiserver}"
CACHE_DIR="$(dirname "$BIN")"

log() { printf '==> kube-apiserver.sh: %s\n' "$*" >&2; }
die() {
  printf '\nkube-apiserver.sh: ERROR: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "'$*' needs root; run this script as root or install sudo"
  fi
}

apt_updated=0
apt_update() {
  ((apt_updated)) && return 0
  log "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  apt_updated=1
}

apt_install() {
  apt_update
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 ||
    die "apt-get install $* failed"
}

# A non-empty executable file (a failed code-generation step leaves an empty one behind).
usable() { [[ -f "$1" && -s "$1" && -x "$1" ]]; }

ensure_etcd() {
  if [[ -n "${WEIR_ETCD:-}" ]]; then
    usable "$WEIR_ETCD" || command -v "$WEIR_ETCD" >/dev/null 2>&1 ||
      die "WEIR_ETCD=$WEIR_ETCD is not an executable"
    return 0
  fi
  command -v etcd >/dev/null 2>&1 && return 0
  apt_install etcd-server
  command -v etcd >/dev/null 2>&1 || die "etcd-server is installed but 'etcd' is not on PATH"
}

# apt-get source needs a deb-src entry. Mirror the deb822 file's URIs, suites and key (or the
# one-line sources.list entries) with Types: deb-src, in a file of our own.
ensure_deb_src() {
  [[ -f "$SRC_LIST" ]] && return 0
  local content=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    content="$(sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources)"
  elif grep -qsE '^deb[[:space:]]' /etc/apt/sources.list; then
    # One-line format: rewrite to a .list file instead.
    log "adding deb-src lines from /etc/apt/sources.list"
    grep -E '^deb[[:space:]]' /etc/apt/sources.list | sed -E 's/^deb[[:space:]]/deb-src /' |
      as_root tee /etc/apt/sources.list.d/weir-deb-src.list >/dev/null ||
      die "could not write /etc/apt/sources.list.d/weir-deb-src.list"
    as_root touch "$SRC_LIST"
    return 0
  else
    content="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  fi
  log "adding $SRC_LIST (deb-src for apt-get source)"
  printf '%s\n' "$content" | as_root tee "$SRC_LIST" >/dev/null || die "could not write $SRC_LIST"
}

# Go 1.18 changed reflect.mapiterinit: the caller allocates the whole iterator and passes it in,
# where Go 1.17 returned one. reflect2 v1.0.1 (vendored by Kubernetes 1.20) still expects the
# old form and declares only the iterator's first two fields, so the runtime writes past the
# allocation. This declares the Go 1.18+ signature and the runtime's full iterator layout (Go
# 1.19's runtime.hiter) and allocates it in UnsafeIterate.
patch_reflect2() {
  local dir="$1/vendor/github.com/modern-go/reflect2"
  grep -q 'func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer) \*hiter' "$dir/unsafe_link.go" ||
    die "reflect2's mapiterinit is not the v1.0.1 declaration; the patch does not apply"
  python3 - "$dir" <<'PY' || die "patching reflect2 failed"
import pathlib, sys
d = pathlib.Path(sys.argv[1])
link = d / "unsafe_link.go"
text = link.read_text()
text = text.replace(
    "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer) *hiter",
    "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer, it *hiter)")
start = text.index("type hiter struct {")
end = text.index("}", start) + 1
text = text[:start] + """type hiter struct {
	key         unsafe.Pointer
	value       unsafe.Pointer
	t           unsafe.Pointer
	h           unsafe.Pointer
	buckets     unsafe.Pointer
	bptr        unsafe.Pointer
	overflow    unsafe.Pointer
	oldoverflow unsafe.Pointer
	startBucket uintptr
	offset      uint8
	wrapped     bool
	B           uint8
	i           uint8
	bucket      uintptr
	checkBucket uintptr
}""" + text[end:]
link.write_text(text)
unsafe_map = d / "unsafe_map.go"
text = unsafe_map.read_text()
old = "\t\thiter:      mapiterinit(type2.rtype, *(*unsafe.Pointer)(obj)),\n"
if old not in text:
    sys.exit("UnsafeIterate is not the v1.0.1 one")
text = text.replace(
    "\treturn &UnsafeMapIterator{\n" + old,
    "\tit := new(hiter)\n\tmapiterinit(type2.rtype, *(*unsafe.Pointer)(obj), it)\n"
    "\treturn &UnsafeMapIterator{\n\t\thiter:      it,\n")
unsafe_map.write_text(text)
PY
}

build() {
  ensure_deb_src
  apt_updated=0 # the new source must be read
  apt_install "$GO_PACKAGE" etcd-server rsync jq openssl curl make dpkg-dev
  [[ -x "$GO_BIN/go" ]] || die "$GO_PACKAGE is installed but $GO_BIN/go is missing"

  mkdir -p "$CACHE_DIR" || die "cannot create $CACHE_DIR"
  local work
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")" || die "cannot create a build directory under $CACHE_DIR"
  # shellcheck disable=SC2064 # expand $work now: the trap must remove this directory
  trap "rm -rf '$work'" EXIT

  log "apt-get source kubernetes=$DEB_VERSION (into $work)"
  if ! (cd "$work" && apt-get source -qq "kubernetes=$DEB_VERSION" >&2); then
    # A later bookworm update replaces the pinned revision on the mirror; its tree is still
    # 1.20.2 (checked below with --version), so take it rather than fail.
    log "WARNING: kubernetes=$DEB_VERSION is not on the mirror; trying the newest kubernetes source on the mirror"
    rm -rf "${work:?}"/*
    (cd "$work" && apt-get source -qq kubernetes >&2) ||
      die "apt-get source kubernetes failed (is a bookworm deb-src entry configured? see $SRC_LIST)"
  fi
  local src
  src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
  [[ -n "$src" && -f "$src/Makefile" ]] || die "no kubernetes source tree with a Makefile under $work"
  log "patching the vendored reflect2 for Go 1.18+ map iteration"
  patch_reflect2 "$src"

  local attempt log_file="$work/build.log" started=$SECONDS
  for attempt in 1 2; do
    log "building cmd/kube-apiserver (attempt $attempt; ~3 min; log: $log_file)"
    rm -rf "$src/_output"
    if (cd "$src" && PATH="$GO_BIN:$PATH" HOME="$src/.home" GOCACHE="$src/.gocache" \
      make WHAT=cmd/kube-apiserver KUBE_BUILD_PLATFORMS=linux/amd64) >"$log_file" 2>&1 &&
      usable "$src/_output/bin/kube-apiserver"; then
      break
    fi
    if ((attempt == 2)); then
      tail -n 40 "$log_file" >&2
      die "building kube-apiserver failed or left an empty binary (last 40 lines of the build log above)"
    fi
    log "the build failed or left an empty binary; retrying once from a clean _output"
  done
  log "built in $((SECONDS - started)) s"

  local version
  version="$("$src/_output/bin/kube-apiserver" --version 2>&1)" || die "the built kube-apiserver does not run: $version"
  log "built: $version"
  [[ "$version" == "Kubernetes $KUBE_VERSION" ]] ||
    die "the built kube-apiserver says '$version', not 'Kubernetes $KUBE_VERSION'"
  install -m 0755 "$src/_output/bin/kube-apiserver" "$BIN.tmp" || die "cannot copy the binary to $BIN.tmp"
  mv -f "$BIN.tmp" "$BIN" || die "cannot move the binary to $BIN"
  rm -rf "$work"
  trap - EXIT
}

main() {
  if ! usable "$BIN"; then
    mkdir -p "$CACHE_DIR" || die "cannot create $CACHE_DIR"
    # One build at a time: test.sh and local-apiserver.sh may both ask for the binary.
    exec 9>"$CACHE_DIR/.build.lock"
    flock 9 || die "cannot lock $CACHE_DIR/.build.lock"
    if ! usable "$BIN"; then
      log "$BIN is missing; building kube-apiserver $KUBE_VERSION from Debian's source package"
      build
    fi
    exec 9>&-
  fi
  ensure_etcd
  usable "$BIN" || die "$BIN is not a non-empty executable"
  printf '%s\n' "$BIN"
}

main "$@"
