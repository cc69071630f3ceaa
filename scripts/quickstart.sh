#!/usr/bin/env bash
# Builds weir-proxy and serves examples/quickstart/: four demo echo backends, two hosts with
# path routing, and a TLS host. Needs a Rust toolchain and curl. Ctrl-C stops everything.
#
#   scripts/quickstart.sh                 # ports 8080 (HTTP), 8443 (HTTPS), 9901 (admin)
#   HTTP_PORT=18080 HTTPS_PORT=18443 ADMIN_PORT=19901 scripts/quickstart.sh
#   QUICKSTART_CHECK=1 scripts/quickstart.sh   # run the curl lines, verify, and exit
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP_PORT="${HTTP_PORT:-8080}"
HTTPS_PORT="${HTTPS_PORT:-8443}"
ADMIN_PORT="${ADMIN_PORT:-9901}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v curl >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl
    else
        echo "quickstart needs curl" >&2
        exit 1
    fi
fi

echo "building weir-proxy (release)..."
cargo build --release -p weir-proxy --bin weir-proxy
BIN="$CARGO_TARGET_DIR/release/weir-proxy"

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The demo backends the EndpointSlices of examples/quickstart/backends.yaml point at.
for backend in web:9001 api:9002 blog:9003 secure:9004; do
    "$BIN" demo-backend --name "${backend%%:*}" --addr "127.0.0.1:${backend##*:}" &
    PIDS+=($!)
done
"$BIN" --manifests examples/quickstart \
    --http-addr "127.0.0.1:$HTTP_PORT" --https-addr "127.0.0.1:$HTTPS_PORT" \
    --admin-addr "127.0.0.1:$ADMIN_PORT" &
PIDS+=($!)

for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null || { echo "weir-proxy did not become ready" >&2; exit 1; }

LINES=(
    "curl -s -H 'Host: shop.quickstart.test' http://127.0.0.1:$HTTP_PORT/"
    "curl -s -H 'Host: shop.quickstart.test' http://127.0.0.1:$HTTP_PORT/api/orders"
    "curl -s -H 'Host: blog.quickstart.test' http://127.0.0.1:$HTTP_PORT/posts/1"
    "curl -s -o /dev/null -w '%{http_code}\n' -H 'Host: unknown.test' http://127.0.0.1:$HTTP_PORT/"
    "curl -s --http2 --cacert examples/quickstart/ca.crt --resolve secure.quickstart.test:$HTTPS_PORT:127.0.0.1 https://secure.quickstart.test:$HTTPS_PORT/"
)
WANT=("backend web" "backend api" "backend blog" "404" "backend secure")

echo
echo "weir-proxy is serving examples/quickstart/. Try:"
for index in "${!LINES[@]}"; do
    line="${LINES[$index]}"
    echo
    echo "\$ $line"
    out="$(eval "$line")"
    echo "$out" | head -n 3
    case "$out" in
        "${WANT[$index]}"*) ;;
        *) echo "UNEXPECTED: wanted '${WANT[$index]}'" >&2; exit 1 ;;
    esac
done
echo
echo "Admin: curl http://127.0.0.1:$ADMIN_PORT/config | /metrics | /readyz"
echo "Edit examples/quickstart/*.yaml and the change is served within a second."

if [ "${QUICKSTART_CHECK:-0}" = 1 ]; then
    echo "quickstart check passed"
    exit 0
fi
echo "Ctrl-C to stop."
wait
