#!/usr/bin/env python3
"""Drives weir-proxy, nginx and HAProxy (reverse proxies in front of the same backend) through
the scenarios below and reports requests per proxy CPU-second, latency percentiles, errors, RSS and
weir's ratio to the best peer in each scenario.

Every proxy runs one worker (nginx `worker_processes 1`, HAProxy `nbthread 1`, weir
`--threads 1`) pinned to core 0 with `taskset`; the load generator (wrk or h2load) and the
backend (nginx, one worker, `return 200 "ok"`) are pinned to core 1. Each proxy keeps a pool of
keep-alive upstream connections and terminates TLS 1.2+ with the same certificate (ECDSA P-256;
an RSA-2048 run of the TLS scenarios beside). CPU time is utime+stime from /proc/PID/stat of
every proxy process, measured around each run. Every scenario runs `--runs` times, the peers in
a rotating order, back to back; medians are reported.
"""
import argparse
import datetime
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROXY_CORE = "0"
LOAD_CORE = "1"
PEERS = ("nginx", "haproxy", "weir")


class Scenario:
    """One load shape: the generator, its connections and streams, and the listener it hits."""

    def __init__(self, key, title, tool, conns, tls, close=False, streams=1, pace=None):
        self.key, self.title, self.tool = key, title, tool
        self.conns, self.tls, self.close, self.streams = conns, tls, close, streams
        # None: as fast as the load generator goes (a closed loop: the slowest of proxy and load
        # generator sets the rate, and latency includes the load generator's own queue). Else a
        # fixed rate well under every proxy's capacity, so that latency is the proxy's: wrk waits
        # `pace` ms before each request of a connection (its delay() hook); h2load sends `pace`
        # requests a second per client (--rps).
        self.pace = pace


SCENARIOS = [
    Scenario("h1-64", "HTTP/1.1 keep-alive, 64 conns", "wrk", 64, tls=False),
    Scenario("h1-256", "HTTP/1.1 keep-alive, 256 conns", "wrk", 256, tls=False),
    Scenario("tls-64", "HTTPS keep-alive, 64 conns", "wrk", 64, tls=True),
    Scenario("tls-new-32", "HTTPS, new connection per request, 32 conns", "wrk", 32, tls=True, close=True),
    Scenario("h2-16x10", "HTTP/2 over TLS, 16 conns x 10 streams", "h2load", 16, tls=True, streams=10),
    Scenario("tls-new-32-paced", "HTTPS, new connection per request, 32 conns, paced (~750 req/s)", "wrk", 32,
             tls=True, close=True, pace=40),
    Scenario("h2-16x10-paced", "HTTP/2 over TLS, 16 conns x 10 streams, paced (16,000 req/s)", "h2load", 16,
             tls=True, streams=10, pace=1000),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def cpu_ticks(pids):
    """(utime, stime) summed over `pids`, in clock ticks."""
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except FileNotFoundError:
            pass
    return user, system


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def pinned(core, argv):
    return ["taskset", "-c", core, *argv]


def make_certificate(workdir, kind):
    """A self-signed certificate for `bench.local` (ECDSA P-256 or RSA-2048): (cert, key, pem)."""
    cert, key = os.path.join(workdir, f"{kind}.crt"), os.path.join(workdir, f"{kind}.key")
    algorithm = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if kind == "ecdsa" \
        else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", "-nodes", *algorithm, "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=bench.local", "-addext", "subjectAltName=DNS:bench.local"],
                   check=True, capture_output=True)
    pem = os.path.join(workdir, f"{kind}.pem")
    with open(pem, "w") as out, open(cert) as c, open(key) as k:
        out.write(c.read() + k.read())
    return cert, key, pem


def nginx_conf(workdir, name, workers, body):
    return f"""
worker_processes {workers};
pid {workdir}/{name}.pid;
error_log {workdir}/{name}.err warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {workdir}/body-{name};
    proxy_temp_path {workdir}/proxy-{name};
    fastcgi_temp_path {workdir}/fcgi-{name};
    uwsgi_temp_path {workdir}/uwsgi-{name};
    scgi_temp_path {workdir}/scgi-{name};
    {body}
}}
"""


