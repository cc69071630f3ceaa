//! A decoded header block turned into a validated [`http::Request`] head (RFC 9113 sections
//! 8.2 and 8.3): lowercase names, no connection-specific fields, `te` only `trailers`, the
//! four request pseudo-headers once each and before every regular field, values without CR,
//! LF, NUL or surrounding whitespace, and one `content-length`. Anything else is malformed:
//! a stream error, never a panic.
//!
//! Every value of a request is copied once, into one buffer; the header values, the authority
//! and the path are views of it.

use std::ops::Range;

use bytes::BytesMut;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::uri::{self, Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri, Version};

use crate::h2::hpack::{Decoder, HpackError};
use crate::wire::headers::content_length;

/// Why a header block is no request this proxy serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Malformed (RFC 9113 section 8.1.1): the stream is reset with PROTOCOL_ERROR.
    Malformed(&'static str),
    /// The header list is larger than the limit: 431.
    TooLarge,
    /// A CONNECT request: tunnels are not offered (405).
    Connect,
    /// The block does not decode: the connection's HPACK state is lost (COMPRESSION_ERROR).
    Compression,
}

/// A request head: the `http` request (with an empty body for now) and the `content-length`
/// the client declared.
#[derive(Debug)]
pub struct Head {
    /// Method, URI (scheme, authority, path), version 2 and the regular fields.
    pub request: Request<()>,
    /// The declared body length, if the client sent `content-length`.
    pub declared: Option<u64>,
}

/// Decodes header blocks into request heads, with its buffers reused from one to the next.
#[derive(Debug, Default)]
pub struct HeadReader {
    text: BytesMut,
    fields: Vec<(HeaderName, Range<usize>)>,
}

/// What the fields of one block said so far.
#[derive(Default)]
struct Seen {
    method: Option<Range<usize>>,
    scheme: Option<Range<usize>>,
    authority: Option<Range<usize>>,
    path: Option<Range<usize>>,
    regular: bool,
    declared: Option<u64>,
    error: Option<&'static str>,
}

/// Connection-specific fields, which HTTP/2 forbids (RFC 9113 section 8.2.2).
const CONNECTION_SPECIFIC: [&[u8]; 5] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];

impl HeadReader {
    /// Decodes `block` with `decoder` (a list larger than `max_list_size` bytes, or with more
    /// than `max_fields` regular fields, is [`Rejected::TooLarge`]) and checks it as a request
    /// head.
    ///
    /// # Errors
    /// See [`Rejected`]; the decoder's table is in sync after every variant but
    /// [`Rejected::Compression`].
    pub fn read(
        &mut self,
        decoder: &mut Decoder,
        block: &[u8],
        max_list_size: usize,
        max_fields: usize,
    ) -> Result<Head, Rejected> {
        self.text.clear();
        if self.text.capacity() < 1024 {
            // One allocation for many requests' values: each request's are split off.
            self.text.reserve(8 * 1024);
        }
        self.fields.clear();
        let mut seen = Seen::default();
        let text = &mut self.text;
        let fields = &mut self.fields;
        let decoded = decoder.decode(block, max_list_size, &mut |name, value| {
            if seen.error.is_none()
                && let Err(reason) = field(&mut seen, text, fields, name, value)
            {
                seen.error = Some(reason);
            }
        });
        match decoded {
            Ok(()) => {}
            Err(HpackError::ListTooLarge) => return Err(Rejected::TooLarge),
            Err(_) => return Err(Rejected::Compression),
        }
        if let Some(reason) = seen.error {
            return Err(Rejected::Malformed(reason));
        }
        if self.fields.len() > max_fields {
            return Err(Rejected::TooLarge);
        }
        let text = self.text.split().freeze();
        let slice = |range: &Range<usize>| text.slice(range.clone());
        let method = seen
            .method
            .as_ref()
            .ok_or(Rejected::Malformed("no :method"))?;
        let method =
            Method::from_bytes(&text[method.clone()]).map_err(|_| malformed("bad :method"))?;
        if method == Method::CONNECT {
            return Err(Rejected::Connect);
        }
        let (Some(scheme), Some(path)) = (&seen.scheme, &seen.path) else {
            return Err(malformed("no :scheme or :path"));
        };
        if path.is_empty() {
            return Err(malformed("empty :path"));
        }
        let mut parts = uri::Parts::default();
        parts.path_and_query =
            Some(PathAndQuery::from_maybe_shared(slice(path)).map_err(|_| malformed("bad :path"))?);
        if let Some(authority) = &seen.authority {
            parts.authority = Some(
                Authority::from_maybe_shared(slice(authority))
                    .map_err(|_| malformed("bad :authority"))?,
            );
            parts.scheme = Some(
                Scheme::try_from(&text[scheme.clone()]).map_err(|_| malformed("bad :scheme"))?,
            );
        }
        let uri = Uri::from_parts(parts).map_err(|_| malformed("bad request target"))?;
        // Room for what forwarding adds (`host`, the four `x-forwarded-*`) without growing.
        let mut headers = HeaderMap::with_capacity(self.fields.len() + 6);
        for (name, range) in self.fields.drain(..) {
            let value = HeaderValue::from_maybe_shared(slice(&range))
                .map_err(|_| malformed("bad field value"))?;
            headers.append(name, value);
        }
        let mut request = Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = headers;
        Ok(Head {
            request,
            declared: seen.declared,
        })
    }
}

