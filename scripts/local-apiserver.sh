#!/usr/bin/env bash
# A local Kubernetes API server (etcd + kube-apiserver v1.20.2 on loopback) to run weir against.
#
#   scripts/local-apiserver.sh start  [DIR]   start both (or find them running), wait for /readyz,
#                                             print `export KUBECONFIG=DIR/kubeconfig`
#   scripts/local-apiserver.sh stop   [DIR]   stop both
#   scripts/local-apiserver.sh status [DIR]   say what runs, and whether /readyz answers ok
#
# DIR defaults to ${WEIR_LOCAL_API_DIR:-$HOME/.cache/weir/local-api} and holds etcd's data, the
# logs, the keys, the pid files and an admin kubeconfig (static token, group system:masters).
# Objects survive stop/start; `rm -rf DIR` after a stop starts from scratch. The binary comes
# from scripts/kube-apiserver.sh (built once, ~3 min). No kube-controller-manager, scheduler or
# kubelet runs: objects are stored and served, RBAC is enforced, nothing is scheduled.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
readonly SCRIPTS
readonly READY_TIMEOUT=60

die() {
  printf '\nlocal-apiserver.sh: ERROR: %s\n' "$*" >&2
  exit 1
}
log() { printf '==> local-apiserver.sh: %s\n' "$*" >&2; }

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The pid in DIR/NAME.pid when that process is alive and is the expected program.
running_pid() {
  local name=$1 pid
  [[ -f "$DIR/$name.pid" ]] || return 1
  pid="$(<"$DIR/$name.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name" || return 1
  printf '%s\n' "$pid"
}

