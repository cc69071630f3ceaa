//! Route conditions beyond host and path: request method, headers, query parameters and the
//! client's address, and the request they are matched against.
//!
//! A route matches when its path matches and **every** condition holds: each
//! [`HeaderCondition`] and [`QueryCondition`] is one clause, and a clause holds when any of its
//! alternatives does (the AWS Load Balancer Controller's "values" lists; a Gateway API match
//! has one alternative per clause). An empty [`RouteConditions`] always holds.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Everything a route asks of a request besides its host and path.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RouteConditions {
    /// Accepted methods (case-sensitive, e.g. `GET`); empty accepts any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Header clauses, all of which must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderCondition>,
    /// Query-parameter clauses, all of which must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<QueryCondition>,
    /// Accepted client address ranges (the connection's peer, not `X-Forwarded-For`); empty
    /// accepts any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<IpCidr>,
    /// The ports of the stack's listeners the route is served on (the request's
    /// [`RouteRequest::listener_port`]); empty: every listener. A Gateway API route attached to
    /// some of a Gateway's listeners only (`sectionName`, `port`) carries them. Not a request
    /// condition on ALB: the route's rule is placed on those listeners only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listener_ports: Vec<u16>,
}

impl RouteConditions {
    /// Whether there are no conditions at all.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
            && self.headers.is_empty()
            && self.query.is_empty()
            && self.source_ips.is_empty()
            && self.listener_ports.is_empty()
    }

    /// Whether a request that arrived on the listener of `port` (`None`: not known) may take
    /// this route.
    pub fn serves_listener(&self, port: Option<u16>) -> bool {
        self.listener_ports.is_empty()
            || port.is_some_and(|port| self.listener_ports.contains(&port))
    }

    /// Whether `request` satisfies every condition. Regular expressions are compiled on each
    /// call: for many requests use [`CompiledConditions`].
    pub fn matches(&self, request: &RouteRequest<'_>) -> bool {
        self.holds(request, &|pattern, value| {
            anchored_regex(pattern).is_ok_and(|re| re.is_match(value))
        })
    }

    /// [`RouteConditions::matches`] with regular expressions matched by `regex(pattern, value)`.
    fn holds(&self, request: &RouteRequest<'_>, regex: &RegexMatch<'_>) -> bool {
        self.serves_listener(request.listener_port)
            && (self.methods.is_empty() || self.methods.iter().any(|m| m == request.method))
            && (self.source_ips.is_empty()
                || request
                    .source_ip
                    .is_some_and(|ip| self.source_ips.iter().any(|cidr| cidr.contains(ip))))
            && self
                .headers
                .iter()
                .all(|clause| clause.matches(request, regex))
            && (self.query.is_empty() || {
                let pairs = query_pairs(request.query.unwrap_or_default());
                self.query
                    .iter()
                    .all(|clause| clause.matches(&pairs, regex))
            })
    }

    /// These conditions with their regular expressions compiled once.
    pub fn compile(&self) -> CompiledConditions {
        let mut regexes = BTreeMap::new();
        let patterns = self.headers.iter().flat_map(|clause| &clause.values).chain(
            self.query
                .iter()
                .flat_map(|clause| &clause.any_of)
                .flat_map(|pair| pair.key.iter().chain([&pair.value])),
        );
        for pattern in patterns {
            if let StringMatch::Regex(pattern) = pattern {
                // An invalid pattern is left out, and then matches nothing (as uncompiled).
                if let Ok(compiled) = anchored_regex(pattern) {
                    regexes.insert(pattern.clone(), compiled);
                }
            }
        }
        CompiledConditions {
            conditions: self.clone(),
            regexes,
        }
    }

    /// The number of condition values, counted as ALB counts them per rule (each method, header
    /// value, query pair and CIDR is one).
    pub fn value_count(&self) -> usize {
        self.methods.len()
            + self
                .headers
                .iter()
                .map(|clause| clause.values.len())
                .sum::<usize>()
            + self
                .query
                .iter()
                .map(|clause| clause.any_of.len())
                .sum::<usize>()
            + self.source_ips.len()
    }
}

impl fmt::Display for RouteConditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.methods.is_empty() {
            parts.push(format!("method={}", self.methods.join("|")));
        }
        for clause in &self.headers {
            let values: Vec<String> = clause.values.iter().map(ToString::to_string).collect();
            parts.push(format!("header {}={}", clause.name, values.join("|")));
        }
        for clause in &self.query {
            let values: Vec<String> = clause.any_of.iter().map(ToString::to_string).collect();
            parts.push(format!("query {}", values.join("|")));
        }
        if !self.source_ips.is_empty() {
            let values: Vec<String> = self.source_ips.iter().map(ToString::to_string).collect();
            parts.push(format!("source-ip={}", values.join("|")));
        }
        if !self.listener_ports.is_empty() {
            let ports: Vec<String> = self.listener_ports.iter().map(u16::to_string).collect();
            parts.push(format!("listener={}", ports.join("|")));
        }
        f.write_str(&parts.join(" "))
    }
}

