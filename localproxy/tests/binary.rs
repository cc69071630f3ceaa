//! The `weir-proxy` binary end to end: flags, /readyz, routing from a manifests folder, reload
//! within a second of a change, and a broken file that keeps the last good configuration.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ep, Manifests, backend, get, ingress, service, try_get};

/// Ports picked by binding port 0 and releasing them just before the binary binds them.
async fn free_port() -> SocketAddr {
    common::dead_addr().await
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on `manifests` with free ports and a 100 ms poll and waits until its
/// admin listener answers; returns the process (killed on drop) and its HTTP and admin
/// addresses.
///
/// A port picked here can be taken (by a client's ephemeral port, say) before the binary binds
/// it; the binary then exits at once, and is started again on other ports.
async fn spawn(manifests: &Manifests, extra: &[&str]) -> (Process, SocketAddr, SocketAddr) {
    for _ in 0..5 {
        let (http, https, admin) = (free_port().await, free_port().await, free_port().await);
        let child = Command::new(env!("CARGO_BIN_EXE_weir-proxy"))
            .arg("--manifests")
            .arg(&manifests.dir)
            .args([
                "--http-addr",
                &http.to_string(),
                "--https-addr",
                &https.to_string(),
                "--admin-addr",
                &admin.to_string(),
            ])
            .args(["--poll-interval-ms", "100"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn weir-proxy");
        let mut process = Process(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if process.0.try_wait().expect("wait for weir-proxy").is_some() {
                break;
            }
            if try_get(admin, "admin", "/healthz").await.is_some() {
                return (process, http, admin);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("weir-proxy did not start in five attempts");
}

fn route(host: &str, service: &str) -> String {
    ingress(
        host,
        &format!(
            "  rules:\n    - host: {host}\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: {service}\n                port:\n                  number: 80\n"
        ),
    )
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen within {within:?}");
}

#[tokio::test]
async fn serves_a_folder_reloads_on_change_and_keeps_the_last_good_config() {
    let (one, two) = (backend("one").await, backend("two").await);
    let mut documents = service("one", &[Ep::ready(one)]);
    documents.extend(service("two", &[Ep::ready(two)]));
    let manifests = Manifests::new(&documents);
    manifests.write("ingress.yaml", &[route("app.example", "one")]);
    let (_process, http, admin) = spawn(&manifests, &[]).await;
    eventually("readiness", Duration::from_secs(10), || async {
        try_get(admin, "admin", "/readyz")
            .await
            .is_some_and(|reply| reply.status == 200)
    })
    .await;
    assert_eq!(get(admin, "admin", "/healthz").await.status, 200);
    assert_eq!(get(http, "app.example", "/").await.backend(), Some("one"));

    // A change is served within a second.
    manifests.write("ingress.yaml", &[route("app.example", "two")]);
    let changed = Instant::now();
    eventually("reload", Duration::from_secs(1), || async {
        get(http, "app.example", "/").await.backend() == Some("two")
    })
    .await;
    eprintln!("reload served after {:?}", changed.elapsed());

    // A broken file: the last good configuration stays, the failure is counted.
    manifests.write("broken.yaml", &["kind: [unclosed".to_owned()]);
    eventually("reload failure metric", Duration::from_secs(2), || async {
        get(admin, "admin", "/metrics")
            .await
            .body
            .contains("weir_proxy_reload_failures_total 1")
    })
    .await;
    assert_eq!(get(http, "app.example", "/").await.backend(), Some("two"));
    let config = get(admin, "admin", "/config").await;
    assert!(config.body.contains("\"version\": 2"), "{}", config.body);
    assert!(config.body.contains("app.example"), "{}", config.body);

    // Fixing it resumes reloading.
    std::fs::remove_file(manifests.dir.join("broken.yaml")).expect("remove");
    manifests.write("ingress.yaml", &[route("app.example", "one")]);
    eventually("recovery", Duration::from_secs(2), || async {
        get(http, "app.example", "/").await.backend() == Some("one")
    })
    .await;
}

#[tokio::test]
async fn not_ready_until_a_first_good_configuration() {
    let one = backend("one").await;
    let manifests = Manifests::new(&service("one", &[Ep::ready(one)]));
    manifests.write(
        "ingress.yaml",
        &["apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: [broken".to_owned()],
    );
    let (_process, http, admin) = spawn(&manifests, &["--threads", "1"]).await;
    eventually("health", Duration::from_secs(10), || async {
        try_get(admin, "admin", "/healthz")
            .await
            .is_some_and(|reply| reply.status == 200)
    })
    .await;
    assert_eq!(get(admin, "admin", "/readyz").await.status, 503);
    assert_eq!(
        get(http, "app.example", "/").await.status,
        503,
        "nothing configured yet"
    );
    manifests.write("ingress.yaml", &[route("app.example", "one")]);
    eventually("readiness", Duration::from_secs(2), || async {
        get(admin, "admin", "/readyz").await.status == 200
    })
    .await;
    assert_eq!(get(http, "app.example", "/").await.backend(), Some("one"));
}
