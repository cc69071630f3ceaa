//! Ingress paths: `pathType` semantics and validation.

use weir_model::{PathKind, PathMatch};

/// Sequences a Kubernetes API server refuses in Exact and Prefix paths (they would let a
/// request's normalization differ from the rule's).
const INVALID_SEQUENCES: [&str; 6] = ["//", "/./", "/../", "%2f", "%2F", "#"];
const INVALID_SUFFIXES: [&str; 2] = ["/..", "/."];

/// Parses one `spec.rules[].http.paths[]` entry's `pathType` and `path`.
///
/// `Exact` and `Prefix` follow the Ingress spec; `ImplementationSpecific` is treated as
/// `Prefix` (a missing path then means `/`). A Prefix path's trailing `/` is dropped, since
/// `/foo/` and `/foo` match the same requests.
pub(crate) fn parse_path(path_type: &str, path: Option<&str>) -> Result<PathMatch, PathError> {
    let (kind, path) = match path_type {
        "Exact" => (
            PathKind::Exact,
            path.ok_or(PathError::Path(
                "path is required for pathType Exact".into(),
            ))?,
        ),
        "Prefix" => (
            PathKind::Prefix,
            path.ok_or(PathError::Path(
                "path is required for pathType Prefix".into(),
            ))?,
        ),
        "ImplementationSpecific" => (
            PathKind::Prefix,
            path.filter(|path| !path.is_empty()).unwrap_or("/"),
        ),
        "" => {
            return Err(PathError::PathType(
                "pathType is required (Exact, Prefix or ImplementationSpecific)".into(),
            ));
        }
        other => {
            return Err(PathError::PathType(format!(
                "pathType {other:?} is not Exact, Prefix or ImplementationSpecific"
            )));
        }
    };
    let path = canonical(path).map_err(PathError::Path)?;
    check_path(&path).map_err(PathError::Path)?;
    let path = match kind {
        PathKind::Prefix if path.len() > 1 => path.trim_end_matches('/'),
        _ => &path,
    };
    Ok(PathMatch {
        kind,
        path: path.to_owned(),
    })
}

/// Which field of the path entry is wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// `pathType` is missing or unknown.
    PathType(String),
    /// `path` is missing or malformed.
    Path(String),
}

/// The canonical spelling of a rule path, the one requests are normalized to before matching
/// (RFC 3986 section 6.2.2): escaped unreserved characters (`A-Z a-z 0-9 - . _ ~`) decoded,
/// other escapes in upper-case hex, non-ASCII characters percent-encoded as UTF-8. Without it
/// a rule written `/%7Euser` or `/café` could never match any request.
fn canonical(path: &str) -> Result<String, String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let escaped = bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("path {path:?} has a malformed percent escape"))?;
            if escaped.is_ascii_alphanumeric() || b"-._~".contains(&escaped) {
                out.push(char::from(escaped));
            } else {
                out.push_str(&format!("%{escaped:02X}"));
            }
            index += 3;
        } else if byte.is_ascii() {
            out.push(char::from(byte));
            index += 1;
        } else {
            out.push_str(&format!("%{byte:02X}"));
            index += 1;
        }
    }
    Ok(out)
}

fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must begin with '/'"));
    }
    if let Some(sequence) = INVALID_SEQUENCES
        .iter()
        .find(|sequence| path.contains(*sequence))
    {
        return Err(format!("path {path:?} must not contain {sequence:?}"));
    }
    if let Some(suffix) = INVALID_SUFFIXES
        .iter()
        .find(|suffix| path.ends_with(*suffix))
    {
        return Err(format!("path {path:?} must not end with {suffix:?}"));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || *c == '?')
    {
        return Err(format!("path {path:?} must not contain {bad:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(path_type: &str, path: &str) -> PathMatch {
        parse_path(path_type, Some(path)).unwrap()
    }

    #[test]
    fn prefix_paths_drop_their_trailing_slash() {
        assert_eq!(parsed("Prefix", "/foo/").path, "/foo");
        assert_eq!(parsed("Prefix", "/").path, "/");
        assert_eq!(parsed("Exact", "/foo/").path, "/foo/");
        assert_eq!(
            parsed("ImplementationSpecific", "/a/").kind,
            PathKind::Prefix
        );
        assert_eq!(
            parse_path("ImplementationSpecific", None).unwrap().path,
            "/"
        );
    }

    #[test]
    fn docs_table_prefix_with_trailing_slash_matches_with_and_without() {
        let rule = parsed("Prefix", "/foo/");
        assert!(rule.matches("/foo"));
        assert!(rule.matches("/foo/"));
        assert!(!rule.matches("/foobar"));
    }

    #[test]
    fn rule_paths_are_spelled_as_normalized_requests_are() {
        assert_eq!(parsed("Prefix", "/%7Euser").path, "/~user");
        assert_eq!(parsed("Prefix", "/caf%c3%a9").path, "/caf%C3%A9");
        assert_eq!(parsed("Exact", "/café").path, "/caf%C3%A9");
        assert_eq!(parsed("Prefix", "/a%20b/").path, "/a%20b");
        assert!(matches!(
            parse_path("Prefix", Some("/a/%2e%2e/b")),
            Err(PathError::Path(_))
        ));
        assert!(matches!(
            parse_path("Prefix", Some("/a%zz")),
            Err(PathError::Path(_))
        ));
        assert!(matches!(
            parse_path("Prefix", Some("/a%2Fb")),
            Err(PathError::Path(_))
        ));
    }

    #[test]
    fn bad_paths_and_types_name_the_problem() {
        assert!(matches!(
            parse_path("", Some("/")),
            Err(PathError::PathType(_))
        ));
        assert!(matches!(
            parse_path("Regex", Some("/")),
            Err(PathError::PathType(_))
        ));
        assert!(matches!(parse_path("Exact", None), Err(PathError::Path(_))));
        for bad in [
            "foo", "/a//b", "/a/./b", "/a/../b", "/a%2fb", "/a/..", "/a/.", "/a b", "/a?b", "/a#b",
        ] {
            assert!(
                matches!(parse_path("Prefix", Some(bad)), Err(PathError::Path(_))),
                "{bad}"
            );
        }
    }
}