/// How a regular expression is matched: `(pattern, value) -> matches`.
type RegexMatch<'a> = dyn Fn(&str, &str) -> bool + 'a;

/// [`RouteConditions`] with their regular expressions compiled, for matching many requests
/// (the proxy's router); decides exactly as [`RouteConditions::matches`].
#[derive(Clone, Debug)]
pub struct CompiledConditions {
    conditions: RouteConditions,
    regexes: BTreeMap<String, regex::Regex>,
}

impl CompiledConditions {
    /// Whether `request` satisfies every condition.
    pub fn matches(&self, request: &RouteRequest<'_>) -> bool {
        self.conditions.holds(request, &|pattern, value| {
            self.regexes
                .get(pattern)
                .is_some_and(|re| re.is_match(value))
        })
    }

    /// The conditions.
    pub fn conditions(&self) -> &RouteConditions {
        &self.conditions
    }
}

/// One header clause: header `name` has a value that matches one of `values`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HeaderCondition {
    /// The header name, lowercase (names compare case-insensitively).
    pub name: String,
    /// Alternatives; the clause holds when any value of the header matches any of them.
    pub values: Vec<StringMatch>,
}

impl HeaderCondition {
    fn matches(&self, request: &RouteRequest<'_>, regex: &RegexMatch<'_>) -> bool {
        request.headers.any_value(&self.name, &mut |value| {
            self.values
                .iter()
                .any(|wanted| wanted.matches_with(value, regex))
        })
    }
}

/// One query clause: some parameter of the request matches one of `any_of`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QueryCondition {
    /// Alternatives.
    pub any_of: Vec<QueryPair>,
}

impl QueryCondition {
    fn matches(&self, pairs: &[(String, String)], regex: &RegexMatch<'_>) -> bool {
        pairs.iter().any(|(key, value)| {
            self.any_of.iter().any(|wanted| {
                wanted
                    .key
                    .as_ref()
                    .is_none_or(|want| want.matches_with(key, regex))
                    && wanted.value.matches_with(value, regex)
            })
        })
    }
}

/// One query parameter pattern. Keys and values are compared percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QueryPair {
    /// The parameter name; `None` accepts any name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<StringMatch>,
    /// The value.
    pub value: StringMatch,
}

impl fmt::Display for QueryPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key}={}", self.value),
            None => write!(f, "*={}", self.value),
        }
    }
}

/// How a header value, query key or query value is compared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StringMatch {
    /// Equal, case-sensitively (Gateway API `Exact`).
    Exact(String),
    /// An ALB pattern: case-insensitive (ASCII), `*` matches any run of characters and `?`
    /// exactly one (the AWS Load Balancer Controller's condition values).
    Glob(String),
    /// A regular expression (the `regex` crate's syntax, RE2-like) that must match the whole
    /// value (Gateway API `RegularExpression`). Translation only lets valid ones through.
    Regex(String),
}

impl StringMatch {
    /// Whether `value` matches. An invalid regular expression matches nothing.
    pub fn matches(&self, value: &str) -> bool {
        self.matches_with(value, &|pattern, value| {
            anchored_regex(pattern).is_ok_and(|re| re.is_match(value))
        })
    }

    fn matches_with(&self, value: &str, regex: &RegexMatch<'_>) -> bool {
        match self {
            Self::Exact(want) => want == value,
            Self::Glob(pattern) => glob_matches(pattern.as_bytes(), value.as_bytes()),
            Self::Regex(pattern) => regex(pattern, value),
        }
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Exact(text) | Self::Glob(text) | Self::Regex(text) => text,
        }
    }
}

impl fmt::Display for StringMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(text) => write!(f, "{text:?}"),
            Self::Glob(text) => write!(f, "glob:{text:?}"),
            Self::Regex(text) => write!(f, "regex:{text:?}"),
        }
    }
}

/// Compiles `pattern` so that it must match a whole value.
///
/// # Errors
/// The `regex` crate's error for a pattern it cannot compile.
pub fn anchored_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

