//! Routing beyond host and path over real sockets: conditions (method, headers, query, client
//! address) from `conditions.NAME` annotations, actions from `actions.NAME` (fixed response
//! with a body, redirect, weighted forward), and filters (header modifiers, URL rewrites,
//! timeouts) set on the model. Every request is sent twice: as HTTP/1.1 (the lane) and as
//! HTTP/1.0 (which the lane hands to hyper), and both must answer the same.

mod common;

use common::{Ep, Manifests, backend, parse, proxy, raw, service};
use weir_model::{HeaderModifier, PathRewrite, RouteFilters, UrlRewrite};
use weir_proxy::ProxyConfig;
use weir_proxy::source::manifests::ManifestSource;

/// An Ingress in `default` with annotations and the paths of host `app` (each path's backend is
/// a Service on port 80, or an action when the name starts with `act-`).
fn annotated(name: &str, annotations: &[(&str, &str)], paths: &[(&str, &str)]) -> String {
    let mut text = format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n"
    );
    for (key, value) in annotations {
        text.push_str(&format!("    {key}: {value:?}\n"));
    }
    text.push_str("spec:\n  rules:\n    - host: app\n      http:\n        paths:\n");
    for (path, backend) in paths {
        let port = if backend.starts_with("act-") {
            "{name: use-annotation}"
        } else {
            "{number: 80}"
        };
        text.push_str(&format!(
            "          - {{path: {path}, pathType: Prefix, backend: {{service: {{name: {backend}, port: {port}}}}}}}\n"
        ));
    }
    text
}

