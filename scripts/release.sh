#!/usr/bin/env bash
# Builds the release binaries weir's image holds (deploy/Dockerfile runs the same cargo
# command), then prints their sizes, SHA-256 and the build time. The Dockerfile itself needs a
# container engine; this needs only a Rust toolchain.
#
#   scripts/release.sh                         # into $CARGO_TARGET_DIR (default ./target)/release
#   OUT=dist scripts/release.sh                # and copies both binaries into dist/
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

started=$(date +%s)
cargo build --release --locked -p weir-controller -p weir-proxy \
    --bin weir-controller --bin weir-proxy
elapsed=$(( $(date +%s) - started ))

for binary in weir-controller weir-proxy; do
    path="$CARGO_TARGET_DIR/release/$binary"
    printf '%-16s %10d bytes  %s  %s\n' "$binary" "$(stat -c %s "$path")" \
        "$(sha256sum "$path" | cut -c1-16)" "$("$path" --version)"
    if [ -n "${OUT:-}" ]; then
        install -D -m 0755 "$path" "$OUT/$binary"
    fi
done
echo "built in ${elapsed} s (cargo build --release --locked; profile: Cargo.toml [profile.release])"
