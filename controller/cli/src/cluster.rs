//! `weir-controller run`: the controller against a Kubernetes API server, wired from flags.

mod status_watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use prometheus_client::registry::Registry;
use weir_model::LoadBalancerAddress;
use weir_provider_aws::{AwsProvider, Client, ClientOptions, SdkApi, StackDefaults};
use weir_provider_localproxy::{KubeStore, LocalProxyProvider};
use weir_runtime::{LeaseSettings, RunSettings, StatusSource, register_provider_calls};
use weir_translate::{ClassSelection, ControllerKind, TranslateConfig};

pub use status_watch::{ServiceName, StatusOrigin};

/// Where the in-cluster ServiceAccount mount says the pod runs.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// Where weir keeps its Lease when it runs outside a pod and no namespace is given.
const DEFAULT_NAMESPACE: &str = "weir-system";

/// Everything `run` needs besides the provider.
pub struct ClusterRun {
    /// Which provider serves the Ingresses.
    pub kind: ControllerKind,
    /// Serve only this class name instead of the provider's IngressClasses.
    pub ingress_class: Option<String>,
    /// The Lease's namespace (`None`: the pod's own, else `weir-system`).
    pub namespace: Option<String>,
    /// The Lease's name (`None`: `weir-controller-aws` / `weir-controller-localproxy`).
    pub lease_name: Option<String>,
    /// This instance's identity in the Lease (`None`: pod name or host name, plus the pid).
    pub identity: Option<String>,
    /// Stacks reconciled at once.
    pub concurrency: usize,
    /// The drift-repair period.
    pub resync: Duration,
    /// How often a server without the Gateway API CRDs is asked again.
    pub gateway_api_recheck: Duration,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub admin_addr: SocketAddr,
    /// The AWS cluster name (ownership tags); required by the aws provider.
    pub cluster_name: Option<String>,
    /// localproxy: the addresses written into Ingress status (IPs or host names).
    pub status_addresses: Vec<String>,
    /// localproxy: where the status addresses are watched instead (a Service, Nodes).
    pub status_origin: Option<StatusOrigin>,
    /// AWS defaults for stacks whose annotations leave them unset.
    pub aws_defaults: StackDefaults,
    /// How the AWS client paces and retries calls.
    pub aws_client: ClientOptions,
    /// The VPC whose tagged subnets are discovered when `aws_defaults` names none.
    pub aws_vpc_id: Option<String>,
}

