//! The pieces of the localproxy end-to-end tests: `weir-proxy` processes (`--from-cluster`
//! and demo backends), the controller with `--provider localproxy`, metrics, and keep-alive
//! load that records every failed request.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use weir_e2e::ApiServer;

use super::cluster::{eventually, free_port, get};

pub fn weir_proxy() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_weir-controller")).with_file_name("weir-proxy");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p weir-proxy)",
        path.display()
    );
    path
}

/// A child process killed on drop, its log printed when the test fails.
pub struct Process {
    pub child: Child,
    pub log: PathBuf,
}

impl Process {
    pub fn start(mut command: Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("the process starts");
        Self { child, log }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "--- {} ---\n{}",
                self.log.display(),
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}

/// One `weir-proxy --from-cluster`.
pub struct Proxy {
    pub process: Process,
    pub http: u16,
    pub https: u16,
    pub admin: u16,
}

/// The backend name that answered, or the status when it was not a 200.
pub fn served(port: u16, host: &str, path: &str) -> String {
    match get(port, host, path) {
        Some((200, body)) => body
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("backend ")
            .to_owned(),
        Some((status, _)) => status.to_string(),
        None => "no answer".to_owned(),
    }
}

pub fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = get(port, "admin", "/metrics")?;
    body.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Keep-alive HTTP/1.1 requests on one connection after another until `stop`; returns the
/// number of 200s and a description of every other outcome (a non-200, a broken connection).
pub fn keep_alive_load(
    port: u16,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u64, Vec<String>)> {
    std::thread::spawn(move || {
        let (mut ok, mut failures) = (0u64, Vec::new());
        'connections: while !stop.load(Ordering::Relaxed) {
            let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
                failures.push("connect".to_owned());
                continue;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut writer = stream.try_clone().expect("a clone");
            let mut reader = BufReader::new(stream);
            while !stop.load(Ordering::Relaxed) {
                if writer
                    .write_all(b"GET / HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
                    .is_err()
                {
                    failures.push("write".to_owned());
                    continue 'connections;
                }
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    failures.push("connection closed before a response".to_owned());
                    continue 'connections;
                }
                let status = line.split(' ').nth(1).unwrap_or("").to_owned();
                let (mut length, mut close) = (0usize, false);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        failures.push("truncated head".to_owned());
                        continue 'connections;
                    }
                    let header = header.trim_end().to_ascii_lowercase();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(value) = header.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    close |= header == "connection: close";
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    failures.push("truncated body".to_owned());
                    continue 'connections;
                }
                match status.as_str() {
                    "200" => ok += 1,
                    other => failures.push(format!("status {other}")),
                }
                if close {
                    continue 'connections;
                }
            }
        }
        (ok, failures)
    })
}

/// Starts a demo echo backend called `name` on a free loopback port.
pub fn start_backend(server: &ApiServer, name: &str) -> (u16, Process) {
    let port = free_port();
    let process = start_backend_at(server, name, SocketAddr::from(([127, 0, 0, 1], port)));
    (port, process)
}

/// Starts a demo echo backend called `name` on `addr`; its log is named after it (a `/` in
/// the name becomes `@`).
pub fn start_backend_at(server: &ApiServer, name: &str, addr: SocketAddr) -> Process {
    let mut command = Command::new(weir_proxy());
    command
        .args(["demo-backend", "--name", name, "--addr"])
        .arg(addr.to_string());
    let log = server
        .dir()
        .join(format!("backend-{}.log", name.replace('/', "@")));
    Process::start(command, log)
}

/// Starts `weir-controller run --provider localproxy` as `identity` with the shipped
/// ServiceAccount, its admin endpoint on `admin`.
pub fn start_controller(server: &ApiServer, identity: &str, admin: u16) -> Process {
    start_controller_with(server, identity, admin, &[])
}

/// As [`start_controller`], with `extra` flags.
pub fn start_controller_with(
    server: &ApiServer,
    identity: &str,
    admin: u16,
    extra: &[&str],
) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir-controller"));
    command
        .args([
            "run",
            "--provider",
            "localproxy",
            "--namespace",
            "weir-system",
        ])
        .args(["--identity", identity, "--status-address", "192.0.2.10"])
        .args(["--log-format", "text", "--admin-addr"])
        .arg(format!("127.0.0.1:{admin}"))
        .args(extra)
        .env(
            "KUBECONFIG",
            server.service_account_kubeconfig("weir-system", "weir-controller"),
        )
        .env("RUST_LOG", "info");
    Process::start(
        command,
        server.dir().join(format!("controller-{identity}.log")),
    )
}

/// Starts `weir-proxy --from-cluster` number `i` with the shipped ServiceAccount and waits
/// until it is ready (its first snapshot is served).
pub async fn start_proxy(server: &ApiServer, i: usize) -> Proxy {
    let (http, https, admin) = (free_port(), free_port(), free_port());
    let mut command = Command::new(weir_proxy());
    command
        .args([
            "--from-cluster",
            "--namespace",
            "weir-system",
            "--threads",
            "1",
        ])
        .arg(format!("--http-addr=127.0.0.1:{http}"))
        .arg(format!("--https-addr=127.0.0.1:{https}"))
        .arg(format!("--admin-addr=127.0.0.1:{admin}"))
        .env(
            "KUBECONFIG",
            server.service_account_kubeconfig("weir-system", "weir-proxy"),
        )
        .env("RUST_LOG", "info");
    let log = server.dir().join(format!("proxy-{i}.log"));
    let proxy = Proxy {
        process: Process::start(command, log),
        http,
        https,
        admin,
    };
    eventually("the proxy is ready", || async {
        match get(proxy.admin, "admin", "/readyz") {
            Some((200, _)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    proxy
}

/// The shop: Services `web` and `cart` (one loopback endpoint each, at the given ports) and
/// Ingresses `web` (shop.example.com: `/` -> web, `/cart` -> cart) and `api`
/// (api.example.com: Exact `/` -> cart), of class `weir`.
pub fn shop_objects(web_port: u16, cart_port: u16) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: cart, namespace: shop}}
spec: {{ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {{name: web-1, namespace: shop, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
endpoints: [{{addresses: ["127.0.0.1"], conditions: {{ready: true}}}}]
ports: [{{port: {web_port}}}]
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {{name: cart-1, namespace: shop, labels: {{kubernetes.io/service-name: cart}}}}
addressType: IPv4
endpoints: [{{addresses: ["127.0.0.1"], conditions: {{ready: true}}}}]
ports: [{{port: {cart_port}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web, namespace: shop}}
spec:
  ingressClassName: weir
  rules:
  - host: shop.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
      - {{path: /cart, pathType: Prefix, backend: {{service: {{name: cart, port: {{number: 80}}}}}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: api, namespace: shop}}
spec:
  ingressClassName: weir
  rules:
  - host: api.example.com
    http:
      paths:
      - {{path: /, pathType: Exact, backend: {{service: {{name: cart, port: {{number: 80}}}}}}}}
"#
    )
}
