//! What RFC 9113 asks of an HTTP/2 server, checked against weir's driver with raw frames over
//! prior knowledge (the checks a conformance tool such as h2spec makes): the preface, frames on
//! the wrong kind of stream, stream states, flow control and window overflow, settings values,
//! CONTINUATION interleaving, request validation (each malformed request a stream error that
//! leaves the connection serving), `content-length` against the DATA received (never a
//! request of another length towards the endpoint), and the floods a client may try.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::frames::*;
use common::{Ep, Manifests, Running, backend, ingress, proxy, service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_proxy::ProxyConfig;

/// A literal field without indexing, with a literal name (lengths under 127).
fn literal(name: &str, value: &str) -> Vec<u8> {
    let mut bytes = vec![0x00, u8::try_from(name.len()).expect("short")];
    bytes.extend(name.as_bytes());
    bytes.push(u8::try_from(value.len()).expect("short"));
    bytes.extend(value.as_bytes());
    bytes
}

/// `:method GET`, `:scheme http`, `:path /` (static entries 2, 6, 4), `:authority`.
fn get_block() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x84];
    block.extend(literal(":authority", "rules.example"));
    block
}

/// `:method POST` (static entry 3), `:scheme http`, `:path /`, `:authority` and `fields`.
fn post_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut block = vec![0x83, 0x86, 0x84];
    block.extend(literal(":authority", "rules.example"));
    for (name, value) in fields {
        block.extend(literal(name, value));
    }
    block
}

/// A received frame.
/// The first frame `wanted` accepts, within 5 s; `None` if the connection ends first.
async fn until(stream: &mut TcpStream, wanted: impl Fn(&Received) -> bool) -> Option<Received> {
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(received) = next_frame(stream).await {
            if wanted(&received) {
                return Some(received);
            }
        }
        None
    })
    .await
    .expect("an answer within 5 s")
}

/// The code of the GOAWAY that ends the connection (`None`: closed without one).
async fn goaway(stream: &mut TcpStream) -> Option<u32> {
    until(stream, |received| received.kind == GOAWAY)
        .await
        .map(|received| received.code())
}

/// The code of the RST_STREAM for `id` (panics on a GOAWAY: a stream error must not end the
/// connection).
async fn reset(stream: &mut TcpStream, id: u32) -> u32 {
    let received = until(stream, |received| {
        received.kind == GOAWAY || (received.kind == RST_STREAM && received.stream == id)
    })
    .await
    .expect("a frame");
    assert_eq!(
        received.kind, RST_STREAM,
        "a stream error only: {received:?}"
    );
    received.code()
}

/// The `:status` of a response HEADERS block as the proxy encodes it (an indexed static entry
/// or a literal with name index 8).
fn status_of(block: &[u8]) -> u16 {
    match block[0] {
        0x88 => 200,
        0x89 => 204,
        0x8a => 206,
        0x8b => 304,
        0x8c => 400,
        0x8d => 404,
        0x8e => 500,
        _ => {
            let start = block.iter().position(|&byte| byte == 3).expect("length 3") + 1;
            std::str::from_utf8(&block[start..start + 3])
                .expect("digits")
                .parse()
                .expect("status")
        }
    }
}

/// The status answering stream `id`, or the RST_STREAM code it got instead.
async fn answer(stream: &mut TcpStream, id: u32) -> Result<u16, u32> {
    let received = until(stream, |received| {
        received.stream == id && matches!(received.kind, HEADERS | RST_STREAM)
    })
    .await
    .expect("an answer");
    match received.kind {
        HEADERS => Ok(status_of(&received.payload)),
        _ => Err(received.code()),
    }
}

/// A raw connection: preface, empty SETTINGS, and the server's SETTINGS read.
async fn connect(addr: SocketAddr) -> TcpStream {
    connect_with(addr, &[]).await
}

async fn connect_with(addr: SocketAddr, settings: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(PREFACE).await.expect("preface");
    stream
        .write_all(&frame(SETTINGS, 0, 0, settings))
        .await
        .expect("settings");
    let first = next_frame(&mut stream)
        .await
        .expect("the server's SETTINGS");
    assert_eq!(first.kind, SETTINGS);
    stream
}