fn malformed(reason: &'static str) -> Rejected {
    Rejected::Malformed(reason)
}

/// Checks one field and records it.
fn field(
    seen: &mut Seen,
    text: &mut BytesMut,
    fields: &mut Vec<(HeaderName, Range<usize>)>,
    name: &[u8],
    value: &[u8],
) -> Result<(), &'static str> {
    if !value_is_valid(value) {
        return Err("a field value with CR, LF, NUL or surrounding whitespace");
    }
    let start = text.len();
    text.extend_from_slice(value);
    let range = start..text.len();
    if let Some(pseudo) = name.strip_prefix(b":") {
        if seen.regular {
            return Err("a pseudo-header after a regular field");
        }
        let slot = match pseudo {
            b"method" => &mut seen.method,
            b"scheme" => &mut seen.scheme,
            b"authority" => &mut seen.authority,
            b"path" => &mut seen.path,
            _ => return Err("an unknown or response pseudo-header"),
        };
        if slot.replace(range).is_some() {
            return Err("a repeated pseudo-header");
        }
        return Ok(());
    }
    seen.regular = true;
    if name.is_empty() || name.iter().any(u8::is_ascii_uppercase) {
        return Err("an empty or uppercase field name");
    }
    if CONNECTION_SPECIFIC.contains(&name) {
        return Err("a connection-specific field");
    }
    if name == b"te" && value != b"trailers" {
        return Err("te other than trailers");
    }
    if name == b"content-length" {
        let length = content_length(value).ok_or("a bad content-length")?;
        if seen
            .declared
            .replace(length)
            .is_some_and(|earlier| earlier != length)
        {
            return Err("differing content-lengths");
        }
    }
    let name = HeaderName::from_bytes(name).map_err(|_| "a bad field name")?;
    fields.push((name, range));
    Ok(())
}

/// RFC 9113 section 8.2.1: no NUL, CR or LF, and no leading or trailing space or tab.
fn value_is_valid(value: &[u8]) -> bool {
    let edge = |byte: Option<&u8>| matches!(byte, Some(b' ' | b'\t'));
    !edge(value.first())
        && !edge(value.last())
        && !value.iter().any(|byte| matches!(byte, 0 | b'\r' | b'\n'))
}

