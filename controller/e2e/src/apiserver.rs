//! A private etcd + kube-apiserver for one test.

use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kube::config::{KubeConfigOptions, Kubeconfig};
use tempfile::TempDir;

use crate::process::Supervised;

/// The kube-apiserver version `scripts/kube-apiserver.sh` builds.
pub const KUBE_VERSION: &str = "v1.20.2";

/// The service-account token issuer (`iss`) of every server.
pub const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc";

/// How many times [`ApiServer::start`] picks new ports when one it picked was taken meanwhile.
const PORT_ATTEMPTS: usize = 4;
/// etcd answers `/health` within ~1 s; a loaded 2-core machine gets far more.
const ETCD_TIMEOUT: Duration = Duration::from_secs(60);
/// kube-apiserver is ready ~3-5 s after etcd on a quiet 2-core machine.
const APISERVER_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one readiness request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Lines of a server's log quoted in an error.
const LOG_LINES: usize = 40;

/// Why a server could not be started or reached.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A server process exited during startup.
    #[error("{process} exited during startup ({status}); last lines of its log:\n{log_tail}")]
    Exited {
        /// `etcd` or `kube-apiserver`.
        process: &'static str,
        /// Its exit status.
        status: ExitStatus,
        /// The end of its output.
        log_tail: String,
        /// Whether the output says a port it wanted was taken (then another start may work).
        port_taken: bool,
    },
    /// Another server answered on a port picked for this one (then another start may work).
    #[error("another server answers on the port picked for {process}, {port}: {answer}")]
    PortTaken {
        /// `etcd` or `kube-apiserver`.
        process: &'static str,
        /// The port.
        port: u16,
        /// What the other server answered.
        answer: String,
    },
    /// A server did not become ready in time.
    #[error(
        "{process} was not ready within {timeout:?} ({last_probe}); last lines of its log:\n{log_tail}"
    )]
    NotReady {
        /// `etcd` or `kube-apiserver`.
        process: &'static str,
        /// How long it was given.
        timeout: Duration,
        /// What the last readiness probe saw.
        last_probe: String,
        /// The end of its output.
        log_tail: String,
    },
    /// A kubeconfig written for the server could not be read back.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The kubeconfig.
        path: PathBuf,
        /// What kube-rs said.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A client could not be built.
    #[error("client: {0}")]
    Client(#[source] kube::Error),
}

impl Error {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether a server lost a port it was given to another process (then another start may
    /// work).
    pub fn port_taken(&self) -> bool {
        matches!(
            self,
            Self::Exited {
                port_taken: true,
                ..
            } | Self::PortTaken { .. }
        )
    }
}

/// A private etcd + kube-apiserver on loopback, for one test.
///
/// ```text
/// ApiServer::start ─► etcd            127.0.0.1:<free>   data in a temp dir
///                  └► kube-apiserver  https://127.0.0.1:<free>   RBAC, static admin token,
///                                     TokenRequest (service-account signing key), self-signed
///                                     serving cert (CA in the kubeconfig)
/// drop ─► both processes SIGKILLed and reaped, temp dir removed (also on panic; see process.rs)
/// ```
///
/// No kube-controller-manager runs: no token Secrets, no garbage collection, no namespace
/// deletion. The admin is user `weir-e2e-admin` in group `system:masters`.
pub struct ApiServer {
    // Field order is drop order: the apiserver goes before etcd, the directory last.
    apiserver: Supervised,
    etcd: Supervised,
    admin: kube::Client,
    server_url: String,
    ca_file: PathBuf,
    kubeconfig: PathBuf,
    dir: TempDir,
}

impl ApiServer {
    /// Starts etcd and kube-apiserver on free loopback ports (picked again when one is taken
    /// before a server binds it) and waits until `/readyz` answers `ok`.
    ///
    /// The binaries come from `WEIR_KUBE_APISERVER` (default
    /// `~/.cache/weir/kube-apiserver-v1.20.2-r1/kube-apiserver`, the build of
    /// `scripts/kube-apiserver.sh` that serves custom resources) and `WEIR_ETCD` (default `etcd` on
    /// `PATH`).
    ///
    /// # Panics
    /// When a binary is missing: run `scripts/kube-apiserver.sh`, which builds and caches
    /// kube-apiserver and installs etcd. Tests that need a server fail; they never skip.
    ///
    /// # Errors
    /// When a server exits or is not ready in time (the error quotes its log), or a file of the
    /// server's directory cannot be written.
    ///
    /// # Cancel safety
    /// Dropping the future kills whatever it started.
    pub async fn start() -> Result<Self, Error> {
        let binaries = Binaries::from_env();
        Self::start_with(&binaries.apiserver, &binaries.etcd).await
    }

