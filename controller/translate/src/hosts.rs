//! Hosts of Ingress rules and Gateway API hostnames: validated DNS names or wildcards.

use weir_model::HostMatch;

/// Parses an Ingress rule's `host`. `None` or empty means "any host". Hosts are lowercased;
/// IP addresses, ports and malformed names are rejected with a reason.
pub(crate) fn parse_host(host: Option<&str>) -> Result<HostMatch, String> {
    let Some(host) = host.map(str::trim).filter(|host| !host.is_empty()) else {
        return Ok(HostMatch::Any);
    };
    let lower = host.to_ascii_lowercase();
    let (wildcard, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "host {host:?} is an IP address; hosts must be DNS names"
        ));
    }
    if let Err(reason) = check_dns_subdomain(name) {
        return Err(format!("host {host:?} is not a valid DNS name: {reason}"));
    }
    if wildcard {
        Ok(HostMatch::Wildcard(lower))
    } else {
        Ok(HostMatch::Exact(lower))
    }
}

/// RFC 1123 subdomain: at most 253 characters of dot-separated labels, each 1-63 lowercase
/// letters, digits or '-', starting and ending with a letter or digit.
fn check_dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("label {label:?} must be 1-63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "label {label:?} may hold only letters, digits and '-'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "label {label:?} must start and end with a letter or digit"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_into_exact_wildcard_or_any() {
        assert_eq!(parse_host(None), Ok(HostMatch::Any));
        assert_eq!(parse_host(Some("")), Ok(HostMatch::Any));
        assert_eq!(
            parse_host(Some("Foo.Bar.com")),
            Ok(HostMatch::Exact("foo.bar.com".into()))
        );
        assert_eq!(
            parse_host(Some("*.bar.com")),
            Ok(HostMatch::Wildcard("*.bar.com".into()))
        );
    }

    #[test]
    fn malformed_hosts_are_rejected_with_a_reason() {
        for bad in [
            "10.0.0.1",
            "::1",
            "foo.com:80",
            "*.*.foo.com",
            "foo*.com",
            "-foo.com",
            "foo..com",
            "foo_bar.com",
            "*",
            "*.",
            "a.b/c",
        ] {
            let error = parse_host(Some(bad)).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
        assert!(parse_host(Some(&format!("{}.com", "a".repeat(64)))).is_err());
    }
}
