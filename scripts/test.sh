#!/usr/bin/env bash
# weir's test command: sets up what the tests need on a fresh machine, then runs every tier.
#   tier 0  formatting and lints (cargo fmt --check, clippy -D warnings)
#   tier 1  pure tests: translate, model, ALB rendering, plan (table, snapshot, property tests)
#   tier 5  real sockets: the weir-proxy tests bind 127.0.0.1:0, real TLS handshakes
# Usage: scripts/test.sh            (from the repository root; CI runs it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests use (curl and openssl for the proxy's end-to-end checks).
need_apt=()
for tool in curl:curl openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool##*:}")
done
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]} with apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL=0
export INSTA_UPDATE=no

log "tier 0: cargo fmt --check"
cargo fmt --all -- --check

log "tier 0: cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "tiers 1 and 5: cargo test (pure tests, property tests, snapshots, real-socket proxy tests)"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
cargo test --workspace --locked 2>&1 | tee "$results"

# One closing line over every test binary (cargo prints one result line per binary).
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "\ntotal: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$results"
