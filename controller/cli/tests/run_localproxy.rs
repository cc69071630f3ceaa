//! `weir-controller run --provider localproxy` end to end: a real kube-apiserver (RBAC on), the
//! controller as the shipped `weir-controller` ServiceAccount, two `weir-proxy --from-cluster`
//! processes as the shipped `weir-proxy` ServiceAccount (which may read only its snapshot
//! Secrets), and loopback demo backends that the EndpointSlices point at (127.0.0.1, one port
//! each). Requests go through both proxies over real sockets.
//!
//! Needs the `weir-proxy` binary next to `weir-controller` (`cargo test --workspace` builds
//! it; alone: `cargo build -p weir-proxy`).

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cluster::{PATIENCE, eventually, free_port, get};
use common::localproxy::{
    Process, Proxy, keep_alive_load, metric, served, shop_objects, start_backend, start_controller,
    start_proxy,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use rustls::pki_types::{CertificateDer, ServerName};
use weir_e2e::ApiServer;

/// An Ingress that uses the routing features beyond host and path, in the AWS Load Balancer
/// Controller's annotations: a header condition, a weighted forward, a redirect and a fixed
/// response with a body.
fn features_ingress() -> Ingress {
    let prefix = "alb.ingress.kubernetes.io";
    let backend = |service: &str, port: serde_json::Value| serde_json::json!({ "service": { "name": service, "port": port } });
    let annotation = || serde_json::json!({ "name": "use-annotation" });
    let path = |path: &str, backend: serde_json::Value| serde_json::json!({ "path": path, "pathType": "Prefix", "backend": backend });
    serde_json::from_value(serde_json::json!({
        "metadata": { "name": "features", "namespace": "shop", "annotations": {
            format!("{prefix}/conditions.cart"):
                r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}}]"#,
            format!("{prefix}/actions.split"):
                r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"web","servicePort":80,"weight":50},{"serviceName":"cart","servicePort":80,"weight":50}]}}"#,
            format!("{prefix}/actions.moved"):
                r#"{"type":"redirect","redirectConfig":{"protocol":"HTTPS","host":"new.example.com","path":"/new","statusCode":"HTTP_301"}}"#,
            format!("{prefix}/actions.gone"):
                r#"{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"410","messageBody":"gone for good"}}"#,
        } },
        "spec": { "ingressClassName": "weir", "rules": [{ "host": "features.example.com", "http": { "paths": [
            path("/", backend("web", serde_json::json!({ "number": 80 }))),
            path("/canary", backend("cart", serde_json::json!({ "number": 80 }))),
            path("/canary", backend("web", serde_json::json!({ "number": 80 }))),
            path("/split", backend("split", annotation())),
            path("/old", backend("moved", annotation())),
            path("/gone", backend("gone", annotation())),
        ] } }] }
    }))
    .expect("an Ingress")
}

/// One HTTP/1.1 GET with extra headers: the status, the head's lines and the body.
fn request(
    port: u16,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, Vec<String>, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let lines: Vec<String> = head.lines().map(str::to_ascii_lowercase).collect();
    let status = lines.first()?.split(' ').nth(1)?.parse().ok()?;
    Some((status, lines, body.to_owned()))
}

