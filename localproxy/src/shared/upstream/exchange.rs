//! Upstream HTTP/1.1 connections: per-endpoint keep-alive pools, connecting with a timeout, and
//! sending one request with retries on other endpoints when connecting fails.
//!
//! A request is retried only when it provably never reached an upstream: the connection could
//! not be made, or a pooled connection was found closed before the request was written. A
//! bodyless request that a reused connection dropped before any response is retried once on a
//! fresh connection (the upstream closed an idle keep-alive connection as we wrote to it).
//! The pool type is per protocol so that an h2c pool can sit beside it later.

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::shared::config::ProxyConfig;
use crate::shared::error::ProxyError;
use crate::shared::metrics::Metrics;
use crate::shared::upstream::balancer::{Endpoint, InFlight, TargetPool};
use crate::shared::upstream::timeout_body::{BodyError, TimeoutBody};

/// A request's hold on its endpoint: the in-flight slot and the connection, returned to the
/// pool by [`Lease::release`] once the response body has been read to its end.
#[derive(Debug)]
pub struct Lease {
    in_flight: InFlight,
    sender: SendRequest<TimeoutBody>,
}

impl Lease {
    /// The response ended cleanly: the connection may carry another request.
    pub fn release(self) {
        self.in_flight.endpoint().pool.put(self.sender);
    }

    /// The response broke off: the connection is dropped.
    pub fn fail(self) {}
}

/// Counts `error` in the metrics and charges it to `endpoint`'s passive health (consecutive
/// failures eject it).
pub fn charge(endpoint: &Endpoint, error: ProxyError, config: &ProxyConfig, metrics: &Metrics) {
    metrics.count_upstream_error(error);
    endpoint.record_failure(config.eject_after_failures, config.ejection_time);
}

/// The endpoints one request tries: the ones whose connection failed, and how many rounds (one
/// endpoint taken each) it used. Rounds that found a dead pooled connection are not counted as
/// attempts but are bounded too.
#[derive(Debug)]
pub struct Attempts<'a> {
    pool: &'a TargetPool,
    config: &'a ProxyConfig,
    failed: Vec<usize>,
    rounds: usize,
}

impl<'a> Attempts<'a> {
    /// No endpoint of `pool` tried yet.
    pub fn new(pool: &'a TargetPool, config: &'a ProxyConfig) -> Self {
        Self {
            pool,
            config,
            failed: Vec::new(),
            rounds: 0,
        }
    }

    /// The index of the next endpoint to use: power of two choices among those not failed,
    /// `None` when none is left or the rounds ran out.
    pub fn next_endpoint(&mut self) -> Option<usize> {
        self.rounds += 1;
        if self.rounds > 32 + self.config.connect_attempts {
            return None;
        }
        self.pool.pick(&self.failed)
    }

    /// Connecting to endpoint `index` failed (counted and charged to it); `false` once
    /// `connect_attempts` endpoints failed.
    pub fn connect_failed(&mut self, index: usize, metrics: &Metrics) -> bool {
        charge(
            &self.pool.endpoints[index],
            ProxyError::UpstreamConnect,
            self.config,
            metrics,
        );
        self.failed.push(index);
        self.failed.len() < self.config.connect_attempts
    }
}

/// Sends `request` to an endpoint of `pool`, trying up to `config.connect_attempts` endpoints
/// when connecting fails.
///
/// # Errors
/// [`ProxyError::NoReadyEndpoint`] for an empty pool, [`ProxyError::UpstreamConnect`] when no
/// endpoint could be reached, [`ProxyError::UpstreamTimeout`] when the response head did not
/// come in time, [`ProxyError::BodyTimeout`] when the client stalled its body, and
/// [`ProxyError::UpstreamProtocol`] when the upstream broke the exchange.
///
/// # Cancel safety
/// Dropping the future drops the request; the connection in use is closed, never pooled.
pub async fn send(
    pool: &TargetPool,
    mut request: Request<TimeoutBody>,
    config: &ProxyConfig,
    metrics: &Metrics,
) -> Result<(Response<Incoming>, Lease), ProxyError> {
    if pool.endpoints.is_empty() {
        return Err(ProxyError::NoReadyEndpoint);
    }
    let mut attempts = Attempts::new(pool, config);
    let mut stale_retry_left = true;
    loop {
        let Some(index) = attempts.next_endpoint() else {
            return Err(ProxyError::UpstreamConnect);
        };
        let endpoint = &pool.endpoints[index];
        let in_flight = endpoint.start_request();
        let (mut sender, reused) = match endpoint.pool.take() {
            Some(sender) => (sender, true),
            None => match connect(endpoint, config).await {
                Ok(sender) => (sender, false),
                Err(()) if attempts.connect_failed(index, metrics) => continue,
                Err(()) => return Err(ProxyError::UpstreamConnect),
            },
        };
        if sender.ready().await.is_err() {
            // A pooled connection that closed while idle: the request was never written.
            continue;
        }
        // A reused connection can die after the request was written: the backend may already
        // have acted on it, so only idempotent methods (RFC 9110 9.2.2) are sent again.
        let replay = (reused
            && stale_retry_left
            && request.body().is_end_stream()
            && request.method().is_idempotent())
        .then(|| replayable(&request));
        let sent = tokio::time::timeout(config.upstream_timeout, sender.try_send_request(request));
        match sent.await {
            Ok(Ok(response)) => {
                endpoint.record_success();
                return Ok((response, Lease { in_flight, sender }));
            }
            Ok(Err(mut failed)) => {
                if let Some(unsent) = failed.take_message() {
                    request = unsent;
                    continue;
                }
                let error = failed.into_error();
                if let Some(rebuilt) = replay.filter(|_| !error.is_user()) {
                    stale_retry_left = false;
                    request = rebuilt;
                    continue;
                }
                let cause = classify(&error);
                if cause == ProxyError::UpstreamProtocol {
                    charge(endpoint, cause, config, metrics);
                }
                tracing::debug!(endpoint = %endpoint.addr, %error, "upstream exchange failed");
                return Err(cause);
            }
            Err(_elapsed) => {
                charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                return Err(ProxyError::UpstreamTimeout);
            }
        }
    }
}

async fn connect(
    endpoint: &Endpoint,
    config: &ProxyConfig,
) -> Result<SendRequest<TimeoutBody>, ()> {
    let stream =
        match tokio::time::timeout(config.connect_timeout, TcpStream::connect(endpoint.addr)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(endpoint = %endpoint.addr, %error, "upstream connect failed");
                return Err(());
            }
            Err(_elapsed) => {
                tracing::debug!(endpoint = %endpoint.addr, "upstream connect timed out");
                return Err(());
            }
        };
    // Latency matters more than packet count for proxied requests.
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|error| tracing::debug!(%error, "upstream handshake failed"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}

/// A copy of a bodyless request, to resend it when a reused connection turned out dead.
fn replayable(request: &Request<TimeoutBody>) -> Request<TimeoutBody> {
    let mut copy = Request::new(TimeoutBody::empty());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn classify(error: &hyper::Error) -> ProxyError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(body) = current.downcast_ref::<BodyError>() {
            return match body {
                BodyError::Timeout => ProxyError::BodyTimeout,
                BodyError::Io(_) => ProxyError::BadRequest("the request body broke off"),
            };
        }
        source = current.source();
    }
    ProxyError::UpstreamProtocol
}
