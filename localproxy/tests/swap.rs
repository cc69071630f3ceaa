//! Hot swap under load: many keep-alive clients, 100 configuration swaps, zero failed requests.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{Ep, Manifests, backend, ingress, proxy, service};
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use weir_proxy::ProxyConfig;
use weir_proxy::source::manifests::ManifestSource;

const CLIENTS: usize = 48;
const SWAPS: usize = 100;

fn routes(extra: bool) -> String {
    let mut spec = "  rules:\n    - host: swap.example\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: app\n                port:\n                  number: 80\n".to_owned();
    if extra {
        spec.push_str("          - path: /extra\n            pathType: Prefix\n            backend:\n              service:\n                name: app\n                port:\n                  number: 80\n");
    }
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zero_failed_requests_across_100_swaps_under_load() {
    let (a, b, c) = (backend("a").await, backend("b").await, backend("c").await);
    // Two configurations that differ in routes and in endpoints: every swap removes an
    // endpoint that in-flight requests may be using, and adds another.
    let first = Manifests::new(
        &[
            service("app", &[Ep::ready(a), Ep::ready(b)]),
            vec![ingress("swap", &routes(false))],
        ]
        .concat(),
    );
    let second = Manifests::new(
        &[
            service("app", &[Ep::ready(b), Ep::ready(c)]),
            vec![ingress("swap", &routes(true))],
        ]
        .concat(),
    );
    let models = [&first, &second].map(|manifests| {
        ManifestSource::new(manifests.dir.clone(), None)
            .load()
            .expect("load")
    });
    let running = proxy(ProxyConfig::default()).await;
    running.proxy.apply(&models[0]);

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
        let addr = running.http;
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                    .await
                    .expect("handshake");
            tokio::spawn(connection);
            let mut sent = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let path = if (client + sent).is_multiple_of(2) {
                    "/"
                } else {
                    "/x"
                };
                let request = Request::get(path)
                    .header("host", "swap.example")
                    .body(Empty::new())
                    .expect("request");
                sent += 1;
                let outcome = async {
                    sender.ready().await?;
                    let response = sender.send_request(request).await?;
                    let status = response.status();
                    let body = response.into_body().collect().await?.to_bytes();
                    Ok::<_, hyper::Error>((status, body))
                };
                match outcome.await {
                    Ok((status, body)) if status == 200 && body.starts_with(b"backend ") => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("client {client}: {other:?}");
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = ok.load(Ordering::Relaxed);
    for swap in 0..SWAPS {
        running.proxy.apply(&models[(swap + 1) % 2]);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let during = ok.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client task");
    }
    assert_eq!(running.proxy.snapshot().version, SWAPS as u64 + 1);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed requests across swaps"
    );
    assert!(
        during > SWAPS * 2,
        "too little load during the swaps: {during} requests"
    );
    eprintln!("{during} requests during {SWAPS} swaps, 0 failed");
}
