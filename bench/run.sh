#!/usr/bin/env bash
# Benchmarks weir-proxy against nginx and HAProxy as reverse proxies on this machine, five
# scenarios back to back (HTTP/1.1, HTTPS keep-alive, new TLS connections, HTTP/2), and writes
# bench/RESULTS.md. Needs root for apt-get when nginx, HAProxy, wrk or h2load are missing.
#
#   bench/run.sh                        # full run: 3 runs x 8 s per cell, ECDSA and RSA, ~14 minutes
#   DURATION=4 RUNS=1 bench/run.sh      # a quick look
#   BENCH_ARGS="--scenarios h2-16x10 --no-rsa --no-scaling" bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v taskset >/dev/null || missing+=(util-linux)
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# The distribution's services are not needed (and would hold ports 80 and 443).
if command -v systemctl >/dev/null; then
    for service in nginx haproxy; do
        if systemctl is-active --quiet "$service" 2>/dev/null; then systemctl stop "$service" || true; fi
    done
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p weir-proxy --bin weir-proxy --example rules_10k
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
exec python3 bench/bench.py \
    --weir "$CARGO_TARGET_DIR/release/weir-proxy" \
    --rules "$CARGO_TARGET_DIR/release/examples/rules_10k" \
    --duration "${DURATION:-8}" \
    --runs "${RUNS:-3}" \
    --out bench/RESULTS.md ${BENCH_ARGS:-}
