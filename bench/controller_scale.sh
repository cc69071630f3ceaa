#!/usr/bin/env bash
# weir-controller at scale, end to end, on one machine: a real kube-apiserver (v1.20.2, from
# scripts/local-apiserver.sh), moto server as AWS, the release weir-controller with the aws
# provider. Prints the numbers bench/CONTROLLER.md reports.
#
#   bench/controller_scale.sh                 1,000 Ingresses in 20 IngressGroups of 50
#   INGRESS_GROUPS=0 INGRESSES=50 bench/controller_scale.sh   50 lone Ingresses (one ALB each)
#
# Environment (defaults in brackets):
#   INGRESSES [1000]   Ingresses to create, each with its own Service and EndpointSlice
#   INGRESS_GROUPS [20]       IngressGroups they are spread over (round robin); 0: every one alone
#   CALLS_PER_SECOND   passed as --aws-calls-per-second (default: the controller's)
#   CONCURRENCY        passed as --concurrency (default: the controller's)
#   TIMEOUT [900]      seconds to wait for every status
#   KEEP=1             leave everything running at the end (prints how to stop it)
#
# Steps: start the API server and moto; a VPC and two subnets; the weir-alb IngressClass; the
# controller (admin kubeconfig); Services and v1beta1 EndpointSlices (two ready endpoints each);
# then, with the clock running, `kubectl create` of every Ingress and a poll (1 s) until every
# one has .status.loadBalancer.ingress. Then: API calls by operation, reconciles and controller
# RSS; a no-op resync pass (a fresh leader's first pass over every stack, nothing changed); one
# EndpointSlice change until its targets are registered. Every process started here is stopped
# on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
readonly ROOT
INGRESSES=${INGRESSES:-1000}
GROUPS_N=${INGRESS_GROUPS:-20}
TIMEOUT=${TIMEOUT:-900}
NS=bench
CLUSTER=scale
MOTO_VENV=${WEIR_MOTO_VENV:-$HOME/.cache/weir/moto-venv}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN="${WEIR_CONTROLLER:-$TARGET_DIR/release/weir-controller}"

log() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'controller_scale.sh: ERROR: %s\n' "$*" >&2
  exit 1
}

WORK="$(mktemp -d /tmp/weir-scale.XXXXXX)"
MOTO_PID=
CONTROLLER_PID=
cleanup() {
  if [[ "${KEEP:-0}" == 1 ]]; then
    log "KEEP=1: left running (controller $CONTROLLER_PID, moto $MOTO_PID, api server in $WORK)"
    return
  fi
  [[ -n "$CONTROLLER_PID" ]] && kill "$CONTROLLER_PID" 2>/dev/null && wait "$CONTROLLER_PID" 2>/dev/null
  [[ -n "$MOTO_PID" ]] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
  "$ROOT/scripts/local-apiserver.sh" stop "$WORK/api" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.1f}')"; }

command -v kubectl >/dev/null || die "kubectl is not on PATH"
[[ -x "$MOTO_VENV/bin/moto_server" ]] || die "no moto server in $MOTO_VENV (scripts/test.sh installs it)"
if [[ ! -x "$BIN" ]]; then
  log "building weir-controller (release)"
  (cd "$ROOT" && cargo build --release -q -p weir-controller)
fi

log "load: $(uptime)"
log "starting the API server"
eval "$("$ROOT/scripts/local-apiserver.sh" start "$WORK/api" | grep '^export KUBECONFIG=')"
export KUBECONFIG

log "starting moto"
MOTO_PORT=$(free_port)
MOTO_ACCOUNT_ID=000000000000 "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" \
  >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT AWS_ACCESS_KEY_ID=test \
  AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
for _ in $(seq 100); do
  curl -s -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" && break
  sleep 0.1