/// ALB pattern matching: ASCII case-insensitive, `*` any run (also empty), `?` one byte.
pub fn glob_matches(pattern: &[u8], value: &[u8]) -> bool {
    // Iterative matching with one backtrack point (the last `*`): linear in practice, and
    // never exponential.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, v));
                p += 1;
            }
            Some(&byte) if byte == b'?' || byte.eq_ignore_ascii_case(&value[v]) => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some((star_p, star_v)) => {
                    p = star_p + 1;
                    v = star_v + 1;
                    star = Some((star_p, star_v + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// The parameters of a query string, percent-decoded (`+` stays `+`); a parameter without `=`
/// has an empty value. Undecodable escapes are kept as they are.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An address range: `10.0.0.0/8`, `2001:db8::/32`, or one address (`/32`, `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpCidr {
    /// The network address (host bits zero).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
}

impl IpCidr {
    /// Whether `ip` is inside the range. IPv4 addresses mapped into IPv6 (`::ffff:a.b.c.d`)
    /// are compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask(
                u128::from(u32::from(net)),
                u128::from(u32::from(ip)),
                32,
                self.prefix_len,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(u128::from(net), u128::from(ip), 128, self.prefix_len)
            }
            _ => false,
        }
    }
}

fn mask(net: u128, ip: u128, bits: u8, prefix_len: u8) -> bool {
    let host_bits = u32::from(bits - prefix_len.min(bits));
    net.checked_shr(host_bits).unwrap_or(0) == ip.checked_shr(host_bits).unwrap_or(0)
}

impl FromStr for IpCidr {
    type Err = String;

    /// Parses `addr/len` or a bare address; host bits must be zero.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, len) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address range (CIDR)"))?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            "" => bits,
            len => len
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= bits)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0..={bits}"))?,
        };
        let cidr = Self { addr, prefix_len };
        if network_of(addr, prefix_len) != addr {
            return Err(format!("{text:?} has host bits set"));
        }
        Ok(cidr)
    }
}

fn network_of(addr: IpAddr, prefix_len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let host_bits = 32 - u32::from(prefix_len);
            let value = u32::from(v4).checked_shr(host_bits).unwrap_or(0);
            IpAddr::V4(value.checked_shl(host_bits).unwrap_or(0).into())
        }
        IpAddr::V6(v6) => {
            let host_bits = 128 - u32::from(prefix_len);
            let value = u128::from(v6).checked_shr(host_bits).unwrap_or(0);
            IpAddr::V6(value.checked_shl(host_bits).unwrap_or(0).into())
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl Serialize for IpCidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The parts of a request that routing looks at.
#[derive(Clone, Copy)]
pub struct RouteRequest<'a> {
    /// The `Host` header or `:authority`, as received (it is normalized when matched).
    pub host: &'a str,
    /// The normalized path, without query.
    pub path: &'a str,
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The raw query string (after `?`), if any.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a dyn RequestHeaders,
    /// The client's address, when known.
    pub source_ip: Option<IpAddr>,
    /// The port of the stack's listener the request arrived on (80 for the proxy's plain-HTTP
    /// listener, 443 for its HTTPS one), when known; routes scoped to listeners
    /// ([`RouteConditions::listener_ports`]) match only a known port of theirs.
    pub listener_port: Option<u16>,
}

impl<'a> RouteRequest<'a> {
    /// A `GET` for `host` and `path` with no headers, query or client address.
    pub fn get(host: &'a str, path: &'a str) -> Self {
        Self {
            host,
            path,
            method: "GET",
            query: None,
            headers: &NO_HEADERS,
            source_ip: None,
            listener_port: None,
        }
    }

    /// This request as it arrived on the listener of `port`.
    pub fn on_listener(self, port: u16) -> Self {
        Self {
            listener_port: Some(port),
            ..self
        }
    }
}

impl fmt::Debug for RouteRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteRequest")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("method", &self.method)
            .field("query", &self.query)
            .field("source_ip", &self.source_ip)
            .field("listener_port", &self.listener_port)
            .finish_non_exhaustive()
    }
}

/// Read access to a request's headers, whatever holds them.
pub trait RequestHeaders {
    /// Whether some value of header `name` (given lowercase; compare case-insensitively)
    /// satisfies `test`. Values that are not UTF-8 are skipped.
    fn any_value(&self, name: &str, test: &mut dyn FnMut(&str) -> bool) -> bool;
}

/// No headers at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHeaders;

const NO_HEADERS: NoHeaders = NoHeaders;

impl RequestHeaders for NoHeaders {
    fn any_value(&self, _name: &str, _test: &mut dyn FnMut(&str) -> bool) -> bool {
        false
    }
}

/// Headers as a list of `(name, value)` pairs.
#[derive(Clone, Copy, Debug)]
pub struct HeaderList<'a>(pub &'a [(&'a str, &'a str)]);

