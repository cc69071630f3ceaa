#!/usr/bin/env python3
"""Measures weir-proxy's resident memory with many idle keep-alive connections.

Starts the backend and weir-proxy as bench.py does (one worker thread), opens N connections
(default 10,000), sends one request on each and reads its response, so that every connection
idles between requests, then reads weir's VmRSS from /proc. Kinds: `http1` (plain HTTP/1.1,
the lane), `tls` (HTTPS keep-alive, HTTP/1.1 over TLS 1.3) and `h2` (HTTP/2 with prior
knowledge on the plain port, which the lane hands to hyper).

    python3 bench/idle_rss.py --weir target/release/weir-proxy [--conns 10000] [--kinds http1,tls,h2]
"""
import argparse
import asyncio
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# SETTINGS (empty), then HEADERS on stream 1 with END_STREAM|END_HEADERS: :method GET,
# :scheme http, :path /, :authority a (HPACK: indexed 2, 6, 4, literal 1 "a").
H2_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
H2_HEADERS = b"\x00\x00\x06\x01\x05\x00\x00\x00\x01" + b"\x82\x86\x84\x41\x01a"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def open_one(kind, port, context, held):
    if kind == "tls":
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                       server_hostname="bench.local")
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if kind == "h2":
        writer.write(H2_PREFACE + H2_SETTINGS + H2_HEADERS)
        await writer.drain()
        # Enough to have seen the response's HEADERS and DATA frames.
        got = b""
        while len(got) < 40:
            part = await reader.read(4096)
            if not part:
                raise RuntimeError("h2 connection closed")
            got += part
    else:
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head)
        await reader.readexactly(2)
    held.append(writer)


async def measure(kind, ports, conns, pid):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    port = ports[1] if kind == "tls" else ports[0]
    before = rss_kib(pid)
    held = []
    for start in range(0, conns, 200):
        await asyncio.gather(*(open_one(kind, port, context, held)
                               for _ in range(min(200, conns - start))))
    await asyncio.sleep(1)
    loaded = rss_kib(pid)
    for writer in held:
        writer.close()
    await asyncio.sleep(2)
    after = rss_kib(pid)
    return before, loaded, after, len(held)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weir", required=True)
    parser.add_argument("--conns", type=int, default=10_000)
    parser.add_argument("--kinds", default="http1,tls,h2")
    args = parser.parse_args()
    # The client and weir-proxy (which inherits it) each need one descriptor per connection.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < args.conns + 500:
        raise SystemExit(f"the descriptor limit ({hard}) is below {args.conns + 500}: raise it (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = tempfile.mkdtemp(prefix="weir-rss-")
    backend_port = bench.free_port()
    backend = bench.start_backend(workdir, backend_port)
    cert = bench.make_certificate(workdir, "ecdsa")
    try:
        for kind in args.kinds.split(","):
            ports = (bench.free_port(), bench.free_port())
            proc = bench.start_weir(workdir, args.weir, ports, backend_port, cert)
            try:
                before, loaded, after, opened = asyncio.run(measure(kind, ports, args.conns, proc.pid))
            finally:
                bench.stop([proc])
            per = (loaded - before) / max(opened, 1)
            print(f"{kind}: {opened} idle connections: RSS {before / 1024:.1f} MiB before, "
                  f"{loaded / 1024:.1f} MiB with them ({per:.1f} KiB each), "
                  f"{after / 1024:.1f} MiB 2 s after they closed", flush=True)
    finally:
        bench.stop([backend])


if __name__ == "__main__":
    main()
