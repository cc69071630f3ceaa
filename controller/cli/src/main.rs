//! `weir-controller`: the weir Ingress controller binary.

mod cluster;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use weir_controller::aws::{self, AwsTarget};
use weir_controller::plan::Plan;
use weir_provider_aws::{ClientOptions, StackDefaults};
use weir_translate::{ClassSelection, ControllerKind, TranslateConfig};

#[derive(Parser)]
#[command(
    name = "weir-controller",
    version,
    about = "weir: Kubernetes Ingress to load balancers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what weir would build from a folder of manifests, and every problem it finds.
    Plan {
        /// Folder of Ingress, IngressClass, Service, EndpointSlice and Secret YAML (recursive).
        #[arg(long)]
        manifests: PathBuf,
        /// Which provider to plan for.
        #[arg(long, value_enum, default_value_t = ProviderArg::Localproxy)]
        provider: ProviderArg,
        /// Serve only Ingresses of this class name (no IngressClass object needed) instead of
        /// those whose IngressClass names the provider's controller.
        #[arg(long, conflicts_with = "all_classes")]
        ingress_class: Option<String>,
        /// Serve every Ingress, whatever its class (as `weir-proxy --manifests` does).
        #[arg(long)]
        all_classes: bool,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// With `--provider aws` and a reachable endpoint (AWS_ENDPOINT_URL or credentials):
        /// also print the exact ordered AWS calls an apply would make for this cluster name.
        /// Only read calls are made.
        #[arg(long)]
        cluster_name: Option<String>,
        #[command(flatten)]
        aws: AwsFlags,
    },
    /// Reconcile every stack of a folder of manifests once and print each stack's address.
    /// An empty folder deletes every stack of the cluster name.
    Apply {
        /// Folder of Ingress, IngressClass, Service, EndpointSlice and Secret YAML (recursive).
        #[arg(long)]
        manifests: PathBuf,
        /// Which provider to apply to (only `aws` applies from the command line).
        #[arg(long, value_enum)]
        provider: ProviderArg,
        /// The cluster name written into (and selecting by) the ownership tags.
        #[arg(long)]
        cluster_name: String,
        /// Reconcile once and exit (the only mode outside a cluster).
        #[arg(long, required = true)]
        once: bool,
        /// Serve only Ingresses of this class name instead of those whose IngressClass names
        /// the provider's controller.
        #[arg(long)]
        ingress_class: Option<String>,
        #[command(flatten)]
        aws: AwsFlags,
    },
    /// Run the controller against a Kubernetes API server (KUBECONFIG, ~/.kube/config or
    /// in-cluster): watch Ingresses, drive the provider, write status and Events.
    Run(Box<RunFlags>),
}

