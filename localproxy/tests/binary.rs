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
    let (process, http, _https, admin) = spawn_listening(manifests, extra).await;
    (process, http, admin)
}

/// As [`spawn`], and also returns the HTTPS address: (process, HTTP, HTTPS, admin).
async fn spawn_listening(
    manifests: &Manifests,
    extra: &[&str],
) -> (Process, SocketAddr, SocketAddr, SocketAddr) {
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
                return (process, http, https, admin);
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

#[tokio::test]
async fn a_second_proxy_on_the_same_address_is_refused() {
    let manifests = Manifests::new(&[route("a.test", "a")]);
    let (_first, http, _admin) = spawn(&manifests, &[]).await;
    let (https, admin) = (free_port().await, free_port().await);
    let second = Command::new(env!("CARGO_BIN_EXE_weir-proxy"))
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
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weir-proxy");
    let mut second = Process(second);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second weir-proxy runs on an address the first holds"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(stderr.contains(&format!("binding {http}")), "{stderr}");
}

#[tokio::test]
async fn of_two_proxies_started_at_once_on_one_address_exactly_one_runs() {
    let manifests = Manifests::new(&[route("a.test", "a")]);
    for _ in 0..5 {
        let (http, https) = (free_port().await, free_port().await);
        let admins = [free_port().await, free_port().await];
        let mut pair: Vec<Process> = admins
            .iter()
            .map(|admin| {
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
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn weir-proxy");
                Process(child)
            })
            .collect();
        // Each either exits or answers on its admin listener (which it binds after the
        // listeners).
        let started = Instant::now();
        let mut outcome = [None, None];
        while outcome.iter().any(Option::is_none) {
            assert!(started.elapsed() < Duration::from_secs(10), "{outcome:?}");
            for (index, process) in pair.iter_mut().enumerate() {
                if outcome[index].is_some() {
                    continue;
                }
                if let Some(status) = process.0.try_wait().expect("wait") {
                    outcome[index] = Some(Err(status));
                } else if try_get(admins[index], "admin", "/healthz").await.is_some() {
                    outcome[index] = Some(Ok(()));
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let running = outcome
            .iter()
            .filter(|end| matches!(end, Some(Ok(()))))
            .count();
        // Both exited: a port picked here was taken by someone else; try again.
        if running == 0 {
            continue;
        }
        assert_eq!(running, 1, "both bound {http}: {outcome:?}");
    }
}

#[tokio::test]
async fn ssl_redirect_names_the_port_the_https_listener_really_has() {
    let secret = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/secret.yaml"
    ))
    .expect("quickstart secret");
    let mut documents = service("a", &[Ep::ready(backend("a").await)]);
    documents.push(secret);
    let secure = route("secure.quickstart.test", "a")
        .replace(
            "  namespace: default\nspec:\n",
            "  namespace: default\n  annotations:\n    alb.ingress.kubernetes.io/ssl-redirect: \"443\"\nspec:\n  tls:\n    - hosts: [\"secure.quickstart.test\"]\n      secretName: quickstart-tls\n",
        );
    documents.push(secure);
    let manifests = Manifests::new(&documents);
    let (_process, http, https, _admin) = spawn_listening(&manifests, &[]).await;
    eventually("the redirect", Duration::from_secs(5), || async {
        try_get(http, "secure.quickstart.test", "/a?b=1")
            .await
            .is_some_and(|reply| reply.status == 308)
    })
    .await;
    let head = get(http, "secure.quickstart.test", "/a?b=1").await.head;
    let location = format!(
        "location: https://secure.quickstart.test:{}/a?b=1",
        https.port()
    );
    assert!(head.contains(&location), "{head}");
}