/// The features Ingress served exactly as file mode serves it, by `proxy`.
async fn serves_the_routing_features(proxy: &Proxy) {
    let backend_of = |reply: Option<(u16, Vec<String>, String)>| match reply {
        Some((200, _, body)) => body
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("backend ")
            .to_owned(),
        other => format!("{other:?}"),
    };
    let host = "features.example.com";
    eventually("the header condition picks cart", || async {
        let got = backend_of(request(proxy.http, host, "/canary", &[("X-Canary", "YES")]));
        (got == "cart").then_some(()).ok_or(got)
    })
    .await;
    assert_eq!(backend_of(request(proxy.http, host, "/canary", &[])), "web");
    let reply = request(proxy.http, host, "/old/x", &[]).expect("an answer");
    assert_eq!(reply.0, 301, "{reply:?}");
    assert!(
        reply
            .1
            .contains(&"location: https://new.example.com/new".to_owned()),
        "{reply:?}"
    );
    let reply = request(proxy.http, host, "/gone", &[]).expect("an answer");
    assert_eq!(
        (reply.0, reply.2.as_str()),
        (410, "gone for good"),
        "{reply:?}"
    );
    assert!(
        reply.1.contains(&"content-type: text/plain".to_owned()),
        "{reply:?}"
    );
    let mut split = std::collections::BTreeSet::new();
    for _ in 0..200 {
        split.insert(backend_of(request(proxy.http, host, "/split", &[])));
        if split.len() == 2 {
            break;
        }
    }
    assert_eq!(
        split,
        ["cart".to_owned(), "web".to_owned()].into(),
        "the weighted forward reaches both"
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// An API server with `deploy/base`, three loopback backends (`web` and `cart` behind the
/// EndpointSlices, `spare` unused), the controller and two proxies.
struct Fixture {
    server: ApiServer,
    backends: Vec<(String, u16, Process)>,
    controller: Option<Process>,
    controller_admin: u16,
    proxies: Vec<Proxy>,
}

impl Fixture {
    async fn start() -> Self {
        let server = ApiServer::start()
            .await
            .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
        server.install_base();
        let backends: Vec<(String, u16, Process)> = ["web", "cart", "spare"]
            .into_iter()
            .map(|name| {
                let (port, process) = start_backend(&server, name);
                (name.to_owned(), port, process)
            })
            .collect();
        let mut fixture = Self {
            server,
            backends,
            controller: None,
            controller_admin: free_port(),
            proxies: Vec::new(),
        };
        fixture.server.apply_yaml(&shop_objects(
            fixture.port_of("web"),
            fixture.port_of("cart"),
        ));
        fixture.controller = Some(start_controller(
            &fixture.server,
            "c1",
            fixture.controller_admin,
        ));
        for i in 0..2 {
            let proxy = start_proxy(&fixture.server, i).await;
            fixture.proxies.push(proxy);
        }
        fixture
    }

    fn port_of(&self, name: &str) -> u16 {
        self.backends
            .iter()
            .find(|(backend, _, _)| backend == name)
            .map(|(_, port, _)| *port)
            .expect("a backend")
    }

    fn slices(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.server.admin_client(),
            "shop",
            &ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("discovery.k8s.io", "v1beta1", "EndpointSlice"),
                "endpointslices",
            ),
        )
    }

    /// Points `web`'s one endpoint at backend `target`.
    async fn move_web_to(&self, target: &str) {
        self.slices()
            .patch(
                "web-1",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "ports": [{ "port": self.port_of(target) }] })),
            )
            .await
            .expect("patching the EndpointSlice");
    }
}

