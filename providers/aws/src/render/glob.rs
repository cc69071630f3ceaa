//! ALB condition globs: `*` matches any run of characters (dots included), `?` exactly one.
//!
//! Host-header conditions compare case-insensitively, path-pattern conditions case-sensitively.
//! weir uses this to decide which rules could shadow others, and tests use it to simulate the
//! ALB's first-match evaluation.

/// Whether `pattern` matches `text` as an ALB host-header condition value.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    matches(
        pattern.to_ascii_lowercase().as_bytes(),
        host.to_ascii_lowercase().as_bytes(),
    )
}

/// Whether `pattern` matches `path` as an ALB path-pattern condition value.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    matches(pattern.as_bytes(), path.as_bytes())
}

/// Iterative glob match with single-star backtracking: linear in practice, never exponential.
fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, consumed)) => {
                    p = star + 1;
                    t = consumed + 1;
                    backtrack = Some((star, consumed + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_span_dots_and_question_marks_take_one_character() {
        assert!(host_matches("*.foo.com", "a.foo.com"));
        assert!(host_matches("*.foo.com", "a.b.foo.com"));
        assert!(host_matches("*.*.foo.com", "a.b.foo.com"));
        assert!(!host_matches("*.*.foo.com", "a.foo.com"));
        assert!(!host_matches("*.foo.com", "foo.com"));
        assert!(host_matches("FOO.com", "foo.COM"));
        assert!(path_matches("/a/*", "/a/"));
        assert!(path_matches("/a/*", "/a/b/c"));
        assert!(!path_matches("/a/*", "/a"));
        assert!(!path_matches("/A", "/a"));
        assert!(path_matches("/?", "/x"));
        assert!(path_matches("/*", "/"));
    }
}
