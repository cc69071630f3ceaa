//! `weir-controller run --provider localproxy` with its status addresses watched instead of
//! given: `--status-from-nodes` (the kind overlay's flag, with the overlay's extra Node RBAC)
//! and `--status-service`. A real kube-apiserver (RBAC on), the controller as the shipped
//! `weir-controller` ServiceAccount. No kubelet runs, so the Nodes and the Service's
//! load balancer status are written through the API as a kubelet and a load balancer
//! implementation would; the Ingress status must follow each change.

mod common;

use std::process::Command;

use common::cluster::{Controller, eventually, free_port};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use weir_e2e::ApiServer;

const APP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: weir
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"#;

/// An API server with `deploy/base` and the shop app.
fn server_with_app(server: &ApiServer) {
    server.install_base();
    server.apply_yaml(APP);
}

/// Starts the controller with the localproxy provider and `status_flags`.
fn controller(server: &ApiServer, status_flags: &[&str]) -> Controller {
    let admin = free_port();
    let log = server.dir().join("controller.log");
    let file = std::fs::File::create(&log).expect("controller log");
    let child = Command::new(env!("CARGO_BIN_EXE_weir-controller"))
        .args([
            "run",
            "--provider",
            "localproxy",
            "--namespace",
            "weir-system",
        ])
        .args(["--identity", "c1", "--log-format", "text"])
        .args(status_flags)
        .arg(format!("--admin-addr=127.0.0.1:{admin}"))
        .env(
            "KUBECONFIG",
            server.service_account_kubeconfig("weir-system", "weir-controller"),
        )
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .expect("weir-controller starts");
    Controller { child, admin, log }
}

/// The addresses in `shop/web`'s status, as `ip` or `hostname` strings.
async fn addresses(server: &ApiServer) -> Vec<String> {
    let ingress = Api::<Ingress>::namespaced(server.admin_client(), "shop")
        .get("web")
        .await
        .expect("reading the Ingress");
    ingress
        .status
        .and_then(|status| status.load_balancer)
        .and_then(|load_balancer| load_balancer.ingress)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| entry.ip.or(entry.hostname))
        .collect()
}

/// Waits until `shop/web`'s status holds exactly `wanted`; prints how long that took.
async fn status_becomes(server: &ApiServer, wanted: &[&str], what: &str) {
    let started = std::time::Instant::now();
    eventually(what, || async {
        let found = addresses(server).await;
        (found == wanted).then_some(()).ok_or(format!("{found:?}"))
    })
    .await;
    eprintln!(
        "{what}: in the Ingress status after {} ms (250 ms polls)",
        started.elapsed().as_millis()
    );
}

/// The Events of `shop/web` as "Type Reason Message" lines.
fn events(server: &ApiServer) -> Vec<String> {
    let output = server.kubectl([
        "get",
        "events",
        "-n",
        "shop",
        "--field-selector",
        "involvedObject.name=web",
        "-o",
        "jsonpath={range .items[*]}{.type} {.reason} {.message}{\"\\n\"}{end}",
    ]);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn create_node(nodes: &Api<Node>, name: &str, labels: serde_json::Value) {
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels}
    }))
    .expect("a Node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .unwrap_or_else(|error| panic!("creating Node {name}: {error}"));
}

/// Sets a Node's `status.addresses`, as its kubelet would.
async fn set_node_addresses(nodes: &Api<Node>, name: &str, addresses: serde_json::Value) {
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"addresses": addresses}})),
        )
        .await
        .unwrap_or_else(|error| panic!("setting the addresses of Node {name}: {error}"));
}

