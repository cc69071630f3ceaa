//! The lane's side towards endpoints: one request's exchange with connect retries and a single
//! replay on a stale connection.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::Client;
use super::request::LaneRequest;
use super::response::{Http1Head, RelayError, relay};
use super::tunnel::tunnel;
use crate::shared::error::ProxyError;
use crate::shared::state::Shared;
use crate::shared::upstream::exchange::{Attempts, Checkout, charge};
use crate::shared::upstream::response_head::{Asked, HeadError, read_response};
use crate::shared::upstream::timeout_body::BodyAllowance;

/// How one request ended on the client connection.
#[derive(Debug)]
pub(super) enum Delivered {
    /// The whole response went out; `reusable`: the client connection can carry another
    /// request.
    Response {
        /// The response status.
        status: u16,
        /// From the request head to the response head.
        elapsed: Duration,
        /// Whether the client connection stays open.
        reusable: bool,
        /// Whether the request body was read to its end (an endpoint may answer before).
        body_read: bool,
    },
    /// The response head went out but its body broke off: the client connection closes.
    Aborted {
        /// The response status.
        status: u16,
        /// From the request head to the response head.
        elapsed: Duration,
    },
    /// Nothing went out; the client gets `error`.
    Failed {
        /// Why.
        error: ProxyError,
        /// Whether the request body was read to its end, so the next request can follow.
        body_read: bool,
    },
}