done
A='Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0'
ec2() { curl -s -H "$A" -d "Action=$1&Version=2016-11-15&$2" "$AWS_ENDPOINT_URL"; }
VPC=$(ec2 CreateVpc 'CidrBlock=10.0.0.0%2F16' | sed -n 's/.*<vpcId>\([^<]*\)<.*/\1/p')
S1=$(ec2 CreateSubnet "VpcId=$VPC&CidrBlock=10.0.1.0%2F24&AvailabilityZone=us-east-1a" | sed -n 's/.*<subnetId>\([^<]*\)<.*/\1/p')
S2=$(ec2 CreateSubnet "VpcId=$VPC&CidrBlock=10.0.2.0%2F24&AvailabilityZone=us-east-1b" | sed -n 's/.*<subnetId>\([^<]*\)<.*/\1/p')
[[ -n "$S1" && -n "$S2" ]] || die "could not create subnets in moto"

kubectl create namespace weir-system >/dev/null
kubectl create namespace "$NS" >/dev/null
kubectl apply -f "$ROOT/deploy/base/ingressclasses.yaml" >/dev/null

ADMIN_PORT=$(free_port)
METRICS=http://127.0.0.1:$ADMIN_PORT/metrics
start_controller() {
  local extra=()
  [[ -n "${CALLS_PER_SECOND:-}" ]] && extra+=(--aws-calls-per-second "$CALLS_PER_SECOND")
  [[ -n "${CONCURRENCY:-}" ]] && extra+=(--concurrency "$CONCURRENCY")
  "$BIN" run --provider aws --cluster-name "$CLUSTER" --subnets "$S1,$S2" \
    --admin-addr "127.0.0.1:$ADMIN_PORT" --namespace weir-system --log-format text \
    "${extra[@]}" >>"$WORK/controller.log" 2>&1 &
  CONTROLLER_PID=$!
  for _ in $(seq 300); do
    [[ "$(curl -s "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null)" == ok* ]] &&
      curl -s "$METRICS" | grep -q '^weir_leader 1' && return
    kill -0 "$CONTROLLER_PID" 2>/dev/null || die "the controller exited: $(tail -5 "$WORK/controller.log")"
    sleep 0.1
  done
  die "the controller did not become ready and leader"
}
stop_controller() {
  kill "$CONTROLLER_PID" 2>/dev/null
  wait "$CONTROLLER_PID" 2>/dev/null || true
  CONTROLLER_PID=
}
# Sum of a metric's samples, optionally filtered by a label matcher such as 'result="ok"'.
metric() {
  curl -s "$METRICS" | awk -v name="$1" -v want="${2:-}" '
    $1 ~ "^"name"({|$)" && (want == "" || index($1, want)) { sum += $2 }
    END { printf "%d\n", sum }'
}
calls_by_op() {
  curl -s "$METRICS" | sed -n 's/^weir_provider_api_calls_total{operation="\([A-Za-z]*\)"} \([0-9]*\)$/\1=\2/p' |
    sort | tr '\n' ' '
}
rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %d MiB  ", $1, $2 / 1024 }' "/proc/$CONTROLLER_PID/status"; }
# Waits until the queue is empty and the reconcile count has stopped moving for 3 s.
settle() {
  local last=-1 same=0 count
  while ((same < 30)); do
    count=$(metric weir_reconciles_total)
    if [[ "$count" == "$last" && "$(metric weir_queue_depth)" == 0 ]]; then
      same=$((same + 1))
    else
      same=0
    fi
    last=$count
    sleep 0.1
  done
}

log "generating $INGRESSES Services, EndpointSlices and Ingresses ($GROUPS_N groups)"
python3 - "$WORK" "$INGRESSES" "$GROUPS_N" "$NS" <<'EOF'
import json, sys
work, count, groups, ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
backends, ingresses = [], []
for i in range(count):
    svc = f"svc-{i}"
    backends.append({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": svc, "namespace": ns},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    backends.append({"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
        "metadata": {"name": f"{svc}-a", "namespace": ns,
                     "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": [f"10.{1 + i // 250}.{i % 250}.{p}"],
                       "conditions": {"ready": True}} for p in (1, 2)]})
    annotations = {}
    if groups > 0:
        annotations["weir.dev/group.name"] = f"g{i % groups}"
    paths = [{"path": "/", "pathType": "Prefix",
              "backend": {"service": {"name": svc, "port": {"number": 80}}}}]
    if i % 2:  # every other Ingress has a second rule
        paths.append({"path": "/api", "pathType": "Exact",
                      "backend": {"service": {"name": svc, "port": {"number": 80}}}})
    ingresses.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": f"ing-{i}", "namespace": ns, "annotations": annotations},
        "spec": {"ingressClassName": "weir-alb",
                 "rules": [{"host": f"app-{i}.example.com", "http": {"paths": paths}}]}})
