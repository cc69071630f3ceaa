//! Stack-wide load balancer settings from annotations, each value checked where it is read.
//!
//! ```text
//! member annotations (group order) ─► check each value ─► first valid value per setting wins
//!        bad value: Warning on that Ingress and annotation, value left out ─┘      │
//!                                   cross-setting checks (timeout < interval) ◄─┘
//! ```
//!
//! The ranges are ELBv2's (CreateTargetGroup, CreateListener, CreateLoadBalancer), so no value
//! that AWS would refuse reaches a provider: one Ingress's typo never fails its group. A setting
//! no member sets validly is left out and the provider's default applies (ELBv2's own
//! health-check defaults; `internet-facing`; the controller's subnets and security groups;
//! `ELBSecurityPolicy-TLS13-1-2-2021-06`).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use weir_model::{Diagnostic, Reason};

use crate::annotations;
use crate::grouping::Member;

/// Stack-wide provider settings read from annotations.
pub(crate) const SETTINGS: [&str; 10] = [
    "scheme",
    "subnets",
    "security-groups",
    "ssl-policy",
    "healthcheck-path",
    "healthcheck-interval-seconds",
    "healthcheck-timeout-seconds",
    "healthy-threshold-count",
    "unhealthy-threshold-count",
    "success-codes",
];

/// ELBv2's `HealthCheckIntervalSeconds` range.
const INTERVAL_SECONDS: RangeInclusive<u16> = 5..=300;
/// ELBv2's `HealthCheckTimeoutSeconds` range.
const TIMEOUT_SECONDS: RangeInclusive<u16> = 2..=120;
/// ELBv2's `HealthyThresholdCount` and `UnhealthyThresholdCount` range.
const THRESHOLD_COUNT: RangeInclusive<u16> = 2..=10;
/// ELBv2's default interval of an HTTP target group, compared when only the timeout is set.
const DEFAULT_INTERVAL_SECONDS: u16 = 30;
/// ELBv2's default timeout of an HTTP target group, compared when only the interval is set.
const DEFAULT_TIMEOUT_SECONDS: u16 = 5;
/// Longest `HealthCheckPath`.
const MAX_HEALTH_CHECK_PATH: usize = 1024;
/// HTTP codes an ALB target group matcher accepts.
const SUCCESS_CODES: RangeInclusive<u16> = 200..=499;

/// The predefined ALB security policies (ALB has no custom ones). A policy AWS adds later is
/// refused with a Warning until it is added here.
const SSL_POLICIES: [&str; 37] = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05",
];

