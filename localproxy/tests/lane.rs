//! The HTTP/1.1 lane over real sockets: which requests it keeps and which it hands to hyper
//! (mid-connection, nothing lost), pipelining, and every response framing an endpoint can use,
//! from a scripted endpoint that answers with exact bytes.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Ep, Manifests, Running, backend, ingress, proxy, raw, service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_proxy::ProxyConfig;

/// An endpoint that answers each request with `reply(request line)`: the bytes to send and
/// whether to close the connection after them. Counts the connections it accepted.
async fn scripted(reply: fn(&str) -> (Vec<u8>, bool)) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(stream, reply));
        }
    });
    (addr, accepted)
}

async fn answer(mut stream: TcpStream, reply: fn(&str) -> (Vec<u8>, bool)) {
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
        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
        let body = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|length| length.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while pending.len() < end + 4 + body {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => pending.extend_from_slice(&buffer[..read]),
            }
        }
        pending.drain(..end + 4 + body);
        let (bytes, close) = reply(head.lines().next().unwrap_or_default());
        if stream.write_all(&bytes).await.is_err() || close {
            return;
        }
    }
}

/// A proxy routing every request to `endpoint`.
async fn routed_to(endpoint: SocketAddr) -> (Running, Manifests) {
    routed_with(
        endpoint,
        ProxyConfig {
            upstream_timeout: Duration::from_secs(2),
            ..ProxyConfig::default()
        },
    )
    .await
}

