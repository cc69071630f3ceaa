//! Hostile clients: oversized heads, smuggling shapes, slow and idle connections. The proxy
//! answers with the right status, frees the connection, and keeps serving everyone else.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Ep, Manifests, Running, backend, get, ingress, parse, proxy, raw, service};
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_proxy::ProxyConfig;

async fn running(config: ProxyConfig) -> (Running, Manifests) {
    let mut documents = service("echo", &[Ep::ready(backend("echo").await)]);
    documents.push(ingress(
        "all",
        "  defaultBackend:\n    service:\n      name: echo\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(config).await;
    manifests.apply(&running.proxy);
    (running, manifests)
}

fn quick() -> ProxyConfig {
    ProxyConfig {
        header_read_timeout: Duration::from_millis(400),
        keepalive_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        ..ProxyConfig::default()
    }
}

#[tokio::test]
async fn oversized_heads_get_431_and_overlong_targets_414() {
    let (running, _manifests) = running(ProxyConfig::default()).await;
    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert_eq!(parse(&raw(running.http, big.as_bytes()).await).status, 431);
    let many: String = (0..150).map(|index| format!("X-H{index}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n");
    assert_eq!(parse(&raw(running.http, many.as_bytes()).await).status, 431);
    // A request line longer than the largest head: its target is too long.
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(20_000));
    assert_eq!(parse(&raw(running.http, long.as_bytes()).await).status, 414);
    assert_eq!(
        get(running.http, "a", "/").await.status,
        200,
        "still serving"
    );
}

#[tokio::test]
async fn smuggling_shapes_and_ambiguous_requests_get_400() {
    let (running, _manifests) = running(quick()).await;
    let cases: &[(&str, &str)] = &[
        (
            "Content-Length then Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "Transfer-Encoding then Content-Length",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        ),
        (
            "CL.TE after a good request",
            "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        ),
        (
            "a Host whose port is not a number",
            "GET / HTTP/1.1\r\nHost: a:abc\r\n\r\n",
        ),
        (
            "two different Content-Lengths",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        ),
        (
            "Content-Length with a sign",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
        ),
        (
            "Transfer-Encoding not ending in chunked",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        ),
        (
            "unknown Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "Transfer-Encoding on HTTP/1.0",
            "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "space before colon",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
        ),
        (
            "obsolete line folding",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
        ),
        (
            "bare LF inside a header value",
            "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n",
        ),
        (
            "two Host headers",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
        ("no Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n"),
        (
            "Host disagreeing with absolute-form target",
            "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",
        ),
        ("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        (
            "bad chunk size",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        ),
        ("dot segment", "GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n"),
    ];
    for (name, request) in cases {
        let text = raw(running.http, request.as_bytes()).await;
        // The last response on the connection is the verdict on the hostile request.
        let last = text
            .rfind("HTTP/1.1 ")
            .map_or(text.as_str(), |at| &text[at..]);
        let reply = parse(last);
        assert_eq!(reply.status, 400, "{name}: {text}");
    }
    assert_eq!(
        get(running.http, "a", "/").await.status,
        200,
        "still serving"
    );
}

#[tokio::test]
async fn a_stalled_request_body_gets_408() {
    let (running, _manifests) = running(quick()).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    let reply = parse(&String::from_utf8_lossy(&out));
    assert_eq!(reply.status, 408, "{reply:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn slowloris_connections_are_cut_and_cannot_starve_others() {
    let (running, _manifests) = running(quick()).await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        // Connected, silent.
        slow.push(TcpStream::connect(running.http).await.expect("connect"));
    }
    for _ in 0..200 {
        let mut stream = TcpStream::connect(running.http).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
            .await
            .expect("write");
        slow.push(stream);
    }
    // While they dribble, others are served.
    for _ in 0..5 {
        assert_eq!(get(running.http, "a", "/").await.status, 200);
        for stream in slow.iter_mut().skip(50) {
            let _ = stream.write_all(b"x").await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // After the header-read timeout every slow connection has been closed by the proxy.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for stream in &mut slow {
        let mut buffer = [0u8; 512];
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                Ok(Ok(_)) => continue,
                Err(_) => break false,
            }
        };
        assert!(closed, "a slow connection is still open");
    }
    assert_eq!(
        get(running.http, "a", "/").await.status,
        200,
        "still serving"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let (running, _manifests) = running(quick()).await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("write");
    let mut buffer = vec![0u8; 4096];
    let read = stream.read(&mut buffer).await.expect("response");
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "idle connection still open after 3 s");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "closed too early"
    );
}

#[tokio::test]
async fn keep_alive_idle_time_is_its_own_and_a_next_head_gets_the_header_read_time() {
    let config = ProxyConfig {
        header_read_timeout: Duration::from_millis(300),
        keepalive_timeout: Duration::from_millis(1500),
        ..ProxyConfig::default()
    };
    let (running, _manifests) = running(config).await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    let mut buffer = vec![0u8; 4096];
    for _ in 0..2 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let read = stream.read(&mut buffer).await.expect("response");
        let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        // Idle for longer than the header-read timeout, well within the keep-alive time.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // A next head that starts but never ends is cut at the header-read time from its first
    // byte, not at the keep-alive time.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHo")
        .await
        .expect("write");
    let started = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a stalled head is still open after 3 s");
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_body_trickled_below_the_minimum_rate_is_cut_off() {
    let config = ProxyConfig {
        body_timeout: Duration::from_millis(600),
        min_body_rate: 100,
        ..ProxyConfig::default()
    };
    let (running, _manifests) = running(config).await;
    // The lane (Content-Length) and the hyper path (chunked, handed off).
    let heads: [&[u8]; 2] = [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    for (index, head) in heads.into_iter().enumerate() {
        let mut stream = TcpStream::connect(running.http).await.expect("connect");
        stream.write_all(head).await.expect("write");
        let started = Instant::now();
        // A byte every 100 ms: no pause comes near the body timeout, but 10 bytes a second is
        // far below the minimum rate, so the allowance (0.6 s + 1 s per 100 bytes) runs out.
        let mut cut = false;
        while started.elapsed() < Duration::from_secs(4) {
            let byte: &[u8] = if index == 0 { b"x" } else { b"1\r\nx\r\n" };
            if stream.write_all(byte).await.is_err() {
                cut = true;
                break;
            }
            let mut buffer = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
                Ok(Ok(read)) => {
                    let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                    assert!(text.starts_with("HTTP/1.1 408"), "{index}: {text}");
                    cut = true;
                    break;
                }
                Ok(Err(_)) => {
                    cut = true;
                    break;
                }
                Err(_) => {}
            }
        }
        assert!(
            cut,
            "{index}: a body trickled at 10 bytes/s was never cut off"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{index}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn at_the_connection_cap_idle_keep_alive_connections_make_room_for_new_clients() {
    let config = ProxyConfig {
        max_connections: 20,
        keepalive_timeout: Duration::from_secs(60),
        ..ProxyConfig::default()
    };
    let (running, _manifests) = running(config).await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(running.http).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let mut buffer = vec![0u8; 4096];
        let read = stream.read(&mut buffer).await.expect("response");
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        idle.push(stream);
    }
    // Every slot holds an idle keep-alive connection; a new client still gets in at once.
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), get(running.http, "a", "/"))
        .await
        .expect("a new client is served while idle connections fill the cap");
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Some idle connections were closed to make room.
    let mut closed = 0;
    for stream in &mut idle {
        let mut buffer = [0u8; 16];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buffer)).await
        {
            closed += 1;
        }
    }
    assert!(closed > 0, "no idle connection was shed");
}

#[tokio::test]
async fn at_the_connection_cap_idle_http2_and_handed_off_connections_are_shed_too() {
    let config = ProxyConfig {
        max_connections: 20,
        keepalive_timeout: Duration::from_secs(60),
        header_read_timeout: Duration::from_secs(60),
        ..ProxyConfig::default()
    };
    let (running, _manifests) = running(config).await;
    // Ten HTTP/2 connections (prior knowledge, so the lane hands them to hyper), each idle
    // after one request.
    let mut h2_connections = Vec::new();
    for _ in 0..10 {
        let stream = TcpStream::connect(running.http).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
            TokioExecutor::new(),
            TokioIo::new(stream),
        )
        .await
        .expect("h2 handshake");
        let connection = tokio::spawn(connection);
        let request = http::Request::get("http://a/")
            .body(Empty::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("h2 response");
        assert_eq!(response.status(), 200);
        h2_connections.push((sender, connection));
    }
    // Ten HTTP/1.1 keep-alive connections with an absolute-form target, which the lane hands to
    // hyper, idle after one response.
    let mut handed_off = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(running.http).await.expect("connect");
        stream
            .write_all(b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let mut buffer = vec![0u8; 4096];
        let read = stream.read(&mut buffer).await.expect("response");
        let head = String::from_utf8_lossy(&buffer[..read]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        handed_off.push(stream);
    }
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), get(running.http, "a", "/"))
        .await
        .expect("a new client is served while idle hyper connections fill the cap");
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h2_closed = h2_connections
        .iter()
        .filter(|(_, connection)| connection.is_finished())
        .count();
    let mut http1_closed = 0;
    for stream in &mut handed_off {
        let mut buffer = [0u8; 16];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buffer)).await
        {
            http1_closed += 1;
        }
    }
    assert!(h2_closed > 0, "no idle HTTP/2 connection was shed");
    assert!(
        http1_closed > 0,
        "no idle handed-off HTTP/1 connection was shed"
    );
}

#[tokio::test]
async fn a_request_head_larger_than_the_initial_buffer_is_served() {
    let (running, _manifests) = running(ProxyConfig::default()).await;
    let head = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(12_000)
    );
    assert_eq!(parse(&raw(running.http, head.as_bytes()).await).status, 200);
}