/// A proxy routing everything to `endpoint`.
async fn routed_to(endpoint: SocketAddr, config: ProxyConfig) -> (Running, Manifests) {
    let mut documents = service("target", &[Ep::ready(endpoint)]);
    documents.push(ingress(
        "rules",
        "  defaultBackend:\n    service:\n      name: target\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(config).await;
    manifests.apply(&running.proxy);
    (running, manifests)
}

async fn echoing() -> (Running, Manifests) {
    routed_to(backend("rules").await, ProxyConfig::default()).await
}

/// An endpoint that accepts connections, counts them and the bytes it got, and never answers.
async fn silent() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                while let Ok(read) = stream.read(&mut buffer).await {
                    if read == 0 {
                        return;
                    }
                    counter.fetch_add(read, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, received)
}

/// A stream still gets its answer on the same connection.
async fn still_answers(stream: &mut TcpStream, id: u32) {
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, id, &get_block()))
        .await
        .expect("write");
    assert_eq!(answer(stream, id).await, Ok(200), "stream {id}");
}

#[tokio::test]
async fn a_bad_preface_ends_the_connection() {
    let (running, _manifests) = echoing().await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    // The first line is the preface's, so the connection is HTTP/2's; the rest is not.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(b"\r\nXX\r\n\r\n").await.expect("write");
    assert_eq!(goaway(&mut stream).await, Some(PROTOCOL_ERROR));
}

#[tokio::test]
async fn the_first_frame_must_be_settings() {
    let (running, _manifests) = echoing().await;
    let mut stream = TcpStream::connect(running.http).await.expect("connect");
    stream.write_all(PREFACE).await.expect("preface");
    stream
        .write_all(&frame(PING, 0, 0, &[0; 8]))
        .await
        .expect("ping");
    assert_eq!(goaway(&mut stream).await, Some(PROTOCOL_ERROR));
}

#[tokio::test]
async fn settings_are_acknowledged_and_pings_answered_with_their_payload() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    let ack = until(&mut stream, |received| received.kind == SETTINGS).await;
    assert_eq!(ack.map(|ack| ack.flags), Some(ACK));
    stream
        .write_all(&frame(PING, 0, 0, b"12345678"))
        .await
        .expect("ping");
    let pong = until(&mut stream, |received| received.kind == PING)
        .await
        .expect("a PING ack");
    assert_eq!((pong.flags, &pong.payload[..]), (ACK, &b"12345678"[..]));
}

#[tokio::test]
async fn frames_that_need_a_stream_on_stream_0_and_connection_frames_on_a_stream_are_errors() {
    let (running, _manifests) = echoing().await;
    let cases: [(&str, Vec<u8>); 5] = [
        ("DATA on 0", frame(DATA, 0, 0, b"x")),
        ("HEADERS on 0", frame(HEADERS, END_HEADERS, 0, &get_block())),
        ("SETTINGS on 1", frame(SETTINGS, 0, 1, &[])),
        ("PING on 1", frame(PING, 0, 1, &[0; 8])),
        ("GOAWAY on 1", frame(GOAWAY, 0, 1, &[0; 8])),
    ];
    for (case, bytes) in cases {
        let mut stream = connect(running.http).await;
        stream.write_all(&bytes).await.expect("write");
        assert_eq!(goaway(&mut stream).await, Some(PROTOCOL_ERROR), "{case}");
    }
}

#[tokio::test]
async fn frames_on_idle_even_or_decreasing_streams_are_connection_errors() {
    let (running, _manifests) = echoing().await;
    let cases: [(&str, Vec<u8>); 4] = [
        ("DATA on an idle stream", frame(DATA, 0, 1, b"x")),
        (
            "RST_STREAM on an idle stream",
            frame(RST_STREAM, 0, 1, &[0, 0, 0, 8]),
        ),
        (
            "WINDOW_UPDATE on an idle stream",
            frame(WINDOW_UPDATE, 0, 1, &[0, 0, 0, 1]),
        ),
        (
            "HEADERS on an even stream",
            frame(HEADERS, END_HEADERS | END_STREAM, 2, &get_block()),
        ),
    ];
    for (case, bytes) in cases {
        let mut stream = connect(running.http).await;
        stream.write_all(&bytes).await.expect("write");
        assert_eq!(goaway(&mut stream).await, Some(PROTOCOL_ERROR), "{case}");
    }
    let mut stream = connect(running.http).await;
    still_answers(&mut stream, 5).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 3, &get_block()))
        .await
        .expect("write");
    assert_eq!(
        goaway(&mut stream).await,
        Some(PROTOCOL_ERROR),
        "stream id 3 after 5"
    );
}