/// A proxy with `config` routing every request to `endpoint`.
async fn routed_with(endpoint: SocketAddr, config: ProxyConfig) -> (Running, Manifests) {
    let mut documents = service("target", &[Ep::ready(endpoint)]);
    documents.push(ingress(
        "lane",
        "  defaultBackend:\n    service:\n      name: target\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(config).await;
    manifests.apply(&running.proxy);
    (running, manifests)
}

/// Sends `requests` in one write on one connection and reads until the proxy closes it.
async fn exchange(addr: SocketAddr, requests: &str) -> String {
    raw(addr, requests.as_bytes()).await
}

/// The status codes of every response in `text`, in order.
fn statuses(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text[at + 9..].get(..3)?.parse().ok())
        .collect()
}

fn handoffs(running: &Running) -> u64 {
    running.proxy.metrics().lane_handoffs.get()
}

#[tokio::test]
async fn plain_requests_stay_in_the_lane_and_the_rest_is_handed_to_hyper_mid_connection() {
    let (running, _manifests) = routed_to(backend("echo").await).await;
    let text = exchange(
        running.http,
        "GET /first HTTP/1.1\r\nHost: a\r\n\r\nPOST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&text), [200, 200, 200], "{text}");
    let order: Vec<usize> = ["GET /first", "POST /second", "GET /third"]
        .iter()
        .map(|line| text.find(line).expect("each request reached the backend"))
        .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
    assert!(text.contains("body-bytes: 3"), "{text}");
    assert_eq!(handoffs(&running), 0, "plain requests never leave the lane");

    // A chunked upload in the middle of a keep-alive connection moves it to hyper with the
    // bytes already read; both requests are answered.
    let text = exchange(
        running.http,
        "GET /lane HTTP/1.1\r\nHost: a\r\n\r\nPOST /hyper HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nxyz\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&text), [200, 200], "{text}");
    assert!(
        text.contains("GET /lane") && text.contains("POST /hyper"),
        "{text}"
    );
    assert!(text.contains("body-bytes: 3"), "{text}");
    assert_eq!(handoffs(&running), 1);

    for handed_off in [
        "GET /old HTTP/1.0\r\nHost: a\r\n\r\n",
        "GET http://a/absolute HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /a/../b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
    ] {
        let before = handoffs(&running);
        let text = exchange(running.http, handed_off).await;
        assert!(
            statuses(&text).iter().all(|status| *status < 500),
            "{handed_off}: {text}"
        );
        assert_eq!(handoffs(&running), before + 1, "{handed_off}");
    }
}

#[tokio::test]
async fn response_framings_pass_through_and_keep_connections_alive() {
    let (endpoint, accepted) = scripted(|line| {
        let bytes: &[u8] = match line.split(' ').nth(1).unwrap_or_default() {
            "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n",
            "/interim" => b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ninterim",
            "/empty" => b"HTTP/1.1 204 No Content\r\n\r\n",
            "/head" => b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
            "/not-modified" => b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nheadbody!",
        };
        (bytes.to_vec(), false)
    })
    .await;
    let (running, _manifests) = routed_to(endpoint).await;
    let text = exchange(
        running.http,
        "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\nGET /interim HTTP/1.1\r\nHost: a\r\n\r\nHEAD /head HTTP/1.1\r\nHost: a\r\n\r\nGET /empty HTTP/1.1\r\nHost: a\r\n\r\nGET /not-modified HTTP/1.1\r\nHost: a\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&text), [200, 200, 200, 204, 304, 200], "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(
        lower.contains("transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n"),
        "{text}"
    );
    assert!(
        !text.contains("103") && text.contains("\r\n\r\ninterim"),
        "interim responses are dropped: {text}"
    );
    // The HEAD response keeps its Content-Length and has no body: the next response follows.
    assert!(
        text.contains("Content-Length: 9\r\n\r\nHTTP/1.1 204"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nheadbody!"), "{text}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one upstream connection carried all six"
    );
    assert_eq!(handoffs(&running), 0);
}

#[tokio::test]
async fn a_body_delimited_by_close_closes_the_client_connection() {
    let (endpoint, _) =
        scripted(|_| (b"HTTP/1.1 200 OK\r\n\r\nuntil the end".to_vec(), true)).await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("the proxy closes the connection")
        .expect("read");
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nuntil the end"), "{text}");
}

#[tokio::test]
async fn ambiguous_or_broken_upstream_heads_are_502_and_the_client_connection_survives() {
    let (endpoint, _) = scripted(|line| {
        let bytes: &[u8] = match line.split(' ').nth(1).unwrap_or_default() {
            "/both" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "/two-lengths" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "/gzip-last" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "/signed-length" => b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
            "/upgrade" => b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
            _ => b"NOT HTTP AT ALL\r\n\r\n",
        };
        (bytes.to_vec(), true)
    })
    .await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut requests = String::new();
    for path in [
        "/both",
        "/two-lengths",
        "/gzip-last",
        "/signed-length",
        "/upgrade",
        "/garbage",
    ] {
        requests.push_str(&format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"));
    }
    requests.push_str("GET /garbage HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let text = exchange(running.http, &requests).await;
    assert_eq!(statuses(&text), [502; 7], "{text}");
}

#[tokio::test]
async fn a_body_that_breaks_off_aborts_the_client_connection() {
    let (endpoint, _) = scripted(|line| {
        let bytes: &[u8] = match line.split(' ').nth(1).unwrap_or_default() {
            "/bad-chunk" => {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"
            }
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
        };
        (bytes.to_vec(), true)
    })
    .await;
    let (running, _manifests) = routed_to(endpoint).await;
    // Framing broken in the bytes that came with the head: nothing went out yet, so the
    // client gets a 502 and its connection goes on.
    let text = exchange(
        running.http,
        "GET /bad-chunk HTTP/1.1\r\nHost: a\r\n\r\nGET /short HTTP/1.1\r\nHost: a\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    // The short body: its head went out, the body is cut where the endpoint closed, and the
    // client connection closes with it, so the third request is never answered.
    assert_eq!(statuses(&text), [502, 200], "{text}");
    assert!(text.ends_with("\r\n\r\nonly this"), "{text}");
}

#[tokio::test]
async fn hop_by_hop_response_headers_are_dropped_and_stray_bytes_retire_the_connection() {
    let (endpoint, accepted) = scripted(|line| {
        let bytes: &[u8] = match line.split(' ').nth(1).unwrap_or_default() {
            "/stray" => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSURPRISE",
            "/hop" => b"HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok",
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        };
        (bytes.to_vec(), false)
    })
    .await;
    let (running, _manifests) = routed_to(endpoint).await;
    let text = exchange(
        running.http,
        "GET /hop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("x-kept: yes"), "{text}");
    assert!(
        !lower.contains("x-internal") && !lower.contains("keep-alive"),
        "{text}"
    );
    let before = accepted.load(Ordering::SeqCst);
    let text = exchange(
        running.http,
        "GET /stray HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&text), [200, 200], "{text}");
    assert!(!text.contains("SURPRISE"), "{text}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        before + 1,
        "the connection that sent stray bytes was not reused"
    );
}

/// An endpoint that accepts connections and never reads from them (a wedged pod).
async fn black_hole() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// An endpoint that reads a request head, answers 413 and closes without reading the body.
async fn refuses_bodies() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large")
                    .await;
                let _ = stream.shutdown().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            });
        }
    });
    addr
}

/// Sends `head` and then `body` from another task (the proxy may stop reading it) and returns
/// the first bytes of the answer, or `"<no response>"` after `wait`.
async fn upload(addr: SocketAddr, head: String, body: Vec<u8>, wait: Duration) -> String {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let _ = writer.write_all(&body).await;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut out = vec![0u8; 4096];
    match tokio::time::timeout(wait, reader.read(&mut out)).await {
        Ok(Ok(read)) => String::from_utf8_lossy(&out[..read]).into_owned(),
        Ok(Err(error)) => format!("<read error {error}>"),
        Err(_) => "<no response>".to_owned(),
    }
}

#[tokio::test]
async fn an_endpoint_that_stops_reading_gets_504_within_the_upstream_timeout() {
    let (running, _manifests) = routed_to(black_hole().await).await;
    let body = vec![b'x'; 64 << 20];
    let head = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let started = std::time::Instant::now();
    let answer = upload(running.http, head, body, Duration::from_secs(8)).await;
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_endpoint_that_answers_before_taking_the_body_is_heard() {
    let (running, _manifests) = routed_to(refuses_bodies().await).await;
    let body = vec![b'x'; 16 << 20];
    let head = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let answer = upload(running.http, head, body, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // The client's body was not read to its end: the connection closes after the answer.
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let errors = running.proxy.metrics().render();
    assert!(
        !errors.contains("kind=\"protocol\""),
        "the endpoint was charged a failure: {errors}"
    );
}

#[tokio::test]
async fn loose_chunk_syntax_and_odd_statuses_from_an_endpoint_are_502() {
    let (endpoint, _) = scripted(|line| {
        let bytes: &[u8] = match line.split(' ').nth(1).unwrap_or_default() {
            "/bare-lf" => {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\nabc\n0\r\n\r\n"
            }
            "/cr-in-extension" => {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a\rb\r\ndefg\r\n0\r\n\r\n"
            }
            _ => b"HTTP/1.1 042 Odd\r\nContent-Length: 2\r\n\r\nok",
        };
        (bytes.to_vec(), true)
    })
    .await;
    let (running, _manifests) = routed_to(endpoint).await;
    let text = exchange(
        running.http,
        "GET /bare-lf HTTP/1.1\r\nHost: a\r\n\r\nGET /cr-in-extension HTTP/1.1\r\nHost: a\r\n\r\nGET /odd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&text), [502, 502, 502], "{text}");
}

#[tokio::test]
async fn an_error_answer_on_a_connection_that_closes_says_so() {
    let (running, _manifests) = routed_to(common::dead_addr().await).await;
    let text = exchange(
        running.http,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 502"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    // The body was never read: the answer says the connection closes and arrives intact.
    let answer = upload(
        running.http,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n".to_owned(),
        vec![b'x'; 100_000],
        Duration::from_secs(3),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

/// A WebSocket-ish endpoint: `/chat` upgrades (first says `hi`, then echoes what it gets in
/// upper case until the client closes), `/h2c` answers 101 to h2c, anything else gets a 400.
/// Records every request head it reads.
async fn websocket_endpoint() -> (SocketAddr, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let heads: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                loop {
                    let mut head = Vec::new();
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut buffer[..1]).await {
                            Ok(1) => head.push(buffer[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    log.lock().expect("log").push(head.clone());
                    if head.starts_with("get /chat ") {
                        let _ = stream
                            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nhi")
                            .await;
                        while let Ok(read @ 1..) = stream.read(&mut buffer).await {
                            let upper = buffer[..read].to_ascii_uppercase();
                            if stream.write_all(&upper).await.is_err() {
                                return;
                            }
                        }
                        let _ = stream.shutdown().await;
                        return;
                    }
                    let answer: &[u8] = if head.starts_with("get /h2c ") {
                        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
                    } else {
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno"
                    };
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, heads)
}

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Reads until `want` has arrived (5 s at most).
async fn read_until(stream: &mut TcpStream, want: &str) -> String {
    let mut text = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&text).contains(want) {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
            Ok(Ok(read @ 1..)) => text.extend_from_slice(&buffer[..read]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[tokio::test]
async fn a_websocket_upgrade_becomes_a_tunnel_both_ways() {
    let (endpoint, heads) = websocket_endpoint().await;
    let (running, _manifests) = routed_to(endpoint).await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(upgrade_request("/chat").as_bytes())
        .await
        .expect("write");
    let head = read_until(&mut stream, "\r\n\r\nhi").await;
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        lower.contains("upgrade: websocket\r\n") && lower.contains("connection: upgrade\r\n"),
        "{head}"
    );
    assert!(lower.contains("sec-websocket-accept: "), "{head}");
    for message in ["hello", "again"] {
        stream.write_all(message.as_bytes()).await.expect("write");
        let echoed = read_until(&mut stream, &message.to_ascii_uppercase()).await;
        assert_eq!(echoed, message.to_ascii_uppercase());
    }
    // The client closes its side: the endpoint sees the end, closes, and so does the proxy.
    stream.shutdown().await.expect("shutdown");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("the tunnel closes")
        .expect("read");
    let seen = heads.lock().expect("log")[0].clone();
    assert!(
        seen.contains("connection: upgrade\r\n") && seen.contains("upgrade: websocket\r\n"),
        "{seen}"
    );
    assert!(
        seen.contains("sec-websocket-key: dghlihnhbxbszsbub25jzq==\r\n"),
        "{seen}"
    );
    assert!(!seen.contains("keep-alive"), "{seen}");
    assert_eq!(handoffs(&running), 0);
}

#[tokio::test]
async fn refused_and_mismatched_upgrades() {
    let (endpoint, heads) = websocket_endpoint().await;
    let (running, _manifests) = routed_to(endpoint).await;
    // Refused with a 400: relayed, and the client connection carries on.
    let mut requests = upgrade_request("/refuse");
    requests.push_str("GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let text = exchange(running.http, &requests).await;
    assert_eq!(statuses(&text), [400, 400], "{text}");
    // A 101 that switches to something other than the WebSocket asked for: 502.
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(upgrade_request("/h2c").as_bytes())
        .await
        .expect("write");
    let text = read_until(&mut stream, "502 Bad Gateway\n").await;
    assert_eq!(statuses(&text), [502], "{text}");
    // An h2c upgrade would tunnel past the router: hyper forwards it without the upgrade, and
    // the endpoint's 101 to a request that asked for none is a 502 there too.
    let before = handoffs(&running);
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(b"GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
        .await
        .expect("write");
    let text = read_until(&mut stream, "502 Bad Gateway\n").await;
    assert_eq!(handoffs(&running), before + 1);
    assert_eq!(statuses(&text), [502], "{text}");
    let last = heads
        .lock()
        .expect("log")
        .last()
        .cloned()
        .unwrap_or_default();
    assert!(
        last.starts_with("get /h2c ") && !last.contains("upgrade"),
        "{last}"
    );
}

#[tokio::test]
async fn an_idle_tunnel_is_closed() {
    let (endpoint, _) = websocket_endpoint().await;
    let (running, _manifests) = routed_with(
        endpoint,
        ProxyConfig {
            upgrade_idle_timeout: Duration::from_millis(300),
            ..ProxyConfig::default()
        },
    )
    .await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream
        .write_all(upgrade_request("/chat").as_bytes())
        .await
        .expect("write");
    let head = read_until(&mut stream, "\r\n\r\nhi").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("the idle tunnel is closed")
        .expect("read");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
