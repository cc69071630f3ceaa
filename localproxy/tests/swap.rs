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

/// A `/other` path of the swap.example rule, to Service `other`.
const OTHER_PATH: &str = "          - path: /other\n            pathType: Prefix\n            backend:\n              service:\n                name: other\n                port:\n                  number: 80\n";

/// The swap.example Ingress: `/` to Service `app`, and with `extra` also `/extra`.
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

    let load = Load::start(running.http);
    let during = load
        .across(|| async {
            for swap in 0..SWAPS {
                running.proxy.apply(&models[(swap + 1) % 2]);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
        .await;
    assert_eq!(running.proxy.snapshot().version, SWAPS as u64 + 1);
    eprintln!("{during} requests during {SWAPS} swaps, 0 failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoint_only_swaps_keep_the_router_and_unchanged_pools_and_fail_no_request() {
    let (a, b, c) = (backend("a").await, backend("b").await, backend("c").await);
    let other = backend("other").await;
    // Two configurations with the same routes; `app` moves between endpoints, `other` stays.
    let models = [[a, b], [b, c]].map(|endpoints| {
        let manifests = Manifests::new(
            &[
                service("app", &endpoints.map(Ep::ready)),
                service("other", &[Ep::ready(other)]),
                vec![ingress("swap", &(routes(false) + OTHER_PATH))],
            ]
            .concat(),
        );
        ManifestSource::new(manifests.dir.clone(), None)
            .load()
            .expect("load")
    });
    let running = proxy(ProxyConfig::default()).await;
    running.proxy.apply(&models[0]);
    let first = running.proxy.snapshot();
    let key = |service: &str| weir_model::TargetGroupKey {
        namespace: "default".into(),
        service: service.into(),
        port: 80,
    };

    let load = Load::start(running.http);
    let during = load
        .across(|| async {
            for swap in 0..SWAPS {
                running.proxy.apply_endpoints(&models[(swap + 1) % 2]);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
        .await;
    let last = running.proxy.snapshot();
    assert_eq!(last.version, SWAPS as u64 + 1);
    assert!(
        Arc::ptr_eq(&first.router, &last.router),
        "the router is kept"
    );
    assert!(Arc::ptr_eq(&first.certificates, &last.certificates));
    assert!(
        Arc::ptr_eq(
            first.pool(&key("other")).expect("a pool"),
            last.pool(&key("other")).expect("a pool")
        ),
        "an unchanged pool is kept"
    );
    // SWAPS is even: the last swap applied the first model again, as a new pool.
    let (before, after) = (first.pool(&key("app")), last.pool(&key("app")));
    assert!(!Arc::ptr_eq(
        before.expect("a pool"),
        after.expect("a pool")
    ));
    let addrs: std::collections::BTreeSet<_> = after
        .expect("a pool")
        .endpoints
        .iter()
        .map(|endpoint| endpoint.addr)
        .collect();
    assert_eq!(addrs, [a, b].into());
    running.proxy.apply_endpoints(&models[1]);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..50 {
        seen.insert(
            common::get(running.http, "swap.example", "/")
                .await
                .backend()
                .map(str::to_owned),
        );
    }
    assert_eq!(seen, [Some("b".into()), Some("c".into())].into());
    assert_eq!(
        running.proxy.metrics().endpoint_reloads.get(),
        SWAPS as u64 + 1
    );
    eprintln!("{during} requests during {SWAPS} endpoint-only swaps, 0 failed");
}

/// Keep-alive clients sending requests until stopped, counting answers from a backend and
/// everything else.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(addr: std::net::SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let mut clients = Vec::new();
        for client in 0..CLIENTS {
            let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
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
        Self {
            stop,
            ok,
            failed,
            clients,
        }
    }

    /// Runs `swaps` under the load, stops it and returns the requests answered meanwhile;
    /// panics on any failed request.
    async fn across<F, Fut>(self, swaps: F) -> usize
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = self.ok.load(Ordering::Relaxed);
        swaps().await;
        let during = self.ok.load(Ordering::Relaxed) - before;
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.await.expect("client task");
        }
        assert_eq!(
            self.failed.load(Ordering::Relaxed),
            0,
            "failed requests across swaps"
        );
        assert!(
            during > SWAPS * 2,
            "too little load during the swaps: {during} requests"
        );
        during
    }
}