#[tokio::test]
async fn data_after_the_client_ended_its_stream_is_stream_closed() {
    let (endpoint, _received) = silent().await;
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()))
        .await
        .expect("write");
    stream
        .write_all(&frame(DATA, 0, 1, b"late"))
        .await
        .expect("write");
    assert_eq!(reset(&mut stream, 1).await, STREAM_CLOSED);
}

#[tokio::test]
async fn headers_on_a_closed_stream_end_the_connection() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    still_answers(&mut stream, 1).await;
    // Let the response end (END_STREAM both ways: closed).
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()))
        .await
        .expect("write");
    assert_eq!(goaway(&mut stream).await, Some(STREAM_CLOSED));
}

#[tokio::test]
async fn a_header_block_interrupted_by_another_frame_is_a_protocol_error() {
    let (running, _manifests) = echoing().await;
    let block = get_block();
    let (first, rest) = block.split_at(4);
    let interruptions = [
        frame(HEADERS, END_HEADERS | END_STREAM, 3, &get_block()),
        frame(CONTINUATION, END_HEADERS, 3, rest),
        frame(PING, 0, 0, &[0; 8]),
    ];
    for interruption in interruptions {
        let mut stream = connect(running.http).await;
        stream
            .write_all(&frame(HEADERS, END_STREAM, 1, first))
            .await
            .expect("write");
        stream.write_all(&interruption).await.expect("write");
        assert_eq!(goaway(&mut stream).await, Some(PROTOCOL_ERROR));
    }
    // Split correctly, the same block is a request.
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_STREAM, 1, first))
        .await
        .expect("write");
    stream
        .write_all(&frame(CONTINUATION, END_HEADERS, 1, rest))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 1).await, Ok(200));
}

#[tokio::test]
async fn settings_values_out_of_range_are_connection_errors() {
    let (running, _manifests) = echoing().await;
    let cases = [
        ("ENABLE_PUSH 2", setting(0x2, 2), PROTOCOL_ERROR),
        (
            "INITIAL_WINDOW_SIZE 2^31",
            setting(0x4, 1 << 31),
            FLOW_CONTROL_ERROR,
        ),
        ("MAX_FRAME_SIZE 100", setting(0x5, 100), PROTOCOL_ERROR),
    ];
    for (case, payload, code) in cases {
        let mut stream = connect(running.http).await;
        stream
            .write_all(&frame(SETTINGS, 0, 0, &payload))
            .await
            .expect("write");
        assert_eq!(goaway(&mut stream).await, Some(code), "{case}");
    }
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(SETTINGS, 0, 0, &[0; 5]))
        .await
        .expect("write");
    assert_eq!(
        goaway(&mut stream).await,
        Some(FRAME_SIZE_ERROR),
        "a SETTINGS of 5 bytes"
    );
}

#[tokio::test]
async fn a_frame_larger_than_our_max_frame_size_is_a_frame_size_error() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 1, &vec![0u8; 16_385]))
        .await
        .expect("write");
    assert_eq!(goaway(&mut stream).await, Some(FRAME_SIZE_ERROR));
}

#[tokio::test]
async fn window_updates_past_2_31_minus_1_are_flow_control_errors() {
    let (endpoint, _received) = silent().await;
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()))
        .await
        .expect("write");
    let most = ((1u32 << 31) - 1).to_be_bytes();
    stream
        .write_all(&frame(WINDOW_UPDATE, 0, 1, &most))
        .await
        .expect("write");
    assert_eq!(
        reset(&mut stream, 1).await,
        FLOW_CONTROL_ERROR,
        "a stream's window"
    );
    stream
        .write_all(&frame(WINDOW_UPDATE, 0, 0, &most))
        .await
        .expect("write");
    assert_eq!(
        goaway(&mut stream).await,
        Some(FLOW_CONTROL_ERROR),
        "the connection's"
    );
}

#[tokio::test]
async fn headers_whose_stream_depends_on_itself_end_the_connection() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    // PRIORITY flag: exclusive bit and stream dependency 1 (itself), weight 16.
    let mut payload = 1u32.to_be_bytes().to_vec();
    payload.push(15);
    payload.extend(get_block());
    stream
        .write_all(&frame(
            HEADERS,
            END_HEADERS | END_STREAM | 0x20,
            1,
            &payload,
        ))
        .await
        .expect("write");
    // A stream error by RFC 9113 section 5.3.1, but its header block was never decoded.
    assert_eq!(goaway(&mut stream).await, Some(PROTOCOL_ERROR));
}

