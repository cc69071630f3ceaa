#!/usr/bin/env bash
# weir's test command: sets up what the tests need on a fresh machine, then runs every tier.
#   tier 0  formatting and lints (cargo fmt --check, clippy -D warnings)
#   tier 1  pure tests: translate, model, ALB rendering, plan (table, snapshot, property tests)
#   tier 2  exact AWS calls: retries and error classes through the SDK with aws-smithy-mocks
#   tier 3  real Kubernetes API: controller/e2e starts a private etcd + kube-apiserver v1.20.2
#           per test (what 1.20 serves, deploy/base validated and applied, its RBAC through the
#           ServiceAccounts' tokens); scripts/kube-apiserver.sh builds the binary once from
#           Debian's source package (~3-5 min with apt, cached in ~/.cache/weir) and installs etcd
#   tier 4  real AWS API emulator: localstack-tests against moto server (installed from PyPI
#           into a venv cached outside the repo, ${WEIR_MOTO_VENV:-~/.cache/weir/moto-venv});
#           set WEIR_AWS_ENDPOINT to run them against LocalStack Pro instead
#   tier 5  real sockets: the weir-proxy tests bind 127.0.0.1:0, real TLS handshakes
# Usage: scripts/test.sh            (from the repository root; CI runs it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests use (curl and openssl for the proxy's end-to-end checks).
need_apt=()
for tool in curl:curl openssl:openssl python3:python3; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool##*:}")
done
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]} with apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# python3 -m venv needs the venv module (Debian ships it separately).
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  log "installing python3-venv with apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi

# moto server for tier 4, cached outside the repository and reinstalled only when missing.
MOTO_VERSION=5.2.5
export WEIR_MOTO_VENV="${WEIR_MOTO_VENV:-$HOME/.cache/weir/moto-venv}"
if [[ -z "${WEIR_AWS_ENDPOINT:-}" ]] && ! "$WEIR_MOTO_VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" >/dev/null 2>&1; then
  log "tier 4: installing moto[server]==$MOTO_VERSION into $WEIR_MOTO_VENV"
  rm -rf "$WEIR_MOTO_VENV"
  python3 -m venv "$WEIR_MOTO_VENV"
  "$WEIR_MOTO_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# kube-apiserver and etcd for tier 3: built/installed only when missing; a failure stops here.
log "tier 3: kube-apiserver and etcd (scripts/kube-apiserver.sh; builds once when missing)"
WEIR_KUBE_APISERVER="$(scripts/kube-apiserver.sh)" || {
  echo "scripts/test.sh: scripts/kube-apiserver.sh failed; the real-Kubernetes tests cannot run" >&2
  exit 1
}
export WEIR_KUBE_APISERVER
WEIR_ETCD="${WEIR_ETCD:-$(command -v etcd)}" || {
  echo "scripts/test.sh: etcd is not on PATH after scripts/kube-apiserver.sh" >&2
  exit 1
}
export WEIR_ETCD
command -v kubectl >/dev/null 2>&1 || {
  echo "scripts/test.sh: kubectl is not on PATH; the real-Kubernetes tests drive it" >&2
  exit 1
}

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL=0
export INSTA_UPDATE=no

log "tier 0: cargo fmt --check"
cargo fmt --all -- --check

log "tier 0: cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "tiers 1-5: cargo test (pure, property and snapshot tests; SDK mocks; kube-apiserver; moto server; real sockets)"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
cargo test --workspace --locked 2>&1 | tee "$results"

# One closing line over every test binary (cargo prints one result line per binary).
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "\ntotal: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$results"
