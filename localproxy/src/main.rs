//! `weir-proxy`: serve a folder of Kubernetes manifests (see README.md), or run a demo backend.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use weir_proxy::source::{ManifestSource, reload, watch};
use weir_proxy::{Proxy, ProxyConfig, admin, demo, server};

/// weir's data plane: serves the Ingresses of a folder over HTTP, HTTPS (SNI) and HTTP/2.
#[derive(Debug, Parser)]
#[command(name = "weir-proxy", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder of Ingress/Service/EndpointSlice/Secret YAML to serve (watched for changes).
    #[arg(long, value_name = "DIR")]
    manifests: Option<PathBuf>,
    /// Plain HTTP listener.
    #[arg(long, default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// HTTPS listener.
    #[arg(long, default_value = "0.0.0.0:8443")]
    https_addr: SocketAddr,
    /// Admin listener (/healthz, /readyz, /metrics, /config); unauthenticated, keep it local.
    #[arg(long, default_value = "127.0.0.1:9901")]
    admin_addr: SocketAddr,
    /// Serve only Ingresses of this IngressClass (default: every Ingress in the folder).
    #[arg(long, value_name = "NAME")]
    ingress_class: Option<String>,
    /// Seconds an upstream may take to answer (response head, or a pause in the body): 504.
    #[arg(long, default_value_t = 30)]
    upstream_timeout: u64,
    /// Seconds to connect to one endpoint before trying another.
    #[arg(long, default_value_t = 2)]
    connect_timeout: u64,
    /// Seconds a client may take to send a request head; also the HTTP/1.1 keep-alive idle time.
    #[arg(long, default_value_t = 15)]
    header_read_timeout: u64,
    /// Seconds a client may pause while sending a request body: 408.
    #[arg(long, default_value_t = 30)]
    body_timeout: u64,
    /// Largest request head in bytes (431 beyond; at least 8192).
    #[arg(long, default_value_t = 16384)]
    max_header_bytes: usize,
    /// Most request headers (431 beyond).
    #[arg(long, default_value_t = 100)]
    max_headers: usize,
    /// Most concurrent client connections per listener.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Log one line per request (target `access`).
    #[arg(long)]
    access_log: bool,
    /// How often to look for changes in the manifests folder, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_interval_ms: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a tiny echo backend (for the quickstart and the benchmark).
    DemoBackend {
        /// Address to listen on.
        #[arg(long)]
        addr: SocketAddr,
        /// Name echoed in every response.
        #[arg(long)]
        name: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = cli.threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::DemoBackend { addr, name }) = cli.command {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        tracing::info!(%addr, %name, "demo backend listening");
        demo::serve_demo(listener, name).await?;
        return Ok(());
    }
    let dir = cli
        .manifests
        .clone()
        .context("--manifests DIR is required")?;
    let proxy = Proxy::new(ProxyConfig {
        upstream_timeout: Duration::from_secs(cli.upstream_timeout),
        connect_timeout: Duration::from_secs(cli.connect_timeout),
        header_read_timeout: Duration::from_secs(cli.header_read_timeout),
        body_timeout: Duration::from_secs(cli.body_timeout),
        max_header_bytes: cli.max_header_bytes,
        max_headers: cli.max_headers,
        max_connections: cli.max_connections,
        access_log: cli.access_log,
        ..ProxyConfig::default()
    });
    let source = ManifestSource::new(dir, cli.ingress_class.clone());
    let seen = source.fingerprint();
    // A broken folder at start-up is not fatal: /readyz stays 503 until a good version lands.
    let _ = reload(&source, &proxy);
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))
    };
    let http = bind(cli.http_addr).await?;
    let https = bind(cli.https_addr).await?;
    let admin_listener = bind(cli.admin_addr).await?;
    tracing::info!(http = %cli.http_addr, https = %cli.https_addr, admin = %cli.admin_addr, "listening");
    let tasks = [
        tokio::spawn(server::serve_http(proxy.clone(), http)),
        tokio::spawn(server::serve_https(proxy.clone(), https)),
        tokio::spawn(admin::serve_admin(proxy.clone(), admin_listener)),
    ];
    tokio::spawn(watch(
        source,
        proxy.clone(),
        Duration::from_millis(cli.poll_interval_ms),
        seen,
    ));
    proxy.set_serving(true);
    shutdown_signal().await;
    tracing::info!("shutting down: no new connections, draining");
    proxy.set_serving(false);
    for task in &tasks {
        task.abort();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while proxy.metrics().active_connections.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
