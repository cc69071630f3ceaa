//! HTTP/2 requests forwarded over the pooled HTTP/1.1 upstream connections the lane uses:
//! connections shared between both request paths, response framings decoded for HTTP/2
//! clients, uploads of unknown length sent chunked, and the failure answers and retries of the
//! hyper path, against a scripted endpoint that records what it received.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{Ep, Manifests, Running, ingress, proxy, raw, service};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_proxy::ProxyConfig;

type Reply = fn(&str) -> (Vec<u8>, bool);

/// What a scripted endpoint saw: connections accepted and each request (head and body bytes).
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: Mutex<Vec<String>>,
}

/// An endpoint answering each request with `reply(request line)`: the bytes, and whether to
/// close the connection after them (without saying so).
async fn scripted(reply: Reply) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let recorder = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            recorder.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(stream, reply, Arc::clone(&recorder)));
        }
    });
    (addr, seen)
}

async fn answer(mut stream: TcpStream, reply: Reply, seen: Arc<Seen>) {
    let mut pending = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Some(end) = pending.windows(4).position(|window| window == b"\r\n\r\n") else {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => pending.extend_from_slice(&buffer[..read]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .and_then(|length| length.trim().parse::<usize>().ok());
        let chunked = head.contains("transfer-encoding: chunked");
        let body_end = loop {
            let body = &pending[end + 4..];
            let complete = match (length, chunked) {
                (Some(length), _) => (body.len() >= length).then_some(length),
                (None, true) => body
                    .windows(5)
                    .position(|window| window == b"0\r\n\r\n")
                    .map(|at| at + 5),
                (None, false) => Some(0),
            };
            if let Some(body_len) = complete {
                break end + 4 + body_len;
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => pending.extend_from_slice(&buffer[..read]),
            }
        };
        let request = String::from_utf8_lossy(&pending[..body_end]).into_owned();
        pending.drain(..body_end);
        let (bytes, close) = reply(head.lines().next().unwrap_or_default());
        seen.requests.lock().expect("lock").push(request);
        if stream.write_all(&bytes).await.is_err() || close {
            return;
        }
    }
}

/// A proxy routing every request to `endpoint`.
async fn routed_to(endpoint: SocketAddr) -> (Running, Manifests) {
    routed_with_timeout(endpoint, Duration::from_secs(1)).await
}

/// As [`routed_to`], with this upstream timeout.
async fn routed_with_timeout(
    endpoint: SocketAddr,
    upstream_timeout: Duration,
) -> (Running, Manifests) {
    let mut documents = service("target", &[Ep::ready(endpoint)]);
    documents.push(ingress(
        "h2",
        "  defaultBackend:\n    service:\n      name: target\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig {
        upstream_timeout,
        ..ProxyConfig::default()
    })
    .await;
    manifests.apply(&running.proxy);
    (running, manifests)
}

/// An HTTP/2 connection with prior knowledge to the plain listener (the lane hands it to hyper).
async fn h2<B>(addr: SocketAddr) -> SendRequest<B>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    sender
}

async fn text(response: Response<Incoming>) -> Result<String, hyper::Error> {
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("http://h2.example{path}"))
        .body(Full::default())
        .expect("request")
}

fn ok(_line: &str) -> (Vec<u8>, bool) {
    (
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
        false,
    )
}