/// Provider settings from annotations: per setting, the first member (in group order) with a
/// valid value wins. Invalid values and later conflicting ones are reported on their Ingress.
pub(crate) fn settings(
    members: &[Member<'_>],
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let mut chosen: BTreeMap<&str, Chosen> = BTreeMap::new();
    for (position, member) in members.iter().enumerate() {
        for name in SETTINGS {
            let Some(annotation) = annotations::lookup(member.selected.ingress, name) else {
                continue;
            };
            let value = match check(name, annotation.value) {
                Ok(value) => value,
                Err(problem) => {
                    diagnostics.push(Diagnostic::warning(
                        &member.selected.object,
                        annotation.field(),
                        Reason::InvalidField,
                        format!(
                            "{name} {:?} {problem}; ignored, {}",
                            annotation.value,
                            fallback(name)
                        ),
                    ));
                    continue;
                }
            };
            match chosen.get(name) {
                None => {
                    chosen.insert(
                        name,
                        Chosen {
                            value,
                            position,
                            field: annotation.field(),
                        },
                    );
                }
                Some(existing) if existing.value != value => {
                    diagnostics.push(Diagnostic::warning(
                        &member.selected.object,
                        annotation.field(),
                        Reason::InvalidField,
                        format!(
                            "{name} {:?} conflicts with {:?} of an earlier member; keeping {:?}",
                            annotation.value, existing.value, existing.value
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    check_timeout_below_interval(members, &mut chosen, diagnostics);
    chosen
        .into_iter()
        .map(|(name, chosen)| (name.to_owned(), chosen.value))
        .collect()
}

/// The value of one setting and who set it.
struct Chosen {
    value: String,
    position: usize,
    field: String,
}

/// What applies when a setting is left out.
fn fallback(name: &str) -> &'static str {
    match name {
        "scheme" => "an earlier member's value or internet-facing applies",
        "subnets" | "security-groups" => "an earlier member's value or the controller's applies",
        "ssl-policy" => "an earlier member's value or ELBSecurityPolicy-TLS13-1-2-2021-06 applies",
        _ => "an earlier member's value or ELBv2's default applies",
    }
}

/// Checks one annotation value; returns it normalized (trimmed, lists without blanks).
fn check(name: &str, value: &str) -> Result<String, String> {
    match name {
        "scheme" => match value {
            "internet-facing" | "internal" => Ok(value.to_owned()),
            _ => Err("is not internet-facing or internal".to_owned()),
        },
        "subnets" => id_list(value, "subnet-"),
        "security-groups" => id_list(value, "sg-"),
        "ssl-policy" => {
            if SSL_POLICIES.contains(&value) {
                Ok(value.to_owned())
            } else {
                Err("is not a predefined ALB security policy".to_owned())
            }
        }
        "healthcheck-path" => health_check_path(value),
        "healthcheck-interval-seconds" => number(value, INTERVAL_SECONDS),
        "healthcheck-timeout-seconds" => number(value, TIMEOUT_SECONDS),
        "healthy-threshold-count" | "unhealthy-threshold-count" => number(value, THRESHOLD_COUNT),
        "success-codes" => success_codes(value),
        _ => Ok(value.to_owned()),
    }
}

/// Comma-separated resource IDs such as `subnet-0abc`; names are not resolved.
fn id_list(value: &str, prefix: &str) -> Result<String, String> {
    let ids: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(format!("names no {prefix}... ID"));
    }
    for id in &ids {
        let hex = id.strip_prefix(prefix).unwrap_or_default();
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "holds {id:?}, which is not a {prefix}... ID (names are not resolved)"
            ));
        }
    }
    Ok(ids.join(","))
}

fn health_check_path(value: &str) -> Result<String, String> {
    if !value.starts_with('/') {
        return Err("does not start with /".to_owned());
    }
    if value.len() > MAX_HEALTH_CHECK_PATH {
        return Err(format!("is longer than {MAX_HEALTH_CHECK_PATH} characters"));
    }
    if value.chars().any(|c| !c.is_ascii_graphic()) {
        return Err("holds a space, a control or a non-ASCII character".to_owned());
    }
    Ok(value.to_owned())
}

fn number(value: &str, range: RangeInclusive<u16>) -> Result<String, String> {
    match value.parse::<u16>() {
        Ok(number) if range.contains(&number) => Ok(number.to_string()),
        _ => Err(format!(
            "is not a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// `200`, `200,202` or `200-299` (codes 200 to 499).
fn success_codes(value: &str) -> Result<String, String> {
    let invalid = || {
        format!(
            "is not a code, a list (200,202) or a range (200-299) of codes from {} to {}",
            SUCCESS_CODES.start(),
            SUCCESS_CODES.end()
        )
    };
    let code = |text: &str| {
        text.trim()
            .parse::<u16>()
            .ok()
            .filter(|code| SUCCESS_CODES.contains(code))
    };
    let mut items = Vec::new();
    for item in value.split(',') {
        let normalized = match item.split_once('-') {
            Some((low, high)) => match (code(low), code(high)) {
                (Some(low), Some(high)) if low <= high => format!("{low}-{high}"),
                _ => return Err(invalid()),
            },
            None => code(item).ok_or_else(invalid)?.to_string(),
        };
        items.push(normalized);
    }
    Ok(items.join(","))
}

/// ELBv2 refuses a timeout that is not below the interval (compared with ELBv2's default for
/// the one left unset): the timeout is left out, reported on the member that set it.
fn check_timeout_below_interval(
    members: &[Member<'_>],
    chosen: &mut BTreeMap<&str, Chosen>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let seconds = |chosen: &BTreeMap<&str, Chosen>, name: &str| {
        chosen
            .get(name)
            .and_then(|setting| setting.value.parse::<u16>().ok())
    };
    let interval = seconds(chosen, "healthcheck-interval-seconds");
    let timeout = seconds(chosen, "healthcheck-timeout-seconds");
    let (effective_interval, effective_timeout) = (
        interval.unwrap_or(DEFAULT_INTERVAL_SECONDS),
        timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
    );
    if effective_timeout < effective_interval {
        return;
    }
    // The value to leave out: the timeout when set, else the interval.
    let name = if timeout.is_some() {
        "healthcheck-timeout-seconds"
    } else {
        "healthcheck-interval-seconds"
    };
    let Some(dropped) = chosen.remove(name) else {
        return;
    };
    let Some(member) = members.get(dropped.position) else {
        return;
    };
    diagnostics.push(Diagnostic::warning(
        &member.selected.object,
        dropped.field,
        Reason::InvalidField,
        format!(
            "a health-check timeout of {effective_timeout}s is not below an interval of {effective_interval}s (ELBv2 refuses it); {name} {:?} ignored, ELBv2's default applies",
            dropped.value
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_elbv2_ranges() {
        assert_eq!(check("scheme", "internal").as_deref(), Ok("internal"));
        assert!(check("scheme", "internet-facin").is_err());
        assert!(check("healthcheck-path", "health").is_err());
        assert!(check("healthcheck-path", "/a b").is_err());
        assert_eq!(
            check("healthcheck-path", "/healthz").as_deref(),
            Ok("/healthz")
        );
        assert!(check("healthcheck-interval-seconds", "-5").is_err());
        assert!(check("healthcheck-interval-seconds", "9999").is_err());
        assert!(check("healthcheck-interval-seconds", "4").is_err());
        assert_eq!(
            check("healthcheck-interval-seconds", "300").as_deref(),
            Ok("300")
        );
        assert!(check("healthcheck-timeout-seconds", "1").is_err());
        assert!(check("healthy-threshold-count", "11").is_err());
        assert!(check("unhealthy-threshold-count", "many").is_err());
        assert_eq!(check("success-codes", "200-399").as_deref(), Ok("200-399"));
        assert_eq!(check("success-codes", "200, 202").as_deref(), Ok("200,202"));
        assert!(check("success-codes", "500").is_err());
        assert!(check("success-codes", "299-200").is_err());
        assert!(check("success-codes", "2xx").is_err());
        assert!(check("ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06").is_ok());
        assert!(check("ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-07").is_err());
        assert_eq!(
            check("subnets", "subnet-0a1b, subnet-2c3d").as_deref(),
            Ok("subnet-0a1b,subnet-2c3d")
        );
        assert!(check("subnets", "my-subnet").is_err());
        assert!(check("subnets", " , ").is_err());
        assert!(check("security-groups", "sg-12ab").is_ok());
        assert!(check("security-groups", "subnet-12ab").is_err());
    }
}
