//! Gateway API conformance scenarios over real sockets: the manifests of
//! kubernetes-sigs/gateway-api `conformance/` (kept in
//! `controller/translate/tests/fixtures/gateway-api`, see its README) served by weir-proxy's
//! file mode, with the requests and expected answers of the Go tests. Each backend Service of
//! the base manifests gets an EndpointSlice pointing at a loopback echo backend named after it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::{Manifests, Reply, Running, backend, parse, proxy, raw};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use weir_proxy::ProxyConfig;

const NS: &str = "gateway-conformance-infra";
const WEB: &str = "gateway-conformance-web-backend";
const APP: &str = "gateway-conformance-app-backend";
/// The base manifests' Services that get a loopback echo backend named after them.
const BACKENDS: [(&str, &str); 6] = [
    (NS, "infra-backend-v1"),
    (NS, "infra-backend-v2"),
    (NS, "infra-backend-v3"),
    (WEB, "web-backend"),
    (APP, "app-backend-v1"),
    (APP, "app-backend-v2"),
];
/// The names the suite's TLS Secret must cover for the HTTPS scenarios.
const TLS_NAMES: [&str; 5] = [
    "example.org",
    "second-example.org",
    "*.wildcard.org",
    "fourth-example.wildcard.org",
    "unknown-example.org",
];

/// The proxy serving the base manifests plus `files`, and the suite's CA-less certificate.
struct Scenario {
    running: Running,
    _manifests: Manifests,
    certificate_der: Vec<u8>,
}

impl Scenario {
    async fn new(files: &[&str]) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../controller/translate/tests/fixtures/gateway-api");
        let mut documents = vec![
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: weir\nspec:\n  controllerName: weir.dev/localproxy\n".to_owned(),
        ];
        for file in ["base-manifests.yaml"].iter().chain(files) {
            documents.push(
                std::fs::read_to_string(dir.join(file))
                    .unwrap()
                    .replace("{GATEWAY_CLASS_NAME}", "weir"),
            );
        }
        for (namespace, name) in BACKENDS {
            let addr = backend(name).await;
            // The base Services name their 8080 port only for infra v1 (`first-port`).
            let port_name = if name == "infra-backend-v1" {
                "\n    name: first-port"
            } else {
                ""
            };
            documents.push(format!(
                "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {name}-1\n  namespace: {namespace}\n  labels:\n    kubernetes.io/service-name: {name}\naddressType: IPv4\nendpoints:\n  - addresses: [\"{}\"]\nports:\n  - port: {}{port_name}\n",
                addr.ip(),
                addr.port()
            ));
        }
        let generated = rcgen::generate_simple_self_signed(
            TLS_NAMES
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        documents.push(format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls-validity-checks-certificate\n  namespace: {NS}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
            indent(&generated.cert.pem()),
            indent(&generated.key_pair.serialize_pem())
        ));
        let manifests = Manifests::new(&documents);
        let running = proxy(ProxyConfig::default()).await;
        manifests.apply(&running.proxy);
        Self {
            running,
            _manifests: manifests,
            certificate_der: generated.cert.der().to_vec(),
        }
    }

    async fn send(&self, method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        parse(
            &raw(
                self.running.http,
                request(method, host, path, headers).as_bytes(),
            )
            .await,
        )
    }

    async fn get(&self, host: &str, path: &str) -> Reply {
        self.send("GET", host, path, &[]).await
    }

    /// A request over TLS with `sni` as server name and `host` as Host header.
    async fn tls_get(&self, sni: &str, host: &str, path: &str) -> Reply {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls_pki_types::CertificateDer::from(
                self.certificate_der.clone(),
            ))
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tcp = TcpStream::connect(self.running.https).await.unwrap();
        let name = ServerName::try_from(sni.to_owned()).unwrap();
        let mut tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("handshake: the certificate covers the name");
        tls.write_all(request("GET", host, path, &[]).as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read_to_end(&mut out))
            .await;
        parse(&String::from_utf8_lossy(&out))
    }
}