    /// [`start`](Self::start) with the given kube-apiserver and etcd binaries.
    ///
    /// # Errors
    /// As `start`; when every attempt found a port taken, the last attempt's error.
    pub async fn start_with(apiserver: &Path, etcd: &Path) -> Result<Self, Error> {
        let binaries = Binaries {
            apiserver: apiserver.to_owned(),
            etcd: etcd.to_owned(),
        };
        let mut attempt = 1;
        loop {
            match Self::start_once(&binaries).await {
                Err(error) if error.port_taken() && attempt < PORT_ATTEMPTS => attempt += 1,
                result => return result,
            }
        }
    }

    /// The admin kubeconfig (user in `system:masters`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The server's URL, `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.server_url
    }

    /// The directory holding the server's data, logs, keys and kubeconfigs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A client authenticated as the admin.
    pub fn admin_client(&self) -> kube::Client {
        self.admin.clone()
    }

    /// The last `lines` lines of kube-apiserver's log.
    pub fn apiserver_log_tail(&self, lines: usize) -> String {
        self.apiserver.log_tail(lines)
    }

    /// Runs `kubectl` with the admin kubeconfig and returns what it did (the caller checks the
    /// status).
    ///
    /// # Panics
    /// When `kubectl` cannot be started (it is not on `PATH`).
    pub fn kubectl<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.kubectl_with_input(args, None)
    }

    /// Runs `kubectl` with the admin kubeconfig and `input` on its stdin.
    ///
    /// # Panics
    /// When `kubectl` cannot be started (it is not on `PATH`).
    pub fn kubectl_input<I, S>(&self, args: I, input: &str) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.kubectl_with_input(args, Some(input))
    }

    /// `kubectl apply -f -` of `yaml` with the admin kubeconfig; returns kubectl's stdout.
    ///
    /// # Panics
    /// When kubectl fails (the panic quotes its stderr).
    pub fn apply_yaml(&self, yaml: &str) -> String {
        let output = self.kubectl_with_input(["apply", "-f", "-"], Some(yaml));
        success(&output, "kubectl apply -f -");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `kubectl apply -k deploy/base` with the admin kubeconfig: weir's namespace,
    /// ServiceAccounts, RBAC and IngressClasses, as a user installs them.
    ///
    /// # Panics
    /// When kubectl fails (the panic quotes its stderr).
    pub fn install_base(&self) {
        let base = crate::repo_root().join("deploy/base");
        let output = self.kubectl([
            std::ffi::OsStr::new("apply"),
            "-k".as_ref(),
            base.as_os_str(),
        ]);
        success(&output, "kubectl apply -k deploy/base");
    }

    /// Creates ServiceAccount `namespace/name` (and its namespace) unless they exist, gets a
    /// one-hour token for it with the TokenRequest API (`kubectl create token`) and writes a
    /// kubeconfig that authenticates with that bearer token. Returns the kubeconfig's path.
    ///
    /// # Panics
    /// When kubectl fails or the kubeconfig cannot be written.
    pub fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> PathBuf {
        if !self
            .kubectl(["get", "namespace", namespace])
            .status
            .success()
        {
            success(
                &self.kubectl(["create", "namespace", namespace]),
                "kubectl create namespace",
            );
        }
        if !self
            .kubectl(["get", "serviceaccount", name, "-n", namespace])
            .status
            .success()
        {
            success(
                &self.kubectl(["create", "serviceaccount", name, "-n", namespace]),
                "kubectl create serviceaccount",
            );
        }
        let output = self.kubectl(["create", "token", name, "-n", namespace, "--duration=1h"]);
        success(&output, "kubectl create token");
        let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert!(!token.is_empty(), "kubectl create token printed no token");
        let path = self
            .dir
            .path()
            .join(format!("kubeconfig-sa-{namespace}-{name}"));
        write_kubeconfig(
            &path,
            &self.server_url,
            &self.ca_file,
            &format!("sa-{namespace}-{name}"),
            &token,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        path
    }

    /// [`service_account_kubeconfig`](Self::service_account_kubeconfig), then a client from it.
    ///
    /// # Panics
    /// As `service_account_kubeconfig`, or when the client cannot be built.
    pub async fn service_account_client(&self, namespace: &str, name: &str) -> kube::Client {
        let path = self.service_account_kubeconfig(namespace, name);
        client_from_kubeconfig(&path)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    async fn start_once(binaries: &Binaries) -> Result<Self, Error> {
        remove_orphaned_dirs();
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .map_err(Error::io("creating the server's temp dir"))?;
        write(
            &dir.path().join(OWNER_FILE),
            &std::process::id().to_string(),
        )?;
        let [etcd_client, etcd_peer, secure] = free_ports()?;
        let etcd = start_etcd(binaries, dir.path(), etcd_client, etcd_peer).await?;
        let config = ApiserverFiles::write(dir.path())?;
        let log = dir.path().join("kube-apiserver.log");
        let mut apiserver = Supervised::spawn(
            "kube-apiserver",
            &binaries.apiserver,
            &apiserver_args(&config, etcd_client, secure),
            &log,
        )
        .map_err(Error::io(format!(
            "starting {}",
            binaries.apiserver.display()
        )))?;
        let server_url = format!("https://127.0.0.1:{secure}");
        let ca_file = config.cert_dir.join("apiserver.crt");
        let kubeconfig = dir.path().join("kubeconfig");
        let admin = wait_apiserver_ready(
            &mut apiserver,
            secure,
            &ca_file,
            &kubeconfig,
            &server_url,
            &config.admin_token,
        )
        .await?;
        Ok(Self {
            apiserver,
            etcd,
            admin,
            server_url,
            ca_file,
            kubeconfig,
            dir,
        })
    }

    fn kubectl_with_input<I, S>(&self, args: I, input: Option<&str>) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        kubectl(&self.kubeconfig, args, input)
    }
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("url", &self.server_url)
            .field("dir", &self.dir.path())
            .field("apiserver", &self.apiserver)
            .field("etcd", &self.etcd)
            .finish_non_exhaustive()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "weir-e2e: the test panicked; last lines of kube-apiserver's log ({}):\n{}",
                self.dir.path().display(),
                self.apiserver.log_tail(15)
            );
        }
        // The fields' own Drops kill the apiserver, then etcd, then remove the directory.
    }
}

