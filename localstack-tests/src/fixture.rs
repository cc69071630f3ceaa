//! Test stacks as Kubernetes YAML, translated exactly as the controller does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use weir_model::{DesiredLoadBalancer, Diagnostic};
use weir_translate::{ControllerKind, TranslateConfig, translate};

/// One Ingress of a fixture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    /// Its name.
    pub name: String,
    /// Its `weir.dev/group.name`, if any.
    pub group: Option<String>,
    /// Its one host.
    pub host: String,
    /// Paths: (path, `Exact` or `Prefix`, Service name).
    pub paths: Vec<(String, String, String)>,
    /// The TLS Secret for the host, if any.
    pub tls_secret: Option<String>,
    /// A `spec.tls` entry for the host without a Secret (the provider discovers a
    /// certificate).
    pub discover_tls: bool,
    /// More annotations, such as `weir.dev/healthcheck-path`.
    pub annotations: BTreeMap<String, String>,
}

impl Ingress {
    /// An Ingress for `host` with Prefix paths to `service`.
    pub fn new(name: &str, host: &str, paths: &[(&str, &str)]) -> Self {
        Self {
            name: name.to_owned(),
            group: None,
            host: host.to_owned(),
            paths: paths
                .iter()
                .map(|(path, service)| {
                    (
                        (*path).to_owned(),
                        "Prefix".to_owned(),
                        (*service).to_owned(),
                    )
                })
                .collect(),
            tls_secret: None,
            discover_tls: false,
            annotations: BTreeMap::new(),
        }
    }
}

/// Ingresses, Services with their endpoints, and TLS Secrets in one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fixture {
    /// The Ingresses.
    pub ingresses: Vec<Ingress>,
    /// Pod IPs by Service name (every Service listens on 80, pods on 8080).
    pub services: BTreeMap<String, Vec<String>>,
    /// TLS Secrets by name: (certificate chain PEM, key PEM).
    pub secrets: BTreeMap<String, (String, String)>,
}

impl Fixture {
    /// One Ingress with `rules` Exact paths on one host, spread over five Services with two
    /// endpoints each: `rules` ALB rules and five target groups.
    pub fn with_rules(rules: usize) -> Self {
        let services: Vec<String> = (0..5).map(|index| format!("svc{index}")).collect();
        let mut ingress = Ingress::new("shop", "shop.example.com", &[]);
        ingress.paths = (0..rules)
            .map(|index| {
                (
                    format!("/r{index:02}"),
                    "Exact".to_owned(),
                    services[index % services.len()].clone(),
                )
            })
            .collect();
        Self {
            ingresses: vec![ingress],
            services: (0u8..)
                .zip(&services)
                .map(|(index, service)| {
                    (
                        service.clone(),
                        vec![
                            format!("10.0.1.{}", 10 + index),
                            format!("10.0.2.{}", 10 + index),
                        ],
                    )
                })
                .collect(),
            secrets: BTreeMap::new(),
        }
    }

    /// The fixture as YAML documents (namespace `test`, class `weir-alb`).
    pub fn yaml(&self) -> String {
        let mut out = String::from(
            "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: weir-alb}\nspec: {controller: weir.dev/aws-alb}\n",
        );
        for (service, ips) in &self.services {
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {service}, namespace: test}}\nspec:\n  ports: [{{port: 80, targetPort: 8080}}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {service}-1\n  namespace: test\n  labels: {{kubernetes.io/service-name: {service}}}\naddressType: IPv4\nports: [{{port: 8080, protocol: TCP}}]\nendpoints:\n"
            );
            for ip in ips {
                let _ = writeln!(out, "  - addresses: [{ip}]");
            }
            if ips.is_empty() {
                out.truncate(out.len() - "endpoints:\n".len());
                out.push_str("endpoints: []\n");
            }
        }
        for (name, (chain, key)) in &self.secrets {
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: test}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
                indent(chain),
                indent(key)
            );
        }
        for ingress in &self.ingresses {
            let _ = write!(
                out,
                "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {}\n  namespace: test\n",
                ingress.name
            );
            let mut annotations = ingress.annotations.clone();
            if let Some(group) = &ingress.group {
                annotations.insert("weir.dev/group.name".to_owned(), group.clone());
            }
            if !annotations.is_empty() {
                out.push_str("  annotations:\n");
                for (key, value) in &annotations {
                    let _ = writeln!(out, "    {key}: {value:?}");
                }
            }
            out.push_str("spec:\n  ingressClassName: weir-alb\n");
            if let Some(secret) = &ingress.tls_secret {
                let _ = write!(
                    out,
                    "  tls:\n    - hosts: [{}]\n      secretName: {secret}\n",
                    ingress.host
                );
            }
            if ingress.discover_tls {
                let _ = write!(out, "  tls:\n    - hosts: [{}]\n", ingress.host);
            }
            let _ = write!(
                out,
                "  rules:\n    - host: {}\n      http:\n        paths:\n",
                ingress.host
            );
            for (path, kind, service) in &ingress.paths {
                let _ = writeln!(
                    out,
                    "          - {{path: {path}, pathType: {kind}, backend: {{service: {{name: {service}, port: {{number: 80}}}}}}}}"
                );
            }
        }
        out
    }

    /// The stacks weir's AWS controller would build from this fixture.
    pub fn desired(&self) -> Vec<DesiredLoadBalancer> {
        desired(&self.yaml())
    }
}

/// The stacks weir's AWS controller builds from `yaml`, with every diagnostic of the
/// translation.
///
/// # Panics
/// When the YAML does not parse.
pub fn translated(yaml: &str) -> (Vec<DesiredLoadBalancer>, Vec<Diagnostic>) {
    let mut snapshot = weir_translate::ClusterSnapshot::default();
    weir_manifests::load_str(yaml, Path::new("fixture.yaml"), &mut snapshot)
        .expect("fixture parses");
    translate(
        &snapshot,
        &TranslateConfig::for_controller(ControllerKind::AwsAlb),
    )
    .into_desired()
}

/// The stacks weir's AWS controller builds from `yaml`.
///
/// # Panics
/// When the YAML does not parse or a stack has error diagnostics (a broken fixture).
pub fn desired(yaml: &str) -> Vec<DesiredLoadBalancer> {
    let mut snapshot = weir_translate::ClusterSnapshot::default();
    weir_manifests::load_str(yaml, Path::new("fixture.yaml"), &mut snapshot)
        .expect("fixture parses");
    let translation = translate(
        &snapshot,
        &TranslateConfig::for_controller(ControllerKind::AwsAlb),
    );
    for stack in &translation.stacks {
        for diagnostic in &stack.diagnostics {
            assert!(
                diagnostic.severity != weir_model::Severity::Error,
                "fixture error: {diagnostic}"
            );
        }
    }
    translation
        .stacks
        .into_iter()
        .filter_map(|stack| stack.desired)
        .collect()
}

/// A fresh self-signed certificate and key for `host` (openssl CLI, EC P-256).
///
/// # Panics
/// When openssl is missing or fails.
pub fn self_signed(host: &str) -> (String, String) {
    let dir = std::env::temp_dir().join(format!(
        "weir-cert-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("tls.key");
    let cert = dir.join("tls.crt");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
        ])
        .arg("-subj")
        .arg(format!("/CN={host}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{host}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl failed");
    let pair = (
        std::fs::read_to_string(&cert).expect("certificate written"),
        std::fs::read_to_string(&key).expect("key written"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    pair
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}
