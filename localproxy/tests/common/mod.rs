//! Helpers shared by the real-socket tests: echo backends, a proxy on ephemeral ports,
//! manifests written to a temporary folder, and a minimal raw HTTP/1.1 client.
#![allow(dead_code)]

pub mod frames;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_proxy::source::manifests::ManifestSource;
use weir_proxy::{Proxy, ProxyConfig, server};

/// Starts an echo backend named `name` on an ephemeral loopback port.
pub async fn backend(name: &str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind backend");
    let addr = listener.local_addr().expect("backend addr");
    tokio::spawn(weir_proxy::demo::serve_demo(listener, name.to_owned()));
    addr
}

/// An address nothing listens on (bound, then released).
pub async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// A running proxy with its plain and TLS listener addresses.
pub struct Running {
    pub proxy: Proxy,
    pub http: SocketAddr,
    pub https: SocketAddr,
}

/// Starts a proxy on ephemeral ports.
pub async fn proxy(config: ProxyConfig) -> Running {
    let proxy = Proxy::new(config);
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let https = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
    let (http_addr, https_addr) = (
        http.local_addr().expect("addr"),
        https.local_addr().expect("addr"),
    );
    tokio::spawn(server::serve_http(proxy.clone(), http));
    tokio::spawn(server::serve_https(proxy.clone(), https));
    proxy.set_serving(true);
    Running {
        proxy,
        http: http_addr,
        https: https_addr,
    }
}

/// A folder of manifests under the system temp dir, removed on drop.
pub struct Manifests {
    pub dir: PathBuf,
}

impl Manifests {
    pub fn new(documents: &[String]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "weir-proxy-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create manifests dir");
        let manifests = Self { dir };
        manifests.write("all.yaml", documents);
        manifests
    }

    pub fn write(&self, file: &str, documents: &[String]) {
        std::fs::write(self.dir.join(file), documents.join("\n---\n")).expect("write manifests");
    }

    /// Loads the folder through the real file-mode pipeline (load_dir + translate) into `proxy`.
    pub fn apply(&self, proxy: &Proxy) -> u64 {
        let model = ManifestSource::new(self.dir.clone(), None)
            .load()
            .expect("manifests load");
        proxy.apply(&model)
    }
}

impl Drop for Manifests {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An endpoint of a Service in a manifest.
#[derive(Clone, Copy)]
pub struct Ep {
    pub addr: SocketAddr,
    pub ready: bool,
    pub terminating: bool,
}

impl Ep {
    pub fn ready(addr: SocketAddr) -> Self {
        Self {
            addr,
            ready: true,
            terminating: false,
        }
    }
}

/// A Service `name` in `default` (port 80, named `http`) and one EndpointSlice per endpoint.
pub fn service(name: &str, endpoints: &[Ep]) -> Vec<String> {
    let mut documents = vec![format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  ports:\n    - name: http\n      port: 80\n"
    )];
    for (index, endpoint) in endpoints.iter().enumerate() {
        documents.push(format!(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {name}-{index}\n  namespace: default\n  labels:\n    kubernetes.io/service-name: {name}\naddressType: IPv4\nendpoints:\n  - addresses: [\"{ip}\"]\n    conditions:\n      ready: {ready}\n      terminating: {terminating}\nports:\n  - name: http\n    port: {port}\n    protocol: TCP\n",
            ip = endpoint.addr.ip(),
            port = endpoint.addr.port(),
            ready = endpoint.ready,
            terminating = endpoint.terminating,
        ));
    }
    documents
}

/// An Ingress in `default` whose spec body is given as YAML indented under `spec:`.
pub fn ingress(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n{spec}"
    )
}

/// One parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    /// The echo backend's name, if an echo backend answered.
    pub fn backend(&self) -> Option<&str> {
        self.body.lines().next()?.strip_prefix("backend ")
    }

    /// A request header the echo backend saw.
    pub fn echoed(&self, header: &str) -> Option<&str> {
        let prefix = format!("{header}: ");
        self.body
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
    }
}

/// Sends raw bytes and reads until the server closes (5 s at most).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    try_raw(addr, request).await.expect("connect and write")
}

/// As [`raw`], `None` when the connection cannot be made.
pub async fn try_raw(addr: SocketAddr, request: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Parses the first response of a raw exchange.
pub fn parse(text: &str) -> Reply {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// `GET path` with `Host: host` on a fresh connection.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> Reply {
    try_get(addr, host, path).await.expect("connect")
}

/// As [`get`], `None` when the connection cannot be made.
pub async fn try_get(addr: SocketAddr, host: &str, path: &str) -> Option<Reply> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    Some(parse(&try_raw(addr, request.as_bytes()).await?))
}
