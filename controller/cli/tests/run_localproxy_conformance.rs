//! The shared Ingress conformance corpus (`controller/translate/tests/corpus`: the same
//! manifests and expected answers as translate and weir-proxy's file mode) through the
//! in-cluster path: each case applied to a real kube-apiserver, published by
//! `weir-controller run --provider localproxy`, served by `weir-proxy --from-cluster`, and
//! every expected answer asked over HTTP. EndpointSlices become `discovery.k8s.io/v1beta1`
//! (what a 1.20 API server serves), each endpoint at its own loopback echo backend
//! (`SERVICE/FIXTURE-ADDRESS`, see the corpus).

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use common::cluster::{eventually, free_port};
use common::localproxy::{Proxy, served, start_backend_at, start_controller, start_proxy};
use weir_e2e::ApiServer;

#[path = "../../translate/tests/corpus/mod.rs"]
mod corpus;

/// The answers `proxy` gives every expectation of `case` at one moment, against
/// `expected.txt`.
fn mismatches(proxy: &Proxy, case: &corpus::Case) -> Vec<String> {
    case.expected
        .iter()
        .filter_map(|expect| {
            let answers: Vec<String> = (0..expect.requests())
                .map(|_| served(proxy.http, expect.host, expect.path))
                .collect();
            expect.judge(&answers).err()
        })
        .collect()
}

#[tokio::test]
async fn the_conformance_corpus_is_served_as_expected_through_the_cluster() {
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.install_base();
    let _controller = start_controller(&server, "c1", free_port());
    let mut proxy = None;
    for case in corpus::cases() {
        for namespace in case.namespaces() {
            server.kubectl(["create", "namespace", &namespace]);
        }
        let mut ports = HashMap::new();
        let mut backends = Vec::new();
        for backend in case.backends() {
            let port = *ports.entry(backend.service).or_insert_with(free_port);
            let addr = SocketAddr::from((backend.ip, port));
            backends.push(start_backend_at(&server, &backend.name, addr));
        }
        let documents = case.served(&|service| ports[service], "discovery.k8s.io/v1beta1");
        server.apply_yaml(&documents.join("\n---\n"));
        // Ready only after its first snapshot: started once the first case is published.
        let proxy: &Proxy = match &proxy {
            Some(proxy) => proxy,
            None => proxy.insert(start_proxy(&server, 0).await),
        };
        eventually(&format!("{}: every expected answer", case.name), || async {
            let wrong = mismatches(proxy, &case);
            wrong.is_empty().then_some(()).ok_or(wrong.join("; "))
        })
        .await;
        for namespace in case.namespaces() {
            for kind in ["ingress", "service", "endpointslices.discovery.k8s.io"] {
                server.kubectl(["delete", kind, "--all", "-n", &namespace]);
            }
        }
    }
}
