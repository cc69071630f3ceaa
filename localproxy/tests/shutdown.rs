//! Graceful shutdown: in-flight requests finish, idle connections close, new ones are refused.

mod common;

use std::time::{Duration, Instant};

use common::{Ep, Manifests, get, ingress, proxy, service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_proxy::ProxyConfig;

#[tokio::test]
async fn in_flight_requests_finish_and_idle_connections_close() {
    // A backend that takes 400 ms to answer.
    let slow = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let slow_addr = slow.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = slow.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                while let Ok(read) = stream.read(&mut buffer).await {
                    if read == 0 {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
                        .await;
                }
            });
        }
    });
    let mut documents = service("slow", &[Ep::ready(slow_addr)]);
    documents.push(ingress(
        "all",
        "  defaultBackend:\n    service:\n      name: slow\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);

    let mut idle = TcpStream::connect(running.http).await.expect("connect");
    idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("write");
    let mut buffer = vec![0u8; 1024];
    let read = idle.read(&mut buffer).await.expect("first response");
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));

    let addr = running.http;
    let in_flight = tokio::spawn(async move { get(addr, "a", "/").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    running.proxy.shutdown();
    assert!(!running.proxy.is_serving());

    let reply = in_flight.await.expect("request task");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "slow"),
        "the in-flight request finished"
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "idle keep-alive connection still open");
    assert!(started.elapsed() < Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        TcpStream::connect(running.http).await.is_err(),
        "still accepting after shutdown"
    );
}

/// A request whose head is still arriving when shutdown begins is answered, also when the lane
/// hands it to hyper (a chunked upload) after shutdown began.
#[tokio::test]
async fn a_request_whose_head_arrives_during_shutdown_is_answered() {
    let echo = common::backend("echo").await;
    let mut documents = service("echo", &[Ep::ready(echo)]);
    documents.push(ingress(
        "all",
        "  defaultBackend:\n    service:\n      name: echo\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    let mut streams = Vec::new();
    for index in 0..20 {
        let mut stream = TcpStream::connect(running.http).await.expect("connect");
        let start: &[u8] = if index % 2 == 0 {
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Enc"
        } else {
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Half: "
        };
        stream.write_all(start).await.expect("write");
        streams.push((index, stream));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.proxy.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for (index, mut stream) in streams {
        let rest: &[u8] = if index % 2 == 0 {
            b"oding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        } else {
            b"1\r\n\r\n"
        };
        stream.write_all(rest).await.expect("write the rest");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut out)).await;
        let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 200"), "request {index}: {text}");
        // The answer says the connection closes, so the client does not reuse it.
        assert!(
            text.contains("connection: close\r\n"),
            "request {index}: {text}"
        );
    }
}