# Whether process PID is alive (and not a zombie waiting to be reaped).
alive() {
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# N free loopback ports (bound together, so distinct).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Whether nothing listens on the port (SO_REUSEADDR as Go's listeners use it, so connections in
# TIME_WAIT from the last run do not count).
port_free() {
  python3 - "$1" 2>/dev/null <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
EOF
}

readyz() {
  curl -sS --max-time 5 --cacert "$DIR/certs/apiserver.crt" \
    -H "Authorization: Bearer $(<"$DIR/admin-token")" \
    "https://127.0.0.1:$SECURE_PORT/readyz" 2>&1
}

load_ports() {
  # shellcheck source=/dev/null
  [[ -f "$DIR/ports.env" ]] && . "$DIR/ports.env"
  [[ -n "${ETCD_CLIENT_PORT:-}" && -n "${ETCD_PEER_PORT:-}" && -n "${SECURE_PORT:-}" ]]
}

fail_start() {
  local what=$1 log_file=$2
  printf '\n--- last 40 lines of %s ---\n' "$log_file" >&2
  tail -n 40 "$log_file" >&2 || true
  stop_all
  die "$what"
}

start() {
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to pick free ports"
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the service-account key"
  command -v curl >/dev/null 2>&1 || die "curl is needed to check /readyz"
  mkdir -p "$DIR/certs"

  if running_pid etcd >/dev/null && running_pid kube-apiserver >/dev/null && load_ports &&
    [[ "$(readyz)" == ok ]]; then
    log "already running (https://127.0.0.1:$SECURE_PORT)"
    printf 'export KUBECONFIG=%s\n' "$DIR/kubeconfig"
    return 0
  fi
  stop_all

  local apiserver etcd
  apiserver="$("$SCRIPTS/kube-apiserver.sh")" || die "scripts/kube-apiserver.sh failed"
  etcd="${WEIR_ETCD:-$(command -v etcd || true)}"
  [[ -n "$etcd" && -x "$etcd" ]] || die "etcd is not installed (scripts/kube-apiserver.sh installs it)"

  # The same ports on every start of DIR: etcd's stored member URL stays true.
  if ! load_ports; then
    read -r ETCD_CLIENT_PORT ETCD_PEER_PORT SECURE_PORT < <(free_ports 3)
    printf 'ETCD_CLIENT_PORT=%s\nETCD_PEER_PORT=%s\nSECURE_PORT=%s\n' \
      "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$SECURE_PORT" >"$DIR/ports.env"
  fi
  local port
  for port in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$SECURE_PORT"; do
    port_free "$port" || die "port $port (from $DIR/ports.env) is taken; free it, or stop and remove $DIR"
  done

  [[ -s "$DIR/admin-token" ]] || openssl rand -hex 24 >"$DIR/admin-token"
  printf '%s,weir-admin,weir-admin,"system:masters"\n' "$(<"$DIR/admin-token")" >"$DIR/tokens.csv"
  if [[ ! -s "$DIR/service-account.key" ]]; then
    openssl genrsa -out "$DIR/service-account.key" 2048 2>/dev/null || die "openssl genrsa failed"
  fi
  openssl rsa -in "$DIR/service-account.key" -pubout -out "$DIR/service-account.pub" 2>/dev/null ||
    die "openssl rsa -pubout failed"
  chmod 600 "$DIR/admin-token" "$DIR/tokens.csv" "$DIR/service-account.key"

  log "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT"
  setsid "$etcd" --name=weir-local --data-dir="$DIR/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="weir-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --log-level=warn </dev/null >>"$DIR/etcd.log" 2>&1 &
  local etcd_pid=$!
  echo "$etcd_pid" >"$DIR/etcd.pid"
  local deadline=$((SECONDS + 30))
  until curl -sf --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'; do
    alive "$etcd_pid" || fail_start "etcd exited during startup" "$DIR/etcd.log"
    ((SECONDS < deadline)) || fail_start "etcd was not healthy within 30 s" "$DIR/etcd.log"
    sleep 0.2
  done

  log "starting kube-apiserver on https://127.0.0.1:$SECURE_PORT"
  setsid "$apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$SECURE_PORT" --insecure-port=0 \
    --cert-dir="$DIR/certs" \
    --token-auth-file="$DIR/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-key-file="$DIR/service-account.pub" \
    --service-account-signing-key-file="$DIR/service-account.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
    --disable-admission-plugins=ServiceAccount \
    --profiling=false </dev/null >>"$DIR/kube-apiserver.log" 2>&1 &
  local apiserver_pid=$!
  echo "$apiserver_pid" >"$DIR/kube-apiserver.pid"
  deadline=$((SECONDS + READY_TIMEOUT))
  local answer=""
  while :; do
    alive "$apiserver_pid" || fail_start "kube-apiserver exited during startup" "$DIR/kube-apiserver.log"
    if [[ -s "$DIR/certs/apiserver.crt" ]]; then
      answer="$(readyz || true)"
      [[ "$answer" == ok ]] && break
    fi
    ((SECONDS < deadline)) ||
      fail_start "kube-apiserver was not ready within $READY_TIMEOUT s (last /readyz: ${answer:-none})" "$DIR/kube-apiserver.log"
    sleep 0.5
  done

  umask 077
  cat >"$DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: weir-local
  cluster:
    server: https://127.0.0.1:$SECURE_PORT
    certificate-authority-data: $(base64 -w0 <"$DIR/certs/apiserver.crt")
users:
- name: weir-admin
  user:
    token: $(<"$DIR/admin-token")
contexts:
- name: weir-local
  context:
    cluster: weir-local
    user: weir-admin
current-context: weir-local
EOF
  log "ready: https://127.0.0.1:$SECURE_PORT (logs in $DIR; stop with: $0 stop${1:+ $DIR})"
  printf 'export KUBECONFIG=%s\n' "$DIR/kubeconfig"
}

stop_one() {
  local name=$1 pid waited=0
  if pid="$(running_pid "$name")"; then
    kill "$pid" 2>/dev/null || true
    while [[ -d "/proc/$pid" ]] && ((waited < 100)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if [[ -d "/proc/$pid" ]]; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$DIR/$name.pid"
}

stop_all() {
  stop_one kube-apiserver
  stop_one etcd
}

status() {
  local name pid code=0
  for name in etcd kube-apiserver; do
    if pid="$(running_pid "$name")"; then
      printf '%-15s running (pid %s)\n' "$name" "$pid"
    else
      printf '%-15s not running\n' "$name"
      code=1
    fi
  done
  if ((code == 0)) && load_ports; then
    printf '%-15s %s\n' "/readyz" "$(readyz || true)"
    printf 'export KUBECONFIG=%s\n' "$DIR/kubeconfig"
  fi
  return "$code"
}

command=${1:-}
DIR="${2:-${WEIR_LOCAL_API_DIR:-$HOME/.cache/weir/local-api}}"
[[ "$DIR" == /* ]] || DIR="$PWD/$DIR"
case "$command" in
start) start "${2:-}" ;;
stop) stop_all ;;
status) status ;;
*) usage ;;
esac
