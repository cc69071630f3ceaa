//! TLS over real sockets: certificate choice by SNI (exact, wildcard, default, none), TLS 1.2
//! and 1.3, ALPN h2 and http/1.1 with HTTP/2 requests, certificate rotation by swap, and
//! garbage on the TLS port, session resumption across listeners.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::{Ep, Manifests, Running, backend, ingress, proxy, service};
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, HandshakeKind, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use weir_model::{
    Certificate, CertificateSource, DesiredLoadBalancer, ObjectRef, PrivateKeyPem, TlsMaterial,
};
use weir_proxy::source::manifests::ManifestSource;
use weir_proxy::{ProxyConfig, server};

/// Accepts any server certificate (the test inspects which one was presented) but still checks
/// the handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client(versions: &[&'static rustls::SupportedProtocolVersion], alpn: &[&[u8]]) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

struct TestCert {
    der: Vec<u8>,
    certificate: Certificate,
}

fn cert(hosts: &[&str], names: &[&str]) -> TestCert {
    let generated = rcgen::generate_simple_self_signed(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )
    .expect("rcgen");
    let material = TlsMaterial::new(
        generated.cert.pem(),
        PrivateKeyPem::new(generated.key_pair.serialize_pem()),
    );
    TestCert {
        der: generated.cert.der().to_vec(),
        certificate: Certificate {
            hosts: hosts.iter().map(|host| (*host).to_owned()).collect(),
            source: CertificateSource::Secret {
                secret: ObjectRef::namespaced("Secret", "default", names[0]),
                material,
            },
            origin: ObjectRef::namespaced("Ingress", "default", "tls"),
        },
    }
}

async fn setup() -> (Running, DesiredLoadBalancer, Manifests) {
    let mut documents = service("echo", &[Ep::ready(backend("echo").await)]);
    documents.push(ingress(
        "all",
        "  defaultBackend:\n    service:\n      name: echo\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let model = ManifestSource::new(manifests.dir.clone(), None)
        .load()
        .expect("load");
    (proxy(ProxyConfig::default()).await, model, manifests)
}

async fn handshake(
    addr: SocketAddr,
    connector: &TlsConnector,
    name: ServerName<'static>,
) -> TlsStream<TcpStream> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    connector.connect(name, stream).await.expect("handshake")
}

fn presented(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("a certificate")[0]
        .to_vec()
}

fn dns(name: &str) -> ServerName<'static> {
    ServerName::try_from(name.to_owned()).expect("dns name")
}

#[tokio::test]
async fn sni_selects_exact_then_wildcard_then_default() {
    let (running, mut model, _manifests) = setup().await;
    let exact = cert(&["shop.example.com"], &["shop.example.com"]);
    let wildcard = cert(&["*.example.com"], &["*.example.com"]);
    let default = cert(&[], &["default.invalid"]);
    model.certificates = vec![
        wildcard.certificate.clone(),
        exact.certificate.clone(),
        default.certificate.clone(),
    ];
    running.proxy.apply(&model);
    let connector = client(&[&rustls::version::TLS13], &[b"http/1.1"]);
    for (name, want) in [
        ("shop.example.com", &exact.der),
        ("SHOP.example.com", &exact.der),
        ("blog.example.com", &wildcard.der),
        ("a.b.example.com", &default.der),
        ("example.com", &default.der),
        ("other.test", &default.der),
    ] {
        let stream = handshake(running.https, &connector, dns(name)).await;
        assert!(&presented(&stream) == want, "{name}");
    }
    // No SNI (an IP address as server name): the default certificate.
    let stream = handshake(
        running.https,
        &connector,
        ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    )
    .await;
    assert_eq!(presented(&stream), default.der);
}

#[tokio::test]
async fn without_a_default_the_first_certificate_serves_unknown_names_and_rotation_swaps_in() {
    let (running, mut model, _manifests) = setup().await;
    let first = cert(&["a.example"], &["a.example"]);
    model.certificates = vec![first.certificate.clone()];
    running.proxy.apply(&model);
    let connector = client(&[&rustls::version::TLS13], &[]);
    assert_eq!(
        presented(&handshake(running.https, &connector, dns("zzz.example")).await),
        first.der
    );
    // rcgen's default notAfter is 4096-01-01T00:00:00Z.
    let metrics = running.proxy.metrics().render();
    let expiry =
        "weir_proxy_certificate_not_after_seconds{secret=\"default/a.example\"} 67090118400";
    assert!(metrics.contains(expiry), "{metrics}");
    let rotated = cert(&["a.example"], &["a.example"]);
    model.certificates = vec![rotated.certificate.clone()];
    running.proxy.apply(&model);
    assert_eq!(
        presented(&handshake(running.https, &connector, dns("a.example")).await),
        rotated.der
    );
}

