//! The host a request names: which `Host` values are accepted at all.

/// Whether `host` is `name[:port]` in a host name's alphabet (or a bracketed IPv6 literal)
/// with a decimal port when it has one.
pub fn is_valid_host(host: &str) -> bool {
    let alphabet = host.bytes().all(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b':' | b'[' | b']')
    });
    alphabet && port_is_numeric(host)
}

/// `host[:port]` must carry a decimal port when it has one: `foo.com:abc` is refused rather
/// than routed as some other host.
fn port_is_numeric(host: &str) -> bool {
    let after_name = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((_, rest)) => rest,
            None => return false,
        },
        None => host,
    };
    match after_name.rsplit_once(':') {
        Some((name, port)) => !name.contains(':') && port.parse::<u16>().is_ok(),
        None => !after_name.contains(['[', ']']),
    }
}