#[tokio::test]
async fn proxies_fed_from_the_cluster_route_follow_endpoints_and_keep_the_last_good_snapshot() {
    let fixture = Fixture::start().await;
    let (server, proxies, controller_admin) =
        (&fixture.server, &fixture.proxies, fixture.controller_admin);
    let port_of = |name: &str| fixture.port_of(name);
    // Ready only once a snapshot is served; then host and path routing on both replicas.
    for proxy in proxies {
        for (host, path, wanted) in [
            ("shop.example.com", "/", "web"),
            ("shop.example.com", "/cart/items", "cart"),
            ("SHOP.example.com:8080", "/cartx", "web"),
            ("api.example.com", "/", "cart"),
            ("api.example.com", "/other", "404"),
            ("unknown.example.com", "/", "404"),
        ] {
            eventually(&format!("{host}{path} -> {wanted}"), || async {
                let got = served(proxy.http, host, path);
                (got == wanted).then_some(()).ok_or(got)
            })
            .await;
        }
    }

    // The routing features beyond host and path, served through the snapshot.
    let ingresses = Api::<Ingress>::namespaced(server.admin_client(), "shop");
    ingresses
        .create(&Default::default(), &features_ingress())
        .await
        .expect("creating the features Ingress");
    for proxy in proxies {
        serves_the_routing_features(proxy).await;
    }

    // The Ingress status carries --status-address.
    eventually("the status address", || async {
        let ingress = ingresses.get("web").await.map_err(|e| e.to_string())?;
        let ip = ingress
            .status
            .and_then(|status| status.load_balancer?.ingress?.first()?.ip.clone());
        (ip.as_deref() == Some("192.0.2.10"))
            .then_some(())
            .ok_or(format!("{ip:?}"))
    })
    .await;

    // EndpointSlice changes: web's one endpoint moves between two backends. Measured from
    // just before the write to the first request each proxy answers from the new backend.
    let slices = fixture.slices();
    let puts_before = metric(
        controller_admin,
        "weir_provider_api_calls_total{operation=\"put\"}",
    );
    let swaps = |proxy: &Proxy| {
        (
            metric(proxy.admin, "weir_proxy_reloads_total").unwrap_or(0.0),
            metric(proxy.admin, "weir_proxy_endpoint_reloads_total").unwrap_or(0.0),
        )
    };
    let swaps_before: Vec<(f64, f64)> = proxies.iter().map(swaps).collect();
    const CHANGES: usize = 100;
    let mut latencies = Vec::with_capacity(CHANGES * proxies.len());
    for change in 0..CHANGES {
        let target = if change % 2 == 0 { "spare" } else { "web" };
        let port = port_of(target);
        let started = Instant::now();
        slices
            .patch(
                "web-1",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "ports": [{ "port": port }] })),
            )
            .await
            .expect("patching the EndpointSlice");
        let mut pending: Vec<&Proxy> = proxies.iter().collect();
        while !pending.is_empty() {
            assert!(
                started.elapsed() < PATIENCE,
                "change {change}: not served within {PATIENCE:?}"
            );
            pending.retain(|proxy| {
                if served(proxy.http, "shop.example.com", "/") == target {
                    latencies.push(started.elapsed());
                    false
                } else {
                    true
                }
            });
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    latencies.sort();
    let (p50, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies[latencies.len() - 1],
    );
    eprintln!(
        "EndpointSlice write -> served, {} samples ({CHANGES} changes x {} proxies): p50 {p50:?}, p99 {p99:?}, max {max:?}",
        latencies.len(),
        proxies.len()
    );
    // An endpoint change rewrites its endpoint bucket and the index: two writes.
    let puts_after = metric(
        controller_admin,
        "weir_provider_api_calls_total{operation=\"put\"}",
    );
    if let (Some(before), Some(after)) = (puts_before, puts_after) {
        assert_eq!(
            after - before,
            2.0 * CHANGES as f64,
            "puts per endpoint change"
        );
    }
    assert!(p99 < Duration::from_secs(5), "p99 {p99:?}");
    // Every swap the endpoint changes caused kept the router: endpoints only.
    for (proxy, (reloads, endpoint_reloads)) in proxies.iter().zip(swaps_before) {
        let (reloads_now, endpoint_reloads_now) = swaps(proxy);
        assert!(
            endpoint_reloads_now > endpoint_reloads,
            "no endpoint-only swap"
        );
        assert_eq!(
            reloads_now - reloads,
            endpoint_reloads_now - endpoint_reloads,
            "every swap of the endpoint changes is endpoint-only"
        );
    }

    // A snapshot of another wire format (an older controller's), then one that does not
    // decode, are refused: the proxies keep serving the last good one and count each.
    let secrets =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(server.admin_client(), "weir-system");
    let index = secrets.get("weir-snapshot-weir").await.expect("the index");
    let mut older: serde_json::Value = index
        .data
        .as_ref()
        .and_then(|data| data.get("snapshot"))
        .and_then(|bytes| serde_json::from_slice(&bytes.0).ok())
        .expect("an index document");
    older["format"] = 1.into();
    let last = served(proxies[0].http, "shop.example.com", "/");
    for (what, data) in [
        ("wire format 1", serde_json::to_vec(&older).expect("JSON")),
        ("not JSON", b"not json".to_vec()),
    ] {
        let failures_before: Vec<f64> = proxies
            .iter()
            .map(|proxy| metric(proxy.admin, "weir_proxy_reload_failures_total").unwrap_or(0.0))
            .collect();
        secrets
            .patch(
                "weir-snapshot-weir",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({
                    "data": { "snapshot": k8s_openapi::ByteString(data) }
                })),
            )
            .await
            .expect("breaking the index");
        for (proxy, before) in proxies.iter().zip(failures_before) {
            eventually(&format!("the index of {what} is counted"), || async {
                let now = metric(proxy.admin, "weir_proxy_reload_failures_total").unwrap_or(0.0);
                (now > before).then_some(()).ok_or(format!("{now}"))
            })
            .await;
            assert_eq!(served(proxy.http, "shop.example.com", "/"), last);
            assert_eq!(served(proxy.http, "api.example.com", "/"), "cart");
        }
    }
    for proxy in proxies {
        let log = std::fs::read_to_string(&proxy.process.log).unwrap_or_default();
        assert!(
            log.contains("has wire format 1, this build reads only 2"),
            "the refusal names both versions"
        );
    }
    // The next publish repairs it.
    let target = if last == "web" { "spare" } else { "web" };
    slices
        .patch(
            "web-1",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "ports": [{ "port": port_of(target) }] })),
        )
        .await
        .expect("patching the EndpointSlice");
    for proxy in proxies {
        eventually("served again after the repair", || async {
            let got = served(proxy.http, "shop.example.com", "/");
            (got == target).then_some(()).ok_or(got)
        })
        .await;
    }

    // The last Ingress of the class deleted: the stack's Secrets go, the proxies answer 404.
    for name in ["web", "api", "features"] {
        ingresses
            .delete(name, &Default::default())
            .await
            .expect("deleting an Ingress");
    }
    for proxy in proxies {
        eventually("404 once the class has no Ingress", || async {
            let got = served(proxy.http, "shop.example.com", "/");
            (got == "404").then_some(()).ok_or(got)
        })
        .await;
    }
    eventually("the snapshot Secrets are deleted", || async {
        let left = secrets
            .list(&kube::api::ListParams::default().labels("weir.dev/snapshot-of"))
            .await
            .map_err(|error| error.to_string())?;
        left.items
            .is_empty()
            .then_some(())
            .ok_or(format!("{} left", left.items.len()))
    })
    .await;
}