#[tokio::test]
async fn http2_over_alpn_and_tls12_both_work() {
    let (running, mut model, _manifests) = setup().await;
    let exact = cert(&["h2.example"], &["h2.example"]);
    model.certificates = vec![exact.certificate];
    running.proxy.apply(&model);

    let stream = handshake(
        running.https,
        &client(&[&rustls::version::TLS13], &[b"h2", b"http/1.1"]),
        dns("h2.example"),
    )
    .await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(connection);
    for path in ["/a", "/b"] {
        let request = Request::get(format!("https://h2.example{path}"))
            .body(Empty::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("h2 response");
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        let body = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .to_vec(),
        )
        .expect("utf8");
        assert!(body.starts_with("backend echo\n"), "{body}");
        assert!(body.contains("x-forwarded-proto: https\n"), "{body}");
        assert!(body.contains("host: h2.example\n"), "{body}");
    }

    let stream = handshake(
        running.https,
        &client(&[&rustls::version::TLS12], &[b"http/1.1"]),
        dns("h2.example"),
    )
    .await;
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .expect("h1 handshake");
    tokio::spawn(connection);
    // HTTP/1.1 over TLS is served by the lane: two requests on one connection, none handed off.
    for path in ["/one", "/two"] {
        let request = Request::get(path)
            .header("host", "h2.example")
            .body(Empty::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        assert_eq!(response.status(), 200);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(&format!("GET {path}\n")), "{body}");
        assert!(body.contains("x-forwarded-proto: https\n"), "{body}");
    }
    assert_eq!(running.proxy.metrics().lane_handoffs.get(), 0);
}

#[tokio::test]
async fn garbage_on_the_tls_port_is_dropped_and_counted() {
    let (running, mut model, _manifests) = setup().await;
    let only = cert(&["g.example"], &["g.example"]);
    model.certificates = vec![only.certificate];
    running.proxy.apply(&model);
    let mut stream = TcpStream::connect(running.https).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: g.example\r\n\r\n")
        .await
        .expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut out),
    )
    .await;
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        running
            .proxy
            .metrics()
            .render()
            .contains("weir_proxy_tls_handshake_failures_total 1")
    );
    let connector = client(&[&rustls::version::TLS13], &[]);
    handshake(running.https, &connector, dns("g.example")).await;
}

#[tokio::test]
async fn a_secret_whose_key_is_not_its_certificates_is_skipped_and_counted() {
    let (running, mut model, _manifests) = setup().await;
    let mut mismatched = cert(&["foo.example"], &["foo.example"]);
    let other = cert(&["bar.example"], &["bar.example"]);
    let CertificateSource::Secret { material, .. } = &mut mismatched.certificate.source else {
        unreachable!("cert() builds Secret certificates");
    };
    let CertificateSource::Secret {
        material: other_material,
        ..
    } = &other.certificate.source
    else {
        unreachable!("cert() builds Secret certificates");
    };
    *material = TlsMaterial::new(material.chain_pem.clone(), other_material.key.clone());
    let default = cert(&[], &["default.invalid"]);
    model.certificates = vec![mismatched.certificate.clone(), default.certificate.clone()];
    running.proxy.apply(&model);
    let connector = client(&[&rustls::version::TLS13], &[]);
    assert_eq!(
        presented(&handshake(running.https, &connector, dns("foo.example")).await),
        default.der,
        "the mismatched pair must not be served"
    );
    let metrics = running.proxy.metrics().render();
    assert!(
        metrics.contains("weir_proxy_certificate_errors_total 1"),
        "{metrics}"
    );
}

