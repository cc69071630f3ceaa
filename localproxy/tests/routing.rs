//! Routing over real sockets: manifests -> load_dir -> translate -> weir-proxy -> echo
//! backends: hosts, default backends, endpoint conditions, failure statuses, headers, path
//! normalization, bodies and replays. The conformance features and the Kubernetes docs'
//! path-matching table run as the shared corpus (`tests/conformance_corpus.rs`).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Ep, Manifests, backend, dead_addr, get, ingress, parse, proxy, raw, service};
use weir_proxy::ProxyConfig;

fn path(path: &str, kind: &str, service: &str) -> String {
    format!(
        "          - path: {path}\n            pathType: {kind}\n            backend:\n              service:\n                name: {service}\n                port:\n                  number: 80\n"
    )
}

fn rule(host: Option<&str>, paths: &[String]) -> String {
    let host = host
        .map(|host| format!("    - host: \"{host}\"\n      http:\n"))
        .unwrap_or_else(|| "    - http:\n".to_owned());
    format!("{host}        paths:\n{}", paths.concat())
}

#[tokio::test]
async fn host_rules_exact_wildcard_and_hostless() {
    let mut documents = Vec::new();
    for name in ["exact", "wildcard", "hostless"] {
        documents.extend(service(name, &[Ep::ready(backend(name).await)]));
    }
    documents.push(ingress(
        "hosts",
        &format!(
            "  rules:\n{}{}{}",
            rule(Some("foo.bar.com"), &[path("/", "Prefix", "exact")]),
            rule(Some("*.foo.com"), &[path("/", "Prefix", "wildcard")]),
            rule(None, &[path("/hostless", "Prefix", "hostless")]),
        ),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    for (host, request, want) in [
        ("foo.bar.com", "/", Some("exact")),
        ("FOO.Bar.com:8080", "/x", Some("exact")),
        ("foo.bar.com.", "/", Some("exact")),
        ("bar.foo.com", "/", Some("wildcard")),
        ("baz.bar.foo.com", "/hostless", Some("hostless")),
        ("foo.com", "/hostless", Some("hostless")),
        ("foo.com", "/", None),
        ("other.example", "/hostless/a", Some("hostless")),
    ] {
        let reply = get(running.http, host, request).await;
        assert_eq!(reply.backend(), want, "{host}{request}: {reply:?}");
    }
}

#[tokio::test]
async fn default_backend_takes_what_no_rule_matches_even_on_a_matched_host() {
    let mut documents = Vec::new();
    for name in ["default", "app", "other"] {
        documents.extend(service(name, &[Ep::ready(backend(name).await)]));
    }
    documents.push(ingress(
        "with-default",
        &format!(
            "  defaultBackend:\n    service:\n      name: default\n      port:\n        number: 80\n  rules:\n{}{}",
            rule(Some("app.example"), &[path("/app", "Prefix", "app")]),
            rule(None, &[path("/other", "Prefix", "other")]),
        ),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    assert_eq!(
        get(running.http, "app.example", "/app/x").await.backend(),
        Some("app")
    );
    // The host matched but no path did: the default backend, never the host-less rule.
    assert_eq!(
        get(running.http, "app.example", "/other").await.backend(),
        Some("default")
    );
    assert_eq!(
        get(running.http, "unknown.example", "/other")
            .await
            .backend(),
        Some("other")
    );
    assert_eq!(
        get(running.http, "unknown.example", "/").await.backend(),
        Some("default")
    );
}

#[tokio::test]
async fn load_balancing_spreads_over_ready_endpoints_and_skips_terminating_ones() {
    let mut endpoints = Vec::new();
    for name in ["one", "two", "three"] {
        endpoints.push(Ep::ready(backend(name).await));
    }
    endpoints.push(Ep {
        addr: backend("terminating").await,
        ready: false,
        terminating: true,
    });
    endpoints.push(Ep {
        addr: backend("unready").await,
        ready: false,
        terminating: false,
    });
    let mut documents = service("app", &endpoints);
    documents.push(ingress(
        "lb",
        &format!("  rules:\n{}", rule(None, &[path("/", "Prefix", "app")])),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..90 {
        let reply = get(running.http, "lb.example", "/").await;
        *seen
            .entry(reply.backend().expect("an echo answered").to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.values().all(|&hits| hits >= 10), "{seen:?}");
    assert!(!seen.contains_key("terminating") && !seen.contains_key("unready"));
}

#[tokio::test]
async fn failure_statuses_no_route_no_endpoint_connect_failure_and_timeout() {
    let live = backend("live").await;
    let dead = dead_addr().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let mut documents = Vec::new();
    documents.extend(service("mixed", &[Ep::ready(dead), Ep::ready(live)]));
    documents.extend(service("dead", &[Ep::ready(dead)]));
    documents.extend(service(
        "empty",
        &[Ep {
            addr: live,
            ready: false,
            terminating: false,
        }],
    ));
    documents.extend(service("silent", &[Ep::ready(silent_addr)]));
    documents.push(ingress(
        "failures",
        &format!(
            "  rules:\n{}",
            rule(
                Some("f.example"),
                &[
                    path("/mixed", "Prefix", "mixed"),
                    path("/dead", "Prefix", "dead"),
                    path("/empty", "Prefix", "empty"),
                    path("/silent", "Prefix", "silent"),
                    path("/missing", "Prefix", "no-such-service"),
                ]
            )
        ),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig {
        upstream_timeout: Duration::from_millis(300),
        ..ProxyConfig::default()
    })
    .await;
    manifests.apply(&running.proxy);
    // A refused endpoint is retried on another one: every request succeeds.
    for _ in 0..20 {
        assert_eq!(
            get(running.http, "f.example", "/mixed").await.backend(),
            Some("live")
        );
    }
    assert_eq!(get(running.http, "f.example", "/dead").await.status, 502);
    assert_eq!(get(running.http, "f.example", "/empty").await.status, 503);
    assert_eq!(get(running.http, "f.example", "/missing").await.status, 503);
    assert_eq!(get(running.http, "f.example", "/silent").await.status, 504);
    assert_eq!(get(running.http, "f.example", "/nothing").await.status, 404);
    assert_eq!(get(running.http, "g.example", "/").await.status, 404);
    let metrics = running.proxy.metrics().render();
    assert!(
        metrics.contains("weir_proxy_upstream_errors_total{kind=\"connect\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("weir_proxy_upstream_errors_total{kind=\"timeout\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn headers_forwarded_host_preserved_hop_by_hop_removed() {
    let mut documents = service("echo", &[Ep::ready(backend("echo").await)]);
    documents.push(ingress(
        "h",
        &format!("  rules:\n{}", rule(None, &[path("/", "Prefix", "echo")])),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    let request = "GET /x HTTP/1.1\r\nHost: App.Example:81\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Kept: yes\r\n\r\n";
    let reply = parse(&raw(running.http, request.as_bytes()).await);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.echoed("host"), Some("App.Example:81"));
    assert_eq!(
        reply.echoed("x-forwarded-for"),
        Some("203.0.113.7, 127.0.0.1")
    );
    assert_eq!(reply.echoed("x-forwarded-proto"), Some("http"));
    assert_eq!(reply.echoed("x-forwarded-host"), Some("App.Example:81"));
    assert_eq!(
        reply.echoed("x-forwarded-port"),
        Some(running.http.port().to_string().as_str())
    );
    assert_eq!(reply.echoed("x-kept"), Some("yes"));
    for removed in [
        "x-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
        "connection",
    ] {
        assert_eq!(
            reply.echoed(removed),
            None,
            "{removed} reached the upstream"
        );
    }
}

#[tokio::test]
async fn paths_are_normalized_before_routing_and_forwarded_as_routed() {
    let mut documents = Vec::new();
    for name in ["public", "admin"] {
        documents.extend(service(name, &[Ep::ready(backend(name).await)]));
    }
    documents.push(ingress(
        "paths",
        &format!(
            "  rules:\n{}",
            rule(
                None,
                &[
                    path("/admin", "Prefix", "admin"),
                    path("/public", "Prefix", "public")
                ]
            )
        ),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    let reply = get(running.http, "p", "/%61dmin/x").await;
    assert_eq!(
        (reply.backend(), reply.body.lines().nth(1)),
        (Some("admin"), Some("GET /admin/x"))
    );
    let reply = get(running.http, "p", "/public//a").await;
    assert_eq!(
        (reply.backend(), reply.body.lines().nth(1)),
        (Some("public"), Some("GET /public/a"))
    );
    // The query string plays no part in routing.
    assert_eq!(
        get(running.http, "p", "/admin?x=/public").await.backend(),
        Some("admin")
    );
    // `%2F` stays encoded: one segment, which does not match prefix `/admin`.
    assert_eq!(get(running.http, "p", "/admin%2Fx").await.status, 404);
    for bypass in [
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/public/./x",
        "/a%zz",
        // Dot segments some backends find where weir's router sees none.
        "/public/..;/admin",
        "/public/..\\admin",
        "/public/..%5Cadmin",
        "/public/x%2F..%2F..%2Fadmin",
    ] {
        assert_eq!(get(running.http, "p", bypass).await.status, 400, "{bypass}");
    }
}

#[tokio::test]
async fn request_bodies_stream_through_and_closed_idle_upstream_connections_are_not_fatal() {
    // A backend that answers one request per connection, then closes it without saying so:
    // the pooled connection is dead by the time the next request takes it.
    let abrupt = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let abrupt_addr = abrupt.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = abrupt.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nbackend abrupt")
                    .await;
            });
        }
    });
    let mut documents = service("echo", &[Ep::ready(backend("echo").await)]);
    documents.extend(service("abrupt", &[Ep::ready(abrupt_addr)]));
    documents.push(ingress(
        "bodies",
        &format!(
            "  rules:\n{}",
            rule(
                None,
                &[
                    path("/abrupt", "Prefix", "abrupt"),
                    path("/", "Prefix", "echo")
                ]
            )
        ),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    let body = "x".repeat(300_000);
    let request = format!(
        "POST /upload HTTP/1.1\r\nHost: b\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let reply = parse(&raw(running.http, request.as_bytes()).await);
    assert_eq!(reply.echoed("body-bytes"), Some("300000"), "{}", reply.head);
    let chunked = "POST /upload HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    assert_eq!(
        parse(&raw(running.http, chunked.as_bytes()).await).echoed("body-bytes"),
        Some("11")
    );
    for _ in 0..10 {
        let reply = get(running.http, "b", "/abrupt").await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "backend abrupt"));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn ingress_class_selection_and_ssl_redirect() {
    let mut documents = Vec::new();
    for name in ["ours", "theirs"] {
        documents.extend(service(name, &[Ep::ready(backend(name).await)]));
    }
    let class = |name: &str, class: &str, host: &str, service: &str| {
        ingress(
            name,
            &format!(
                "  ingressClassName: {class}\n  rules:\n{}",
                rule(Some(host), &[path("/", "Prefix", service)])
            ),
        )
    };
    documents.push(class("ours", "weir", "ours.example", "ours"));
    documents.push(class("theirs", "other", "theirs.example", "theirs"));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    let model = weir_proxy::source::manifests::ManifestSource::new(
        manifests.dir.clone(),
        Some("weir".into()),
    )
    .load()
    .expect("load");
    running.proxy.apply(&model);
    assert_eq!(
        get(running.http, "ours.example", "/").await.backend(),
        Some("ours")
    );
    assert_eq!(get(running.http, "theirs.example", "/").await.status, 404);

    // ssl-redirect on a TLS Ingress: plain HTTP answers 308 to the HTTPS port.
    let secret = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickstart/secret.yaml"
    ))
    .expect("quickstart secret");
    let mut documents = service("ours", &[Ep::ready(backend("ours").await)]);
    documents.push(secret);
    let spec = format!(
        "  tls:\n    - hosts: [\"secure.quickstart.test\"]\n      secretName: quickstart-tls\n  rules:\n{}",
        rule(
            Some("secure.quickstart.test"),
            &[path("/", "Prefix", "ours")]
        )
    );
    documents.push(ingress("secure", &spec).replace(
        "  namespace: default\nspec:",
        "  namespace: default\n  annotations:\n    alb.ingress.kubernetes.io/ssl-redirect: \"443\"\nspec:",
    ));
    // Another Ingress of the class, without ssl-redirect: its host keeps serving plain HTTP.
    documents.push(ingress(
        "plain",
        &format!(
            "  rules:\n{}",
            rule(Some("plain.example"), &[path("/", "Prefix", "ours")])
        ),
    ));
    let manifests = Manifests::new(&documents);
    manifests.apply(&running.proxy);
    let plain = get(running.http, "plain.example", "/x").await;
    assert_eq!(
        (plain.status, plain.backend()),
        (200, Some("ours")),
        "one Ingress's ssl-redirect must not redirect another's host: {plain:?}"
    );
    let reply = get(running.http, "secure.quickstart.test", "/a?b=1").await;
    assert_eq!(reply.status, 308, "{reply:?}");
    assert!(
        reply
            .head
            .contains("location: https://secure.quickstart.test/a?b=1"),
        "{}",
        reply.head
    );
}

/// A backend that answers the first request of each connection, then reads the second and
/// closes without answering: the request may have been acted on, so only idempotent methods may
/// be sent again.
#[tokio::test]
async fn a_request_lost_on_a_reused_connection_is_replayed_only_if_idempotent() {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                for answer in [true, false] {
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    let head = String::from_utf8_lossy(&buffer[..read]);
                    log.lock()
                        .expect("log")
                        .push(head.lines().next().unwrap_or_default().to_owned());
                    if answer {
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await;
                    }
                }
            });
        }
    });
    let mut documents = service("flaky", &[Ep::ready(addr)]);
    documents.push(ingress(
        "flaky",
        &format!("  rules:\n{}", rule(None, &[path("/", "Prefix", "flaky")])),
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);

    assert_eq!(get(running.http, "f", "/warm").await.status, 200);
    let post = "POST /orders/1/confirm HTTP/1.1\r\nHost: f\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let reply = parse(&raw(running.http, post.as_bytes()).await);
    assert_eq!(reply.status, 502, "{}", reply.head);
    let posts = seen
        .lock()
        .expect("log")
        .iter()
        .filter(|line| line.starts_with("POST"))
        .count();
    assert_eq!(
        posts,
        1,
        "the POST reached the backend more than once: {:?}",
        seen.lock().expect("log")
    );

    assert_eq!(get(running.http, "f", "/warm-again").await.status, 200);
    assert_eq!(
        get(running.http, "f", "/read").await.status,
        200,
        "a GET lost the same way is sent again"
    );
}
