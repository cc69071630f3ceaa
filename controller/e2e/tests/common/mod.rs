//! Fixtures and assertions shared by the tests of this crate.
#![allow(dead_code)] // each test binary uses its own subset

use std::fmt::Debug;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, PostParams};
use weir_e2e::ApiServer;

/// Starts a private server, failing the test (with the server's log) when it does not start.
pub async fn start() -> ApiServer {
    let started = Instant::now();
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    eprintln!(
        "weir-e2e: {} ready in {:.1} s",
        server.url(),
        started.elapsed().as_secs_f64()
    );
    server
}

/// A test's deadline for one awaited API interaction.
pub const STEP: Duration = Duration::from_secs(30);

/// Awaits `future` for at most [`STEP`].
pub async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {STEP:?}"))
}

/// Panics unless `result` is an RBAC denial (HTTP 403 Forbidden).
pub fn assert_forbidden<T: Debug>(what: &str, result: Result<T, kube::Error>) {
    match result {
        Err(kube::Error::Api(status)) if status.code == 403 => assert!(
            status.message.contains("forbidden"),
            "{what}: a 403 that is not an RBAC denial: {status:?}"
        ),
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

/// Panics unless `result` is a success, quoting the error.
pub fn allowed<T>(what: &str, result: Result<T, kube::Error>) -> T {
    result.unwrap_or_else(|error| panic!("{what}: expected it to be allowed, got {error}"))
}

/// Creates namespace `name` as the admin.
pub async fn namespace(admin: &kube::Client, name: &str) {
    let namespace: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": { "name": name }
    }))
    .expect("a Namespace");
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap_or_else(|error| panic!("creating namespace {name}: {error}"));
}

/// Creates, as the admin, Service `namespace/name` (port 80) and an Ingress of the same name of
/// class `weir` routing `/` to it.
pub async fn ingress_with_service(admin: &kube::Client, namespace: &str, name: &str) -> Ingress {
    let service: Service = serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "namespace": namespace },
        "spec": { "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] }
    }))
    .expect("a Service");
    Api::<Service>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &service)
        .await
        .unwrap_or_else(|error| panic!("creating Service {namespace}/{name}: {error}"));
    let ingress: Ingress = serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "ingressClassName": "weir",
            "rules": [{
                "host": format!("{name}.example.com"),
                "http": { "paths": [{
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": { "service": { "name": name, "port": { "number": 80 } } }
                }] }
            }]
        }
    }))
    .expect("an Ingress");
    Api::<Ingress>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &ingress)
        .await
        .unwrap_or_else(|error| panic!("creating Ingress {namespace}/{name}: {error}"))
}