/// Sends the request (the client's `upstream_head`, then `body_left` more body bytes read
/// from it) to an endpoint of `request.pool` and relays the response to the client.
///
/// A `101` to a WebSocket upgrade turns both connections into a tunnel until either side
/// closes or it idles for the upgrade idle timeout.
///
/// Every write to the endpoint and every wait for it is bounded by the upstream timeout (504).
/// An endpoint that stops taking the body may have answered early (413 and the like): that
/// answer is passed on and the client connection closes after it.
///
/// Connecting is tried on up to `connect_attempts` endpoints. A request that did not go out
/// whole is sent again; one that went out on a reused connection that then closed without a
/// byte of response is sent once more on another connection when it is idempotent and has no
/// body (the endpoint closed an idle connection as we wrote to it), as in
/// [`crate::shared::upstream::forward::send`].
pub(super) async fn forward<S>(
    shared: &Shared,
    request: &LaneRequest,
    body_left: u64,
    started: Instant,
    client: &mut Client<S>,
) -> Delivered
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = &shared.config;
    let metrics = &shared.metrics;
    let Client {
        stream: client,
        input,
        upstream_head,
        response_head,
        deadline,
        upstream_deadline,
    } = client;
    let failed = |error: ProxyError| Delivered::Failed {
        error,
        body_read: body_left == 0,
    };
    let mut attempts = Attempts::new(&request.pool, config);
    let mut stale_retry_left = request.idempotent && request.body_len == 0;
    let asked = Asked {
        is_head: request.is_head,
        websocket: request.websocket,
    };
    loop {
        let Checkout {
            index,
            in_flight: _in_flight,
            mut connection,
            reused,
        } = match attempts.checkout(metrics).await {
            Ok(checkout) => checkout,
            Err(error) => return failed(error),
        };
        let endpoint = &request.pool.endpoints[index];
        let sent = upstream_deadline
            .limit(
                config.upstream_timeout,
                connection.stream.write_all(upstream_head),
            )
            .await;
        match sent {
            Some(Ok(())) => {}
            Some(Err(_)) => {
                // The request did not go out whole, so no endpoint can have acted on it.
                if reused || attempts.connect_failed(index, metrics) {
                    continue;
                }
                return failed(ProxyError::UpstreamConnect);
            }
            None => {
                charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                return failed(ProxyError::UpstreamTimeout);
            }
        }
        let mut left = body_left;
        // The endpoint stopped taking the body: it may have answered early (413 and the like)
        // and closed; that answer is what the client gets.
        let mut answered_early = false;
        let mut allowance = BodyAllowance::new(config.body_timeout, config.min_body_rate);
        while left > 0 {
            deadline.set(allowance.next_deadline());
            let read = tokio::select! {
                biased;
                read = input.read_body(client, left) => Some(read),
                () = deadline.passed() => None,
            };
            let part = match read {
                Some(Ok(part)) if !part.is_empty() => part,
                Some(_) => {
                    return Delivered::Failed {
                        error: ProxyError::BadRequest("the request body broke off"),
                        body_read: false,
                    };
                }
                None => {
                    return Delivered::Failed {
                        error: ProxyError::BodyTimeout,
                        body_read: false,
                    };
                }
            };
            left -= part.len() as u64;
            allowance.received(part.len());
            let written = upstream_deadline
                .limit(config.upstream_timeout, connection.stream.write_all(part))
                .await;
            match written {
                Some(Ok(())) => {}
                Some(Err(_)) => {
                    answered_early = true;
                    break;
                }
                None => {
                    charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                    return Delivered::Failed {
                        error: ProxyError::UpstreamTimeout,
                        body_read: left == 0,
                    };
                }
            }
        }
        let body_read = left == 0;
        let mut sink = Http1Head(response_head);
        let head = upstream_deadline.limit(
            config.upstream_timeout,
            read_response(
                &mut connection,
                asked,
                request.close || !body_read || shared.is_shutting_down(),
                &mut sink,
            ),
        );
        let response = match head.await {
            Some(Ok(response)) => response,
            // (A request with a body is never replayed, so an early answer never is either.)
            Some(Err(HeadError::Closed)) if reused && stale_retry_left => {
                stale_retry_left = false;
                continue;
            }
            Some(Err(error)) => {
                tracing::debug!(endpoint = %endpoint.addr, %error, "upstream exchange failed");
                charge(endpoint, ProxyError::UpstreamProtocol, config, metrics);
                return Delivered::Failed {
                    error: ProxyError::UpstreamProtocol,
                    body_read,
                };
            }
            None => {
                charge(endpoint, ProxyError::UpstreamTimeout, config, metrics);
                return Delivered::Failed {
                    error: ProxyError::UpstreamTimeout,
                    body_read,
                };
            }
        };
        endpoint.record_success();
        let status = response.status;
        let elapsed = started.elapsed();
        if response.is_tunnel() {
            let endpoint_first = &connection.buffer[response.head_len..connection.filled];
            response_head.extend_from_slice(endpoint_first);
            connection.filled = 0;
            let early = input.move_pending_to_front();
            let tunnelled = tunnel(
                client,
                &mut input.buffer,
                early,
                &mut connection,
                response_head,
                (deadline, config.upgrade_idle_timeout),
            )
            .await;
            if let Err(error) = tunnelled {
                tracing::debug!(endpoint = %endpoint.addr, %error, "WebSocket tunnel ended");
            }
            return Delivered::Response {
                status,
                elapsed,
                reusable: false,
                body_read: true,
            };
        }
        return match relay(
            &mut connection,
            &response,
            client,
            response_head,
            (upstream_deadline, config.upstream_timeout),
        )
        .await
        {
            Ok(upstream_reusable) => {
                if upstream_reusable && !answered_early {
                    endpoint.pool.put(connection);
                }
                Delivered::Response {
                    status,
                    elapsed,
                    reusable: !response.closes_client,
                    body_read,
                }
            }
            Err(RelayError::Unsent(error)) => {
                tracing::debug!(endpoint = %endpoint.addr, %error, "upstream response unusable");
                charge(endpoint, ProxyError::UpstreamProtocol, config, metrics);
                Delivered::Failed {
                    error: ProxyError::UpstreamProtocol,
                    body_read,
                }
            }
            Err(RelayError::Broken(error)) => {
                tracing::debug!(endpoint = %endpoint.addr, %error, "response relay broke off");
                Delivered::Aborted { status, elapsed }
            }
        };
    }
}