/// Sends `head_lines` (after the request line) as HTTP/1.1 and as HTTP/1.0; asserts both
/// answer alike and returns the HTTP/1.1 reply.
async fn both(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    extra: &str,
) -> common::Reply {
    let one_one = parse(
        &raw(
            addr,
            format!("{method} {target} HTTP/1.1\r\nHost: app\r\n{extra}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await,
    );
    let one_zero = parse(
        &raw(
            addr,
            format!("{method} {target} HTTP/1.0\r\nHost: app\r\n{extra}\r\n").as_bytes(),
        )
        .await,
    );
    assert_eq!(
        (one_one.status, one_one.backend()),
        (one_zero.status, one_zero.backend()),
        "{method} {target} {extra:?}: lane {one_one:?} vs hyper {one_zero:?}"
    );
    one_one
}

#[tokio::test]
async fn conditions_route_alike_on_the_lane_and_through_hyper() {
    let mut documents = Vec::new();
    for name in ["plain", "v2", "post", "beta", "local", "remote"] {
        documents.extend(service(name, &[Ep::ready(backend(name).await)]));
    }
    let header = r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Version","values":["v2*"]}}]"#;
    let method =
        r#"[{"field":"http-request-method","httpRequestMethodConfig":{"values":["POST"]}}]"#;
    let query =
        r#"[{"field":"query-string","queryStringConfig":{"values":[{"key":"beta","value":"1"}]}}]"#;
    let local = r#"[{"field":"source-ip","sourceIpConfig":{"values":["127.0.0.0/8"]}}]"#;
    let remote = r#"[{"field":"source-ip","sourceIpConfig":{"values":["10.0.0.0/8"]}}]"#;
    documents.push(annotated(
        "conditions",
        &[
            ("weir.dev/conditions.v2", header),
            ("weir.dev/conditions.post", method),
            ("weir.dev/conditions.beta", query),
            ("alb.ingress.kubernetes.io/conditions.local", local),
            ("weir.dev/conditions.remote", remote),
        ],
        &[
            ("/api", "plain"),
            ("/api", "v2"),
            ("/api", "post"),
            ("/api", "beta"),
            ("/ip", "remote"),
            ("/ip", "local"),
        ],
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    for (method, target, extra, want) in [
        ("GET", "/api/x", "", Some("plain")),
        ("GET", "/api/x", "X-Version: V2.1\r\n", Some("v2")),
        ("GET", "/api/x", "x-version: v1\r\n", Some("plain")),
        ("POST", "/api/x", "Content-Length: 0\r\n", Some("post")),
        // The method condition ranks before header clauses (Gateway API order).
        (
            "POST",
            "/api",
            "X-Version: v2\r\nContent-Length: 0\r\n",
            Some("post"),
        ),
        ("GET", "/api?beta=1", "", Some("beta")),
        ("GET", "/api?beta=2&x=1", "", Some("plain")),
        ("GET", "/ip", "", Some("local")),
        ("GET", "/other", "", None),
    ] {
        let reply = both(running.http, method, target, extra).await;
        assert_eq!(
            reply.backend(),
            want,
            "{method} {target} {extra:?}: {reply:?}"
        );
    }
    // Conditions are matched in the lane itself: a conditional forward is not handed off.
    let before = running.proxy.metrics().lane_handoffs.get();
    let request =
        "GET /api/x?beta=1 HTTP/1.1\r\nHost: app\r\nX-Version: v2\r\nConnection: close\r\n\r\n";
    assert_eq!(
        parse(&raw(running.http, request.as_bytes()).await).backend(),
        Some("v2")
    );
    assert_eq!(running.proxy.metrics().lane_handoffs.get(), before);
}

#[tokio::test]
async fn annotation_actions_fixed_response_redirect_and_weights() {
    let mut documents = Vec::new();
    for name in ["blue", "green"] {
        documents.extend(service(name, &[Ep::ready(backend(name).await)]));
    }
    documents.push(annotated(
        "actions",
        &[
            (
                "weir.dev/actions.act-teapot",
                r#"{"type":"fixed-response","fixedResponseConfig":{"contentType":"application/json","statusCode":"418","messageBody":"{\"short\":\"stout\"}"}}"#,
            ),
            (
                "weir.dev/actions.act-moved",
                r#"{"type":"redirect","redirectConfig":{"protocol":"HTTPS","host":"new.example.com","path":"/landing","statusCode":"HTTP_301"}}"#,
            ),
            (
                "weir.dev/actions.act-keep",
                r##"{"type":"redirect","redirectConfig":{"host":"#{host}","port":"8081","path":"/#{path}","query":"#{query}","statusCode":"HTTP_302"}}"##,
            ),
            (
                "weir.dev/actions.act-split",
                r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"blue","servicePort":80,"weight":50},{"serviceName":"green","servicePort":"http","weight":50}]}}"#,
            ),
        ],
        &[
            ("/teapot", "act-teapot"),
            ("/moved", "act-moved"),
            ("/keep", "act-keep"),
            ("/split", "act-split"),
        ],
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);

    let teapot = both(running.http, "GET", "/teapot", "").await;
    assert_eq!(teapot.status, 418);
    assert!(
        teapot
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert_eq!(teapot.body, r#"{"short":"stout"}"#);

    let moved = both(running.http, "GET", "/moved/x?a=1", "").await;
    assert_eq!(moved.status, 301);
    assert!(
        moved
            .head
            .contains("location: https://new.example.com/landing?a=1"),
        "{moved:?}"
    );
    let keep = both(running.http, "GET", "/keep/x?a=1", "").await;
    assert_eq!(keep.status, 302);
    assert!(
        keep.head.contains("location: http://app:8081/keep/x?a=1"),
        "{keep:?}"
    );

    // Weighted picks are random: each path must reach both backends.
    for version in ["HTTP/1.1", "HTTP/1.0"] {
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..100 {
            let request = format!("GET /split {version}\r\nHost: app\r\nConnection: close\r\n\r\n");
            let reply = parse(&raw(running.http, request.as_bytes()).await);
            *seen
                .entry(reply.backend().unwrap_or("none").to_owned())
                .or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 2, "{version}: {seen:?}");
        assert!(
            seen.values().all(|count| *count > 20),
            "{version}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn filters_modify_headers_and_rewrite_the_url() {
    let mut documents = Vec::new();
    documents.extend(service("api", &[Ep::ready(backend("api").await)]));
    documents.push(annotated("filters", &[], &[("/api", "api")]));
    let manifests = Manifests::new(&documents);
    let mut model = ManifestSource::new(manifests.dir.clone(), None)
        .load()
        .expect("load");
    model.virtual_hosts[0].routes[0].filters = RouteFilters {
        request_headers: HeaderModifier {
            set: vec![("x-env".into(), "prod".into())],
            add: vec![("x-added".into(), "yes".into())],
            remove: vec!["x-secret".into()],
        },
        response_headers: HeaderModifier {
            add: vec![("x-served-by".into(), "weir".into())],
            ..HeaderModifier::default()
        },
        rewrite: Some(UrlRewrite {
            host: Some("internal.svc".into()),
            path: Some(PathRewrite::Prefix("/v2".into())),
        }),
        timeout_ms: Some(5_000),
    };
    let running = proxy(ProxyConfig::default()).await;
    running.proxy.apply(&model);
    let handoffs_before = running.proxy.metrics().lane_handoffs.get();
    let reply = both(
        running.http,
        "GET",
        "/api/items?page=2",
        "X-Env: dev\r\nX-Secret: s3cr3t\r\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("GET /v2/items?page=2\n"), "{reply:?}");
    assert_eq!(reply.echoed("x-env"), Some("prod"));
    assert_eq!(reply.echoed("x-added"), Some("yes"));
    assert_eq!(reply.echoed("x-secret"), None);
    assert_eq!(reply.echoed("host"), Some("internal.svc"));
    assert_eq!(reply.echoed("x-forwarded-host"), Some("app"));
    assert!(reply.head.contains("x-served-by: weir"), "{reply:?}");
    assert!(
        running.proxy.metrics().lane_handoffs.get() > handoffs_before,
        "routes with filters are served by the general path"
    );
}
