#!/usr/bin/env bash
# Benchmarks weir-proxy against nginx as a reverse proxy on this machine, back to back, and
# writes bench/RESULTS.md. Needs root for apt-get (nginx, wrk) when they are missing.
#
#   bench/run.sh            # full run: 64 and 256 connections, 3 runs each, 10 s per run
#   DURATION=5 bench/run.sh # shorter runs
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk
fi
# The distribution's nginx service is not needed (and would hold port 80).
if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl stop nginx || true
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p weir-proxy --bin weir-proxy --example rules_10k
exec python3 bench/bench.py \
    --weir "$CARGO_TARGET_DIR/release/weir-proxy" \
    --rules "$CARGO_TARGET_DIR/release/examples/rules_10k" \
    --duration "${DURATION:-10}" \
    --out bench/RESULTS.md
