//! Where the local proxies are reached, watched: the ingress of a LoadBalancer Service that
//! fronts them (and its `spec.externalIPs`), or the addresses of the Nodes they listen on with
//! hostPorts (kind, bare metal). Each change is sent to the runtime as a [`SourcedStatus`].
//!
//! ```text
//! watch (one Service by name | Nodes by label) ─► objects held ─► service_status / node_status
//!   ─► StatusSender::send ─► (changed) runtime reconciles every stack with the new addresses
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use serde::de::DeserializeOwned;
use weir_model::LoadBalancerAddress;
use weir_runtime::{SourcedStatus, StatusSender};

/// Where the status addresses come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusOrigin {
    /// A Service (`--status-service NAMESPACE/NAME`).
    Service(ServiceName),
    /// The Nodes matching a label selector, every Node when it is empty
    /// (`--status-from-nodes[=SELECTOR]`).
    Nodes(String),
}

/// A Service's namespace and name, from `NAMESPACE/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceName {
    namespace: String,
    name: String,
}

impl FromStr for ServiceName {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().split_once('/') {
            Some((namespace, name))
                if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
            {
                Ok(Self {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err(format!(
                "--status-service {value:?}: expected NAMESPACE/NAME of a Service"
            )),
        }
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Watches `origin` until the process ends, sending every change of the addresses.
///
/// # Cancel safety
/// Cancel-safe: it holds nothing but the watch.
pub async fn run(client: kube::Client, origin: StatusOrigin, sender: StatusSender) {
    match origin {
        StatusOrigin::Service(service) => {
            let api = Api::<Service>::namespaced(client, &service.namespace);
            // By name: the one Service, which is all the status needs to read.
            let config =
                watcher::Config::default().fields(&format!("metadata.name={}", service.name));
            let what = format!("Service {service}");
            follow(api, config, &what, &sender, |held| {
                service_status(&service, held.values().next())
            })
            .await;
        }
        StatusOrigin::Nodes(selector) => {
            let api = Api::<Node>::all(client);
            let mut config = watcher::Config::default();
            if !selector.is_empty() {
                config = config.labels(&selector);
            }
            let what = format!("Nodes {}", describe_selector(&selector));
            follow(api, config, &what, &sender, |held| {
                node_status(&selector, held.values())
            })
            .await;
        }
    }
}

/// Holds the objects of one watch by name and sends `status(held)` after the first full list
/// and after every change. Watch errors are logged and retried with backoff; the last
/// addresses stay in force meanwhile.
async fn follow<K, F>(
    api: Api<K>,
    config: watcher::Config,
    what: &str,
    sender: &StatusSender,
    status: F,
) where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    F: Fn(&BTreeMap<String, K>) -> SourcedStatus,
{
    let mut held: BTreeMap<String, K> = BTreeMap::new();
    let mut listing: BTreeMap<String, K> = BTreeMap::new();
    let mut synced = false;
    let stream = watcher::watcher(api, config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Init) => listing.clear(),
            Ok(watcher::Event::InitApply(object)) => {
                listing.insert(name(&object), object);
            }
            Ok(watcher::Event::InitDone) => {
                held = std::mem::take(&mut listing);
                synced = true;
            }
            Ok(watcher::Event::Apply(object)) => {
                held.insert(name(&object), object);
            }
            Ok(watcher::Event::Delete(object)) => {
                held.remove(&name(&object));
            }
            Err(error) => {
                tracing::warn!(%error, "watching {what} for the status addresses; retrying");
                // A list the API server refuses (RBAC, a bad selector) will not heal by itself:
                // say so on the Ingresses. Anything else keeps what is known.
                if let Some(refusal) = refused(&error) {
                    sender.send(SourcedStatus::Missing(format!(
                        "cannot list {what}: {refusal}"
                    )));
                }
                continue;
            }
        }
        if !synced {
            continue;
        }
        let current = status(&held);
        if sender.send(current.clone()) {
            match current {
                SourcedStatus::Addresses(addresses) => {
                    tracing::info!(?addresses, "status addresses from {what}");
                }
                SourcedStatus::Missing(problem) => tracing::warn!("no status address: {problem}"),
                SourcedStatus::Unknown => {}
            }
        }
    }
}

/// Why the API server refused the watch's list, when it did (403, 400), with what fixes it.
fn refused(error: &watcher::Error) -> Option<String> {
    let watcher::Error::InitialListFailed(kube::Error::Api(status)) = error else {
        return None;
    };
    match status.code {
        403 => Some(format!(
            "{} (the controller's ServiceAccount needs list and watch; for Nodes: deploy/overlays/kind/controller-nodes-rbac.yaml)",
            status.message
        )),
        400 => Some(status.message.clone()),
        _ => None,
    }
}

fn name<K: kube::Resource>(object: &K) -> String {
    object.meta().name.clone().unwrap_or_default()
}

fn describe_selector(selector: &str) -> String {
    if selector.is_empty() {
        "(all)".to_owned()
    } else {
        format!("matching {selector:?}")
    }
}

/// The addresses of a Service: `status.loadBalancer.ingress` (IPs and host names), then
/// `spec.externalIPs`, without repeats. No Service, or none of these, is `Missing` with the
/// reason.
pub fn service_status(service_name: &ServiceName, service: Option<&Service>) -> SourcedStatus {
    let Some(service) = service else {
        return SourcedStatus::Missing(format!(
            "Service {service_name} (--status-service) does not exist"
        ));
    };
    let ingress = service
        .status
        .as_ref()
        .and_then(|status| status.load_balancer.as_ref())
        .and_then(|load_balancer| load_balancer.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|entry| match (&entry.ip, &entry.hostname) {
            (Some(ip), _) if !ip.is_empty() => Some(LoadBalancerAddress::Ip(ip.clone())),
            (_, Some(hostname)) if !hostname.is_empty() => {
                Some(LoadBalancerAddress::Hostname(hostname.clone()))
            }
            _ => None,
        });
    let spec = service.spec.as_ref();
    let external = spec
        .and_then(|spec| spec.external_ips.as_ref())
        .into_iter()
        .flatten()
        .filter(|ip| !ip.is_empty())
        .map(|ip| LoadBalancerAddress::Ip(ip.clone()));
    let addresses = distinct(ingress.chain(external));
    if !addresses.is_empty() {
        return SourcedStatus::Addresses(addresses);
    }
    let kind = spec
        .and_then(|spec| spec.type_.as_deref())
        .unwrap_or("ClusterIP");
    SourcedStatus::Missing(if kind == "LoadBalancer" {
        format!(
            "Service {service_name} (--status-service) has no address yet: its status.loadBalancer.ingress is empty (is a load balancer implementation running for it?)"
        )
    } else {
        format!(
            "Service {service_name} (--status-service) is of type {kind}, not LoadBalancer, and has no spec.externalIPs"
        )
    })
}

/// The addresses of the Nodes the proxies listen on: per Node (by name), its `ExternalIP`
/// addresses, else its `InternalIP` ones, without repeats. No Node, or none with such an
/// address, is `Missing` with the reason.
///
/// Only the `Ready` Nodes are listed while at least one matching Node is `Ready`: a Node whose
/// kubelet reports it unhealthy (or has stopped reporting) should not be handed to clients and
/// DNS. When none is `Ready` every matching Node is listed: a kubelet that stopped reporting
/// does not mean its proxy stopped serving, and an emptied status would take DNS records down
/// with it.
pub fn node_status<'a>(selector: &str, nodes: impl Iterator<Item = &'a Node>) -> SourcedStatus {
    let mut nodes: Vec<&Node> = nodes.collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if nodes.is_empty() {
        return SourcedStatus::Missing(format!(
            "no Node {} (--status-from-nodes)",
            describe_selector(selector).replace("(all)", "exists")
        ));
    }
    if nodes.iter().any(|node| is_ready(node)) {
        nodes.retain(|node| is_ready(node));
    }
    let addresses = distinct(nodes.iter().flat_map(|node| node_addresses(node)));
    if addresses.is_empty() {
        let names: Vec<&str> = nodes
            .iter()
            .map(|node| node.metadata.name.as_deref().unwrap_or_default())
            .collect();
        return SourcedStatus::Missing(format!(
            "the Nodes {} (--status-from-nodes: {}) have no ExternalIP or InternalIP in status.addresses",
            names.join(", "),
            describe_selector(selector)
        ));
    }
    SourcedStatus::Addresses(addresses)
}

/// The Node's `Ready` condition is `True`.
fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|condition| condition.type_ == "Ready" && condition.status == "True")
}