/// The prefix of every server's temp dir.
const DIR_PREFIX: &str = "weir-e2e-";
/// The file in a server's temp dir that names the process that owns it.
const OWNER_FILE: &str = "owner.pid";

/// Removes the temp dirs (~120 MB each, mostly etcd's preallocated WAL) of servers whose test
/// process was killed before its `Drop` could run. Their servers died with it (process.rs); a
/// dir whose owner still runs, or that names no owner, is left alone.
fn remove_orphaned_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let Ok(owner) = std::fs::read_to_string(dir.join(OWNER_FILE)) else {
            continue;
        };
        let Ok(pid) = owner.trim().parse::<u32>() else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// A client from the kubeconfig at `path` (its current context).
///
/// # Errors
/// When the kubeconfig cannot be read or names no usable cluster or user.
pub async fn client_from_kubeconfig(path: &Path) -> Result<kube::Client, Error> {
    let kubeconfig_error = |source| Error::Kubeconfig {
        path: path.to_owned(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(kubeconfig_error)?;
    // Built in one workspace with the AWS SDK, rustls sees both ring and aws-lc-rs and cannot
    // pick a process default on its own; weir uses ring. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    kube::Client::try_from(config).map_err(Error::Client)
}

/// Runs `kubectl` with `KUBECONFIG=kubeconfig`, feeding `input` to its stdin when given.
///
/// # Panics
/// When `kubectl` cannot be started.
pub fn kubectl<I, S>(kubeconfig: &Path, args: I, input: Option<&str>) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new("kubectl");
    command
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run kubectl (is it on PATH?): {error}"));
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|error| panic!("writing kubectl's stdin: {error}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|error| panic!("waiting for kubectl: {error}"))
}

/// Panics with kubectl's stderr unless `output` is a success.
fn success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The two server binaries.
struct Binaries {
    apiserver: PathBuf,
    etcd: PathBuf,
}

impl Binaries {
    fn from_env() -> Self {
        const HOW: &str = "run scripts/kube-apiserver.sh (it builds kube-apiserver once, caches it \
                           under ~/.cache/weir and installs etcd) or set WEIR_KUBE_APISERVER and WEIR_ETCD";
        let apiserver = match std::env::var_os("WEIR_KUBE_APISERVER") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(format!(
                    ".cache/weir/kube-apiserver-{KUBE_VERSION}-r1/kube-apiserver"
                )),
        };
        assert!(
            is_program(&apiserver),
            "kube-apiserver {KUBE_VERSION} is missing or empty at {}: {HOW}",
            apiserver.display()
        );
        let etcd = match std::env::var_os("WEIR_ETCD") {
            Some(path) if !path.is_empty() => find_program(Path::new(&path)).unwrap_or_else(|| {
                panic!(
                    "WEIR_ETCD={} is not an executable: {HOW}",
                    path.to_string_lossy()
                )
            }),
            _ => find_program(Path::new("etcd"))
                .unwrap_or_else(|| panic!("etcd is not installed (no etcd on PATH): {HOW}")),
        };
        Self { apiserver, etcd }
    }
}

/// `program` itself when it names a file, else its first match on `PATH`.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return is_program(program).then(|| program.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_program(candidate))
}

