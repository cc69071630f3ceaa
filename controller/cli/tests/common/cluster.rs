//! A real Kubernetes API server, a real AWS emulator and `weir-controller run` processes, for
//! the end-to-end tests: the controller runs with the token of the ServiceAccount that
//! `deploy/base` ships, bound to the ClusterRole it ships.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use localstack_tests::{Emulator, translated};
use weir_e2e::ApiServer;
use weir_model::DesiredLoadBalancer;
use weir_provider_aws::{AwsProvider, SdkApi};

/// How long one awaited change may take (a 2-core machine running other tests).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// The cluster name in the AWS ownership tags.
pub const CLUSTER: &str = "e2e";

/// An API server with `deploy/base` installed, an emulator, and an inspecting provider.
pub struct Cluster {
    pub server: ApiServer,
    pub emulator: Emulator,
    /// A provider of the same cluster name, used only to look at what AWS holds.
    pub inspector: AwsProvider<SdkApi>,
    /// The kubeconfig of the shipped `weir-controller` ServiceAccount.
    pub controller_kubeconfig: PathBuf,
}

impl Cluster {
    /// Starts everything; panics (with logs) when something does not start.
    pub async fn start() -> Self {
        let server = ApiServer::start()
            .await
            .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
        server.install_base();
        let controller_kubeconfig =
            server.service_account_kubeconfig("weir-system", "weir-controller");
        let emulator = Emulator::start();
        let inspector = emulator.provider(CLUSTER, None).await;
        Self {
            server,
            emulator,
            inspector,
            controller_kubeconfig,
        }
    }

    /// Starts `weir-controller run --provider aws` as `identity`.
    pub fn controller(&self, identity: &str) -> Controller {
        let admin = free_port();
        let log = self.server.dir().join(format!("controller-{identity}.log"));
        let file = std::fs::File::create(&log).expect("controller log");
        let subnets = self.emulator.subnets().join(",");
        let child = Command::new(env!("CARGO_BIN_EXE_weir-controller"))
            .args(["run", "--provider", "aws", "--cluster-name", CLUSTER])
            .args(["--namespace", "weir-system", "--identity", identity])
            .args([
                "--subnets",
                &subnets,
                "--resync-seconds",
                "20",
                "--log-format",
                "text",
            ])
            .arg("--admin-addr")
            .arg(format!("127.0.0.1:{admin}"))
            .env("KUBECONFIG", &self.controller_kubeconfig)
            .env("AWS_ENDPOINT_URL", self.emulator.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("weir-controller starts");
        Controller { child, admin, log }
    }

    /// `kubectl apply` of `yaml` as the admin.
    pub fn apply(&self, yaml: &str) {
        self.server.apply_yaml(yaml);
    }

    /// The Ingress `namespace/name` as the API server holds it (`None` when gone).
    pub async fn ingress(&self, namespace: &str, name: &str) -> Option<Ingress> {
        Api::<Ingress>::namespaced(self.server.admin_client(), namespace)
            .get_opt(name)
            .await
            .expect("reading an Ingress")
    }

    /// Waits until AWS holds exactly the stacks `yaml` translates to (no plan steps left, one
    /// load balancer per stack, nothing else owned by the cluster).
    pub async fn converged(&self, yaml: &str, what: &str) -> Vec<DesiredLoadBalancer> {
        let (desired, _) = translated(yaml);
        let mut wanted: Vec<String> = desired
            .iter()
            .map(|stack| stack.stack.to_string())
            .collect();
        wanted.sort();
        eventually(what, || async {
            let owned = localstack_tests::owned(&self.inspector).await;
            let stacks: Vec<String> = owned.load_balancers.keys().cloned().collect();
            if stacks != wanted || owned.load_balancers.values().any(|count| *count != 1) {
                return Err(format!(
                    "load balancers by stack: {:?}, wanted {wanted:?}",
                    owned.load_balancers
                ));
            }
            for stack in &desired {
                let plan = self
                    .inspector
                    .plan_ensure(stack)
                    .await
                    .map_err(|e| e.to_string())?;
                if !plan.steps.is_empty() {
                    return Err(format!("{}: {} steps left", plan.stack, plan.steps.len()));
                }
            }
            Ok(())
        })
        .await;
        desired
    }

    /// Waits until the Ingress's status holds a hostname; returns it.
    pub async fn address(&self, namespace: &str, name: &str) -> String {
        eventually(&format!("{namespace}/{name} has an address"), || async {
            self.ingress(namespace, name)
                .await
                .and_then(|ingress| {
                    ingress
                        .status?
                        .load_balancer?
                        .ingress?
                        .first()?
                        .hostname
                        .clone()
                })
                .ok_or_else(|| "no address yet".to_owned())
        })
        .await
    }

    /// The Events `kubectl` shows for `namespace/name`, as "Type Reason Message" lines.
    pub fn events(&self, namespace: &str, name: &str) -> Vec<String> {
        let output = self.server.kubectl([
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            &format!("involvedObject.name={name}"),
            "-o",
            "jsonpath={range .items[*]}{.type} {.reason} {.message}{\"\\n\"}{end}",
        ]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// A running `weir-controller run`, killed when dropped.
pub struct Controller {
    pub child: Child,
    pub admin: u16,
    pub log: PathBuf,
}

impl Controller {
    /// Provider API calls so far, by operation, from `/metrics`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        let text = http_get(self.admin, "/metrics").unwrap_or_default();
        text.lines()
            .filter_map(|line| line.strip_prefix("weir_provider_api_calls_total{operation=\""))
            .filter_map(|rest| {
                let (operation, count) = rest.split_once("\"} ")?;
                Some((operation.to_owned(), count.trim().parse().ok()?))
            })
            .collect()
    }

    /// Whether `/readyz` answers 200.
    pub fn ready(&self) -> bool {
        http_get(self.admin, "/readyz").is_some()
    }

    /// The controller's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a node failure would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- {} ---\n{}", self.log.display(), tail(&self.log(), 60));
        }
    }
}

/// Calls whose count grew between two `/metrics` readings, by operation.
pub fn grown(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(operation, count)| {
            let delta = count - before.get(operation).copied().unwrap_or(0);
            (delta > 0).then(|| (operation.clone(), delta))
        })
        .collect()
}

/// Retries `check` until it is `Ok` or [`PATIENCE`] runs out (then panics with the last error).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(error) if started.elapsed() > PATIENCE => {
                panic!("{what}: not within {PATIENCE:?}: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// `(status, body)` of `GET path` with `Host: host` on a fresh loopback connection.
pub fn get(port: u16, host: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// The body of a plain HTTP GET answered 200, else `None`.
fn http_get(port: u16, path: &str) -> Option<String> {
    match get(port, "admin", path)? {
        (200, body) => Some(body),
        _ => None,
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
