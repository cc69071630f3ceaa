//! The Ingress conformance corpus, shared by three tiers so that each runs the same manifests
//! against the same expected answers:
//!
//! ```text
//! tests/fixtures/conformance/CASE/manifests.yaml + expected.txt
//!   (CASE: a feature of kubernetes-sigs/ingress-controller-conformance, or docs-path-table,
//!    the Kubernetes docs' path-matching table)
//!   ├─► weir-translate tests/conformance.rs          the model's matcher
//!   ├─► localproxy tests/conformance_corpus.rs       weir-proxy file mode, real sockets
//!   └─► controller/cli tests/run_localproxy_conformance.rs
//!         weir-controller run --provider localproxy on a real API server + weir-proxy --from-cluster
//! ```
//!
//! Included by path (`#[path = ...] mod corpus;`) from the other crates' tests.
//!
//! `expected.txt` holds one `HOST PATH ANSWER` line per request (`#` starts a comment; `-` as
//! HOST is a request without a host). ANSWER is either
//! - the Service that answers (`foo-exact`) or the status (`404`): one request; or
//! - `SERVICE*N`, a spread: [`SPREAD_REQUESTS_PER_ENDPOINT`] x N requests, every one a 200 from
//!   SERVICE, and exactly N distinct endpoints of it answer among them
//!   (`features/load_balancing.feature`: "the response body should contain the IP address of
//!   10 different Kubernetes pods").
//!
//! The socket tiers keep each case's EndpointSlices (and every endpoint's conditions) but map
//! each endpoint address to its own loopback address (127.0.0.2, 127.0.0.3, ... per Service,
//! all on that Service's one port: Linux serves all of 127.0.0.0/8), where an echo backend
//! named `SERVICE/FIXTURE-ADDRESS` answers ([`Case::backends`]). So an answer names both the
//! Service and the endpoint that served it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

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

/// One request (or, for a spread, a series of them) and the expected answer.
#[derive(Debug)]
pub struct Expect {
    /// The `Host` header (empty: a request without a host).
    pub host: &'static str,
    /// The path.
    pub path: &'static str,
    /// What must answer.
    pub want: Want,
}

/// What must answer a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// This Service answers (`foo-exact`), or this status (`404`).
    Answer(&'static str),
    /// Every request a 200 from `service`, spread over exactly `endpoints` distinct endpoints.
    Spread {
        /// The Service that answers every request.
        service: &'static str,
        /// How many distinct endpoints of it answer.
        endpoints: usize,
    },
}

/// Requests per expected endpoint of a spread. The feature sends 100 for 10 pods; twice that
/// makes a uniform pick miss one of ten endpoints with probability about 7e-9, not 3e-4.
pub const SPREAD_REQUESTS_PER_ENDPOINT: usize = 20;

/// One echo backend the socket tiers start: it answers as `name` on `ip`, at the port of its
/// Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The Service whose endpoint it stands for.
    pub service: String,
    /// `SERVICE/FIXTURE-ADDRESS`: what the echo backend names itself.
    pub name: String,
    /// The loopback address it listens on.
    pub ip: Ipv4Addr,
}

impl Expect {
    /// How many requests the expectation needs.
    pub fn requests(&self) -> usize {
        match self.want {
            Want::Answer(_) => 1,
            Want::Spread { endpoints, .. } => SPREAD_REQUESTS_PER_ENDPOINT * endpoints,
        }
    }

    /// Judges the answers to [`Self::requests`] requests: each the echo backend's name
    /// (`SERVICE/ENDPOINT`) or the status when it was not a 200.
    pub fn judge(&self, answers: &[String]) -> Result<(), String> {
        let service_of = |answer: &str| {
            answer
                .split_once('/')
                .map_or(answer, |(service, _)| service)
                .to_owned()
        };
        match self.want {
            Want::Answer(want) => match answers.iter().find(|answer| service_of(answer) != want) {
                None => Ok(()),
                Some(wrong) => Err(format!("{self:?}: got {wrong}")),
            },
            Want::Spread { service, endpoints } => {
                let strays: Vec<&String> = answers
                    .iter()
                    .filter(|answer| service_of(answer) != service || !answer.contains('/'))
                    .collect();
                let distinct: BTreeSet<&String> = answers.iter().collect();
                if strays.is_empty() && distinct.len() == endpoints {
                    Ok(())
                } else {
                    Err(format!(
                        "{self:?}: {} distinct endpoints answered {distinct:?}; not {service}: {strays:?}",
                        distinct.len()
                    ))
                }
            }
        }
    }
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
            "docs-path-table",
            include_str!("../fixtures/conformance/docs-path-table/manifests.yaml"),
            include_str!("../fixtures/conformance/docs-path-table/expected.txt"),
        ),
        case(
            "load-balancing",
            include_str!("../fixtures/conformance/load-balancing/manifests.yaml"),
            include_str!("../fixtures/conformance/load-balancing/expected.txt"),
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
                want: parse_want(name, want),
            }
        })
        .collect();
    Case {
        name,
        manifests,
        expected,
    }
}

