//! The emulator process (or an external endpoint) and SDK clients for it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_acm::config::Credentials;
use weir_provider_aws::{AwsProvider, Client, ClientOptions, SdkApi, StackDefaults};

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// A running emulator: a moto server this process started, or an external endpoint.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    child: Option<Child>,
    vpc_id: String,
    subnets: Vec<String>,
}

impl Emulator {
    /// Starts moto server from `$WEIR_MOTO_VENV` (default `~/.cache/weir/moto-venv`) on a free
    /// loopback port, or uses `$WEIR_AWS_ENDPOINT` when set, then creates a VPC with two
    /// subnets.
    ///
    /// # Panics
    /// When no emulator can be started: run `scripts/test.sh`, which installs moto.
    pub fn start() -> Self {
        let (endpoint, child) = match std::env::var("WEIR_AWS_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => (endpoint, None),
            _ => {
                let (endpoint, child) = spawn_moto();
                (endpoint, Some(child))
            }
        };
        let mut emulator = Self {
            endpoint,
            child,
            vpc_id: String::new(),
            subnets: Vec::new(),
        };
        emulator.wait_ready();
        let vpc = emulator.ec2_value(
            &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")],
            "vpcId",
        );
        emulator.vpc_id = vpc.clone();
        for (cidr, zone) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
            let subnet = emulator.ec2_value(
                &[
                    ("Action", "CreateSubnet"),
                    ("VpcId", &vpc),
                    ("CidrBlock", cidr),
                    ("AvailabilityZone", zone),
                ],
                "subnetId",
            );
            emulator.subnets.push(subnet);
        }
        emulator
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The test VPC.
    pub fn vpc_id(&self) -> &str {
        &self.vpc_id
    }

    /// The two subnets of the test VPC.
    pub fn subnets(&self) -> &[String] {
        &self.subnets
    }

    /// SDK configuration for the emulator (static test credentials, no SDK retries).
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("test", "test", None, None, "weir-tests"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    /// A provider for `cluster` with the test subnets as defaults and no rate limit; when
    /// `budget` is given, every call after it is spent fails as if the process had died.
    pub async fn provider(
        &self,
        cluster: &str,
        budget: Option<Arc<AtomicU64>>,
    ) -> AwsProvider<SdkApi> {
        let mut client = Client::new(self.sdk_api().await, Self::client_options());
        if let Some(budget) = budget {
            client = client.with_budget(budget);
        }
        AwsProvider::new(client, cluster, self.defaults())
    }

    /// The SDK adapter for the emulator.
    pub async fn sdk_api(&self) -> SdkApi {
        SdkApi::new(&self.sdk_config().await)
    }

    /// Client options for tests: no rate limit, quick retries.
    pub fn client_options() -> ClientOptions {
        ClientOptions {
            min_interval: Duration::ZERO,
            max_retries: 2,
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        }
    }

    /// Stack defaults with the test subnets.
    pub fn defaults(&self) -> StackDefaults {
        StackDefaults {
            subnets: self.subnets.clone(),
            ..StackDefaults::default()
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = self.http("GET", "/moto-api/", "", "")
                && response.starts_with("HTTP/1.")
            {
                return;
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("moto_server exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "emulator at {} never answered",
                self.endpoint
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends an EC2 Query API request (`Action` and its parameters) and returns the text of the
    /// first `<field>` element of the answer.
    ///
    /// # Panics
    /// When the emulator does not answer or the answer has no `<field>`.
    pub fn ec2_value(&self, params: &[(&str, &str)], field: &str) -> String {
        let mut body = String::from("Version=2016-11-15");
        for (key, value) in params {
            body.push('&');
            body.push_str(key);
            body.push('=');
            body.push_str(&encode(value));
        }
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"
        );
        let response = self
            .http("POST", "/", &body, &authorization)
            .expect("EC2 request reaches the emulator");
        let open = format!("<{field}>");
        let start = response
            .find(&open)
            .unwrap_or_else(|| panic!("no {field} in EC2 response: {response}"))
            + open.len();
        let end = start + response[start..].find('<').expect("closing tag");
        response[start..end].to_owned()
    }

    fn http(
        &self,
        method: &str,
        path: &str,
        body: &str,
        authorization: &str,
    ) -> std::io::Result<String> {
        let address = self
            .endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let mut stream = TcpStream::connect(&address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !body.is_empty() {
            request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        if !authorization.is_empty() {
            request.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_moto() -> (String, Child) {
    let venv = std::env::var_os("WEIR_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/weir/moto-venv")
        });
    let binary = venv.join("bin/moto_server");
    assert!(
        binary.exists(),
        "{} is missing: run scripts/test.sh (it installs moto server into that venv) or set WEIR_AWS_ENDPOINT",
        binary.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    let child = Command::new(&binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ACCOUNT_ID", "000000000000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    (format!("http://127.0.0.1:{port}"), child)
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
