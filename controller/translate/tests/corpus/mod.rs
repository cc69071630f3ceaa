//! The Ingress conformance corpus, shared by three tiers so that each runs the same manifests
//! against the same expected answers:
//!
//! ```text
//! tests/fixtures/conformance/CASE/manifests.yaml + expected.txt
//!   ├─► weir-translate tests/conformance.rs          the model's matcher
//!   ├─► localproxy tests/conformance_corpus.rs       weir-proxy file mode, real sockets
//!   └─► controller/cli tests/run_localproxy_conformance.rs
//!         weir-controller run --provider localproxy on a real API server + weir-proxy --from-cluster
//! ```
//!
//! Included by path (`#[path = ...] mod corpus;`) from the other crates' tests. The socket
//! tiers replace each case's EndpointSlices with one loopback echo backend per Service, named
//! after it, so "the Service that answers" is what the echo backend reports.
#![allow(dead_code)]

use serde::Deserialize as _;

/// One conformance case: a fixture folder.
pub struct Case {
    /// The folder name, e.g. `path-rules`.
    pub name: &'static str,
    /// Its `manifests.yaml`.
    pub manifests: &'static str,
    /// Its `expected.txt`, parsed.
    pub expected: Vec<Expect>,
}

/// One request and its expected answer.
#[derive(Debug)]
pub struct Expect {
    /// The `Host` header (empty: a request without a host).
    pub host: &'static str,
    /// The path.
    pub path: &'static str,
    /// The Service that answers, or the status (`404`).
    pub want: &'static str,
}

/// The IngressClass the socket tiers serve.
pub const CLASS: &str = "weir";

/// The cases every tier runs, in order (`ingress-class` last: it publishes nothing).
pub fn cases() -> Vec<Case> {
    vec![
        case(
            "path-rules",
            include_str!("../fixtures/conformance/path-rules/manifests.yaml"),
            include_str!("../fixtures/conformance/path-rules/expected.txt"),
        ),
        case(
            "host-rules",
            include_str!("../fixtures/conformance/host-rules/manifests.yaml"),
            include_str!("../fixtures/conformance/host-rules/expected.txt"),
        ),
        case(
            "default-backend",
            include_str!("../fixtures/conformance/default-backend/manifests.yaml"),
            include_str!("../fixtures/conformance/default-backend/expected.txt"),
        ),
        case(
            "ingress-class",
            include_str!("../fixtures/conformance/ingress-class/manifests.yaml"),
            include_str!("../fixtures/conformance/ingress-class/expected.txt"),
        ),
    ]
}

fn case(name: &'static str, manifests: &'static str, expected: &'static str) -> Case {
    let expected = expected
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&'static str> = line.split_whitespace().collect();
            let [host, path, want] = fields[..] else {
                panic!("{name}/expected.txt: {line:?} is not HOST PATH ANSWER");
            };
            Expect {
                host: if host == "-" { "" } else { host },
                path,
                want,
            }
        })
        .collect();
    Case {
        name,
        manifests,
        expected,
    }
}

impl Case {
    /// The case's documents as JSON values.
    fn documents(&self) -> Vec<serde_json::Value> {
        serde_yaml_ng::Deserializer::from_str(self.manifests)
            .map(|document| serde_json::Value::deserialize(document).expect("a YAML document"))
            .filter(|document| !document.is_null())
            .collect()
    }

    /// The names of the case's Services.
    pub fn services(&self) -> Vec<String> {
        self.documents()
            .iter()
            .filter(|document| document["kind"] == "Service")
            .filter_map(|document| document["metadata"]["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// The namespaces the case's objects live in.
    pub fn namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = self
            .documents()
            .iter()
            .filter_map(|document| {
                document["metadata"]["namespace"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        namespaces.sort();
        namespaces.dedup();
        namespaces
    }

    /// The case as the socket tiers serve it, one YAML document each: Ingresses without a
    /// class get [`CLASS`], and every EndpointSlice is replaced by one per Service whose one
    /// endpoint is `127.0.0.1:port_of(service)` (ports named as the Service's), of
    /// `slice_api_version` (`discovery.k8s.io/v1`, or `v1beta1` for a 1.20 API server).
    pub fn served(&self, port_of: &dyn Fn(&str) -> u16, slice_api_version: &str) -> Vec<String> {
        let mut out = Vec::new();
        for mut document in self.documents() {
            match document["kind"].as_str() {
                Some("EndpointSlice") => continue,
                Some("Ingress") if document["spec"]["ingressClassName"].is_null() => {
                    document["spec"]["ingressClassName"] = CLASS.into();
                }
                Some("Service") => out.push(loopback_slice(&document, port_of, slice_api_version)),
                _ => {}
            }
            out.push(yaml(&document));
        }
        out
    }
}

fn loopback_slice(
    service: &serde_json::Value,
    port_of: &dyn Fn(&str) -> u16,
    api_version: &str,
) -> String {
    let name = service["metadata"]["name"]
        .as_str()
        .expect("a Service name");
    let port = port_of(name);
    let ports: Vec<serde_json::Value> = service["spec"]["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|service_port| {
            let mut slice_port = serde_json::json!({ "port": port, "protocol": "TCP" });
            if let Some(port_name) = service_port["name"].as_str() {
                slice_port["name"] = port_name.into();
            }
            slice_port
        })
        .collect();
    let slice = serde_json::json!({
        "apiVersion": api_version,
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{name}-loopback"),
            "namespace": service["metadata"]["namespace"],
            "labels": { "kubernetes.io/service-name": name },
        },
        "addressType": "IPv4",
        "endpoints": [{ "addresses": ["127.0.0.1"], "conditions": { "ready": true } }],
        "ports": ports,
    });
    yaml(&slice)
}

fn yaml(document: &serde_json::Value) -> String {
    serde_yaml_ng::to_string(document).expect("JSON values are YAML")
}