/// A Node's `ExternalIP` addresses, else its `InternalIP` ones.
fn node_addresses(node: &Node) -> Vec<LoadBalancerAddress> {
    let all = node
        .status
        .as_ref()
        .and_then(|status| status.addresses.as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let of_type = |wanted: &str| -> Vec<LoadBalancerAddress> {
        all.iter()
            .filter(|address| address.type_ == wanted && !address.address.is_empty())
            .map(|address| LoadBalancerAddress::Ip(address.address.clone()))
            .collect()
    };
    let external = of_type("ExternalIP");
    if external.is_empty() {
        of_type("InternalIP")
    } else {
        external
    }
}

/// The addresses in their first order, each once.
fn distinct(addresses: impl Iterator<Item = LoadBalancerAddress>) -> Vec<LoadBalancerAddress> {
    let mut seen = Vec::new();
    for address in addresses {
        if !seen.contains(&address) {
            seen.push(address);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn service(value: serde_json::Value) -> Service {
        serde_json::from_value(value).expect("a Service")
    }

    fn node(name: &str, addresses: serde_json::Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"addresses": addresses}
        }))
        .expect("a Node")
    }

    fn proxies() -> ServiceName {
        "weir-system/weir-proxy".parse().expect("a name")
    }

    fn ip(value: &str) -> LoadBalancerAddress {
        LoadBalancerAddress::Ip(value.into())
    }

    #[test]
    fn service_names_are_namespace_slash_name() {
        assert_eq!(proxies().to_string(), "weir-system/weir-proxy");
        for bad in ["weir-proxy", "/weir-proxy", "weir-system/", "a/b/c", ""] {
            assert!(bad.parse::<ServiceName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_load_balancer_service_gives_its_ingress_ips_and_host_names_then_its_external_ips() {
        let found = service(json!({
            "metadata": {"name": "weir-proxy", "namespace": "weir-system"},
            "spec": {"type": "LoadBalancer", "externalIPs": ["192.0.2.9", "198.51.100.7"]},
            "status": {"loadBalancer": {"ingress": [
                {"ip": "198.51.100.7"}, {"hostname": "lb.example.com"}, {}
            ]}}
        }));
        assert_eq!(
            service_status(&proxies(), Some(&found)),
            SourcedStatus::Addresses(vec![
                ip("198.51.100.7"),
                LoadBalancerAddress::Hostname("lb.example.com".into()),
                ip("192.0.2.9"),
            ])
        );
    }

    #[test]
    fn a_missing_service_or_one_without_an_address_says_why() {
        let SourcedStatus::Missing(why) = service_status(&proxies(), None) else {
            panic!("no Service, no address");
        };
        assert!(
            why.contains("weir-system/weir-proxy") && why.contains("does not exist"),
            "{why}"
        );

        let pending = service(json!({
            "metadata": {"name": "weir-proxy"},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {}}
        }));
        let SourcedStatus::Missing(why) = service_status(&proxies(), Some(&pending)) else {
            panic!("no ingress yet, no address");
        };
        assert!(
            why.contains("status.loadBalancer.ingress is empty"),
            "{why}"
        );

        let cluster_ip = service(json!({"metadata": {"name": "weir-proxy"}, "spec": {}}));
        let SourcedStatus::Missing(why) = service_status(&proxies(), Some(&cluster_ip)) else {
            panic!("a ClusterIP Service has no address");
        };
        assert!(why.contains("type ClusterIP, not LoadBalancer"), "{why}");
    }

    #[test]
    fn nodes_give_their_external_ips_else_their_internal_ones_in_name_order() {
        let nodes = [
            node(
                "worker-b",
                json!([{"type": "InternalIP", "address": "172.18.0.3"},
                       {"type": "Hostname", "address": "worker-b"}]),
            ),
            node(
                "worker-a",
                json!([{"type": "InternalIP", "address": "10.0.0.2"},
                       {"type": "ExternalIP", "address": "203.0.113.4"},
                       {"type": "ExternalIP", "address": "203.0.113.5"}]),
            ),
            node(
                "worker-c",
                json!([{"type": "InternalIP", "address": "172.18.0.3"}]),
            ),
        ];
        assert_eq!(
            node_status("ingress-ready=true", nodes.iter()),
            SourcedStatus::Addresses(vec![ip("203.0.113.4"), ip("203.0.113.5"), ip("172.18.0.3"),])
        );
    }

    fn with_ready(mut node: Node, ready: &str) -> Node {
        node.status.get_or_insert_with(Default::default).conditions = Some(vec![
            serde_json::from_value(json!({"type": "Ready", "status": ready})).expect("a condition"),
        ]);
        node
    }

    #[test]
    fn ready_nodes_are_preferred_and_none_ready_lists_every_match() {
        let nodes = [
            with_ready(
                node(
                    "worker-a",
                    json!([{"type": "InternalIP", "address": "10.0.0.1"}]),
                ),
                "True",
            ),
            with_ready(
                node(
                    "worker-b",
                    json!([{"type": "InternalIP", "address": "10.0.0.2"}]),
                ),
                "False",
            ),
            with_ready(
                node(
                    "worker-c",
                    json!([{"type": "InternalIP", "address": "10.0.0.3"}]),
                ),
                "Unknown",
            ),
            node(
                "worker-d",
                json!([{"type": "InternalIP", "address": "10.0.0.4"}]),
            ),
        ];
        assert_eq!(
            node_status("", nodes.iter()),
            SourcedStatus::Addresses(vec![ip("10.0.0.1")])
        );
        assert_eq!(
            node_status("", nodes[1..].iter()),
            SourcedStatus::Addresses(vec![ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")])
        );
    }

    #[test]
    fn no_matching_node_or_none_with_an_ip_says_why() {
        let SourcedStatus::Missing(why) = node_status("ingress-ready=true", [].iter()) else {
            panic!("no Node, no address");
        };
        assert!(
            why.contains("no Node matching \"ingress-ready=true\""),
            "{why}"
        );
        let SourcedStatus::Missing(why) = node_status("", [].iter()) else {
            panic!("no Node, no address");
        };
        assert!(why.contains("no Node exists"), "{why}");
        let bare = [node(
            "kind-control-plane",
            json!([{"type": "Hostname", "address": "x"}]),
        )];
        let SourcedStatus::Missing(why) = node_status("", bare.iter()) else {
            panic!("no IP, no address");
        };
        assert!(
            why.contains("kind-control-plane") && why.contains("no ExternalIP or InternalIP"),
            "{why}"
        );
    }
}