fn parse_want(case: &str, want: &'static str) -> Want {
    let Some((service, endpoints)) = want.split_once('*') else {
        return Want::Answer(want);
    };
    let endpoints = endpoints
        .parse()
        .unwrap_or_else(|_| panic!("{case}/expected.txt: {want:?} is not SERVICE*COUNT"));
    Want::Spread { service, endpoints }
}

impl Case {
    /// The case's documents as JSON values.
    fn documents(&self) -> Vec<serde_json::Value> {
        serde_yaml_ng::Deserializer::from_str(self.manifests)
            .map(|document| serde_json::Value::deserialize(document).expect("a YAML document"))
            .filter(|document| !document.is_null())
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

    /// The echo backends the socket tiers start: one per endpoint address of the case's
    /// EndpointSlices, the n-th address of a Service (in manifest order) on `127.0.0.(n+2)`.
    pub fn backends(&self) -> Vec<Backend> {
        let mut backends: Vec<Backend> = Vec::new();
        for slice in self.documents() {
            if slice["kind"] != "EndpointSlice" {
                continue;
            }
            let service = slice_service(&slice);
            for address in slice_addresses(&slice) {
                let name = format!("{service}/{address}");
                if backends.iter().any(|backend| backend.name == name) {
                    continue;
                }
                let ordinal = backends
                    .iter()
                    .filter(|backend| backend.service == service)
                    .count();
                backends.push(Backend {
                    service: service.clone(),
                    name,
                    ip: loopback(ordinal),
                });
            }
        }
        backends
    }

    /// The case as the socket tiers serve it, one YAML document each: Ingresses without a
    /// class get [`CLASS`], every EndpointSlice becomes `slice_api_version`
    /// (`discovery.k8s.io/v1`, or `v1beta1` for a 1.20 API server) with each address replaced
    /// by its backend's loopback address ([`Self::backends`]) and every port by
    /// `port_of(service)`; endpoint conditions stay as the fixture says.
    pub fn served(&self, port_of: &dyn Fn(&str) -> u16, slice_api_version: &str) -> Vec<String> {
        let backends = self.backends();
        let loopback_of = |service: &str, address: &str| {
            backends
                .iter()
                .find(|backend| backend.name == format!("{service}/{address}"))
                .map(|backend| backend.ip.to_string())
                .expect("every slice address has a backend")
        };
        let mut out = Vec::new();
        for mut document in self.documents() {
            match document["kind"].as_str() {
                Some("EndpointSlice") => {
                    let service = slice_service(&document);
                    document["apiVersion"] = slice_api_version.into();
                    for endpoint in document["endpoints"].as_array_mut().into_iter().flatten() {
                        for address in endpoint["addresses"].as_array_mut().into_iter().flatten() {
                            let fixture = address.as_str().unwrap_or_default().to_owned();
                            *address = loopback_of(&service, &fixture).into();
                        }
                    }
                    for port in document["ports"].as_array_mut().into_iter().flatten() {
                        port["port"] = port_of(&service).into();
                    }
                }
                Some("Ingress") if document["spec"]["ingressClassName"].is_null() => {
                    document["spec"]["ingressClassName"] = CLASS.into();
                }
                _ => {}
            }
            out.push(yaml(&document));
        }
        out
    }
}

/// The Service an EndpointSlice belongs to (its `kubernetes.io/service-name` label).
fn slice_service(slice: &serde_json::Value) -> String {
    slice["metadata"]["labels"]["kubernetes.io/service-name"]
        .as_str()
        .expect("a fixture EndpointSlice names its Service")
        .to_owned()
}

/// Every endpoint address of an EndpointSlice, in order.
fn slice_addresses(slice: &serde_json::Value) -> Vec<String> {
    slice["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|endpoint| endpoint["addresses"].as_array().into_iter().flatten())
        .filter_map(|address| address.as_str().map(str::to_owned))
        .collect()
}

/// The loopback address of a Service's `ordinal`-th endpoint: 127.0.0.2 onwards.
fn loopback(ordinal: usize) -> Ipv4Addr {
    let offset = u32::try_from(ordinal).expect("a fixture has few endpoints") + 2;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + offset)
}

fn yaml(document: &serde_json::Value) -> String {
    serde_yaml_ng::to_string(document).expect("JSON values are YAML")
}