#[tokio::test]
async fn a_window_update_of_zero_is_a_protocol_error() {
    let (endpoint, _received) = silent().await;
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()))
        .await
        .expect("write");
    stream
        .write_all(&frame(WINDOW_UPDATE, 0, 1, &[0; 4]))
        .await
        .expect("write");
    assert_eq!(reset(&mut stream, 1).await, PROTOCOL_ERROR, "on a stream");
    stream
        .write_all(&frame(WINDOW_UPDATE, 0, 0, &[0; 4]))
        .await
        .expect("write");
    assert_eq!(
        goaway(&mut stream).await,
        Some(PROTOCOL_ERROR),
        "on the connection"
    );
}

#[tokio::test]
async fn data_beyond_the_stream_window_is_a_flow_control_error() {
    // The endpoint never reads: the body is not consumed, so the window is not reopened.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = listener.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 1, &post_block(&[])))
        .await
        .expect("write");
    let (mut reader, mut writer) = stream.into_split();
    // 64 MiB, far beyond the window and what the sockets between hold, ignoring every window.
    let flood = tokio::spawn(async move {
        let chunk = frame(DATA, 0, 1, &vec![b'x'; 16_384]);
        for _ in 0..4096 {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        let mut head = [0u8; 9];
        loop {
            reader.read_exact(&mut head).await.expect("a frame");
            let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0u8; length];
            reader.read_exact(&mut payload).await.expect("a payload");
            if head[3] == RST_STREAM || head[3] == GOAWAY {
                let at = if head[3] == GOAWAY { 4 } else { 0 };
                break (
                    head[3],
                    u32::from_be_bytes(payload[at..at + 4].try_into().unwrap()),
                );
            }
        }
    })
    .await
    .expect("an error within 20 s");
    assert_eq!(code, (RST_STREAM, FLOW_CONTROL_ERROR));
    flood.abort();
    held.abort();
}

#[tokio::test]
async fn padding_counts_against_the_window_and_is_given_back() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 1, &post_block(&[])))
        .await
        .expect("write");
    // 5,000 frames of one byte and 255 bytes of padding: 1.25 MiB of window, more than a
    // stream's, for 5,000 bytes; the proxy must give the padding's window back.
    let mut padded = vec![255u8, b'x'];
    padded.extend([0u8; 255]);
    for _ in 0..5_000 {
        stream
            .write_all(&frame(DATA, PADDED, 1, &padded))
            .await
            .expect("write");
    }
    stream
        .write_all(&frame(DATA, END_STREAM, 1, b""))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 1).await, Ok(200));
}

#[tokio::test]
async fn malformed_requests_are_stream_errors_that_leave_the_connection_serving() {
    let (running, _manifests) = echoing().await;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let with = |extra: &[u8]| {
        let mut block = get_block();
        block.extend(extra);
        block
    };
    cases.push(("uppercase name", with(&literal("X-Upper", "1"))));
    cases.push(("connection", with(&literal("connection", "close"))));
    cases.push(("keep-alive", with(&literal("keep-alive", "5"))));
    cases.push((
        "transfer-encoding",
        with(&literal("transfer-encoding", "chunked")),
    ));
    cases.push(("upgrade", with(&literal("upgrade", "h2c"))));
    cases.push(("te other than trailers", with(&literal("te", "gzip"))));
    cases.push(("value with a leading space", with(&literal("x-a", " b"))));
    cases.push(("value with a trailing tab", with(&literal("x-a", "b\t"))));
    cases.push(("value with LF", with(&literal("x-a", "b\nc"))));
    cases.push(("value with NUL", with(&literal("x-a", "b\0c"))));
    cases.push(("unknown pseudo-header", with(&literal(":foo", "bar"))));
    cases.push(("response pseudo-header", with(&literal(":status", "200"))));
    cases.push(("repeated :path", with(&[0x84])));
    let mut pseudo_late = vec![0x82, 0x86];
    pseudo_late.extend(literal("x-a", "b"));
    pseudo_late.push(0x84);
    pseudo_late.extend(literal(":authority", "rules.example"));
    cases.push(("pseudo-header after a field", pseudo_late));
    let mut no_path = vec![0x82, 0x86];
    no_path.extend(literal(":authority", "rules.example"));
    cases.push(("no :path", no_path));
    let mut empty_path = vec![0x82, 0x86];
    empty_path.extend(literal(":path", ""));
    empty_path.extend(literal(":authority", "rules.example"));
    cases.push(("empty :path", empty_path));
    cases.push((
        "differing content-lengths",
        post_block(&[("content-length", "1"), ("content-length", "2")]),
    ));
    let mut stream = connect(running.http).await;
    let mut id = 1;
    for (case, block) in cases {
        stream
            .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, id, &block))
            .await
            .expect("write");
        assert_eq!(answer(&mut stream, id).await, Err(PROTOCOL_ERROR), "{case}");
        id += 2;
    }
    still_answers(&mut stream, id).await;
    // `te: trailers` is allowed, and cookies are fine.
    let block = with(&[literal("te", "trailers"), literal("cookie", "a=1")].concat());
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, id + 2, &block))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, id + 2).await, Ok(200));
}

