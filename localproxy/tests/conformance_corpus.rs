//! The shared Ingress conformance corpus (`controller/translate/tests/corpus`) through
//! weir-proxy's file mode over real sockets: each case's manifests (class `weir`, one loopback
//! echo backend per endpoint) -> load_dir -> translate -> weir-proxy, and every expected answer
//! asked over HTTP. The in-cluster path runs the same corpus in
//! `controller/cli/tests/run_localproxy_conformance.rs`.

mod common;

use std::collections::HashMap;

use common::{Manifests, get, proxy};
use tokio::net::TcpListener;
use weir_proxy::ProxyConfig;
use weir_proxy::source::manifests::ManifestSource;

#[path = "../../controller/translate/tests/corpus/mod.rs"]
mod corpus;

/// Starts one echo backend per corpus backend, each Service's on one port: the first binds
/// `IP:0`, the rest of that Service bind the same port on their own loopback address.
async fn start_backends(case: &corpus::Case) -> HashMap<String, u16> {
    let mut ports: HashMap<String, u16> = HashMap::new();
    for backend in case.backends() {
        let port = ports.get(&backend.service).copied().unwrap_or(0);
        let listener = TcpListener::bind((backend.ip, port))
            .await
            .unwrap_or_else(|error| panic!("bind {}:{port}: {error}", backend.ip));
        let port = listener.local_addr().expect("a bound address").port();
        ports.insert(backend.service.clone(), port);
        tokio::spawn(weir_proxy::demo::serve_demo(listener, backend.name));
    }
    ports
}

#[tokio::test]
async fn the_conformance_corpus_is_served_as_expected_in_file_mode() {
    for case in corpus::cases() {
        let ports = start_backends(&case).await;
        let documents = case.served(&|service| ports[service], "discovery.k8s.io/v1");
        let manifests = Manifests::new(&documents);
        let running = proxy(ProxyConfig::default()).await;
        let model = ManifestSource::new(manifests.dir.clone(), Some(corpus::CLASS.to_owned()))
            .load()
            .expect("the case loads");
        running.proxy.apply(&model);
        for expect in &case.expected {
            let mut answers = Vec::new();
            for _ in 0..expect.requests() {
                let reply = get(running.http, expect.host, expect.path).await;
                answers.push(match reply.backend() {
                    Some(backend) if reply.status == 200 => backend.to_owned(),
                    _ => reply.status.to_string(),
                });
            }
            if let Err(wrong) = expect.judge(&answers) {
                panic!("{}: {wrong}", case.name);
            }
        }
    }
}