/// RFC 9110 section 15.5.20: a request for a host whose certificate entry is not the one the
/// connection's SNI chose is answered 421 Misdirected Request, so the client retries on a
/// connection of its own. Hosts of one entry share connections; no SNI, no check. HTTP/2 is
/// the hyper path; HTTP/1.1 is the lane, which hands such a request off to hyper.
#[tokio::test]
async fn requests_for_hosts_another_certificate_serves_get_421_on_both_paths() {
    let (running, mut model, _manifests) = setup().await;
    let shop = cert(
        &["shop.example", "www.shop.example"],
        &["shop.example", "www.shop.example"],
    );
    let blog = cert(&["blog.example"], &["blog.example"]);
    model.certificates = vec![shop.certificate, blog.certificate];
    running.proxy.apply(&model);

    let stream = handshake(
        running.https,
        &client(&[&rustls::version::TLS13], &[b"h2"]),
        dns("shop.example"),
    )
    .await;
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(connection);
    for (authority, status) in [
        ("shop.example", 200),
        ("www.shop.example", 200),
        ("blog.example", 421),
        // Without a default certificate the first one serves unknown names: same entry.
        ("other.example", 200),
        ("shop.example", 200),
    ] {
        let request = Request::get(format!("https://{authority}/"))
            .body(Empty::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("h2 response");
        assert_eq!(response.status(), status, "h2 {authority}");
    }

    let stream = handshake(
        running.https,
        &client(&[&rustls::version::TLS13], &[b"http/1.1"]),
        dns("blog.example"),
    )
    .await;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .expect("h1 handshake");
    tokio::spawn(connection);
    for (host, status) in [
        ("blog.example", 200),
        ("shop.example", 421),
        ("blog.example", 200),
    ] {
        let request = Request::get("/")
            .header("host", host)
            .body(Empty::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        assert_eq!(response.status(), status, "http/1.1 {host}");
        let _ = response.into_body().collect().await;
    }
    assert_eq!(
        running.proxy.metrics().lane_handoffs.get(),
        1,
        "the lane handed the connection to hyper at its first misdirected request"
    );

    // Without SNI (an IP address as server name) nothing is misdirected.
    let stream = handshake(
        running.https,
        &client(&[&rustls::version::TLS13], &[b"http/1.1"]),
        ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    )
    .await;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .expect("h1 handshake");
    tokio::spawn(connection);
    let request = Request::get("/")
        .header("host", "blog.example")
        .body(Empty::new())
        .expect("request");
    assert_eq!(
        sender
            .send_request(request)
            .await
            .expect("response")
            .status(),
        200
    );
}

/// One request on a new TLS connection, read to its end (TLS 1.3 tickets arrive after the
/// handshake, with the response): which kind of handshake it had.
async fn one_request(addr: SocketAddr, connector: &TlsConnector) -> HandshakeKind {
    let mut stream = handshake(addr, connector, dns("app.example")).await;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response)
        .await
        .expect("read");
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    stream.get_ref().1.handshake_kind().expect("handshake done")
}

#[tokio::test]
async fn a_returning_client_resumes_its_session_on_every_listener_of_the_proxy() {
    let (running, mut model, _manifests) = setup().await;
    model.certificates = vec![cert(&[], &["default.invalid"]).certificate];
    running.proxy.apply(&model);
    // A second HTTPS listener of the same proxy, as another worker thread has.
    let other = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other_addr = other.local_addr().expect("addr");
    tokio::spawn(server::serve_https(running.proxy.clone(), other));
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let connector = client(&[version], &[b"http/1.1"]);
        let first = one_request(running.https, &connector).await;
        assert_eq!(first, HandshakeKind::Full, "{version:?}");
        for addr in [running.https, other_addr, other_addr] {
            let again = one_request(addr, &connector).await;
            assert_eq!(again, HandshakeKind::Resumed, "{version:?} on {addr}");
        }
    }
}

#[tokio::test]
async fn a_secret_with_another_secrets_certificate_and_a_foreign_key_is_skipped_and_not_listed() {
    let (running, mut model, _manifests) = setup().await;
    let good = cert(&["good.example"], &["good.example"]);
    let stranger = cert(&["stranger.example"], &["stranger.example"]);
    let default = cert(&[], &["default.invalid"]);
    // Same chain as `good` (so the same fingerprint), but the key of another certificate.
    let mut copied = good.certificate.clone();
    copied.hosts = vec!["copy.example".to_owned()];
    let (
        CertificateSource::Secret { material, .. },
        CertificateSource::Secret {
            material: foreign, ..
        },
    ) = (&mut copied.source, &stranger.certificate.source)
    else {
        unreachable!("cert() builds Secret certificates");
    };
    *material = TlsMaterial::new(material.chain_pem.clone(), foreign.key.clone());
    model.certificates = vec![
        good.certificate.clone(),
        copied,
        default.certificate.clone(),
    ];
    running.proxy.apply(&model);
    let connector = client(&[&rustls::version::TLS13], &[]);
    assert_eq!(
        presented(&handshake(running.https, &connector, dns("good.example")).await),
        good.der
    );
    assert_eq!(
        presented(&handshake(running.https, &connector, dns("copy.example")).await),
        default.der,
        "the copied chain with a foreign key must not borrow the first Secret's key"
    );
    let metrics = running.proxy.metrics().render();
    assert!(
        metrics.contains("weir_proxy_certificate_errors_total 1"),
        "{metrics}"
    );
    let listed: Vec<Vec<String>> = running
        .proxy
        .snapshot()
        .summary
        .certificates
        .iter()
        .map(|certificate| certificate.hosts.clone())
        .collect();
    assert_eq!(listed, vec![vec!["good.example".to_owned()], vec![]]);
}