/// A non-empty executable file (a failed build can leave an empty one behind).
fn is_program(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| {
        meta.is_file() && meta.len() > 0 && meta.permissions().mode() & 0o111 != 0
    })
}

/// `N` distinct free loopback ports (free when this returns; a server may still lose one to
/// another process before it binds, which [`ApiServer::start`] retries).
fn free_ports<const N: usize>() -> Result<[u16; N], Error> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::io("binding 127.0.0.1:0"))?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .map_err(Error::io("reading a bound port"))?
            .port();
    }
    Ok(ports)
}

async fn start_etcd(
    binaries: &Binaries,
    dir: &Path,
    client: u16,
    peer: u16,
) -> Result<Supervised, Error> {
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let args: Vec<OsString> = [
        "--name=weir-e2e".to_owned(),
        format!("--data-dir={}", dir.join("etcd").display()),
        format!("--listen-client-urls={client_url}"),
        format!("--advertise-client-urls={client_url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=weir-e2e={peer_url}"),
        "--initial-cluster-state=new".to_owned(),
        "--log-level=warn".to_owned(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    let mut etcd = Supervised::spawn("etcd", &binaries.etcd, &args, &dir.join("etcd.log"))
        .map_err(Error::io(format!("starting {}", binaries.etcd.display())))?;
    let deadline = Instant::now() + ETCD_TIMEOUT;
    loop {
        exited(&mut etcd)?;
        let last_probe = match http(client, "GET", "/health", "") {
            Ok(body) if body.contains("\"health\":\"true\"") => {
                // Ours, not another test's etcd that got the same port a moment earlier: its
                // only member has our peer URL.
                let members = http(client, "POST", "/v3/cluster/member/list", "{}")
                    .map_err(Error::io("listing etcd's members"))?;
                exited(&mut etcd)?;
                if !members.contains(&format!("\"peerURLs\":[\"{peer_url}\"]")) {
                    return Err(Error::PortTaken {
                        process: etcd.name(),
                        port: client,
                        answer: members,
                    });
                }
                return Ok(etcd);
            }
            Ok(body) => format!("/health answered {body:?}"),
            Err(error) => format!("/health: {error}"),
        };
        if Instant::now() >= deadline {
            return Err(not_ready(&etcd, ETCD_TIMEOUT, last_probe));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The files kube-apiserver reads, written into the server's directory.
struct ApiserverFiles {
    admin_token: String,
    token_file: PathBuf,
    signing_key: PathBuf,
    public_key: PathBuf,
    cert_dir: PathBuf,
}

impl ApiserverFiles {
    fn write(dir: &Path) -> Result<Self, Error> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        // Only a loopback test server accepts it; unguessable is not needed, unique is nice.
        let admin_token = format!("weir-e2e-{}-{nanos:x}", std::process::id());
        let files = Self {
            token_file: dir.join("tokens.csv"),
            signing_key: dir.join("service-account.key"),
            public_key: dir.join("service-account.pub"),
            cert_dir: dir.join("certs"),
            admin_token,
        };
        write(
            &files.token_file,
            &format!(
                "{},weir-e2e-admin,weir-e2e-admin,\"system:masters\"\n",
                files.admin_token
            ),
        )?;
        // ECDSA P-256 (ES256 tokens): the private key signs, its public half verifies.
        let key = rcgen::KeyPair::generate().map_err(|error| Error::Io {
            context: "generating the service-account signing key".to_owned(),
            source: std::io::Error::other(error),
        })?;
        write(&files.signing_key, &key.serialize_pem())?;
        write(&files.public_key, &key.public_key_pem())?;
        std::fs::create_dir_all(&files.cert_dir)
            .map_err(Error::io(format!("creating {}", files.cert_dir.display())))?;
        Ok(files)
    }
}

fn apiserver_args(files: &ApiserverFiles, etcd_client: u16, secure: u16) -> Vec<OsString> {
    let path = |flag: &str, path: &Path| OsString::from(format!("--{flag}={}", path.display()));
    vec![
        format!("--etcd-servers=http://127.0.0.1:{etcd_client}").into(),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={secure}").into(),
        // 1.20 still serves plain HTTP on 8080 by default; parallel tests would fight over it.
        "--insecure-port=0".into(),
        path("cert-dir", &files.cert_dir),
        path("token-auth-file", &files.token_file),
        "--authorization-mode=RBAC".into(),
        path("service-account-key-file", &files.public_key),
        path("service-account-signing-key-file", &files.signing_key),
        format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}").into(),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        // The `kubernetes` Service's Endpoints may not hold a loopback address: keep them empty.
        "--endpoint-reconciler-type=none".into(),
        // No controller-manager creates token Secrets, so this plugin would reject every Pod.
        "--disable-admission-plugins=ServiceAccount".into(),
        "--profiling=false".into(),
    ]
}

/// Waits until the apiserver's port accepts connections (its serving certificate is written by
/// then), writes the admin kubeconfig, then polls `/readyz` with a client from it.
async fn wait_apiserver_ready(
    apiserver: &mut Supervised,
    port: u16,
    ca_file: &Path,
    kubeconfig: &Path,
    server_url: &str,
    token: &str,
) -> Result<kube::Client, Error> {
    let deadline = Instant::now() + APISERVER_TIMEOUT;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut last_probe = String::from("port not open yet");
    loop {
        exited(apiserver)?;
        if TcpStream::connect_timeout(&address, PROBE_TIMEOUT).is_ok() && ca_file.exists() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(not_ready(apiserver, APISERVER_TIMEOUT, last_probe));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    write_kubeconfig(kubeconfig, server_url, ca_file, "weir-e2e-admin", token)?;
    let client = client_from_kubeconfig(kubeconfig).await?;
    loop {
        exited(apiserver)?;
        match tokio::time::timeout(PROBE_TIMEOUT, client.request_text(readyz_request())).await {
            Ok(Ok(body)) if body.trim() == "ok" => break,
            Ok(Ok(body)) => last_probe = format!("/readyz answered {:?}", body.trim()),
            Ok(Err(error)) => last_probe = format!("/readyz: {error}"),
            Err(_) => last_probe = format!("/readyz: no answer within {PROBE_TIMEOUT:?}"),
        }
        if Instant::now() >= deadline {
            return Err(not_ready(apiserver, APISERVER_TIMEOUT, last_probe));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_service_allocator(apiserver, &client, deadline).await?;
    Ok(client)
}

/// Waits for the `default/kubernetes` Service. `/readyz` can answer `ok` before the bootstrap
/// controller has repaired the Service IP allocator, and a Service created in that window fails;
/// that controller creates `default/kubernetes` only after the repair, so once it exists every
/// test can create Services.
async fn wait_service_allocator(
    apiserver: &mut Supervised,
    client: &kube::Client,
    deadline: Instant,
) -> Result<(), Error> {
    let services =
        kube::Api::<k8s_openapi::api::core::v1::Service>::namespaced(client.clone(), "default");
    loop {
        exited(apiserver)?;
        let last_probe = match services.get_opt("kubernetes").await {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => "Service default/kubernetes not created yet".to_owned(),
            Err(error) => format!("reading Service default/kubernetes: {error}"),
        };
        if Instant::now() >= deadline {
            return Err(not_ready(apiserver, APISERVER_TIMEOUT, last_probe));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn readyz_request() -> http::Request<Vec<u8>> {
    let mut request = http::Request::new(Vec::new());
    *request.uri_mut() = http::Uri::from_static("/readyz");
    request
}

/// An [`Error::Exited`] when `server` has exited.
fn exited(server: &mut Supervised) -> Result<(), Error> {
    match server.exited() {
        None => Ok(()),
        Some(status) => Err(Error::Exited {
            process: server.name(),
            status,
            log_tail: server.log_tail(LOG_LINES),
            port_taken: server.port_was_taken(),
        }),
    }
}

fn not_ready(server: &Supervised, timeout: Duration, last_probe: String) -> Error {
    Error::NotReady {
        process: server.name(),
        timeout,
        last_probe,
        log_tail: server.log_tail(LOG_LINES),
    }
}

/// A plain HTTP/1.1 request to 127.0.0.1:`port`; returns the response body.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    use std::io::Read;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, PROBE_TIMEOUT)?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(match response.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_owned(),
        None => response,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(Error::io(format!("writing {}", path.display())))
}

/// Writes a kubeconfig for `server` that trusts `ca_file` and sends `token`.
fn write_kubeconfig(
    path: &Path,
    server: &str,
    ca_file: &Path,
    user: &str,
    token: &str,
) -> Result<(), Error> {
    // Each value is a URL, a path or a token: printable text that Rust's `{:?}` quotes as a valid
    // YAML double-quoted scalar.
    let contents = format!(
        r#"apiVersion: v1
kind: Config
clusters:
- name: weir-e2e
  cluster:
    server: {server:?}
    certificate-authority: {ca:?}
users:
- name: {user:?}
  user:
    token: {token:?}
contexts:
- name: weir-e2e
  context:
    cluster: weir-e2e
    user: {user:?}
current-context: weir-e2e
"#,
        ca = ca_file.display().to_string(),
    );
    write(path, &contents)
}