/// The leaf certificate a TLS handshake with SNI `host` gets from `port`.
fn presented(port: u16, host: &str, roots: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut store = rustls::RootCertStore::empty();
    for der in roots {
        store.add(CertificateDer::from(der.clone())).ok()?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_root_certificates(store)
    .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    write!(
        tls,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    if !response.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    let leaf = tls.conn.peer_certificates()?.first()?.as_ref().to_vec();
    Some(leaf)
}

fn self_signed(host: &str) -> (String, String, Vec<u8>) {
    let generated = rcgen::generate_simple_self_signed(vec![host.to_owned()]).expect("rcgen");
    (
        generated.cert.pem(),
        generated.key_pair.serialize_pem(),
        generated.cert.der().to_vec(),
    )
}

fn summary(what: &str, samples: &mut [Duration]) -> Duration {
    samples.sort();
    let (p50, p99) = (percentile(samples, 50.0), percentile(samples, 99.0));
    eprintln!(
        "{what}: {} samples, p50 {p50:?}, p99 {p99:?}, max {:?}",
        samples.len(),
        samples[samples.len() - 1]
    );
    p99
}

#[tokio::test]
async fn tls_rotation_route_and_endpoint_changes_and_lost_controller_and_api_fail_no_request() {
    let mut fixture = Fixture::start().await;
    let admin = fixture.server.admin_client();
    let (a_pem, a_key, a_der) = self_signed("shop.example.com");
    let (b_pem, b_key, b_der) = self_signed("shop.example.com");
    let roots = [a_der.clone(), b_der.clone()];
    let secrets = Api::<Secret>::namespaced(admin.clone(), "shop");
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "shop-tls" },
        "type": "kubernetes.io/tls",
        "stringData": { "tls.crt": a_pem, "tls.key": a_key }
    }))
    .expect("a Secret");
    secrets
        .create(&Default::default(), &secret)
        .await
        .expect("creating the TLS Secret");
    let ingresses = Api::<Ingress>::namespaced(admin.clone(), "shop");
    ingresses
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "spec": { "tls": [{ "hosts": ["shop.example.com"], "secretName": "shop-tls" }] }
            })),
        )
        .await
        .expect("adding TLS");
    for proxy in &fixture.proxies {
        eventually("certificate A by SNI", || async {
            let leaf = presented(proxy.https, "shop.example.com", &roots);
            (leaf.as_deref() == Some(&a_der[..]))
                .then_some(())
                .ok_or("not A yet".to_owned())
        })
        .await;
    }

    // Keep-alive load on both proxies for everything that follows.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = fixture
        .proxies
        .iter()
        .flat_map(|proxy| (0..3).map(|_| keep_alive_load(proxy.http, Arc::clone(&stop))))
        .collect();

    // 20 route changes: each adds an Exact path on the api Ingress; measured until both
    // proxies route it.
    let mut route_latencies = Vec::new();
    for change in 0..20 {
        let path = format!("/v{change}");
        let started = Instant::now();
        ingresses
            .patch(
                "api",
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "spec": { "rules": [{
                    "host": "api.example.com",
                    "http": { "paths": [
                        { "path": "/", "pathType": "Exact",
                          "backend": { "service": { "name": "cart", "port": { "number": 80 } } } },
                        { "path": path, "pathType": "Exact",
                          "backend": { "service": { "name": "web", "port": { "number": 80 } } } }
                    ] }
                }] } })),
            )
            .await
            .expect("changing a route");
        for proxy in &fixture.proxies {
            while served(proxy.http, "api.example.com", &path) == "404" {
                assert!(started.elapsed() < PATIENCE, "route {path} never served");
                std::thread::sleep(Duration::from_millis(2));
            }
            route_latencies.push(started.elapsed());
        }
    }

    // 20 EndpointSlice changes under the load.
    for change in 0..20 {
        let target = if change % 2 == 0 { "spare" } else { "web" };
        fixture.move_web_to(target).await;
        for proxy in &fixture.proxies {
            eventually("the endpoint change is served", || async {
                let got = served(proxy.http, "shop.example.com", "/");
                (got == target).then_some(()).ok_or(got)
            })
            .await;
        }
    }

    // Secret rotation: certificate B is presented without a restart.
    let started = Instant::now();
    secrets
        .patch(
            "shop-tls",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "stringData": { "tls.crt": b_pem, "tls.key": b_key }
            })),
        )
        .await
        .expect("rotating the Secret");
    let mut rotation = Vec::new();
    for proxy in &fixture.proxies {
        while presented(proxy.https, "shop.example.com", &roots).as_deref() != Some(&b_der[..]) {
            assert!(
                started.elapsed() < PATIENCE,
                "the rotated certificate is never served"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        rotation.push(started.elapsed());
    }

    // The controller dies: the proxies keep serving what they have.
    if let Some(mut controller) = fixture.controller.take() {
        let _ = controller.child.kill();
        let _ = controller.child.wait();
    }
    std::thread::sleep(Duration::from_secs(2));
    for proxy in &fixture.proxies {
        assert_eq!(served(proxy.http, "api.example.com", "/v19"), "web");
        assert_eq!(
            presented(proxy.https, "shop.example.com", &roots).as_deref(),
            Some(&b_der[..])
        );
    }

    // Then the API server goes away: the proxies keep serving the last snapshot, and count
    // the failed watch.
    let Fixture {
        server,
        backends: _backends,
        proxies,
        ..
    } = fixture;
    let failures_before: Vec<f64> = proxies
        .iter()
        .map(|proxy| metric(proxy.admin, "weir_proxy_reload_failures_total").unwrap_or(0.0))
        .collect();
    drop(server);
    for (proxy, before) in proxies.iter().zip(failures_before) {
        eventually("the lost API server is counted", || async {
            let now = metric(proxy.admin, "weir_proxy_reload_failures_total").unwrap_or(0.0);
            (now > before).then_some(()).ok_or(format!("{now}"))
        })
        .await;
        assert_eq!(served(proxy.http, "api.example.com", "/v19"), "web");
        assert_eq!(
            get(proxy.admin, "admin", "/readyz").map(|(status, _)| status),
            Some(200)
        );
    }

    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut failures) = (0, Vec::new());
    for thread in load {
        let (count, failed) = thread.join().expect("a load thread");
        ok += count;
        failures.extend(failed);
    }
    eprintln!(
        "keep-alive load through 20 route changes, 20 endpoint changes, a rotation, a controller kill and the API server's loss: {ok} requests answered 200, {} failed",
        failures.len()
    );
    let route_p99 = summary("Ingress write -> served", &mut route_latencies);
    summary("Secret rotation -> new certificate served", &mut rotation);
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert!(ok > 0);
    assert!(
        route_p99 < Duration::from_secs(5),
        "route p99 {route_p99:?}"
    );
}

