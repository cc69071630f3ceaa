//! The shared Ingress conformance corpus (`controller/translate/tests/corpus`) through
//! weir-proxy's file mode over real sockets: each case's manifests (class `weir`, one loopback
//! echo backend per Service) -> load_dir -> translate -> weir-proxy, and every expected answer
//! asked over HTTP. The in-cluster path runs the same corpus in
//! `controller/cli/tests/run_localproxy_conformance.rs`.

mod common;

use std::collections::HashMap;

use common::{Manifests, backend, get, proxy};
use weir_proxy::ProxyConfig;
use weir_proxy::source::manifests::ManifestSource;

#[path = "../../controller/translate/tests/corpus/mod.rs"]
mod corpus;

#[tokio::test]
async fn the_conformance_corpus_is_served_as_expected_in_file_mode() {
    for case in corpus::cases() {
        let mut ports = HashMap::new();
        for service in case.services() {
            ports.insert(service.clone(), backend(&service).await.port());
        }
        let documents = case.served(&|service| ports[service], "discovery.k8s.io/v1");
        let manifests = Manifests::new(&documents);
        let running = proxy(ProxyConfig::default()).await;
        let model = ManifestSource::new(manifests.dir.clone(), Some(corpus::CLASS.to_owned()))
            .load()
            .expect("the case loads");
        running.proxy.apply(&model);
        for expect in &case.expected {
            let reply = get(running.http, expect.host, expect.path).await;
            let got = match reply.backend() {
                Some(backend) if reply.status == 200 => backend.to_owned(),
                _ => reply.status.to_string(),
            };
            assert_eq!(got, expect.want, "{}: {expect:?}: {reply:?}", case.name);
        }
    }
}