/// Checks a trailer block's fields (decoded to keep the table in sync, then dropped: trailers
/// are not forwarded): no pseudo-headers, the same name and value rules as a head.
///
/// # Errors
/// As [`HeadReader::read`]; a list over the limit is malformed here.
pub fn read_trailers(
    decoder: &mut Decoder,
    block: &[u8],
    max_list_size: usize,
) -> Result<(), Rejected> {
    let mut error = None;
    let decoded = decoder.decode(block, max_list_size, &mut |name, value| {
        let bad = name.first() == Some(&b':')
            || name.iter().any(u8::is_ascii_uppercase)
            || CONNECTION_SPECIFIC.contains(&name)
            || !value_is_valid(value);
        if bad && error.is_none() {
            error = Some("a malformed trailer field");
        }
    });
    match decoded {
        Ok(()) => error.map_or(Ok(()), |reason| Err(Rejected::Malformed(reason))),
        Err(HpackError::ListTooLarge) => Err(Rejected::Malformed("trailers over the limit")),
        Err(_) => Err(Rejected::Compression),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal field without indexing, with a literal name (lengths under 127).
    fn literal(name: &str, value: &str) -> Vec<u8> {
        let mut bytes = vec![0x00, name.len() as u8];
        bytes.extend(name.as_bytes());
        bytes.push(value.len() as u8);
        bytes.extend(value.as_bytes());
        bytes
    }

    /// `GET http://a.example/x?y` with `fields` after the pseudo-headers.
    fn block(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut block = vec![0x82, 0x86];
        block.extend(literal(":path", "/x?y"));
        block.extend(literal(":authority", "a.example"));
        for (name, value) in fields {
            block.extend(literal(name, value));
        }
        block
    }

    fn read(block: &[u8]) -> Result<Head, Rejected> {
        HeadReader::default().read(&mut Decoder::new(4096), block, 16 * 1024, 100)
    }

    #[test]
    fn a_request_head_keeps_its_target_fields_and_declared_length() {
        let head = read(&block(&[
            ("content-length", "5"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ]))
        .expect("a request");
        assert_eq!(head.request.method(), Method::GET);
        assert_eq!(head.request.uri().to_string(), "http://a.example/x?y");
        assert_eq!(head.request.version(), Version::HTTP_2);
        assert_eq!(head.request.headers().get_all("cookie").iter().count(), 2);
        assert_eq!(head.declared, Some(5));
    }

    #[test]
    fn a_reader_reused_for_many_requests_gives_each_its_own_values() {
        let mut reader = HeadReader::default();
        let mut decoder = Decoder::new(4096);
        let first = reader
            .read(&mut decoder, &block(&[("x-n", "one")]), 16 * 1024, 100)
            .expect("first");
        let second = reader
            .read(&mut decoder, &block(&[("x-n", "two")]), 16 * 1024, 100)
            .expect("second");
        assert_eq!(first.request.headers()["x-n"], "one");
        assert_eq!(second.request.headers()["x-n"], "two");
    }

    #[test]
    fn field_values_with_cr_lf_nul_or_surrounding_whitespace_are_invalid() {
        for bad in ["a\rb", "a\nb", "a\0b", " a", "a ", "\ta", "a\t"] {
            assert!(!value_is_valid(bad.as_bytes()), "{bad:?}");
        }
        for good in ["", "a", "a b", "a\tb"] {
            assert!(value_is_valid(good.as_bytes()), "{good:?}");
        }
    }

    /// `--max-headers` holds on HTTP/2 as on HTTP/1.1: the pseudo-headers do not count.
    #[test]
    fn more_regular_fields_than_the_limit_are_too_large() {
        let names: Vec<String> = (0..101).map(|n| format!("x-{n}")).collect();
        let fields: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1")).collect();
        assert!(read(&block(&fields[..100])).is_ok());
        assert_eq!(read(&block(&fields)).map(|_| ()), Err(Rejected::TooLarge));
    }

    #[test]
    fn connect_and_oversized_lists_are_told_apart_from_malformed_heads() {
        let mut connect = literal(":method", "CONNECT");
        connect.extend(literal(":authority", "a.example:443"));
        assert_eq!(read(&connect).map(|_| ()), Err(Rejected::Connect));
        let big = "v".repeat(100);
        let fields: Vec<(&str, &str)> = (0..200).map(|_| ("x-big", big.as_str())).collect();
        assert_eq!(read(&block(&fields)).map(|_| ()), Err(Rejected::TooLarge));
        assert_eq!(read(&[0xff]).map(|_| ()), Err(Rejected::Compression));
        assert!(matches!(
            read(&block(&[("Upper", "1")])),
            Err(Rejected::Malformed(_))
        ));
    }

    #[test]
    fn trailers_without_pseudo_headers_are_accepted_and_others_are_malformed() {
        let mut decoder = Decoder::new(4096);
        assert_eq!(
            read_trailers(&mut decoder, &literal("x-sum", "1"), 1024),
            Ok(())
        );
        assert!(matches!(
            read_trailers(&mut decoder, &literal(":path", "/"), 1024),
            Err(Rejected::Malformed(_))
        ));
    }
}
