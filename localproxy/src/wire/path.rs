//! Request path normalization, applied before routing; the upstream receives the same path.
//!
//! The rule is "what we route is what we forward": a backend must never see a path that would
//! have matched a different route. So, for the path part of an origin-form request target:
//!
//! - percent-encoded *unreserved* characters (`A-Z a-z 0-9 - . _ ~`) are decoded (`/%61dmin` is
//!   `/admin`, RFC 3986 section 6.2.2.2); other escapes are kept, with upper-case hex. In
//!   particular `%2F` stays encoded: `/a%2Fb` is one segment, it does not match prefix `/a`;
//! - runs of `/` are merged (`/foo//bar` is `/foo/bar`);
//! - a dot segment (`.` or `..`, also when spelled `%2e`) is rejected with 400 instead of being
//!   resolved: no legitimate client sends one, and resolving it differently from a backend is
//!   the classic routing bypass. Backends differ in what separates segments, so a dot segment
//!   is also looked for between escaped slashes and backslashes (`x%2F..%2Fadmin`,
//!   `x%5C..%5Cadmin`) and before a `;` parameter (`/public/..;/admin`, which Tomcat and Spring
//!   resolve to `/admin`);
//! - a path that does not start with `/`, a malformed escape, a backslash (which some servers
//!   treat as `/`), or a control or non-ASCII byte is rejected with 400.
//!
//! The query string is not touched.

use std::borrow::Cow;

/// Why a request path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the request path does not start with '/'")]
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    #[error("the request path has a malformed percent escape")]
    BadEscape,
    /// A `.` or `..` segment (also between escaped slashes or backslashes, or before `;`).
    #[error("the request path has a dot segment")]
    DotSegment,
    /// A byte that may not appear in a path.
    #[error("the request path has a forbidden byte")]
    ForbiddenByte,
}

/// Normalizes a request path (without query). Borrows when the path is already normal.
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    if !needs_work(bytes) {
        return Ok(Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(path.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'%' => {
                let (high, low) = match (bytes.get(index + 1), bytes.get(index + 2)) {
                    (Some(&high), Some(&low)) => (hex(high)?, hex(low)?),
                    _ => return Err(PathError::BadEscape),
                };
                let decoded = high << 4 | low;
                if is_unreserved(decoded) {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(b"0123456789ABCDEF"[usize::from(high)]));
                    out.push(char::from(b"0123456789ABCDEF"[usize::from(low)]));
                }
                index += 3;
            }
            b'/' if out.ends_with('/') => index += 1,
            _ if is_forbidden(byte) => return Err(PathError::ForbiddenByte),
            _ => {
                out.push(char::from(byte));
                index += 1;
            }
        }
    }
    if has_dot_segment(&out) {
        return Err(PathError::DotSegment);
    }
    Ok(Cow::Owned(out))
}

/// Whether a path may need rewriting or rejecting (the common case is "no": no allocation).
fn needs_work(bytes: &[u8]) -> bool {
    let mut previous = 0u8;
    for &byte in bytes {
        if byte == b'%' || is_forbidden(byte) || (byte == b'/' && previous == b'/') {
            return true;
        }
        if byte == b'.' && previous == b'/' {
            return true;
        }
        previous = byte;
    }
    false
}

/// Whether any segment is `.` or `..`, with `/`, `%2F` and `%5C` all taken as separators and
/// a `;` parameter ignored. `path` has its escapes in upper case.
fn has_dot_segment(path: &str) -> bool {
    path.split('/')
        .flat_map(|segment| segment.split("%2F"))
        .flat_map(|segment| segment.split("%5C"))
        .map(|segment| segment.split(';').next().unwrap_or(segment))
        .any(|segment| segment == "." || segment == "..")
}

fn hex(byte: u8) -> Result<u8, PathError> {
    match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'a'..=b'f' => Ok(byte - b'a' + 10),
        b'A'..=b'F' => Ok(byte - b'A' + 10),
        _ => Err(PathError::BadEscape),
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_forbidden(byte: u8) -> bool {
    byte <= 0x20 || byte >= 0x7f || byte == b'#' || byte == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_are_borrowed_unchanged() {
        for path in ["/", "/foo", "/foo/", "/a.b/c..d", "/x-y_z~"] {
            assert!(
                matches!(normalize_path(path), Ok(Cow::Borrowed(p)) if p == path),
                "{path}"
            );
        }
    }

    #[test]
    fn table_of_rewrites_and_rejections() {
        let cases: &[(&str, Result<&str, PathError>)] = &[
            ("/%61dmin", Ok("/admin")),
            ("/a%2Fb", Ok("/a%2Fb")),
            ("/a%2fb", Ok("/a%2Fb")),
            ("/a%20b", Ok("/a%20b")),
            ("/foo//bar", Ok("/foo/bar")),
            ("//foo", Ok("/foo")),
            ("/foo/", Ok("/foo/")),
            ("/.well-known/x", Ok("/.well-known/x")),
            ("/a/../admin", Err(PathError::DotSegment)),
            ("/a/./b", Err(PathError::DotSegment)),
            ("/a/..", Err(PathError::DotSegment)),
            ("/a/%2e%2e/admin", Err(PathError::DotSegment)),
            ("/a/.%2E", Err(PathError::DotSegment)),
            ("/public/..;/admin", Err(PathError::DotSegment)),
            ("/public/.;x/admin", Err(PathError::DotSegment)),
            ("/public/x%2F..%2F..%2Fadmin", Err(PathError::DotSegment)),
            ("/public/x%2f%2e%2e%2fadmin", Err(PathError::DotSegment)),
            ("/public/..%5Cadmin", Err(PathError::DotSegment)),
            ("/public/..\\admin", Err(PathError::ForbiddenByte)),
            ("/a;b/..x/c..;d", Ok("/a;b/..x/c..;d")),
            ("/a%2Fb%5Cc", Ok("/a%2Fb%5Cc")),
            ("/a%zz", Err(PathError::BadEscape)),
            ("/a%4", Err(PathError::BadEscape)),
            ("foo", Err(PathError::NotAbsolute)),
            ("", Err(PathError::NotAbsolute)),
            ("/a\u{7f}", Err(PathError::ForbiddenByte)),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input).as_deref(), want.as_deref(), "{input}");
        }
    }
}