for name, items in (("backends", backends), ("ingresses", ingresses)):
    with open(f"{work}/{name}.json", "w") as out:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, out)
EOF
kubectl create -f "$WORK/backends.json" >/dev/null

log "starting the controller"
start_controller
log "controller ready and leader (pid $CONTROLLER_PID)"

log "creating $INGRESSES Ingresses; waiting for every status"
T0=$(now)
kubectl create -f "$WORK/ingresses.json" >/dev/null
T_CREATED=$(now)
done_count=0
while :; do
  done_count=$(kubectl get ingress -n "$NS" -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].hostname}{"\n"}{end}' | grep -c . || true)
  ((done_count >= INGRESSES)) && break
  (($(date +%s) - ${T0%.*} > TIMEOUT)) && break
  sleep 1
done
T_DONE=$(now)
settle
STACKS=$((GROUPS_N > 0 ? GROUPS_N : INGRESSES))
echo
echo "== $INGRESSES Ingresses, $STACKS stacks"
echo "load:             $(uptime | sed 's/.*load average/load average/')"
echo "kubectl create:   $(elapsed "$T0" "$T_CREATED") s"
echo "all statuses:     $(elapsed "$T0" "$T_DONE") s ($done_count/$INGRESSES with an address)"
echo "AWS API calls:    $(metric weir_provider_api_calls_total) total: $(calls_by_op)"
echo "reconciles:       $(metric weir_reconciles_total) ($(metric weir_reconciles_total 'result="ok"') ok)"
echo "controller RSS:   $(rss)"
echo "warnings logged:  $(grep -c ' WARN ' "$WORK/controller.log" || true)"
grep ' WARN ' "$WORK/controller.log" | sed 's/^[^ ]* *//' | cut -c1-200 | sort | uniq -c | sort -rn | head -3 || true
((done_count >= INGRESSES)) || die "timed out after $TIMEOUT s"

log "no-op resync pass: restarting the controller (a new leader reconciles every stack)"
stop_controller
T0=$(now)
start_controller
T_READY=$(now)
while (($(metric weir_reconciles_total) < STACKS)); do sleep 0.1; done
T_PASS=$(now)
settle
echo "== no-op resync pass over $STACKS stacks"
echo "load:             $(uptime | sed 's/.*load average/load average/')"
echo "start to ready:   $(elapsed "$T0" "$T_READY") s (caches synced, Lease taken)"
echo "pass:             $(elapsed "$T_READY" "$T_PASS") s"
echo "AWS API calls:    $(metric weir_provider_api_calls_total) total: $(calls_by_op)"
echo "mutating:         $(curl -s "$METRICS" | grep -E 'operation="(Create|Delete|Modify|Register|Deregister|Set|Add|Remove|Import)' | awk '{ s += $2 } END { print s + 0 }')"
echo "controller RSS:   $(rss)"

log "one EndpointSlice change"
before=$(metric weir_provider_api_calls_total)
registered=$(metric weir_provider_api_calls_total 'operation="RegisterTargets"')
T0=$(now)
kubectl patch endpointslices.v1beta1.discovery.k8s.io svc-0-a -n "$NS" --type=json \
  -p '[{"op": "replace", "path": "/endpoints/0/addresses/0", "value": "10.200.0.9"}]' >/dev/null
while (($(metric weir_provider_api_calls_total 'operation="RegisterTargets"') <= registered)); do
  sleep 0.05
done
T_APPLIED=$(now)
settle
echo "== one EndpointSlice change"
echo "load:             $(uptime | sed 's/.*load average/load average/')"
echo "patch to RegisterTargets: $(elapsed "$T0" "$T_APPLIED") s"
echo "AWS API calls:    $(($(metric weir_provider_api_calls_total) - before))"
