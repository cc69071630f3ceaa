//! Header rewriting between client and upstream: hop-by-hop removal and `X-Forwarded-*`.

use std::io::Write as _;
use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection, never the message (RFC 9110 section 7.6.1), plus
/// `Expect`, which the proxy answers itself.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// Whether `name` (any case) is a hop-by-hop header of [`remove_hop_by_hop`]'s fixed list.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP
        .iter()
        .any(|hop| hop.as_str().eq_ignore_ascii_case(name))
}

/// Whether `name` is one of the `X-Forwarded-*` headers the proxy sets, in any case and also
/// spelled with `_` for `-`: CGI-style stacks map both spellings to one variable, so a client's
/// `X_Forwarded_For` must not pass for the proxy's own header.
pub fn is_forwarded_header(name: &str) -> bool {
    [
        &X_FORWARDED_FOR,
        &X_FORWARDED_PROTO,
        &X_FORWARDED_HOST,
        &X_FORWARDED_PORT,
    ]
    .iter()
    .any(|header| {
        let canonical = header.as_str().as_bytes();
        name.len() == canonical.len()
            && name.bytes().zip(canonical).all(|(byte, &want)| {
                byte.to_ascii_lowercase() == want || (byte == b'_' && want == b'-')
            })
    })
}

/// Whether `name` (any case) is `X-Forwarded-For`, whose values the proxy extends.
pub fn is_forwarded_for(name: &str) -> bool {
    X_FORWARDED_FOR.as_str().eq_ignore_ascii_case(name)
}