def start_nginx(workdir, name, core, port, body):
    path = os.path.join(workdir, f"{name}.conf")
    with open(path, "w") as f:
        f.write(nginx_conf(workdir, name, 1, body))
    proc = subprocess.Popen(pinned(core, ["nginx", "-p", workdir, "-c", path, "-g", "daemon off;"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def start_backend(workdir, port):
    return start_nginx(workdir, "backend", LOAD_CORE, port,
                       f'server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok"; }} }}')


def start_nginx_proxy(workdir, ports, backend_port, cert):
    http, https = ports
    crt, key, _ = cert
    return start_nginx(workdir, "nginx", PROXY_CORE, http, f"""
    upstream backend {{ server 127.0.0.1:{backend_port}; keepalive 256; keepalive_requests 1000000; }}
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate {crt};
    ssl_certificate_key {key};
    ssl_session_cache shared:SSL:10m;
    http2_max_concurrent_streams 256;
    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl http2;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
        }}
    }}""")


def start_haproxy(workdir, ports, backend_port, cert):
    http, https = ports
    path = os.path.join(workdir, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 4096
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 75s
    timeout http-keep-alive 75s
    option http-keep-alive
    http-reuse always
frontend bench
    bind 127.0.0.1:{http}
    bind 127.0.0.1:{https} ssl crt {cert[2]} alpn h2,http/1.1
    option forwardfor
    http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
    http-request set-header X-Forwarded-Proto http if !{{ ssl_fc }}
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port %[dst_port]
    default_backend backend
backend backend
    server b1 127.0.0.1:{backend_port}
""")
    proc = subprocess.Popen(pinned(PROXY_CORE, ["haproxy", "-db", "-f", path]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(http)
    wait_port(https)
    return proc


def indent(text, spaces):
    return "\n".join(" " * spaces + line for line in text.splitlines())


def start_weir(workdir, weir, ports, backend_port, cert, threads=1, core=PROXY_CORE):
    http, https = ports
    manifests = os.path.join(workdir, f"manifests-{threads}")
    shutil.rmtree(manifests, ignore_errors=True)
    os.makedirs(manifests)
    with open(cert[0]) as c, open(cert[1]) as k:
        crt, key = c.read(), k.read()
    with open(os.path.join(manifests, "bench.yaml"), "w") as f:
        f.write(f"""apiVersion: v1
kind: Service
metadata: {{name: backend, namespace: default}}
spec:
  ports: [{{name: http, port: 80}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: default
  labels: {{kubernetes.io/service-name: backend}}
addressType: IPv4
endpoints: [{{addresses: ["127.0.0.1"], conditions: {{ready: true}}}}]
ports: [{{name: http, port: {backend_port}, protocol: TCP}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: bench-tls, namespace: default}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
{indent(crt, 4)}
  tls.key: |
{indent(key, 4)}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: bench, namespace: default}}
spec:
  tls: [{{secretName: bench-tls}}]
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: backend, port: {{number: 80}}}}}}
""")
    argv = [weir, "--manifests", manifests, "--threads", str(threads),
            "--http-addr", f"127.0.0.1:{http}", "--https-addr", f"127.0.0.1:{https}",
            "--admin-addr", f"127.0.0.1:{free_port()}"]
    proc = subprocess.Popen(pinned(core, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "RUST_LOG": "warn"})
    wait_port(http)
    wait_port(https)
    # The certificate arrives with the first snapshot, shortly after the listeners.
    deadline = time.time() + 10
    while time.time() < deadline:
        probe = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{https}"],
                               input="", capture_output=True, text=True, timeout=10)
        if "BEGIN CERTIFICATE" in probe.stdout:
            break
        time.sleep(0.2)
    return proc


WRK_LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_REQS = re.compile(r"(\d+) requests in")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
H2_REQS = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                     r"(\d+) errored, (\d+) timeout")
H2_STATUS = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def load_cpu_seconds():
    """CPU seconds (user + system) used by every finished child so far: the load generator's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drive(scenario, ports, duration, workdir):
    """Runs the load generator once: (requests, errors, p50 ms, p99 ms)."""
    port = ports[1] if scenario.tls else ports[0]
    url = f"{'https' if scenario.tls else 'http'}://127.0.0.1:{port}/"
    if scenario.tool == "wrk":
        argv = ["wrk", "-t1", f"-c{scenario.conns}", f"-d{duration}s", "--latency", url]
        if scenario.close:
            argv[1:1] = ["-H", "Connection: close"]
        if scenario.pace:
            script = os.path.join(workdir, f"pace-{scenario.pace}.lua")
            with open(script, "w") as f:
                f.write(f"function delay() return {scenario.pace} end\n")
            argv[1:1] = ["-s", script]
        out = subprocess.run(pinned(LOAD_CORE, argv), capture_output=True, text=True).stdout
        requests = int(WRK_REQS.search(out).group(1))
        lat = {m.group(1): to_ms(m.group(2), m.group(3)) for m in WRK_LAT.finditer(out)}
        errors = sum(int(m.group(1)) for m in WRK_NON2XX.finditer(out))
        socket_errors = WRK_SOCKET.search(out)
        if socket_errors:
            errors += sum(int(g) for g in socket_errors.groups())
        return requests, errors, lat.get("50", 0.0), lat.get("99", 0.0)
    log = os.path.join(workdir, "h2load.log")
    argv = ["h2load", "-c", str(scenario.conns), "-m", str(scenario.streams), "-t", "1",
            "-D", str(duration), "--log-file", log, url]
    if scenario.pace:
        argv[1:1] = [f"--rps={scenario.pace}"]
    out = subprocess.run(pinned(LOAD_CORE, argv), capture_output=True, text=True).stdout
    done = H2_REQS.search(out)
    status = H2_STATUS.search(out)
    if not done:
        raise SystemExit(f"h2load gave no summary:\n{out}")
    succeeded, failed, errored, timeout = (int(g) for g in done.groups()[1:])
    non2xx = sum(int(g) for g in status.groups()[1:]) if status else 0
    with open(log) as f:
        # Each line: start time (µs since the epoch), status, duration in µs.
        latencies = sorted(int(line.split()[2]) for line in f if line.strip())
    os.unlink(log)
    p50 = percentile(latencies, 0.50) / 1000 if latencies else 0.0
    p99 = percentile(latencies, 0.99) / 1000 if latencies else 0.0
    return succeeded, failed + errored + timeout + non2xx, p50, p99


def measure(scenario, ports, pids, duration, workdir):
    user0, system0 = cpu_ticks(pids)
    load0 = load_cpu_seconds()
    started = time.time()
    requests, errors, p50, p99 = drive(scenario, ports, duration, workdir)
    wall = time.time() - started
    load = (load_cpu_seconds() - load0) / wall
    user1, system1 = cpu_ticks(pids)
    user, system = (user1 - user0) / CLK_TCK, (system1 - system0) / CLK_TCK
    cpu = user + system
    return {"requests": requests, "cpu": cpu, "per_cpu": requests / cpu if cpu else 0.0,
            "user_us": user / max(requests, 1) * 1e6, "sys_us": system / max(requests, 1) * 1e6,
            "rps": requests / wall, "p50": p50, "p99": p99, "errors": errors, "load": load}


class Peers:
    """The three proxies, started with one certificate, and what is measured of them."""

    def __init__(self, workdir, weir, backend_port, cert):
        self.ports = {name: (free_port(), free_port()) for name in PEERS}
        self.procs = {
            "nginx": start_nginx_proxy(workdir, self.ports["nginx"], backend_port, cert),
            "haproxy": start_haproxy(workdir, self.ports["haproxy"], backend_port, cert),
            "weir": start_weir(workdir, weir, self.ports["weir"], backend_port, cert),
        }
        time.sleep(0.5)
        self.pids = {name: [proc.pid] + children(proc.pid) for name, proc in self.procs.items()}
        # taskset execs the proxy in place, so the Popen pid is the proxy (nginx: its master).
        self.idle_rss = {name: rss_kib(pids) for name, pids in self.pids.items()}

    def stop(self):
        stop(list(self.procs.values()))


def stop(procs):
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_phase(label, peers, scenarios, args, workdir, results):
    """Warms every proxy on every scenario, then runs them `args.runs` times in rotating order."""
    for scenario in scenarios:
        for name in PEERS:
            drive(scenario, peers.ports[name], 1, workdir)
    for run in range(args.runs):
        order = PEERS[run % len(PEERS):] + PEERS[:run % len(PEERS)]
        for scenario in scenarios:
            for name in order:
                r = measure(scenario, peers.ports[name], peers.pids[name], args.duration, workdir)
                results.setdefault((label, scenario.key, name), []).append(r)
                print(f"{label:5} {scenario.key:10} {name:7} run {run + 1}: {r['per_cpu']:8.0f} req/CPU-s "
                      f"{r['rps']:8.0f} req/s p50 {r['p50']:.2f} ms p99 {r['p99']:.2f} ms "
                      f"user {r['user_us']:.2f} sys {r['sys_us']:.2f} us/req errors {r['errors']} "
                      f"load generator CPU {r['load']:.2f}",
                      flush=True)
    return {name: rss_kib(pids) for name, pids in peers.pids.items()}


def run_scaling(args, workdir, backend_port, cert):
    """weir with one worker thread on core 0 against two worker threads on both cores, HTTP/1.1
    keep-alive 256 connections, the load generator unpinned: wall and per-CPU-second rates."""
    scenario = next(s for s in SCENARIOS if s.key == "h1-256")
    unpinned = Scenario("h1-256", scenario.title, "wrk", 256, tls=False)
    out = {}
    for threads, core in ((1, PROXY_CORE), (2, f"{PROXY_CORE},{LOAD_CORE}")):
        ports = (free_port(), free_port())
        proc = start_weir(workdir, args.weir, ports, backend_port, cert, threads=threads, core=core)
        try:
            drive(unpinned, ports, 1, workdir)
            out[threads] = [measure(unpinned, ports, [proc.pid], args.duration, workdir)
                            for _ in range(args.runs)]
        finally:
            stop([proc])
    return out


def machine():
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({cpu_model}), {platform.system()} {platform.release()}"


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def version(argv, stream="stdout"):
    out = subprocess.run(argv, capture_output=True, text=True)
    return (out.stdout if stream == "stdout" else out.stderr).strip().splitlines()[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weir", required=True)
    parser.add_argument("--rules")
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(s.key for s in SCENARIOS),
                        help="comma-separated scenario keys")
    parser.add_argument("--no-rsa", action="store_true", help="skip the RSA-2048 run of the TLS scenarios")
    parser.add_argument("--no-scaling", action="store_true", help="skip the one- vs two-thread run")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    chosen = [s for s in SCENARIOS if s.key in args.scenarios.split(",")]

    workdir = tempfile.mkdtemp(prefix="weir-bench-")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load_average()
    results, rss, scaling = {}, {}, {}
    backend = None
    try:
        backend_port = free_port()
        backend = start_backend(workdir, backend_port)
        certs = {"ecdsa": make_certificate(workdir, "ecdsa")}
        phases = [("ecdsa", chosen)]
        if not args.no_rsa and any(s.tls for s in chosen):
            certs["rsa"] = make_certificate(workdir, "rsa")
            phases.append(("rsa", [s for s in chosen if s.tls]))
        for label, scenarios in phases:
            peers = Peers(workdir, args.weir, backend_port, certs[label])
            try:
                loaded = run_phase(label, peers, scenarios, args, workdir, results)
                rss[label] = (peers.idle_rss, loaded)
            finally:
                peers.stop()
        if not args.no_scaling:
            scaling = run_scaling(args, workdir, backend_port, certs["ecdsa"])
        rules = subprocess.run([args.rules], capture_output=True, text=True, check=True).stdout.strip() \
            if args.rules else None
    finally:
        if backend:
            stop([backend])
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = load_average()

    def med(label, key, name, field):
        return statistics.median(r[field] for r in results[(label, key, name)])

    lines = [
        "# weir-proxy vs nginx and HAProxy: benchmark results",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}; load average before {load_before}, after {load_after}",
        f"- Machine: {machine()}",
        f"- Peers: {version(['nginx', '-v'], 'stderr')} (`worker_processes 1`); "
        f"{version(['haproxy', '-v'])} (`nbthread 1`); weir-proxy release build, `--threads 1`",
        "- Each proxy: pinned to core 0 (`taskset`), keep-alive upstream pool, access log off, "
        "TLS 1.2+ with the same self-signed certificate, ALPN h2 and http/1.1",
        "- Load generator (wrk -t1, or h2load -t1 for HTTP/2) and the backend (nginx, one worker, "
        "`return 200 \"ok\"`) pinned to core 1",
        f"- {args.duration} s per run, {args.runs} runs per cell, the three proxies in rotating order back to back; "
        "medians shown",
        "- CPU: utime+stime of the proxy processes from /proc/PID/stat",
        "",
        "## Summary: requests per proxy CPU-second",
        "",
        "| certificate | scenario | nginx | HAProxy | weir | weir / best peer | p99 ms nginx / HAProxy / weir | p99 weir / best peer |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for label, scenarios in phases:
        for s in scenarios:
            per_cpu = {name: med(label, s.key, name, "per_cpu") for name in PEERS}
            p99 = {name: med(label, s.key, name, "p99") for name in PEERS}
            best = max(per_cpu["nginx"], per_cpu["haproxy"])
            best_p99 = min(p99["nginx"], p99["haproxy"])
            lines.append(
                f"| {label} | {s.title} | {per_cpu['nginx']:,.0f} | {per_cpu['haproxy']:,.0f} | "
                f"{per_cpu['weir']:,.0f} | {per_cpu['weir'] / best:.2f}x | "
                f"{p99['nginx']:.2f} / {p99['haproxy']:.2f} / {p99['weir']:.2f} | "
                f"{p99['weir'] / best_p99:.2f} |")
    lines += [
        "",
        "## Medians per proxy",
        "",
        "| certificate | scenario | proxy | req per CPU-second | req/s (wall) | p50 ms | p99 ms | "
        "user µs/req | kernel µs/req | load generator CPU-s per s | errors (sum) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, scenarios in phases:
        for s in scenarios:
            for name in PEERS:
                errors = sum(r["errors"] for r in results[(label, s.key, name)])
                lines.append(
                    f"| {label} | {s.key} | {name} | {med(label, s.key, name, 'per_cpu'):,.0f} | "
                    f"{med(label, s.key, name, 'rps'):,.0f} | {med(label, s.key, name, 'p50'):.2f} | "
                    f"{med(label, s.key, name, 'p99'):.2f} | {med(label, s.key, name, 'user_us'):.2f} | "
                    f"{med(label, s.key, name, 'sys_us'):.2f} | {med(label, s.key, name, 'load'):.2f} | "
                    f"{errors} |")
    lines += ["", "## RSS (MiB), idle and after the runs", "",
              "| certificate | nginx | HAProxy | weir |", "| --- | ---: | ---: | ---: |"]
    for label, (idle, loaded) in rss.items():
        lines.append(f"| {label} | " + " | ".join(
            f"{idle[name] / 1024:.1f} / {loaded[name] / 1024:.1f}" for name in PEERS) + " |")
    if scaling:
        one = statistics.median(r["rps"] for r in scaling[1])
        two = statistics.median(r["rps"] for r in scaling[2])
        lines += [
            "", "## weir: one worker thread on one core vs two on two cores (HTTP/1.1, 256 conns, wrk unpinned)", "",
            "| threads | req/s (wall) | req per CPU-second | proxy CPU-s per wall-s |", "| ---: | ---: | ---: | ---: |",
        ]
        for threads, runs in scaling.items():
            lines.append(f"| {threads} | {statistics.median(r['rps'] for r in runs):,.0f} | "
                         f"{statistics.median(r['per_cpu'] for r in runs):,.0f} | "
                         f"{statistics.median(r['cpu'] / args.duration for r in runs):.2f} |")
        lines += ["", f"Two threads / one (wall): {two / one:.2f}x. On 2 cores the load generator and the "
                  "backend share the cores with the proxy, so wall throughput cannot show the proxy's own "
                  "scaling; the per-CPU-second rate shows whether the second thread costs efficiency."]
    if rules:
        lines += ["", "## 10,000-rule table (`cargo run --release -p weir-proxy --example rules_10k`)",
                  "", "```", rules, "```"]
    lines += [
        "", "## Every run", "",
        "| certificate | scenario | proxy | run | req per CPU-second | req/s | p50 ms | p99 ms | CPU s | "
        "user µs/req | kernel µs/req | errors |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (label, key, name), runs in results.items():
        for index, r in enumerate(runs):
            lines.append(f"| {label} | {key} | {name} | {index + 1} | {r['per_cpu']:,.0f} | {r['rps']:,.0f} | "
                         f"{r['p50']:.2f} | {r['p99']:.2f} | {r['cpu']:.2f} | {r['user_us']:.2f} | "
                         f"{r['sys_us']:.2f} | {r['errors']} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
