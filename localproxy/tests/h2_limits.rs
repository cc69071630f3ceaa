//! The HTTP/2 limits of weir-proxy's hyper path against hostile clients speaking raw frames
//! (prior knowledge on the plain listener, which the lane hands to hyper): the advertised
//! settings, a rapid-reset flood (CVE-2023-44487) and a CONTINUATION flood (2024's
//! CONTINUATION flood advisories) are each ended with a GOAWAY naming the reason, and the
//! proxy keeps serving other clients.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::frames::*;
use common::{Ep, Manifests, Running, backend, ingress, parse, proxy, raw, service};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use weir_proxy::ProxyConfig;

/// An HPACK block for `GET http://limits.example/` from static-table entries and one literal.
fn request_block() -> Vec<u8> {
    let authority = b"limits.example";
    // :method GET (2), :scheme http (6), :path / (4), then :authority (1) as a literal
    // without indexing.
    let mut block = vec![
        0x82,
        0x86,
        0x84,
        0x01,
        u8::try_from(authority.len()).unwrap(),
    ];
    block.extend(authority);
    block
}

/// Reads frames until a GOAWAY (its error code) or the end of the connection (`None`), for at
/// most 10 s (a proxy that buffers the flood instead fails the test here).
async fn goaway_or_close(stream: &mut TcpStream) -> Option<u32> {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(received) = next_frame(stream).await {
            if received.kind == GOAWAY && received.payload.len() >= 8 {
                let code = &received.payload[4..8];
                return Some(u32::from_be_bytes([code[0], code[1], code[2], code[3]]));
            }
        }
        None
    })
    .await
    .expect("the proxy ends the connection within 10 s")
}

/// A proxy routing every request to an echo backend.
async fn serving() -> (Running, Manifests) {
    let endpoint = backend("limits").await;
    let mut documents = service("target", &[Ep::ready(endpoint)]);
    documents.push(ingress(
        "limits",
        "  defaultBackend:\n    service:\n      name: target\n      port:\n        number: 80\n",
    ));
    let manifests = Manifests::new(&documents);
    let running = proxy(ProxyConfig::default()).await;
    manifests.apply(&running.proxy);
    (running, manifests)
}

/// A raw HTTP/2 connection that has sent the preface and an empty SETTINGS frame.
async fn connect(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(PREFACE).await.expect("preface");
    stream
        .write_all(&frame(SETTINGS, 0, 0, &[]))
        .await
        .expect("settings");
    stream
}

/// Another client still gets its answer.
async fn still_serves(running: &Running) {
    let reply = parse(
        &raw(
            running.http,
            b"GET / HTTP/1.1\r\nHost: limits.example\r\nConnection: close\r\n\r\n",
        )
        .await,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn the_server_settings_bound_concurrent_streams_and_the_header_list() {
    let (running, _manifests) = serving().await;
    let mut stream = connect(running.http).await;
    let settings = tokio::time::timeout(Duration::from_secs(5), next_frame(&mut stream))
        .await
        .expect("the server's SETTINGS in time")
        .expect("a frame");
    assert_eq!(settings.kind, SETTINGS);
    let values: Vec<(u16, u32)> = settings
        .payload
        .chunks_exact(6)
        .map(|entry| {
            (
                u16::from_be_bytes([entry[0], entry[1]]),
                u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]),
            )
        })
        .collect();
    assert!(
        values.contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, 256)),
        "{values:?}"
    );
    assert!(
        values
            .iter()
            .any(|(id, value)| *id == SETTINGS_MAX_HEADER_LIST_SIZE && *value <= 64 * 1024),
        "{values:?}"
    );
}

#[tokio::test]
async fn a_rapid_reset_flood_is_ended_with_a_goaway() {
    let (running, _manifests) = serving().await;
    let mut stream = connect(running.http).await;
    let block = request_block();
    let mut flood = Vec::new();
    for index in 0..5_000u32 {
        let id = 2 * index + 1;
        flood.extend(frame(HEADERS, END_HEADERS | END_STREAM, id, &block));
        flood.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
    }
    // The proxy may close before the whole flood is written; that is the point.
    let _ = stream.write_all(&flood).await;
    let ended = goaway_or_close(&mut stream).await;
    assert_eq!(ended, Some(ENHANCE_YOUR_CALM), "GOAWAY ENHANCE_YOUR_CALM");
    still_serves(&running).await;
}

#[tokio::test]
async fn a_continuation_flood_is_ended_before_it_is_buffered() {
    let (running, _manifests) = serving().await;
    let mut stream = connect(running.http).await;
    let mut first = request_block();
    // A header field that never ends: literal, new name, 16 KiB name and value lengths.
    first.extend([0x00, 0x7f, 0x80, 0x80, 0x01]);
    stream
        .write_all(&frame(HEADERS, END_STREAM, 1, &first))
        .await
        .expect("headers");
    let junk = vec![b'a'; 16 * 1024];
    let (mut reader, mut writer) = stream.into_split();
    // 64 MiB of CONTINUATION frames, none with END_HEADERS.
    let writing = tokio::spawn(async move {
        for _ in 0..4_096 {
            if writer
                .write_all(&frame(CONTINUATION, 0, 1, &junk))
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    });
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(received) = next_frame(&mut reader).await {
            if received.kind == GOAWAY {
                return Some(received.payload);
            }
        }
        None
    })
    .await
    .expect("the proxy ends the connection within 10 s");
    let code = ended
        .filter(|payload| payload.len() >= 8)
        .map(|payload| u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]));
    // A header block that outgrows the header list limit across frames is COMPRESSION_ERROR;
    // too many CONTINUATION frames, ENHANCE_YOUR_CALM.
    assert!(
        matches!(code, Some(COMPRESSION_ERROR | ENHANCE_YOUR_CALM)),
        "GOAWAY COMPRESSION_ERROR or ENHANCE_YOUR_CALM: {code:?}"
    );
    writing.abort();
    still_serves(&running).await;
}
