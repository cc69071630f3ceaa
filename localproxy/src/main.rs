//! `weir-proxy`: serve a folder of Kubernetes manifests or the controller's published snapshot
//! (see README.md), or run a demo backend.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use weir_provider_localproxy::Layout;
use weir_proxy::source::cluster;
use weir_proxy::source::manifests::{Fingerprint, ManifestSource, reload, watch};
use weir_proxy::{Proxy, ProxyConfig, admin, demo, server};

/// weir's data plane: serves the Ingresses of a folder over HTTP, HTTPS (SNI) and HTTP/2.
#[derive(Debug, Parser)]
#[command(name = "weir-proxy", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder of Ingress/Service/EndpointSlice/Secret YAML, and Gateway API GatewayClass/
    /// Gateway/HTTPRoute, to serve (watched for changes). Gateways of a `weir.dev/localproxy`
    /// class are served: HTTP listeners on port 80 at --http-addr, HTTPS on 443 at --https-addr.
    #[arg(long, value_name = "DIR", conflicts_with = "from_cluster")]
    manifests: Option<PathBuf>,
    /// Serve the snapshot weir-controller (`--provider localproxy`) publishes in `--namespace`
    /// for `--ingress-class` (default `weir`), through KUBECONFIG or the in-cluster account.
    #[arg(long)]
    from_cluster: bool,
    /// With --from-cluster: the controller's namespace, where the snapshots are.
    #[arg(long, default_value = "weir-system", requires = "from_cluster")]
    namespace: String,
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
    /// Seconds an upstream may take to send its response head (504), or pause inside a body.
    #[arg(long, default_value_t = 30)]
    upstream_timeout: u64,
    /// Seconds to connect to one endpoint before trying another.
    #[arg(long, default_value_t = 2)]
    connect_timeout: u64,
    /// Seconds a client may take to send a request head, from its first byte.
    #[arg(long, default_value_t = 15)]
    header_read_timeout: u64,
    /// Seconds an HTTP/1.1 keep-alive connection may idle between requests.
    #[arg(long, default_value_t = 60)]
    keepalive_timeout: u64,
    /// Seconds a client may pause while sending a request body: 408.
    #[arg(long, default_value_t = 30)]
    body_timeout: u64,
    /// Lowest average request-body rate in bytes a second after the first body timeout: 408
    /// (0: off).
    #[arg(long, default_value_t = 1024)]
    min_body_rate: u64,
    /// Seconds a WebSocket tunnel may carry nothing in either direction before it is closed.
    #[arg(long, default_value_t = 3600)]
    upgrade_idle_timeout: u64,
    /// Largest request head in bytes (431 beyond; at least 8192).
    #[arg(long, default_value_t = 16384)]
    max_header_bytes: usize,
    /// Most request headers (431 beyond).
    #[arg(long, default_value_t = 100)]
    max_headers: usize,
    /// Most concurrent client connections per listener.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Worker threads, each a single-threaded runtime accepting on the shared listening sockets
    /// (default: one per CPU).
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
    // The control runtime: admin, watcher, signals (and the demo backend).
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    control.block_on(run(cli))
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
    let proxy = Proxy::new(ProxyConfig {
        upstream_timeout: Duration::from_secs(cli.upstream_timeout),
        connect_timeout: Duration::from_secs(cli.connect_timeout),
        header_read_timeout: Duration::from_secs(cli.header_read_timeout),
        keepalive_timeout: Duration::from_secs(cli.keepalive_timeout),
        body_timeout: Duration::from_secs(cli.body_timeout),
        min_body_rate: cli.min_body_rate,
        upgrade_idle_timeout: Duration::from_secs(cli.upgrade_idle_timeout),
        max_header_bytes: cli.max_header_bytes,
        max_headers: cli.max_headers,
        max_connections: cli.max_connections,
        access_log: cli.access_log,
        // From a folder, clients reach the listeners directly: redirects name the real port.
        https_redirect_port: cli.manifests.is_some().then(|| cli.https_addr.port()),
        ..ProxyConfig::default()
    });
    let source = match (&cli.manifests, cli.from_cluster) {
        (Some(dir), false) => {
            let source = ManifestSource::new(dir.clone(), cli.ingress_class.clone());
            let seen = source.fingerprint();
            // A broken folder at start-up is not fatal: /readyz stays 503 until a good version
            // lands.
            let _ = reload(&source, &proxy);
            Source::Files(source, seen)
        }
        (None, true) => {
            // kube-rs needs a process-wide rustls provider: ring, with which it is built (the
            // listeners use aws-lc-rs, see the tls module).
            let _ = rustls::crypto::ring::default_provider().install_default();
            let class = cli
                .ingress_class
                .clone()
                .unwrap_or_else(|| "weir".to_owned());
            let layout = Layout::for_class(&class).context("--ingress-class")?;
            let client = kube::Client::try_default().await.context(
                "loading the Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster)",
            )?;
            Source::Cluster(client, cli.namespace.clone(), layout)
        }
        _ => anyhow::bail!("give --manifests DIR or --from-cluster"),
    };
    let threads = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let bind = |addr: SocketAddr| {
        server::listener(addr).with_context(|| {
            format!("binding {addr} (another process, perhaps another weir-proxy, may hold it)")
        })
    };
    let (http_listener, https_listener) = (bind(cli.http_addr)?, bind(cli.https_addr)?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for index in 0..threads {
        let clone = |listener: &std::net::TcpListener| {
            listener
                .try_clone()
                .context("sharing a listening socket with a worker")
        };
        let (http, https) = (clone(&http_listener)?, clone(&https_listener)?);
        let (proxy, mut stopped) = (proxy.clone(), stopped.clone());
        let worker = std::thread::Builder::new()
            .name(format!("weir-worker-{index}"))
            .spawn(move || worker(proxy, http, https, &mut stopped))
            .context("starting a worker thread")?;
        workers.push(worker);
    }
    let admin_listener = TcpListener::bind(cli.admin_addr)
        .await
        .with_context(|| format!("binding {}", cli.admin_addr))?;
    tracing::info!(http = %cli.http_addr, https = %cli.https_addr, admin = %cli.admin_addr, threads, "listening");
    tokio::spawn(admin::serve_admin(proxy.clone(), admin_listener));
    match source {
        Source::Files(source, seen) => {
            tokio::spawn(watch(
                source,
                proxy.clone(),
                Duration::from_millis(cli.poll_interval_ms),
                seen,
            ));
        }
        Source::Cluster(client, namespace, layout) => {
            tracing::info!(%namespace, index = %layout.index_name(), "following the cluster snapshot");
            tokio::spawn(cluster::follow(client, namespace, layout, proxy.clone()));
        }
    }
    proxy.set_serving(true);
    shutdown_signal().await;
    tracing::info!("shutting down: no new connections, draining for up to 10 s");
    proxy.shutdown();
    let _ = stop.send(true);
    for worker in workers {
        if let Err(error) = worker
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))?
        {
            tracing::warn!(%error, "worker ended with an error");
        }
    }
    Ok(())
}

/// Where the configuration comes from.
enum Source {
    /// A folder, and its fingerprint when first read.
    Files(ManifestSource, Fingerprint),
    /// The controller's published snapshot: client, namespace, object names.
    Cluster(kube::Client, String, Layout),
}

/// One core's runtime: accepts on the proxy's listening sockets (shared by every worker)
/// until told to stop, then lets open connections drain (10 s at most).
fn worker(
    proxy: Proxy,
    http: std::net::TcpListener,
    https: std::net::TcpListener,
    stopped: &mut tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = TcpListener::from_std(http)?;
        let https = TcpListener::from_std(https)?;
        let accept = [
            tokio::spawn(server::serve_http(proxy.clone(), http)),
            tokio::spawn(server::serve_https(proxy.clone(), https)),
        ];
        let _ = stopped.wait_for(|stop| *stop).await;
        // The accept loops end by themselves on shutdown; connections close after their
        // current request.
        for task in accept {
            let _ = task.await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while proxy.metrics().active_connections.get() > 0 && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    })
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