/// Appends the `X-Forwarded-For` value to send to `out`: the `previous` lines (one
/// comma-separated list, RFC 9110 section 5.3; blank ones dropped) followed by the client
/// address.
pub fn push_forwarded_for<'a>(
    out: &mut Vec<u8>,
    previous: impl Iterator<Item = &'a str>,
    client: IpAddr,
) {
    for value in previous.map(str::trim).filter(|value| !value.is_empty()) {
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b", ");
    }
    match client {
        IpAddr::V4(address) => {
            for (index, octet) in address.octets().into_iter().enumerate() {
                if index > 0 {
                    out.push(b'.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        // Writing into a Vec cannot fail.
        IpAddr::V6(address) => {
            let _ = write!(out, "{address}");
        }
    }
}

/// Appends `value` in decimal: the hot path's number formatting, without `fmt`.
pub fn push_decimal(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A `Content-Length` value as RFC 9110 section 8.6 has it: one or more digits and nothing
/// else (no sign, no spaces, no list); `None` for anything else or a length beyond `u64`.
pub fn content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Whether a `Transfer-Encoding` value's last coding is `chunked` (RFC 9112 section 6.3: only
/// then does the coding say where the body ends).
pub fn last_coding_is_chunked(value: &[u8]) -> bool {
    let last = value
        .rsplit(|&byte| byte == b',')
        .next()
        .unwrap_or_default();
    last.trim_ascii().eq_ignore_ascii_case(b"chunked")
}

/// Appends one `name: value` header line of an HTTP/1.1 head to `out`.
pub fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The non-empty, trimmed elements of a comma-separated header value (`Connection` tokens).
pub fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&byte| byte == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|element| !element.is_empty())
}

/// Removes hop-by-hop headers, including every header the `Connection` header names.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the (few) names present is cheaper than nine hashed removals, and most
    // messages carry none of them.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// What the proxy knows about the client side of a request.
#[derive(Clone, Copy, Debug)]
pub struct Forwarded<'a> {
    /// The client's address.
    pub client_ip: IpAddr,
    /// Whether the client connected with TLS.
    pub tls: bool,
    /// The host the client asked for, as sent.
    pub host: &'a str,
    /// The port the client connected to.
    pub port: u16,
}

/// Sets `X-Forwarded-Proto`, `-Host` and `-Port` (replacing client-sent values) and appends the
/// client address to `X-Forwarded-For` (keeping the chain a client or an outer proxy sent).
/// Underscore spellings of these headers are dropped.
pub fn set_forwarded(headers: &mut HeaderMap, forwarded: Forwarded<'_>) {
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().contains('_') && is_forwarded_header(name.as_str()))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
    let mut chain = Vec::with_capacity(64);
    push_forwarded_for(
        &mut chain,
        headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok()),
        forwarded.client_ip,
    );
    if let Ok(chain) = HeaderValue::from_maybe_shared(bytes::Bytes::from(chain)) {
        headers.insert(X_FORWARDED_FOR, chain);
    }
    let proto = if forwarded.tls { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    if let Ok(host) = HeaderValue::from_str(forwarded.host) {
        headers.insert(X_FORWARDED_HOST, host);
    }
    headers.insert(X_FORWARDED_PORT, HeaderValue::from(forwarded.port));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_x_forwarded_for_line_is_kept_in_the_chain() {
        let mut headers = HeaderMap::new();
        headers.append(X_FORWARDED_FOR, HeaderValue::from_static("192.0.2.1"));
        headers.append(
            X_FORWARDED_FOR,
            HeaderValue::from_static(" 192.0.2.2, 192.0.2.3 "),
        );
        set_forwarded(
            &mut headers,
            Forwarded {
                client_ip: "10.1.2.3".parse().expect("valid ip"),
                tls: false,
                host: "a.example",
                port: 80,
            },
        );
        let lines: Vec<&HeaderValue> = headers.get_all(&X_FORWARDED_FOR).iter().collect();
        assert_eq!(lines, ["192.0.2.1, 192.0.2.2, 192.0.2.3, 10.1.2.3"]);
    }

    #[test]
    fn framing_values_are_read_strictly() {
        assert_eq!(content_length(b"0042"), Some(42));
        for refused in [
            &b""[..],
            b"+5",
            b" 5",
            b"5,5",
            b"-1",
            b"99999999999999999999",
        ] {
            assert_eq!(content_length(refused), None, "{refused:?}");
        }
        assert!(last_coding_is_chunked(b"gzip, Chunked "));
        assert!(!last_coding_is_chunked(b"chunked, gzip"));
        let elements: Vec<&[u8]> = list_elements(b" close ,, Upgrade").collect();
        assert_eq!(elements, [&b"close"[..], b"Upgrade"]);
    }

    #[test]
    fn numbers_and_addresses_are_written_in_decimal() {
        let mut out = Vec::new();
        for value in [0, 7, 10, 65535, u64::MAX] {
            out.clear();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
        }
        for client in ["0.0.0.0", "10.255.1.20", "2001:db8::1"] {
            out.clear();
            push_forwarded_for(
                &mut out,
                [" a ", ""].into_iter(),
                client.parse().expect("ip"),
            );
            assert_eq!(out, format!("a, {client}").as_bytes());
        }
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_are_removed() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, X-Secret , x-other"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("x-other", "2"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("x-kept", "3"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        remove_hop_by_hop(&mut headers);
        let left: Vec<_> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-kept"]);
    }

    #[test]
    fn forwarded_headers_append_the_client_and_replace_the_rest() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x_forwarded_for"),
            HeaderValue::from_static("6.6.6.6"),
        );
        headers.insert(X_FORWARDED_FOR, HeaderValue::from_static("203.0.113.9"));
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        set_forwarded(
            &mut headers,
            Forwarded {
                client_ip: "10.1.2.3".parse().expect("valid ip"),
                tls: false,
                host: "foo.example.com:8080",
                port: 8080,
            },
        );
        assert_eq!(headers[&X_FORWARDED_FOR], "203.0.113.9, 10.1.2.3");
        assert!(!headers.contains_key("x_forwarded_for"));
        assert_eq!(headers[&X_FORWARDED_PROTO], "http");
        assert_eq!(headers[&X_FORWARDED_HOST], "foo.example.com:8080");
        assert_eq!(headers[&X_FORWARDED_PORT], "8080");
    }
}