#[tokio::test]
async fn a_header_list_over_the_limit_is_431_and_the_connection_goes_on() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    // 20 fields of 1,000 bytes: 20 KiB against the 16 KiB limit, across CONTINUATION frames.
    let mut block = get_block();
    let value = "v".repeat(1000);
    for index in 0..20 {
        let name = format!("x-big-{index:02}");
        block.extend([0x00, u8::try_from(name.len()).expect("short")]);
        block.extend(name.as_bytes());
        // 1000 in a 7-bit prefix integer: 127, then 873 = 0x69 + 0x80, 0x06.
        block.extend([0x7f, 0xe9, 0x06]);
        block.extend(value.as_bytes());
    }
    let (first, rest) = block.split_at(16_000);
    stream
        .write_all(&frame(HEADERS, END_STREAM, 1, first))
        .await
        .expect("write");
    stream
        .write_all(&frame(CONTINUATION, END_HEADERS, 1, rest))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 1).await, Ok(431));
    still_answers(&mut stream, 3).await;
}

#[tokio::test]
async fn connect_is_refused_with_405() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect(running.http).await;
    // :method CONNECT, :authority only.
    let mut block = literal(":method", "CONNECT");
    block.extend(literal(":authority", "rules.example:443"));
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 1, &block))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 1).await, Ok(405));
}

/// The requests a scripted endpoint got whole (head and `content-length` body), and the
/// connections it accepted.
async fn recording() -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let whole = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let (counter, accepted) = (Arc::clone(&whole), Arc::clone(&connections));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buffer = vec![0u8; 4096];
                loop {
                    if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length: "))
                            .and_then(|value| value.trim().parse().ok())
                            .unwrap_or(0);
                        if pending.len() >= end + 4 + length {
                            pending.drain(..end + 4 + length);
                            counter.fetch_add(1, Ordering::SeqCst);
                            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if stream.write_all(reply).await.is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => pending.extend_from_slice(&buffer[..read]),
                    }
                }
            });
        }
    });
    (addr, whole, connections)
}

#[tokio::test]
async fn a_body_of_another_length_than_its_content_length_never_reaches_the_endpoint_whole() {
    let (endpoint, whole, connections) = recording().await;
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    // A declared body that never comes: reset before anything is forwarded.
    let block = post_block(&[("content-length", "5")]);
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &block))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 1).await, Err(PROTOCOL_ERROR), "no DATA");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing was forwarded"
    );
    // Shorter and longer than declared.
    let block = post_block(&[("content-length", "10")]);
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 3, &block))
        .await
        .expect("write");
    stream
        .write_all(&frame(DATA, END_STREAM, 3, b"hello"))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 3).await, Err(PROTOCOL_ERROR), "short");
    let block = post_block(&[("content-length", "3")]);
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 5, &block))
        .await
        .expect("write");
    stream
        .write_all(&frame(DATA, END_STREAM, 5, b"hello"))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 5).await, Err(PROTOCOL_ERROR), "long");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        whole.load(Ordering::SeqCst),
        0,
        "the endpoint got no whole request"
    );
    // The right length goes through.
    let block = post_block(&[("content-length", "5")]);
    stream
        .write_all(&frame(HEADERS, END_HEADERS, 7, &block))
        .await
        .expect("write");
    stream
        .write_all(&frame(DATA, END_STREAM, 7, b"hello"))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 7).await, Ok(200));
    assert_eq!(whole.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_zero_initial_window_holds_the_body_until_a_window_update() {
    let (running, _manifests) = echoing().await;
    let mut stream = connect_with(running.http, &setting(0x4, 0)).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()))
        .await
        .expect("write");
    assert_eq!(answer(&mut stream, 1).await, Ok(200));
    // No DATA while the window is 0.
    let early = tokio::time::timeout(Duration::from_millis(300), async {
        until(&mut stream, |received| received.kind == DATA).await
    })
    .await;
    assert!(early.is_err(), "DATA sent without window: {early:?}");
    stream
        .write_all(&frame(WINDOW_UPDATE, 0, 1, &100_000u32.to_be_bytes()))
        .await
        .expect("write");
    let mut body = Vec::new();
    loop {
        let data = until(&mut stream, |received| {
            received.kind == DATA && received.stream == 1
        })
        .await
        .expect("DATA");
        body.extend(&data.payload);
        if data.flags & END_STREAM != 0 {
            break;
        }
    }
    assert!(
        String::from_utf8_lossy(&body).starts_with("backend rules\n"),
        "{body:?}"
    );
}