impl RequestHeaders for HeaderList<'_> {
    fn any_value(&self, name: &str, test: &mut dyn FnMut(&str) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .any(|(_, value)| test(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_alb_patterns() {
        for (pattern, value, want) in [
            ("v2", "V2", true),
            ("v*", "v", true),
            ("v*", "version", true),
            ("v?", "v2", true),
            ("v?", "v", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxx", false),
            ("", "", true),
            ("", "a", false),
            ("**", "", true),
        ] {
            assert_eq!(
                glob_matches(pattern.as_bytes(), value.as_bytes()),
                want,
                "{pattern} vs {value}"
            );
        }
    }

    #[test]
    fn exact_and_regex_are_case_sensitive_and_whole() {
        assert!(StringMatch::Exact("v2".into()).matches("v2"));
        assert!(!StringMatch::Exact("v2".into()).matches("V2"));
        let regex = StringMatch::Regex("v[0-9]+".into());
        assert!(regex.matches("v12"));
        assert!(!regex.matches("xv12"));
        assert!(!regex.matches("v12x"));
        assert!(!StringMatch::Regex("(".into()).matches("("));
    }

    #[test]
    fn compiled_conditions_decide_as_the_reference() {
        let conditions = RouteConditions {
            headers: vec![HeaderCondition {
                name: "x-v".into(),
                values: vec![
                    StringMatch::Regex("v[0-9]+".into()),
                    StringMatch::Regex("(".into()),
                ],
            }],
            query: vec![QueryCondition {
                any_of: vec![QueryPair {
                    key: Some(StringMatch::Regex("k.*".into())),
                    value: StringMatch::Exact("1".into()),
                }],
            }],
            ..RouteConditions::default()
        };
        let compiled = conditions.compile();
        for (header, query) in [
            ("v12", "key=1"),
            ("v", "key=1"),
            ("v1", "x=1"),
            ("(", "k=1"),
        ] {
            let headers = [("X-V", header)];
            let headers = HeaderList(&headers);
            let request = RouteRequest {
                query: Some(query),
                headers: &headers,
                ..RouteRequest::get("h", "/")
            };
            assert_eq!(
                compiled.matches(&request),
                conditions.matches(&request),
                "{header} {query}"
            );
        }
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let net: IpCidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let one: IpCidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        let v6: IpCidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        for bad in ["10.1.0.1/16", "10.0.0.0/33", "nope", "10.0.0.0/x"] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn query_pairs_are_decoded() {
        assert_eq!(
            query_pairs("a=1&b&c=%41%2&&d=x=y"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "A%2".into()),
                ("d".into(), "x=y".into()),
            ]
        );
    }

    #[test]
    fn every_clause_must_hold_and_any_alternative_does() {
        let conditions = RouteConditions {
            methods: vec!["GET".into(), "HEAD".into()],
            headers: vec![HeaderCondition {
                name: "x-version".into(),
                values: vec![
                    StringMatch::Exact("v1".into()),
                    StringMatch::Exact("v2".into()),
                ],
            }],
            query: vec![QueryCondition {
                any_of: vec![QueryPair {
                    key: Some(StringMatch::Exact("debug".into())),
                    value: StringMatch::Glob("*".into()),
                }],
            }],
            source_ips: vec!["10.0.0.0/8".parse().unwrap()],
            listener_ports: Vec::new(),
        };
        assert_eq!(conditions.value_count(), 6);
        let headers = [("X-Version", "v2"), ("Other", "v1")];
        let headers = HeaderList(&headers);
        let mut request = RouteRequest {
            host: "a",
            path: "/",
            method: "HEAD",
            query: Some("x=1&debug"),
            headers: &headers,
            source_ip: Some("10.9.8.7".parse().unwrap()),
            listener_port: None,
        };
        assert!(conditions.matches(&request));
        request.method = "POST";
        assert!(!conditions.matches(&request));
        request.method = "GET";
        request.query = Some("debugx=1");
        assert!(!conditions.matches(&request));
        request.query = Some("debug=1");
        request.source_ip = None;
        assert!(!conditions.matches(&request));
        request.source_ip = Some("10.0.0.1".parse().unwrap());
        request.headers = &NoHeaders;
        assert!(!conditions.matches(&request));
        assert!(RouteConditions::default().matches(&RouteRequest::get("a", "/")));
    }

    #[test]
    fn a_route_scoped_to_listeners_matches_only_requests_known_to_arrive_on_one() {
        let https_only = RouteConditions {
            listener_ports: vec![443, 8443],
            ..RouteConditions::default()
        };
        let request = RouteRequest::get("a", "/");
        assert!(https_only.matches(&request.on_listener(443)));
        assert!(https_only.matches(&request.on_listener(8443)));
        assert!(!https_only.matches(&request.on_listener(80)));
        assert!(
            !https_only.matches(&request),
            "an unknown listener is none of them"
        );
        assert!(!https_only.compile().matches(&request.on_listener(80)));
        assert!(RouteConditions::default().matches(&request.on_listener(80)));
        assert_eq!(
            https_only.value_count(),
            0,
            "ALB places it; it is no condition value"
        );
        assert_eq!(https_only.to_string(), "listener=443|8443");
        assert!(!https_only.is_empty());
    }
}