impl ClusterRun {
    /// Runs until SIGTERM or Ctrl-C, then releases the Lease.
    pub async fn run(self) -> anyhow::Result<()> {
        let client = kube::Client::try_default().await.context(
            "loading the Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster)",
        )?;
        let namespace = self.namespace.clone().unwrap_or_else(pod_namespace);
        let provider_name = match self.kind {
            ControllerKind::AwsAlb => "aws",
            ControllerKind::LocalProxy => "localproxy",
        };
        let lease = LeaseSettings::new(
            namespace.clone(),
            self.lease_name
                .clone()
                .unwrap_or_else(|| format!("weir-controller-{provider_name}")),
            self.identity.clone().unwrap_or_else(identity),
        );
        let mut translate = TranslateConfig::for_controller(self.kind);
        if let Some(name) = &self.ingress_class {
            translate.classes = ClassSelection::Named(name.clone());
        }
        let mut settings = RunSettings {
            translate,
            lease,
            concurrency: self.concurrency,
            resync: self.resync,
            status_source: None,
            gateway_controller: self.kind,
            gateway_api_recheck: self.gateway_api_recheck,
        };
        let admin = tokio::net::TcpListener::bind(self.admin_addr)
            .await
            .with_context(|| format!("binding the admin address {}", self.admin_addr))?;
        tracing::info!(
            provider = provider_name,
            namespace = %namespace,
            identity = %settings.lease.identity,
            admin = %self.admin_addr,
            "starting"
        );
        let mut registry = Registry::default();
        match self.kind {
            ControllerKind::AwsAlb => {
                anyhow::ensure!(
                    self.status_origin.is_none(),
                    "--status-service and --status-from-nodes are for --provider localproxy (an ALB reports its own address)"
                );
                let cluster = self
                    .cluster_name
                    .clone()
                    .context("--provider aws needs --cluster-name (the ownership tag value)")?;
                let config = SdkApi::default_config().await;
                let defaults = weir_controller::aws::with_discovered_subnets(
                    &config,
                    self.aws_defaults,
                    self.aws_vpc_id.as_deref(),
                    &cluster,
                )
                .await
                .context("discovering the subnets of --vpc-id")?;
                let client_aws = Client::new(SdkApi::new(&config), self.aws_client.clone());
                let provider = Arc::new(
                    AwsProvider::new(client_aws, &cluster, defaults)
                        .with_target_memory(target_memory(self.resync))
                        .with_shared_observe(shared_observe(self.resync)),
                );
                let counted = provider.clone();
                register_provider_calls(
                    &mut registry,
                    Arc::new(move || {
                        counted
                            .client()
                            .counter()
                            .snapshot()
                            .into_iter()
                            .map(|(op, count)| (op.name().to_owned(), count))
                            .collect()
                    }),
                );
                weir_runtime::run(
                    client,
                    provider,
                    settings,
                    registry,
                    admin,
                    shutdown_signal(),
                )
                .await?;
            }
            ControllerKind::LocalProxy => {
                let addresses = status_addresses(&self.status_addresses);
                if let Some(origin) = self.status_origin.clone() {
                    // Watched by this binary; the runtime only hears the addresses change.
                    let (sender, source) = StatusSource::channel();
                    tokio::spawn(status_watch::run(client.clone(), origin, sender));
                    settings.status_source = Some(source);
                } else if addresses.is_empty() {
                    tracing::warn!(
                        "no --status-address, --status-service or --status-from-nodes: Ingresses served by the local proxy get no address"
                    );
                }
                // Snapshots go into the controller's own namespace, where the proxies' Role
                // lets them read exactly those objects.
                let store = KubeStore::new(client.clone(), &namespace);
                let provider = Arc::new(LocalProxyProvider::new(store, addresses));
                let counted = provider.clone();
                register_provider_calls(&mut registry, Arc::new(move || counted.calls()));
                weir_runtime::run(
                    client,
                    provider,
                    settings,
                    registry,
                    admin,
                    shutdown_signal(),
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// `--status-address` values as load balancer addresses: an IP where it parses as one, else a
/// host name; empty values are skipped.
fn status_addresses(values: &[String]) -> Vec<LoadBalancerAddress> {
    values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(|value| match value.parse::<std::net::IpAddr>() {
            Ok(ip) => LoadBalancerAddress::Ip(ip.to_string()),
            Err(_) => LoadBalancerAddress::Hostname(value.to_owned()),
        })
        .collect()
}

/// How long the aws provider plans from the targets its last apply left in a target group
/// instead of describing them again: half the drift-repair period, at most two minutes, so that
/// every drift-repair reconcile describes them and a busy stack does at least every two minutes.
fn target_memory(resync: Duration) -> Duration {
    (resync / 2).min(Duration::from_secs(120))
}

/// How long a cluster-wide tag listing serves the observes of stacks weir has not changed
/// since: a tenth of the drift-repair period, at most a minute (a change made by hand in AWS is
/// seen at most that much later).
fn shared_observe(resync: Duration) -> Duration {
    (resync / 10).min(Duration::from_secs(60))
}

/// The pod's namespace from its ServiceAccount mount, else `weir-system`.
fn pod_namespace() -> String {
    std::fs::read_to_string(POD_NAMESPACE_FILE)
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|namespace| !namespace.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// A Lease identity unique per process: the pod (or host) name and the process id.
fn identity() -> String {
    let host = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "weir-controller".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => tracing::info!("SIGTERM received"),
        result = tokio::signal::ctrl_c() => if result.is_ok() { tracing::info!("interrupt received") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_addresses_are_ips_where_they_parse_and_host_names_otherwise() {
        let values = ["10.0.0.7", " proxy.example.com ", "", "::1"].map(String::from);
        assert_eq!(
            status_addresses(&values),
            vec![
                LoadBalancerAddress::Ip("10.0.0.7".into()),
                LoadBalancerAddress::Hostname("proxy.example.com".into()),
                LoadBalancerAddress::Ip("::1".into()),
            ]
        );
    }
}