#[tokio::test]
async fn more_than_256_concurrent_streams_are_refused() {
    let (endpoint, _received) = silent().await;
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    let mut burst = Vec::new();
    for index in 0..257u32 {
        burst.extend(frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            2 * index + 1,
            &get_block(),
        ));
    }
    stream.write_all(&burst).await.expect("write");
    assert_eq!(reset(&mut stream, 513).await, REFUSED_STREAM);
}

#[tokio::test]
async fn empty_data_frames_in_a_flood_end_the_connection() {
    let (endpoint, _received) = silent().await;
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    let mut flood = frame(HEADERS, END_HEADERS, 1, &post_block(&[]));
    for _ in 0..1000 {
        flood.extend(frame(DATA, 0, 1, b""));
    }
    let _ = stream.write_all(&flood).await;
    assert_eq!(goaway(&mut stream).await, Some(ENHANCE_YOUR_CALM));
}

#[tokio::test]
async fn a_ping_flood_from_a_client_that_never_reads_is_ended() {
    let (running, _manifests) = echoing().await;
    let stream = connect(running.http).await;
    let (reader, mut writer) = stream.into_split();
    let flood = tokio::spawn(async move {
        let ping = frame(PING, 0, 0, &[7; 8]);
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 4096)
            .collect();
        for _ in 0..1024 {
            if writer.write_all(&burst).await.is_err() {
                return;
            }
        }
    });
    // Not reading while the flood fills every buffer between us.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut reader = tokio::io::BufReader::with_capacity(1 << 16, reader);
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(received) = next_frame(&mut reader).await {
            if received.kind == GOAWAY {
                return Some(received.code());
            }
        }
        None
    })
    .await
    .expect("the connection ends within 20 s");
    assert_eq!(code, Some(ENHANCE_YOUR_CALM));
    flood.abort();
}

#[tokio::test]
async fn an_idle_connection_gets_goaway_no_error_after_the_keepalive_timeout() {
    let config = ProxyConfig {
        keepalive_timeout: Duration::from_millis(300),
        ..ProxyConfig::default()
    };
    let (running, _manifests) = routed_to(backend("rules").await, config).await;
    let mut stream = connect(running.http).await;
    still_answers(&mut stream, 1).await;
    let started = std::time::Instant::now();
    assert_eq!(goaway(&mut stream).await, Some(NO_ERROR));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        next_frame(&mut stream).await.is_none(),
        "closed after the GOAWAY"
    );
}

#[tokio::test]
async fn shutdown_sends_goaway_and_finishes_the_open_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                if stream.read(&mut buffer).await.unwrap_or(0) > 0 {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow")
                        .await;
                }
            });
        }
    });
    let (running, _manifests) = routed_to(endpoint, ProxyConfig::default()).await;
    let mut stream = connect(running.http).await;
    stream
        .write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &get_block()))
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.proxy.shutdown();
    let away = until(&mut stream, |received| received.kind == GOAWAY)
        .await
        .expect("a GOAWAY");
    assert_eq!(away.code(), NO_ERROR);
    assert_eq!(&away.payload[..4], &1u32.to_be_bytes(), "last stream id 1");
    assert_eq!(
        answer(&mut stream, 1).await,
        Ok(200),
        "the open stream finishes"
    );
    let data = until(&mut stream, |received| received.kind == DATA).await;
    assert_eq!(data.map(|data| data.payload), Some(b"slow".to_vec()));
    let rest = tokio::time::timeout(Duration::from_secs(3), next_frame(&mut stream)).await;
    assert!(
        matches!(rest, Ok(None)),
        "closed after the last stream: {rest:?}"
    );
}
