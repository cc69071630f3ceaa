//! A tiny echo backend for the quickstart, the tests and the benchmark.
//!
//! Every response is `200 text/plain`: `backend NAME`, then `METHOD TARGET`, then the request
//! headers as `name: value` lines, sorted. `GET /bench` answers just `ok` (no echo work).

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Serves the echo backend named `name` on `listener` until dropped.
///
/// # Errors
/// Never returns on its own.
///
/// # Cancel safety
/// Dropping the future stops accepting.
pub async fn serve_demo(listener: TcpListener, name: String) -> io::Result<()> {
    let name: Arc<str> = name.into();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let name = Arc::clone(&name);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let name = Arc::clone(&name);
                async move { Ok::<_, Infallible>(echo(&name, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn echo(name: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() == "/bench" {
        return Response::new(Full::new(Bytes::from_static(b"ok")));
    }
    let mut text = format!("backend {name}\n{} {}\n", request.method(), request.uri());
    let mut headers: Vec<String> = request
        .headers()
        .iter()
        .map(|(header, value)| format!("{header}: {}", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    headers.sort();
    for line in headers {
        text.push_str(&line);
        text.push('\n');
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    if !body.is_empty() {
        text.push_str(&format!("body-bytes: {}\n", body.len()));
    }
    Response::new(Full::new(Bytes::from(text)))
}
