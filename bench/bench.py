#!/usr/bin/env python3
"""Drives weir-proxy and nginx (as reverse proxies in front of the same backend) with wrk and
reports requests per proxy CPU-second, latency percentiles and the weir/nginx ratio.

CPU time is utime+stime from /proc/PID/stat of every proxy process (nginx master and workers;
weir-proxy's single process with all its threads), measured around each wrk run. Every
configuration runs 3 times, alternating nginx and weir back to back; medians are reported.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
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


def nginx_conf(workdir, listen, body):
    return f"""
worker_processes 2;
pid {workdir}/nginx-{listen}.pid;
error_log {workdir}/nginx-{listen}.err warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {workdir}/body-{listen};
    proxy_temp_path {workdir}/proxy-{listen};
    fastcgi_temp_path {workdir}/fcgi-{listen};
    uwsgi_temp_path {workdir}/uwsgi-{listen};
    scgi_temp_path {workdir}/scgi-{listen};
    {body}
}}
"""


def start_nginx(workdir, listen, body, single_worker=False):
    conf = nginx_conf(workdir, listen, body)
    if single_worker:
        conf = conf.replace("worker_processes 2;", "worker_processes 1;")
    path = os.path.join(workdir, f"nginx-{listen}.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["nginx", "-p", workdir, "-c", path, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(listen)
    return proc


WRK_LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_REQS = re.compile(r"(\d+) requests in")
WRK_ERRS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*")


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(port, conns, duration, pids):
    user0, system0 = cpu_ticks(pids)
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
    user1, system1 = cpu_ticks(pids)
    user, system = (user1 - user0) / CLK_TCK, (system1 - system0) / CLK_TCK
    cpu = user + system
    requests = int(WRK_REQS.search(out).group(1))
    lat = {m.group(1): to_ms(m.group(2), m.group(3)) for m in WRK_LAT.finditer(out)}
    errors = [m.group(0) for m in WRK_ERRS.finditer(out)]
    return {"requests": requests, "cpu": cpu, "per_cpu": requests / cpu if cpu else 0.0,
            "user_us": user / requests * 1e6, "sys_us": system / requests * 1e6,
            "rps": requests / duration, "p50": lat.get("50"), "p99": lat.get("99"), "errors": errors}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weir", required=True)
    parser.add_argument("--rules", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="weir-bench-")
    procs = []
    try:
        backend_port, nginx_port, weir_port = free_port(), free_port(), free_port()
        https_port, admin_port = free_port(), free_port()
        # One backend for both proxies: nginx answering a tiny static body, one worker.
        procs.append(start_nginx(workdir, backend_port,
                                 f'server {{ listen 127.0.0.1:{backend_port}; location / {{ return 200 "ok"; }} }}',
                                 single_worker=True))
        nginx = start_nginx(workdir, nginx_port, f"""
    upstream backend {{ server 127.0.0.1:{backend_port}; keepalive 256; keepalive_requests 1000000; }}
    server {{
        listen 127.0.0.1:{nginx_port};
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
        procs.append(nginx)
        manifests = os.path.join(workdir, "manifests")
        os.makedirs(manifests)
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
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: bench, namespace: default}}
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: backend, port: {{number: 80}}}}}}
""")
        weir = subprocess.Popen([args.weir, "--manifests", manifests,
                                 "--http-addr", f"127.0.0.1:{weir_port}",
                                 "--https-addr", f"127.0.0.1:{https_port}",
                                 "--admin-addr", f"127.0.0.1:{admin_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "RUST_LOG": "warn"})
        procs.append(weir)
        wait_port(weir_port)
        time.sleep(0.5)
        nginx_pids = [nginx.pid] + children(nginx.pid)
        weir_pids = [weir.pid]
        idle = {"weir": rss_kib(weir_pids), "nginx": rss_kib(nginx_pids)}

        # Warm both up (connections, caches), then measure.
        run_wrk(nginx_port, 64, 2, nginx_pids)
        run_wrk(weir_port, 64, 2, weir_pids)
        results = {}
        for conns in (64, 256):
            for run in range(args.runs):
                for name, port, pids in (("nginx", nginx_port, nginx_pids), ("weir", weir_port, weir_pids)):
                    r = run_wrk(port, conns, args.duration, pids)
                    results.setdefault((name, conns), []).append(r)
                    print(f"{name:5} c={conns:3} run {run + 1}: {r['per_cpu']:8.0f} req/CPU-s "
                          f"{r['rps']:8.0f} req/s p50 {r['p50']:.2f} ms p99 {r['p99']:.2f} ms "
                          f"user {r['user_us']:.2f} us/req sys {r['sys_us']:.2f} us/req "
                          f"{' '.join(r['errors'])}", flush=True)
        loaded = {"weir": rss_kib(weir_pids), "nginx": rss_kib(nginx_pids)}
        # Context: the HTTP server alone (no proxying): nginx answering `return 200` (1 worker)
        # and weir-proxy's demo backend (hyper, one runtime), both driven directly.
        demo_port = free_port()
        demo = subprocess.Popen([args.weir, "demo-backend", "--addr", f"127.0.0.1:{demo_port}", "--name", "bench"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(demo)
        wait_port(demo_port)
        backend_pids = [procs[0].pid] + children(procs[0].pid)
        servers = {}
        for run in range(args.runs):
            for name, port, pids, path in (("nginx static", backend_port, backend_pids, "/"),
                                           ("weir demo backend", demo_port, [demo.pid], "/bench")):
                before = sum(cpu_ticks(pids))
                out = subprocess.run(["wrk", "-t1", "-c64", f"-d{args.duration}s", f"http://127.0.0.1:{port}{path}"],
                                     capture_output=True, text=True).stdout
                cpu = (sum(cpu_ticks(pids)) - before) / CLK_TCK
                servers.setdefault(name, []).append(int(WRK_REQS.search(out).group(1)) / cpu)
        rules = subprocess.run([args.rules], capture_output=True, text=True, check=True).stdout.strip()
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    def med(name, conns, key):
        return statistics.median(r[key] for r in results[(name, conns)])

    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    lines = [
        "# weir-proxy vs nginx: benchmark results",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model}), {platform.system()} {platform.release()}",
        f"- Peer: {nginx_version}, `worker_processes 2`, keep-alive upstream (`keepalive 256`), access log off",
        f"- weir-proxy: release build, default flags (one worker thread per CPU), access log off",
        f"- Load: `wrk -t1 -cN -d{args.duration}s --latency`, keep-alive HTTP/1.1, tiny static response from one nginx backend (1 worker)",
        f"- {args.runs} runs per cell, nginx and weir alternating back to back; medians shown",
        "- CPU: utime+stime of the proxy processes from /proc/PID/stat (nginx master + workers; weir's one process)",
        "",
        "| connections | proxy | req per CPU-second | req/s (wall) | p50 ms | p99 ms | user µs/req | kernel µs/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for conns in (64, 256):
        for name in ("nginx", "weir"):
            lines.append(f"| {conns} | {name} | {med(name, conns, 'per_cpu'):,.0f} | {med(name, conns, 'rps'):,.0f} | "
                         f"{med(name, conns, 'p50'):.2f} | {med(name, conns, 'p99'):.2f} | "
                         f"{med(name, conns, 'user_us'):.2f} | {med(name, conns, 'sys_us'):.2f} |")
    lines += ["", "| connections | weir/nginx per CPU-second | p99 weir/nginx | ceiling: weir with zero user time / nginx |",
              "| --- | ---: | ---: | ---: |"]
    for conns in (64, 256):
        ratio = med("weir", conns, "per_cpu") / med("nginx", conns, "per_cpu")
        p99 = med("weir", conns, "p99") / med("nginx", conns, "p99")
        # The kernel's share (four socket calls per proxied request, their TCP work and the
        # wake-ups) bounds any proxy: even with no user-space cost at all, weir would do
        # 1/kernel-time requests per CPU-second.
        nginx_total = med("nginx", conns, "user_us") + med("nginx", conns, "sys_us")
        ceiling = nginx_total / med("weir", conns, "sys_us")
        lines.append(f"| {conns} | {ratio:.2f}x | {p99:.2f} | {ceiling:.2f}x |")
    lines += [
        "",
        f"- RSS at idle: weir {idle['weir'] / 1024:.1f} MiB, nginx (master + workers) {idle['nginx'] / 1024:.1f} MiB",
        f"- RSS after the runs: weir {loaded['weir'] / 1024:.1f} MiB, nginx {loaded['nginx'] / 1024:.1f} MiB",
        "",
        "## Context: the HTTP server alone (64 connections, no proxying)",
        "",
        "| server | req per CPU-second (median) |",
        "| --- | ---: |",
        *[f"| {name} | {statistics.median(values):,.0f} |" for name, values in servers.items()],
        "",
        "## 10,000-rule table (`cargo run --release -p weir-proxy --example rules_10k`)",
        "",
        "```",
        rules,
        "```",
        "",
        "## Every run",
        "",
        "| connections | proxy | run | req per CPU-second | req/s | p50 ms | p99 ms | CPU s | user µs/req | kernel µs/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (name, conns), runs in sorted(results.items(), key=lambda item: (item[0][1], item[0][0])):
        for index, r in enumerate(runs):
            lines.append(f"| {conns} | {name} | {index + 1} | {r['per_cpu']:,.0f} | {r['rps']:,.0f} | "
                         f"{r['p50']:.2f} | {r['p99']:.2f} | {r['cpu']:.2f} | {r['user_us']:.2f} | {r['sys_us']:.2f} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