#[tokio::test]
async fn the_status_follows_the_addresses_of_the_nodes_the_proxies_listen_on() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server_with_app(&server);
    let nodes = Api::<Node>::all(server.admin_client());
    create_node(
        &nodes,
        "kind-control-plane",
        json!({"ingress-ready": "true"}),
    )
    .await;
    set_node_addresses(
        &nodes,
        "kind-control-plane",
        json!([{"type": "InternalIP", "address": "172.18.0.2"},
               {"type": "Hostname", "address": "kind-control-plane"}]),
    )
    .await;
    // A Node the proxies do not run on.
    create_node(&nodes, "kind-worker", json!({})).await;
    set_node_addresses(
        &nodes,
        "kind-worker",
        json!([{"type": "InternalIP", "address": "172.18.0.3"}]),
    )
    .await;

    // deploy/base alone does not let the controller read Nodes: a Warning says what is missing.
    let controller = controller(&server, &["--status-from-nodes=ingress-ready=true"]);
    eventually(
        "a NoStatusAddress Warning naming the missing rule",
        || async {
            let events = events(&server);
            events
                .iter()
                .any(|event| {
                    event.starts_with("Warning NoStatusAddress cannot list Nodes")
                        && event.contains("controller-nodes-rbac.yaml")
                })
                .then_some(())
                .ok_or(format!("{events:?}"))
        },
    )
    .await;
    // The kind overlay's one extra rule for --status-from-nodes: list and watch Nodes. The
    // watch retries with backoff and then finds the Node.
    let rbac = weir_e2e::repo_root().join("deploy/overlays/kind/controller-nodes-rbac.yaml");
    let output = server.kubectl([
        std::ffi::OsStr::new("apply"),
        "-f".as_ref(),
        rbac.as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    status_becomes(&server, &["172.18.0.2"], "the labelled Node's InternalIP").await;

    // An ExternalIP wins over the InternalIP.
    set_node_addresses(
        &nodes,
        "kind-control-plane",
        json!([{"type": "InternalIP", "address": "172.18.0.2"},
               {"type": "ExternalIP", "address": "203.0.113.10"}]),
    )
    .await;
    status_becomes(&server, &["203.0.113.10"], "the Node's new ExternalIP").await;

    // A second Node gets the label: both addresses, by Node name.
    nodes
        .patch(
            "kind-worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"ingress-ready": "true"}}})),
        )
        .await
        .expect("labelling kind-worker");
    status_becomes(
        &server,
        &["203.0.113.10", "172.18.0.3"],
        "both labelled Nodes",
    )
    .await;

    // Once a kubelet reports one of them Ready, only the Ready one is listed.
    nodes
        .patch_status(
            "kind-worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady"}
            ]}})),
        )
        .await
        .expect("marking kind-worker Ready");
    status_becomes(&server, &["172.18.0.3"], "the Ready Node only").await;

    // No labelled Node left: the address is taken back, with a Warning that says why.
    for name in ["kind-control-plane", "kind-worker"] {
        nodes
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"ingress-ready": null}}})),
            )
            .await
            .expect("unlabelling a Node");
    }
    status_becomes(&server, &[], "no labelled Node, no address").await;
    eventually("a NoStatusAddress Warning", || async {
        let events = events(&server);
        events
            .iter()
            .any(|event| {
                event.starts_with("Warning NoStatusAddress ")
                    && event.contains("no Node matching \"ingress-ready=true\"")
            })
            .then_some(())
            .ok_or(format!("{events:?}"))
    })
    .await;
    assert!(
        controller.log().contains("status addresses from Nodes"),
        "{}",
        controller.log()
    );
}

#[tokio::test]
async fn the_status_follows_the_ingress_of_the_proxies_load_balancer_service() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server_with_app(&server);
    let controller = controller(&server, &["--status-service", "weir-system/weir-proxy"]);

    // The Service does not exist yet: no address, and a Warning naming it.
    eventually("a NoStatusAddress Warning naming the Service", || async {
        let events = events(&server);
        events
            .iter()
            .any(|event| {
                event.starts_with("Warning NoStatusAddress ")
                    && event.contains(
                        "Service weir-system/weir-proxy (--status-service) does not exist",
                    )
            })
            .then_some(())
            .ok_or(format!("{events:?}"))
    })
    .await;
    assert!(addresses(&server).await.is_empty());

    let services = Api::<Service>::namespaced(server.admin_client(), "weir-system");
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": "weir-proxy"},
        "spec": {"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "weir-proxy"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    }))
    .expect("a Service");
    services
        .create(&PostParams::default(), &service)
        .await
        .expect("creating the proxies' Service");
    eventually("a Warning that the Service has no address yet", || async {
        let events = events(&server);
        events
            .iter()
            .any(|event| event.contains("status.loadBalancer.ingress is empty"))
            .then_some(())
            .ok_or(format!("{events:?}"))
    })
    .await;

    // The load balancer implementation assigns an IP, then a host name.
    let set_ingress = |ingress: serde_json::Value| {
        let services = services.clone();
        async move {
            services
                .patch_status(
                    "weir-proxy",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": ingress}}})),
                )
                .await
                .expect("writing the Service's status");
        }
    };
    set_ingress(json!([{"ip": "198.51.100.20"}])).await;
    status_becomes(&server, &["198.51.100.20"], "the Service's ingress IP").await;
    set_ingress(json!([{"hostname": "proxies.example.net"}])).await;
    status_becomes(
        &server,
        &["proxies.example.net"],
        "the Service's ingress host name",
    )
    .await;

    // Deleting the Service takes the address back.
    services
        .delete("weir-proxy", &Default::default())
        .await
        .expect("deleting the Service");
    status_becomes(&server, &[], "no Service, no address").await;
    assert!(
        controller
            .log()
            .contains("status addresses from Service weir-system/weir-proxy"),
        "{}",
        controller.log()
    );
}
