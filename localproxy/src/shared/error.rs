//! Why a request failed, and the one place that maps a failure to an HTTP status.

use http::StatusCode;

/// A request the proxy answers itself instead of forwarding a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The request is malformed or ambiguous (bad path, missing or conflicting host, smuggling
    /// shapes).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// No route matched and the default action is "not found".
    #[error("no route")]
    NoRoute,
    /// The route's target group has no endpoint that accepts new requests.
    #[error("no ready endpoint")]
    NoReadyEndpoint,
    /// Every endpoint tried refused or timed out the connection, or the upstream broke the
    /// exchange.
    #[error("upstream connect failure")]
    UpstreamConnect,
    /// The upstream accepted the request but broke the exchange before a response.
    #[error("upstream protocol error")]
    UpstreamProtocol,
    /// The upstream did not answer in time.
    #[error("upstream timeout")]
    UpstreamTimeout,
    /// The request line alone is longer than the largest request head.
    #[error("request target too long")]
    UriTooLong,
    /// The client did not finish a request head within the header-read timeout.
    #[error("request head timeout")]
    HeadTimeout,
    /// The client stopped sending its request body.
    #[error("request body timeout")]
    BodyTimeout,
    /// A TLS request for a host whose certificate (Gateway listener, Ingress `tls` entry) is
    /// not the one the connection's SNI chose (RFC 9110 section 15.5.20).
    #[error("misdirected request")]
    Misdirected,
}

impl ProxyError {
    /// The status a client gets for this failure.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::NoReadyEndpoint => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamConnect | Self::UpstreamProtocol => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadTimeout | Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Misdirected => StatusCode::MISDIRECTED_REQUEST,
        }
    }

    /// Whether the client connection closes after the error response: the request was
    /// malformed, or its body was not read to the end, so the next request could not be found.
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Self::BadRequest(_) | Self::UriTooLong | Self::HeadTimeout | Self::BodyTimeout
        )
    }

    /// A low-cardinality label for metrics and logs.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::NoRoute => "no_route",
            Self::NoReadyEndpoint => "no_ready_endpoint",
            Self::UpstreamConnect => "connect",
            Self::UpstreamProtocol => "protocol",
            Self::UpstreamTimeout => "timeout",
            Self::UriTooLong => "uri_too_long",
            Self::HeadTimeout => "head_timeout",
            Self::BodyTimeout => "body_timeout",
            Self::Misdirected => "misdirected",
        }
    }
}

/// The one-line body of an error response: `"404 Not Found\n"`.
pub fn error_text(status: StatusCode) -> String {
    format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_causes_map_to_the_documented_statuses() {
        for (error, status) in [
            (ProxyError::BadRequest("x"), 400),
            (ProxyError::NoRoute, 404),
            (ProxyError::Misdirected, 421),
            (ProxyError::NoReadyEndpoint, 503),
            (ProxyError::UpstreamConnect, 502),
            (ProxyError::UpstreamProtocol, 502),
            (ProxyError::UpstreamTimeout, 504),
            (ProxyError::UriTooLong, 414),
            (ProxyError::HeadTimeout, 408),
            (ProxyError::BodyTimeout, 408),
        ] {
            assert_eq!(error.status().as_u16(), status, "{error}");
        }
    }
}