#[tokio::test]
async fn h2_streams_and_lane_requests_share_one_pooled_upstream_connection() {
    let (endpoint, seen) = scripted(ok).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let lane = raw(
        running.http,
        b"GET /lane HTTP/1.1\r\nHost: h2.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(lane.starts_with("HTTP/1.1 200"), "{lane}");
    let mut sender = h2(running.http).await;
    for path in ["/a", "/b", "/c"] {
        let mut request = get(path);
        for cookie in ["a=1", "b=2"] {
            request
                .headers_mut()
                .append("cookie", http::HeaderValue::from_static(cookie));
        }
        let response = sender.send_request(request).await.expect("response");
        assert_eq!(response.status(), 200);
        assert_eq!(text(response).await.expect("body"), "ok");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    let requests = seen.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 4);
    let h2_head = &requests[1];
    assert!(h2_head.starts_with("GET /a HTTP/1.1\r\n"), "{h2_head}");
    assert!(h2_head.contains("host: h2.example\r\n"), "{h2_head}");
    assert!(h2_head.contains("x-forwarded-proto: http\r\n"), "{h2_head}");
    assert!(
        h2_head.contains("x-forwarded-for: 127.0.0.1\r\n"),
        "{h2_head}"
    );
    assert!(!h2_head.contains("content-length"), "{h2_head}");
    assert_eq!(h2_head.matches("cookie").count(), 1, "{h2_head}");
    assert!(h2_head.contains("cookie: a=1; b=2\r\n"), "{h2_head}");
}

fn framings(line: &str) -> (Vec<u8>, bool) {
    let reply: &[u8] = if line.contains("/chunked") {
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: x-drop\r\nx-drop: 1\r\n\
          keep-alive: timeout=5\r\nx-kept: 1\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\ntrailer: t\r\n\r\n"
    } else if line.contains("/interim") {
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nnew"
    } else {
        b"HTTP/1.1 200 OK\r\n\r\nuntil close"
    };
    (reply.to_vec(), line.contains("/close"))
}

#[tokio::test]
async fn response_framings_reach_h2_clients_decoded_with_hop_by_hop_headers_removed() {
    let (endpoint, seen) = scripted(framings).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut sender = h2(running.http).await;
    let response = sender
        .send_request(get("/chunked"))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(text(response).await.expect("body"), "hello!");
    assert_eq!(
        headers.get("x-kept").map(|value| value.as_bytes()),
        Some(&b"1"[..])
    );
    for dropped in ["x-drop", "keep-alive", "connection", "transfer-encoding"] {
        assert!(headers.get(dropped).is_none(), "{dropped}: {headers:?}");
    }
    let response = sender
        .send_request(get("/interim"))
        .await
        .expect("response");
    assert_eq!(response.status(), 201);
    assert_eq!(text(response).await.expect("body"), "new");
    let response = sender.send_request(get("/close")).await.expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await.expect("body"), "until close");
    // The chunked and interim answers left their connection reusable; the body that ended
    // with its connection did not.
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    let response = sender
        .send_request(get("/close-again"))
        .await
        .expect("response");
    assert_eq!(text(response).await.expect("body"), "until close");
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn h2_uploads_are_sent_with_their_length_or_chunked() {
    let (endpoint, seen) = scripted(ok).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut sender = h2(running.http).await;
    let known = Request::post("http://h2.example/known")
        .body(Full::new(Bytes::from_static(b"0123456789")))
        .expect("request");
    let response = sender.send_request(known).await.expect("response");
    assert_eq!(response.status(), 200);
    let mut streamed = h2(running.http).await;
    let parts = ["abc", "defgh"].map(|part| Ok::<_, hyper::Error>(Frame::data(Bytes::from(part))));
    let unknown = Request::post("http://h2.example/unknown")
        .body(StreamBody::new(futures::stream::iter(parts)))
        .expect("request");
    let response = streamed.send_request(unknown).await.expect("response");
    assert_eq!(response.status(), 200);
    let empty = Request::post("http://h2.example/empty")
        .body(Full::default())
        .expect("request");
    let response = sender.send_request(empty).await.expect("response");
    assert_eq!(response.status(), 200);
    let requests = seen.requests.lock().expect("lock").clone();
    let find = |path: &str| {
        requests
            .iter()
            .find(|request| request.starts_with(&format!("POST {path} ")))
            .cloned()
            .unwrap_or_default()
    };
    let known = find("/known");
    assert!(known.contains("content-length: 10\r\n"), "{known}");
    assert!(known.ends_with("\r\n\r\n0123456789"), "{known}");
    let unknown = find("/unknown");
    assert!(
        unknown.contains("transfer-encoding: chunked\r\n"),
        "{unknown}"
    );
    assert!(
        unknown.ends_with("\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"),
        "{unknown}"
    );
    let empty = find("/empty");
    assert!(empty.contains("content-length: 0\r\n"), "{empty}");
}

fn answers_once_then_closes(_line: &str) -> (Vec<u8>, bool) {
    (
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
        true,
    )
}

#[tokio::test]
async fn a_get_on_a_pooled_connection_the_endpoint_closed_is_sent_again() {
    let (endpoint, seen) = scripted(answers_once_then_closes).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut sender = h2(running.http).await;
    for path in ["/first", "/second"] {
        let response = sender.send_request(get(path)).await.expect("response");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(text(response).await.expect("body"), "ok");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

fn broken(line: &str) -> (Vec<u8>, bool) {
    let reply: &[u8] = if line.contains("/ambiguous") {
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\nok"
    } else if line.contains("/switch") {
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n"
    } else if line.contains("/short") {
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"
    } else {
        return (Vec::new(), false);
    };
    (reply.to_vec(), true)
}

#[tokio::test]
async fn broken_answers_are_502_silence_is_504_and_a_cut_body_resets_the_stream() {
    let (endpoint, _seen) = scripted(broken).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut sender = h2(running.http).await;
    for path in ["/ambiguous", "/switch"] {
        let response = sender.send_request(get(path)).await.expect("response");
        assert_eq!(response.status(), 502, "{path}");
    }
    let response = sender.send_request(get("/silent")).await.expect("response");
    assert_eq!(response.status(), 504);
    // The head and the first bytes may reach the client before the reset, or the reset first.
    if let Ok(response) = sender.send_request(get("/short")).await {
        assert_eq!(response.status(), 200);
        assert!(
            text(response).await.is_err(),
            "a cut body must not end cleanly"
        );
    }
    let errors = running.proxy.metrics().render();
    assert!(errors.contains("protocol"), "{errors}");
}

fn large(_line: &str) -> (Vec<u8>, bool) {
    let mut reply = b"HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\n".to_vec();
    reply.extend((0..1_048_576u32).map(|index| (index % 251) as u8));
    (reply, false)
}

#[tokio::test]
async fn a_1_mib_response_arrives_whole_through_small_client_windows() {
    let (endpoint, _seen) = scripted(large).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let stream = TcpStream::connect(running.http).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(16_384)
        .initial_connection_window_size(32_768)
        .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    tokio::spawn(connection);
    let response = sender.send_request(get("/large")).await.expect("response");
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(body.len(), 1_048_576);
    assert!(
        body.iter()
            .enumerate()
            .all(|(index, &byte)| byte == (index % 251) as u8),
        "the bytes arrive in order"
    );
}

#[tokio::test]
async fn a_thousand_requests_on_one_connection_all_succeed() {
    let (endpoint, seen) = scripted(ok).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let sender = h2::<Full<Bytes>>(running.http).await;
    let requests = (0..1000).map(|index| {
        let mut sender = sender.clone();
        async move {
            let response = sender
                .send_request(get(&format!("/many/{index}")))
                .await
                .expect("response");
            assert_eq!(response.status(), 200);
            assert_eq!(text(response).await.expect("body"), "ok");
        }
    });
    futures::future::join_all(requests).await;
    assert_eq!(seen.requests.lock().expect("lock").len(), 1000);
}

#[tokio::test]
async fn an_upload_to_a_slow_endpoint_is_held_back_by_flow_control() {
    const TOTAL: usize = 32 << 20;
    const PART: usize = 64 << 10;
    // The endpoint takes the head, reads nothing for a second, then reads the chunked body to
    // its end and answers. Its receive buffer is small, so that what the kernel holds for it
    // does not depend on the machine's autotuning limits: the bound below is then the proxy's
    // windows and its own send buffer.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(64 << 10).expect("SO_RCVBUF");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let listener = socket.listen(16).expect("listen");
    let endpoint = listener.local_addr().expect("addr");
    let got = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&got);
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buffer = vec![0u8; 1 << 16];
        let mut seen = Vec::new();
        while !seen.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.expect("head");
            seen.extend_from_slice(&buffer[..read]);
        }
        let head_end = seen
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .map_or(0, |at| at + 4);
        counter.fetch_add(seen.len() - head_end, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut tail = seen.clone();
        loop {
            if tail.ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
            let read = stream.read(&mut buffer).await.expect("body");
            assert!(read > 0, "the body ended early");
            counter.fetch_add(read, Ordering::SeqCst);
            tail.extend_from_slice(&buffer[..read]);
            let keep = tail.len().saturating_sub(16);
            tail.drain(..keep);
        }
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await;
    });
    // The endpoint's one-second pause blocks the proxy's writes for as long: the upstream
    // timeout must be longer, or the upload ends in a 504 instead of being held back.
    let (running, _manifests) = routed_with_timeout(endpoint, Duration::from_secs(10)).await;
    let mut sender = h2(running.http).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let puller = Arc::clone(&pulled);
    let parts = futures::stream::iter((0..TOTAL / PART).map(move |_| {
        puller.fetch_add(PART, Ordering::SeqCst);
        Ok::<_, hyper::Error>(Frame::data(Bytes::from(vec![b'u'; PART])))
    }));
    let upload = Request::post("http://h2.example/upload")
        .body(StreamBody::new(parts))
        .expect("request");
    let sending = tokio::spawn(async move { sender.send_request(upload).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let held = pulled.load(Ordering::SeqCst);
    assert!(
        held < 12 << 20,
        "the client was let to send {held} bytes while the endpoint read none"
    );
    let response = sending.await.expect("task").expect("response");
    assert_eq!(response.status(), 200);
    assert!(
        got.load(Ordering::SeqCst) >= TOTAL,
        "the whole body reached the endpoint"
    );
}