fn indent(pem: &str) -> String {
    pem.lines().map(|line| format!("    {line}\n")).collect()
}

fn request(method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

fn v(n: u8) -> Option<String> {
    Some(format!("infra-backend-v{n}"))
}

/// The echo backend that answered, or the status when none did.
fn answer(reply: &Reply) -> Option<String> {
    match reply.backend() {
        Some(name) => Some(name.to_owned()),
        None => {
            assert_ne!(reply.status, 200, "{reply:?}");
            None
        }
    }
}

/// The values a header had at the echo backend (each line it printed).
fn seen(reply: &Reply, header: &str) -> Vec<String> {
    let prefix = format!("{}: ", header.to_ascii_lowercase());
    reply
        .body
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .map(str::to_owned)
        .collect()
}

fn response_header(reply: &Reply, header: &str) -> Vec<String> {
    reply
        .head
        .lines()
        .filter_map(|line| line.split_once(": "))
        .filter(|(name, _)| name.eq_ignore_ascii_case(header))
        .map(|(_, value)| value.to_owned())
        .collect()
}

#[tokio::test]
async fn simple_same_namespace() {
    let scenario = Scenario::new(&["httproute-simple-same-namespace.yaml"]).await;
    assert_eq!(answer(&scenario.get("gw", "/").await), v(1));
}

#[tokio::test]
async fn matching_header_query_and_method() {
    let scenario = Scenario::new(&["httproute-matching.yaml"]).await;
    for (path, headers, want) in [
        ("/", &[][..], v(1)),
        ("/example", &[], v(1)),
        ("/", &[("Version", "one")], v(1)),
        ("/v2", &[], v(2)),
        ("/v2/example", &[], v(2)),
        ("/", &[("Version", "two")], v(2)),
        ("/v2/", &[], v(2)),
        ("/v2example", &[], v(1)),
        ("/foo/v2/example", &[], v(1)),
    ] {
        let reply = scenario.send("GET", "gw", path, headers).await;
        assert_eq!(answer(&reply), want, "matching {path} {headers:?}");
    }
    let scenario = Scenario::new(&["httproute-header-matching.yaml"]).await;
    for (headers, want) in [
        (&[("Version", "one")][..], v(1)),
        (&[("Version", "two")], v(2)),
        (&[("Version", "two"), ("Color", "orange")], v(1)),
        (&[("Version", "two"), ("Color", "blue")], v(2)),
        (&[("Color", "orange")], None),
        (&[("Some-Other-Header", "one")], None),
        (&[("Color", "blue")], v(1)),
        (&[("Color", "green")], v(1)),
        (&[("Color", "red")], v(2)),
        (&[("Color", "yellow")], v(2)),
        (&[("Color", "purple")], None),
    ] {
        let reply = scenario.send("GET", "gw", "/", headers).await;
        assert_eq!(answer(&reply), want, "headers {headers:?}");
        if want.is_none() {
            assert_eq!(reply.status, 404);
        }
    }
    let scenario = Scenario::new(&["httproute-query-param-matching.yaml"]).await;
    for (path, headers, want) in [
        ("/?animal=whale", &[][..], v(1)),
        ("/?animal=dolphin", &[], v(2)),
        ("/?animal=dolphin&color=blue", &[], v(3)),
        ("/?ANIMAL=Whale", &[], v(3)),
        ("/?animal=whale&otherparam=irrelevant", &[], v(1)),
        ("/?animal=dolphin&color=yellow", &[], v(2)),
        ("/?color=blue", &[], None),
        ("/?animal=dog", &[], None),
        ("/?animal=whaledolphin", &[], None),
        ("/", &[], None),
        ("/path1?animal=whale", &[], v(1)),
        ("/?animal=whale", &[("version", "one")], v(2)),
        ("/path2?animal=whale", &[("version", "two")], v(3)),
        ("/path3?animal=shark", &[], v(1)),
        ("/path4?animal=kraken", &[("version", "three")], v(1)),
        ("/?animal=shark", &[], None),
        ("/path4?animal=kraken", &[], None),
        ("/path5?animal=hydra", &[], v(1)),
        ("/?animal=hydra", &[("version", "four")], v(3)),
    ] {
        let reply = scenario.send("GET", "gw", path, headers).await;
        assert_eq!(answer(&reply), want, "query {path} {headers:?}");
    }
    let scenario = Scenario::new(&["httproute-method-matching.yaml"]).await;
    for (method, path, headers, want) in [
        ("POST", "/", &[][..], v(1)),
        ("GET", "/", &[], v(2)),
        ("HEAD", "/", &[], None),
        ("GET", "/path1", &[], v(1)),
        ("PUT", "/", &[("version", "one")], v(2)),
        ("POST", "/path2", &[("version", "two")], v(3)),
        ("PATCH", "/path3", &[], v(1)),
        ("DELETE", "/path4", &[("version", "three")], v(1)),
        ("PUT", "/", &[], None),
        ("DELETE", "/path4", &[], None),
        ("PATCH", "/path5", &[], v(1)),
        ("PATCH", "/", &[("version", "four")], v(2)),
    ] {
        let reply = scenario.send(method, "gw", path, headers).await;
        let got = if method == "HEAD" {
            reply.status.to_string()
        } else {
            answer(&reply).unwrap_or_else(|| reply.status.to_string())
        };
        let want = want.unwrap_or_else(|| "404".into());
        assert_eq!(got, want, "method {method} {path} {headers:?}");
    }
}

#[tokio::test]
async fn weights_within_tolerance() {
    let scenario = Scenario::new(&["httproute-weight.yaml"]).await;
    // The Go test allows 5% deviation per backend over 500 requests, which a fair random pick
    // misses about 1.5% of the time (2.4 standard deviations); over 2,000 requests the same 5%
    // is 4.9 standard deviations, so a failure means a biased pick. v3 has weight 0.
    let total = 2000;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..total {
        let reply = scenario.get("gw", "/").await;
        *counts.entry(answer(&reply).unwrap()).or_default() += 1;
    }
    let share = |n: u8| counts.get(&v(n).unwrap()).copied().unwrap_or(0) as f64 / total as f64;
    assert!((share(1) - 0.7).abs() <= 0.05, "{counts:?}");
    assert!((share(2) - 0.3).abs() <= 0.05, "{counts:?}");
    assert_eq!(share(3), 0.0, "{counts:?}");
}

#[tokio::test]
async fn request_redirects() {
    let scenario = Scenario::new(&["httproute-redirect-host-and-status.yaml"]).await;
    for (path, status, location) in [
        (
            "/hostname-redirect",
            302,
            "http://example.org/hostname-redirect",
        ),
        (
            "/host-and-status",
            301,
            "http://example.org/host-and-status",
        ),
    ] {
        let reply = scenario.get("gw", path).await;
        assert_eq!(reply.status, status, "{path}: {reply:?}");
        assert_eq!(response_header(&reply, "location"), [location], "{path}");
    }
    let scenario = Scenario::new(&["httproute-redirect-path.yaml"]).await;
    for (path, status, location) in [
        (
            "/original-prefix/lemon",
            302,
            "http://gw/replacement-prefix/lemon",
        ),
        (
            "/full/path/original",
            302,
            "http://gw/full-path-replacement",
        ),
        (
            "/path-and-host",
            302,
            "http://example.org/replacement-prefix",
        ),
        ("/path-and-status", 301, "http://gw/replacement-prefix"),
        (
            "/full-path-and-host",
            302,
            "http://example.org/replacement-full",
        ),
        ("/full-path-and-status", 301, "http://gw/replacement-full"),
    ] {
        let reply = scenario.get("gw", path).await;
        assert_eq!(reply.status, status, "{path}: {reply:?}");
        assert_eq!(response_header(&reply, "location"), [location], "{path}");
    }
    let scenario = Scenario::new(&["httproute-redirect-port.yaml"]).await;
    for (path, status, location) in [
        ("/port", 302, "http://gw:8083/port"),
        (
            "/port-and-host",
            302,
            "http://example.org:8083/port-and-host",
        ),
        ("/port-and-status", 301, "http://gw:8083/port-and-status"),
        (
            "/port-and-host-and-status",
            302,
            "http://example.org:8083/port-and-host-and-status",
        ),
    ] {
        let reply = scenario.get("gw", path).await;
        assert_eq!(reply.status, status, "{path}: {reply:?}");
        assert_eq!(response_header(&reply, "location"), [location], "{path}");
    }
    let scenario = Scenario::new(&["httproute-redirect-scheme.yaml"]).await;
    for (path, status, location) in [
        ("/scheme", 302, "https://gw/scheme"),
        (
            "/scheme-and-host",
            302,
            "https://example.org/scheme-and-host",
        ),
        ("/scheme-and-status", 301, "https://gw/scheme-and-status"),
        (
            "/scheme-and-host-and-status",
            302,
            "https://example.org/scheme-and-host-and-status",
        ),
    ] {
        let reply = scenario.get("gw", path).await;
        assert_eq!(reply.status, status, "{path}: {reply:?}");
        assert_eq!(response_header(&reply, "location"), [location], "{path}");
    }
}

#[tokio::test]
async fn rewrites_and_header_modifiers() {
    let scenario = Scenario::new(&["httproute-rewrite-path.yaml"]).await;
    for (path, want) in [
        ("/prefix/one/two", "/one/two"),
        ("/strip-prefix/three", "/three"),
        ("/strip-prefix", "/"),
        ("/full/one/two", "/one"),
    ] {
        let reply = scenario.get("gw", path).await;
        assert_eq!(answer(&reply), v(1), "{path}");
        assert_eq!(
            reply.body.lines().nth(1),
            Some(format!("GET {want}").as_str()),
            "{path}: {reply:?}"
        );
    }
    let reply = scenario
        .send(
            "GET",
            "gw",
            "/full/rewrite-path-and-modify-headers/test",
            &[
                ("X-Header-Remove", "remove-val"),
                ("X-Header-Add-Append", "append-val-1"),
                ("X-Header-Set", "set-val"),
            ],
        )
        .await;
    assert_eq!(reply.body.lines().nth(1), Some("GET /test"), "{reply:?}");
    assert_eq!(seen(&reply, "X-Header-Set"), ["set-overwrites-values"]);
    assert_eq!(seen(&reply, "X-Header-Add"), ["header-val-1"]);
    assert_eq!(
        seen(&reply, "X-Header-Add-Append"),
        ["append-val-1", "header-val-2"]
    );
    assert!(seen(&reply, "X-Header-Remove").is_empty());

    let scenario = Scenario::new(&["httproute-rewrite-host.yaml"]).await;
    for (path, host, backend) in [
        ("/one", "one.example.org", v(1)),
        ("/two", "example.org", v(2)),
        ("/rewrite-host-and-modify-headers", "test.example.org", v(2)),
    ] {
        let reply = scenario.get("rewrite.example", path).await;
        assert_eq!(answer(&reply), backend, "{path}");
        assert_eq!(seen(&reply, "host"), [host], "{path}: {reply:?}");
    }

    let scenario = Scenario::new(&["httproute-request-header-modifier.yaml"]).await;
    let reply = scenario
        .send("GET", "gw", "/set", &[("X-Header-Set", "some-other-value")])
        .await;
    assert_eq!(seen(&reply, "X-Header-Set"), ["set-overwrites-values"]);
    let reply = scenario
        .send("GET", "gw", "/add", &[("X-Header-Add", "some-other-value")])
        .await;
    // The echo backend prints header lines sorted.
    assert_eq!(
        seen(&reply, "X-Header-Add"),
        ["add-appends-values", "some-other-value"]
    );
    let reply = scenario
        .send("GET", "gw", "/remove", &[("X-Header-Remove", "val")])
        .await;
    assert!(seen(&reply, "X-Header-Remove").is_empty(), "{reply:?}");

    let scenario = Scenario::new(&["httproute-response-header-modifier.yaml"]).await;
    let reply = scenario.get("gw", "/set").await;
    assert_eq!(answer(&reply), v(1));
    assert_eq!(
        response_header(&reply, "X-Header-Set"),
        ["set-overwrites-values"],
        "{reply:?}"
    );
    let reply = scenario.get("gw", "/add").await;
    assert_eq!(
        response_header(&reply, "X-Header-Add"),
        ["add-appends-values"],
        "{reply:?}"
    );
}

#[tokio::test]
async fn hostname_intersection_and_listener_hostnames() {
    let scenario = Scenario::new(&["httproute-hostname-intersection.yaml"]).await;
    for (host, path, want) in [
        ("very.specific.com", "/s1", v(1)),
        ("very.specific.com:1234", "/s1", v(1)),
        ("non.matching.com", "/s1", None),
        ("foo.nonmatchingwildcard.io", "/s1", None),
        ("foo.wildcard.io", "/s1", None),
        ("very.specific.com", "/non-matching-prefix", None),
        ("foo.wildcard.io", "/s2", v(2)),
        ("bar.wildcard.io", "/s2", v(2)),
        ("foo.bar.wildcard.io", "/s2", v(2)),
        ("non.matching.com", "/s2", None),
        ("wildcard.io", "/s2", None),
        ("very.specific.com", "/s2", None),
        ("very.specific.com", "/s3", v(3)),
        ("non.matching.com", "/s3", None),
        ("foo.specific.com", "/s3", None),
        ("foo.wildcard.io", "/s3", None),
        ("foo.anotherwildcard.io", "/s4", v(1)),
        ("bar.anotherwildcard.io", "/s4", v(1)),
        ("foo.bar.anotherwildcard.io", "/s4", v(1)),
        ("anotherwildcard.io", "/s4", None),
        ("foo.wildcard.io", "/s4", None),
        ("very.specific.com", "/s4", None),
        ("specific.but.wrong.com", "/s5", None),
        ("wildcard.io", "/s5", None),
        ("first.com", "/", v(2)),
        ("sub.first.com", "/", v(2)),
    ] {
        let reply = scenario.get(host, path).await;
        assert_eq!(answer(&reply), want, "{host}{path}");
        if want.is_none() {
            assert_eq!(reply.status, 404, "{host}{path}");
        }
    }
    let scenario = Scenario::new(&["httproute-listener-hostname-matching.yaml"]).await;
    for (host, want) in [
        ("bar.com", v(1)),
        ("foo.bar.com", v(2)),
        ("baz.bar.com", v(3)),
        ("boo.bar.com", v(3)),
        ("multiple.prefixes.bar.com", v(3)),
        ("multiple.prefixes.foo.com", v(3)),
        ("foo.com", None),
        ("no.matching.host", None),
    ] {
        assert_eq!(answer(&scenario.get(host, "/").await), want, "{host}");
    }
}

#[tokio::test]
async fn https_listener() {
    let scenario = Scenario::new(&["httproute-https-listener.yaml"]).await;
    for (host, want) in [
        ("example.org", v(1)),
        ("unknown-example.org", None),
        ("second-example.org", v(2)),
    ] {
        let reply = scenario.tls_get(host, host, "/").await;
        assert_eq!(answer(&reply), want, "{host}: {reply:?}");
        if want.is_none() {
            assert_eq!(reply.status, 404, "{host}");
        }
    }
}
#[tokio::test]
async fn https_listener_detects_misdirected_requests() {
    let scenario =
        Scenario::new(&["httproute-https-listener-detect-misdirected-requests.yaml"]).await;
    let path = "/detect-misdirected-requests";
    for (sni, host, status, want) in [
        ("example.org", "example.org", 200, v(1)),
        ("example.org", "second-example.org", 421, None),
        ("example.org", "unknown-example.org", 404, None),
        ("second-example.org", "second-example.org", 200, v(2)),
        ("second-example.org", "example.org", 421, None),
        ("second-example.org", "unknown-example.org", 421, None),
        (
            "third-example.wildcard.org",
            "third-example.wildcard.org",
            200,
            v(3),
        ),
        (
            "third-example.wildcard.org",
            "fith-example.wildcard.org",
            200,
            v(3),
        ),
        (
            "third-example.wildcard.org",
            "fourth-example.wildcard.org",
            421,
            None,
        ),
        (
            "third-example.wildcard.org",
            "second-example.org",
            421,
            None,
        ),
        (
            "third-example.wildcard.org",
            "unknown-example.org",
            421,
            None,
        ),
        (
            "fourth-example.wildcard.org",
            "fourth-example.wildcard.org",
            200,
            v(1),
        ),
        (
            "fourth-example.wildcard.org",
            "fith-example.wildcard.org",
            421,
            None,
        ),
        ("unknown-example.org", "example.org", 200, v(1)),
        ("unknown-example.org", "unknown-example.org", 404, None),
    ] {
        let reply = scenario.tls_get(sni, host, path).await;
        assert_eq!(reply.status, status, "SNI {sni}, Host {host}: {reply:?}");
        assert_eq!(
            reply.backend().map(str::to_owned),
            want,
            "SNI {sni}, Host {host}"
        );
    }
}

/// The misdirected check compares the listener (certificate entry) SNI chose with the one the
/// Host would choose; a plain-HTTP request has no SNI and is never misdirected.
#[tokio::test]
async fn plain_http_is_never_misdirected() {
    let scenario =
        Scenario::new(&["httproute-https-listener-detect-misdirected-requests.yaml"]).await;
    let reply = scenario
        .get("second-example.org", "/detect-misdirected-requests")
        .await;
    assert_eq!(answer(&reply), v(2));
}

#[tokio::test]
async fn reference_grant_permits_a_backend_in_another_namespace() {
    let scenario = Scenario::new(&["httproute-reference-grant.yaml"]).await;
    assert_eq!(
        answer(&scenario.get("gw", "/").await),
        Some("web-backend".into())
    );
}

#[tokio::test]
async fn backend_refs_no_grant_permits_answer_500() {
    for file in [
        "httproute-invalid-reference-grant.yaml",
        "httproute-invalid-cross-namespace-backend-ref.yaml",
    ] {
        let scenario = Scenario::new(&[file]).await;
        assert_eq!(scenario.get("gw", "/").await.status, 500, "{file}");
    }
}

#[tokio::test]
async fn a_grant_for_one_service_leaves_its_sibling_answering_500() {
    let scenario =
        Scenario::new(&["httproute-partially-invalid-via-invalid-reference-grant.yaml"]).await;
    assert_eq!(scenario.get("gw", "/v2").await.status, 500);
    assert_eq!(
        answer(&scenario.get("gw", "/").await),
        Some("app-backend-v1".into())
    );
}

#[tokio::test]
async fn a_route_of_a_selected_namespace_is_served() {
    let scenario = Scenario::new(&["httproute-cross-namespace.yaml"]).await;
    assert_eq!(
        answer(&scenario.get("gw", "/").await),
        Some("web-backend".into())
    );
}

#[tokio::test]
async fn missing_and_unknown_backends_answer_500() {
    for file in [
        "httproute-invalid-nonexistent-backendref.yaml",
        "httproute-invalid-backendref-unknown-kind.yaml",
    ] {
        let scenario = Scenario::new(&[file]).await;
        assert_eq!(scenario.get("gw", "/v2").await.status, 500, "{file}");
    }
}

#[tokio::test]
async fn regular_expression_paths_match_whole_paths_between_exact_and_prefix() {
    let scenario = Scenario::new(&["../gateway-api-weir/httproute-path-regex.yaml"]).await;
    for (path, want) in [
        ("/v1/users", v(1)),
        ("/v2/users", v(2)),
        ("/v10/teams", v(2)),
        ("/v1/teams", v(2)),
        ("/v1/users/7", v(3)),
        ("/v1", v(3)),
        ("/V2/users", None),
        ("/v2/users/7", None),
    ] {
        let reply = scenario.get("gw", path).await;
        assert_eq!(answer(&reply), want, "{path}");
        if want.is_none() {
            assert_eq!(reply.status, 404, "{path}");
        }
    }
}

#[tokio::test]
async fn an_invalid_backend_refs_share_of_the_requests_gets_500() {
    let scenario =
        Scenario::new(&["../gateway-api-weir/httproute-partially-invalid-weights.yaml"]).await;
    let mut failed = 0;
    for _ in 0..300 {
        let reply = scenario.get("gw", "/").await;
        match reply.status {
            500 => failed += 1,
            _ => assert_eq!(answer(&reply), v(1)),
        }
    }
    // One part in three; 300 requests put 100 +- 30 well inside 3.5 standard deviations.
    assert!((60..=140).contains(&failed), "{failed} of 300 answered 500");
}

#[tokio::test]
async fn backend_request_header_modifiers_apply_to_their_backend_only() {
    let scenario = Scenario::new(&["httproute-request-header-modifier-backend.yaml"]).await;
    let reply = scenario
        .send("GET", "gw", "/set", &[("X-Header-Set", "some-other-value")])
        .await;
    assert_eq!(answer(&reply), v(1));
    assert_eq!(seen(&reply, "X-Header-Set"), ["set-overwrites-values"]);
    let reply = scenario
        .send("GET", "gw", "/add", &[("X-Header-Add", "some-other-value")])
        .await;
    assert_eq!(
        seen(&reply, "X-Header-Add"),
        ["add-appends-values", "some-other-value"]
    );
    let reply = scenario
        .send("GET", "gw", "/remove", &[("X-Header-Remove", "val")])
        .await;
    assert!(seen(&reply, "X-Header-Remove").is_empty(), "{reply:?}");
    let reply = scenario
        .send(
            "GET",
            "gw",
            "/multiple",
            &[
                ("X-Header-Set-2", "set-val-2"),
                ("X-Header-Add-2", "add-val-2"),
                ("X-Header-Add-3", "add-val-3"),
                ("X-Header-Remove-1", "val"),
                ("X-Header-Remove-2", "val"),
            ],
        )
        .await;
    assert_eq!(seen(&reply, "X-Header-Set-1"), ["header-set-1"]);
    assert_eq!(seen(&reply, "X-Header-Set-2"), ["header-set-2"]);
    assert_eq!(seen(&reply, "X-Header-Add-1"), ["header-add-1"]);
    assert_eq!(
        seen(&reply, "X-Header-Add-2"),
        ["add-val-2", "header-add-2"]
    );
    assert!(seen(&reply, "X-Header-Remove-1").is_empty(), "{reply:?}");
    assert!(seen(&reply, "X-Header-Remove-2").is_empty(), "{reply:?}");
}

#[tokio::test]
async fn each_weighted_backend_gets_its_own_header() {
    let scenario = Scenario::new(&["httproute-request-header-modifier-backend-weights.yaml"]).await;
    let mut by_backend: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..100 {
        let reply = scenario.get("gw", "/").await;
        let backend = answer(&reply).expect("a backend answers");
        assert_eq!(
            seen(&reply, "Backend"),
            std::slice::from_ref(&backend),
            "{reply:?}"
        );
        *by_backend.entry(backend).or_default() += 1;
    }
    assert_eq!(by_backend.len(), 2, "{by_backend:?}");
}

/// weir's own scenario: a route attached to the Gateway's `http` listener only redirects to
/// https, one attached to `https` only serves the application; same host, same path.
#[tokio::test]
async fn routes_attached_to_one_listener_are_served_on_it_only() {
    let scenario =
        Scenario::new(&["../gateway-api-weir/gateway-redirect-to-https-listener.yaml"]).await;
    let plain = scenario.get("example.org", "/shop").await;
    assert_eq!(plain.status, 301, "{plain:?}");
    assert_eq!(
        response_header(&plain, "location"),
        ["https://example.org/shop"]
    );
    let secure = scenario
        .tls_get("example.org", "example.org", "/shop")
        .await;
    assert_eq!(answer(&secure), v(1), "{secure:?}");
}
