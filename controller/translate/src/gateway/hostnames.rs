//! Gateway API hostnames: parsing, and the intersection of a route's with a listener's.

use weir_model::HostMatch;

use crate::hosts::parse_host;

/// Parses a listener or route hostname: `None` or empty is any host, `*.suffix` a wildcard
/// over one or more labels ([`HostMatch::WildcardLabels`]), anything else an exact name.
pub(crate) fn parse_hostname(hostname: Option<&str>) -> Result<HostMatch, String> {
    Ok(match parse_host(hostname)? {
        HostMatch::Wildcard(pattern) => HostMatch::WildcardLabels(pattern),
        other => other,
    })
}

/// The hosts a route with `hostnames` serves through a listener with `listener`: the route's
/// hostnames the listener accepts (a wildcard narrowed to the listener's more specific
/// hostname), the listener's when the route has none. Empty: they do not intersect.
pub(crate) fn intersect(route: &[HostMatch], listener: &HostMatch) -> Vec<HostMatch> {
    if route.is_empty() {
        return vec![listener.clone()];
    }
    let mut hosts = Vec::new();
    for host in route {
        let intersection = match (host, listener) {
            (host, HostMatch::Any) => Some(host.clone()),
            (HostMatch::Any, listener) => Some(listener.clone()),
            (HostMatch::Exact(name), listener) => listener.matches(name).then(|| host.clone()),
            (wildcard, HostMatch::Exact(name)) => wildcard.matches(name).then(|| listener.clone()),
            (route_wildcard, listener_wildcard) => {
                let route_suffix = &route_wildcard.as_str()[1..];
                let listener_suffix = &listener_wildcard.as_str()[1..];
                if route_suffix.ends_with(listener_suffix) {
                    Some(route_wildcard.clone())
                } else if listener_suffix.ends_with(route_suffix) {
                    Some(listener_wildcard.clone())
                } else {
                    None
                }
            }
        };
        if let Some(intersection) = intersection
            && !hosts.contains(&intersection)
        {
            hosts.push(intersection);
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> HostMatch {
        parse_hostname(Some(text)).unwrap()
    }

    /// The cases of Gateway API's hostname-intersection conformance test.
    #[test]
    fn route_hostnames_intersect_listener_hostnames() {
        let specific = host("very.specific.com");
        let wildcard = host("*.wildcard.io");
        assert_eq!(
            intersect(
                &[
                    host("non.matching.com"),
                    host("*.nonmatchingwildcard.io"),
                    host("very.specific.com")
                ],
                &specific
            ),
            vec![host("very.specific.com")]
        );
        assert_eq!(
            intersect(
                &[
                    host("non.matching.com"),
                    host("wildcard.io"),
                    host("foo.wildcard.io"),
                    host("foo.bar.wildcard.io")
                ],
                &wildcard
            ),
            vec![host("foo.wildcard.io"), host("foo.bar.wildcard.io")]
        );
        assert_eq!(
            intersect(&[host("*.specific.com")], &specific),
            vec![host("very.specific.com")]
        );
        assert_eq!(
            intersect(
                &[host("*.anotherwildcard.io")],
                &host("*.anotherwildcard.io")
            ),
            vec![host("*.anotherwildcard.io")]
        );
        assert_eq!(
            intersect(&[host("*.a.wildcard.io")], &wildcard),
            vec![host("*.a.wildcard.io")]
        );
        assert_eq!(
            intersect(&[host("*.io")], &wildcard),
            vec![wildcard.clone()]
        );
        assert!(
            intersect(
                &[host("specific.but.wrong.com"), host("wildcard.io")],
                &specific
            )
            .is_empty()
        );
        assert_eq!(intersect(&[], &specific), vec![specific.clone()]);
        assert_eq!(
            intersect(&[host("a.com")], &HostMatch::Any),
            vec![host("a.com")]
        );
    }
}