/// Flags of `weir-controller run`.
#[derive(clap::Args)]
struct RunFlags {
    /// Which provider serves the Ingresses.
    #[arg(long, value_enum)]
    provider: ProviderArg,
    /// The cluster name written into (and selecting by) the AWS ownership tags.
    #[arg(long)]
    cluster_name: Option<String>,
    /// Where weir keeps its Lease: default the pod's own namespace, else weir-system.
    #[arg(long)]
    namespace: Option<String>,
    /// Serve only Ingresses of this class name instead of those whose IngressClass names the
    /// provider's controller.
    #[arg(long)]
    ingress_class: Option<String>,
    /// Where /healthz, /readyz and /metrics are served.
    #[arg(long, default_value = "0.0.0.0:8080")]
    admin_addr: SocketAddr,
    /// Stacks reconciled at once. The AWS calls of all of them share --aws-calls-per-second;
    /// with each worker waiting for one call at a time, 8 keep a 40 calls/s limit busy.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds between drift-repair reconciles of a stack in sync.
    #[arg(long, default_value_t = 600)]
    resync_seconds: u64,
    /// Seconds between checks for the Gateway API CRDs while the server does not serve them;
    /// once installed, their kinds are watched without a restart.
    #[arg(long, default_value_t = 30)]
    gateway_api_recheck_seconds: u64,
    /// The Lease's name (default weir-controller-PROVIDER).
    #[arg(long)]
    lease_name: Option<String>,
    /// This instance's identity in the Lease (default: POD_NAME or the host name, plus the pid).
    #[arg(long)]
    identity: Option<String>,
    /// Log lines as JSON objects (default) or as text.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
    /// localproxy: the address (IP or host name, repeatable or comma-separated) written into
    /// the status of every Ingress it serves: where the proxies are reached.
    #[arg(long, value_delimiter = ',')]
    status_address: Vec<String>,
    /// localproxy: take the status addresses from this Service that fronts the proxies
    /// (`status.loadBalancer.ingress`, then `spec.externalIPs`), watched.
    #[arg(long, value_name = "NAMESPACE/NAME", conflicts_with_all = ["status_address", "status_from_nodes"])]
    status_service: Option<cluster::ServiceName>,
    /// localproxy: take the status addresses from the Nodes the proxies listen on with
    /// hostPorts (each Node's ExternalIP, else its InternalIP), watched; optionally only the
    /// Nodes matching a label selector (`--status-from-nodes=ingress-ready=true`).
    #[arg(long, value_name = "SELECTOR", num_args = 0..=1, default_missing_value = "", require_equals = true, conflicts_with = "status_address")]
    status_from_nodes: Option<String>,
    #[command(flatten)]
    aws: AwsFlags,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

/// AWS defaults for stacks whose annotations leave them unset.
#[derive(clap::Args)]
struct AwsFlags {
    /// Default subnet IDs (comma-separated) for stacks without a `subnets` annotation.
    #[arg(long, value_delimiter = ',')]
    subnets: Vec<String>,
    /// The VPC whose subnets are discovered by their `kubernetes.io/role/elb` (internet-facing)
    /// and `kubernetes.io/role/internal-elb` (internal) tags when --subnets is not given
    /// (needs `ec2:DescribeSubnets`).
    #[arg(long, value_name = "VPC_ID")]
    vpc_id: Option<String>,
    /// Default security group IDs (comma-separated).
    #[arg(long, value_delimiter = ',')]
    security_groups: Vec<String>,
    /// Client-side limit on AWS API calls per second, over every operation (0: none). AWS
    /// throttles per account and Region; throttled calls are retried with backoff.
    #[arg(long, default_value_t = 20.0)]
    aws_calls_per_second: f64,
}

impl AwsFlags {
    fn target(self, cluster: String) -> AwsTarget {
        AwsTarget {
            cluster,
            client: self.client(),
            vpc_id: self.vpc_id.clone(),
            defaults: self.defaults(),
        }
    }

    fn client(&self) -> ClientOptions {
        ClientOptions::with_calls_per_second(self.aws_calls_per_second)
    }