/// A class stack of `ingresses` Ingresses x 5 hosts (one Prefix route each), a target group of
/// 3 endpoints per Ingress, and a TLS certificate for every tenth Ingress.
fn large_model(ingresses: usize) -> weir_model::DesiredLoadBalancer {
    use weir_model::*;
    let (pem, key_pem, _) = self_signed("app.example.com");
    let mut model = DesiredLoadBalancer {
        stack: StackId::Class("weir".into()),
        ingress_class: "weir".into(),
        members: Vec::new(),
        listeners: Default::default(),
        virtual_hosts: Vec::new(),
        default_action: Action::status(404),
        target_groups: Default::default(),
        certificates: Vec::new(),
        settings: Default::default(),
    };
    for i in 0..ingresses {
        let ingress =
            ObjectRef::namespaced("Ingress", &format!("team-{}", i % 50), &format!("ing-{i}"));
        let key = TargetGroupKey {
            namespace: format!("team-{}", i % 50),
            service: format!("svc-{i}"),
            port: 80,
        };
        for r in 0..5 {
            model.virtual_hosts.push(VirtualHost {
                host: HostMatch::Exact(format!("app-{i}-{r}.example.com")),
                routes: vec![Route {
                    path: PathMatch {
                        kind: PathKind::Prefix,
                        path: format!("/api/v{r}"),
                    },
                    conditions: Default::default(),
                    action: Action::Forward {
                        target_group: key.clone(),
                    },
                    filters: Default::default(),
                    source: RouteSource {
                        ingress: ingress.clone(),
                        rule: r,
                        path: 0,
                    },
                }],
                redirect_to_https_port: None,
            });
        }
        let targets = (0..3)
            .map(|p| Target {
                ip: format!("10.{}.{}.{p}", i / 250, i % 250)
                    .parse()
                    .expect("an IP"),
                port: 8080,
                conditions: EndpointConditions {
                    ready: true,
                    serving: true,
                    terminating: false,
                },
                zone: None,
            })
            .collect();
        model.target_groups.insert(key, TargetGroup { targets });
        if i % 10 == 0 {
            model.certificates.push(Certificate {
                hosts: (0..5).map(|r| format!("app-{i}-{r}.example.com")).collect(),
                source: CertificateSource::Secret {
                    secret: ObjectRef::namespaced(
                        "Secret",
                        &format!("team-{}", i % 50),
                        &format!("tls-{i}"),
                    ),
                    material: TlsMaterial::new(pem.clone(), PrivateKeyPem::new(key_pem.clone())),
                },
                origin: ingress.clone(),
            });
        }
        model.members.push(ingress);
    }
    model
}