    fn defaults(self) -> StackDefaults {
        StackDefaults {
            subnets: self
                .subnets
                .into_iter()
                .filter(|id| !id.is_empty())
                .collect(),
            security_groups: self
                .security_groups
                .into_iter()
                .filter(|id| !id.is_empty())
                .collect(),
            ..StackDefaults::default()
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    /// The in-cluster weir proxy (IngressClass controller weir.dev/localproxy).
    Localproxy,
    /// AWS Application Load Balancers (IngressClass controller weir.dev/aws-alb).
    Aws,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// `apply --once`: every stack applied, but some without parts their Ingresses must fix
/// (members over an ALB quota, unusable certificates). 2 is anything that failed.
const EXIT_PARTIAL: u8 = 1;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("weir-controller: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Writes command output to stdout. A reader that went away (`| head`) is not an error: the
/// output is simply no longer wanted.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("writing to stdout")
        }
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(flags) => {
            init_logging(flags.log_format);
            // The AWS SDK's HTTPS client brings aws-lc-rs besides weir's ring: rustls cannot
            // pick a process default on its own, and the Kubernetes client needs one.
            if rustls::crypto::ring::default_provider()
                .install_default()
                .is_err()
            {
                tracing::debug!("a rustls crypto provider was already installed");
            }
            let run = cluster::ClusterRun {
                kind: match flags.provider {
                    ProviderArg::Localproxy => ControllerKind::LocalProxy,
                    ProviderArg::Aws => ControllerKind::AwsAlb,
                },
                ingress_class: flags.ingress_class,
                namespace: flags.namespace,
                lease_name: flags.lease_name,
                identity: flags.identity,
                concurrency: flags.concurrency,
                resync: Duration::from_secs(flags.resync_seconds.max(1)),
                gateway_api_recheck: Duration::from_secs(flags.gateway_api_recheck_seconds.max(1)),
                admin_addr: flags.admin_addr,
                cluster_name: flags.cluster_name,
                status_addresses: flags.status_address,
                status_origin: match (flags.status_service, flags.status_from_nodes) {
                    (Some(service), _) => Some(cluster::StatusOrigin::Service(service)),
                    (None, Some(selector)) => {
                        Some(cluster::StatusOrigin::Nodes(selector.trim().to_owned()))
                    }
                    (None, None) => None,
                },
                aws_client: flags.aws.client(),
                aws_vpc_id: flags.aws.vpc_id.clone(),
                aws_defaults: flags.aws.defaults(),
            };
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(run.run())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            manifests,
            provider,
            ingress_class,
            all_classes,
            output,
            cluster_name,
            aws,
        } => {
            let kind = match provider {
                ProviderArg::Localproxy => ControllerKind::LocalProxy,
                ProviderArg::Aws => ControllerKind::AwsAlb,
            };
            let mut config = TranslateConfig::for_controller(kind);
            if let Some(name) = ingress_class {
                config.classes = ClassSelection::Named(name);
            }
            if all_classes {
                config.classes = ClassSelection::Everything;
            }
            let snapshot = weir_manifests::load_dir(&manifests)
                .with_context(|| format!("reading manifests from {}", manifests.display()))?;
            let plan = Plan::new(&snapshot, kind, &config);
            match output {
                Output::Text => emit(&plan.to_text())?,
                Output::Json => emit(&format!("{}\n", plan.to_json()))?,
            }
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let live =
                aws::live_endpoint_configured(|name| std::env::var(name).ok(), home.as_deref());
            if let (ProviderArg::Aws, Some(cluster)) = (provider, cluster_name) {
                if !live {
                    eprintln!(
                        "no AWS endpoint or credentials configured: printed the offline ALB view only"
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                let (desired, _) = aws::desired_stacks(&snapshot, &config);
                let live_plan = runtime()?
                    .block_on(aws::plan_live(&aws.target(cluster), &desired))
                    .context("planning against AWS")?;
                emit(&live_plan.to_text())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply {
            manifests,
            provider,
            cluster_name,
            once: _,
            ingress_class,
            aws,
        } => {
            let ProviderArg::Aws = provider else {
                anyhow::bail!(
                    "apply --once supports --provider aws only; the local proxy reads manifests itself (weir-proxy --manifests)"
                );
            };
            let mut config = TranslateConfig::for_controller(ControllerKind::AwsAlb);
            if let Some(name) = ingress_class {
                config.classes = ClassSelection::Named(name);
            }
            let snapshot = weir_manifests::load_dir(&manifests)
                .with_context(|| format!("reading manifests from {}", manifests.display()))?;
            let (desired, diagnostics) = aws::desired_stacks(&snapshot, &config);
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            // Deleting every stack is what an empty folder asks for; a folder whose Ingresses
            // and Gateways all belong to another class (or a mistyped --ingress-class) must not.
            let present = snapshot.ingresses().count() + snapshot.gateways().count();
            anyhow::ensure!(
                !(desired.is_empty() && present > 0),
                "{} holds {present} Ingress(es) and Gateway(s) but none is served by weir.dev/aws-alb with these flags (see `weir-controller plan --provider aws`); refusing to delete every stack of cluster {cluster_name:?}. To delete them all, apply a folder without Ingresses or Gateways",
                manifests.display()
            );
            let report = runtime()?
                .block_on(aws::apply_once(&aws.target(cluster_name), &desired))
                .context("applying to AWS")?;
            emit(&report.to_text())?;
            anyhow::ensure!(
                report.failures() == 0,
                "{} stack(s) failed",
                report.failures()
            );
            if report.partial() > 0 {
                eprintln!(
                    "weir-controller: {} stack(s) applied without parts their Ingresses must fix (see above)",
                    report.partial()
                );
                return Ok(ExitCode::from(EXIT_PARTIAL));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