#[tokio::test]
async fn a_thousand_ingresses_publish_and_read_back_through_the_real_api() {
    use weir_model::Provider as _;
    use weir_provider_localproxy::{KubeStore, LocalProxyProvider, Reader, SnapshotStore as _};
    let server = ApiServer::start()
        .await
        .unwrap_or_else(|error| panic!("the API server did not start: {error}"));
    server.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: weir-system}\n");
    let store = KubeStore::new(server.admin_client(), "weir-system");
    let provider = LocalProxyProvider::new(store.clone(), Vec::new());
    let model = large_model(1_000);
    let started = Instant::now();
    provider.ensure(&model).await.expect("publishing");
    let first = started.elapsed();
    let objects = store
        .list("weir.dev/snapshot-of")
        .await
        .expect("listing the snapshot");
    let bytes: usize = objects.iter().map(|object| object.data.len()).sum();
    let largest = objects
        .iter()
        .map(|object| object.data.len())
        .max()
        .unwrap_or(0);
    let mut endpoint_change = model.clone();
    if let Some(group) = endpoint_change.target_groups.values_mut().next() {
        group.targets.pop();
    }
    let started = Instant::now();
    provider.ensure(&endpoint_change).await.expect("publishing");
    let endpoint_publish = started.elapsed();
    let index = store
        .get("weir-snapshot-weir")
        .await
        .expect("the index")
        .expect("an index");
    let mut reader = Reader::new(store.clone());
    let started = Instant::now();
    let read = reader.read(&index).await.expect("reading");
    let read_time = started.elapsed();
    assert_eq!(read.model, endpoint_change);
    eprintln!(
        "1,000 Ingresses x 5 hosts, 1,000 target groups x 3 endpoints, 100 certificates (debug build): \
         {} objects, {bytes} bytes in all, largest {largest} bytes; first publish {first:?}, \
         endpoint-only publish {endpoint_publish:?}, cold read {read_time:?}",
        objects.len()
    );
    assert!(largest <= weir_provider_localproxy::layout::SHARD_LIMIT);
}
