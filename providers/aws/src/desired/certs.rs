//! Certificate choice (pure): which ACM certificate serves a host.

use crate::api::CertificateSummary;

/// The most specific valid certificate for `host` among `candidates` (issued ones, as listed):
/// a name equal to the host beats a single-label wildcard (`*.example.com` for
/// `a.example.com`, never for `a.b.example.com`); among equals the one that expires last, then
/// the smallest ARN, so the choice is stable.
pub fn pick_certificate<'a>(
    host: &str,
    candidates: &'a [CertificateSummary],
    now_epoch: i64,
) -> Option<&'a CertificateSummary> {
    let host = host.to_ascii_lowercase();
    candidates
        .iter()
        .filter(|candidate| candidate.not_after.is_none_or(|expiry| expiry > now_epoch))
        .filter_map(|candidate| {
            let specificity = candidate
                .names
                .iter()
                .filter_map(|name| name_matches(name, &host))
                .max()?;
            Some((specificity, candidate))
        })
        .max_by(|(left_rank, left), (right_rank, right)| {
            left_rank
                .cmp(right_rank)
                .then(left.not_after.cmp(&right.not_after))
                .then(right.arn.cmp(&left.arn))
        })
        .map(|(_, candidate)| candidate)
}

/// How well a certificate name covers a host: 2 exact, 1 one-label wildcard, `None` not at all.
/// A wildcard host in an Ingress (`*.example.com`) is covered only by the same wildcard.
fn name_matches(name: &str, host: &str) -> Option<u8> {
    let name = name.to_ascii_lowercase();
    if name == host {
        return Some(2);
    }
    let suffix = name.strip_prefix("*.")?;
    let (label, rest) = host.split_once('.')?;
    (!label.is_empty() && label != "*" && rest == suffix).then_some(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(arn: &str, names: &[&str], not_after: Option<i64>) -> CertificateSummary {
        CertificateSummary {
            arn: arn.into(),
            names: names.iter().map(|name| (*name).to_owned()).collect(),
            not_after,
        }
    }

    #[test]
    fn exact_names_beat_wildcards_and_wildcards_cover_one_label() {
        let certs = [
            cert("arn:wild", &["*.example.com"], Some(2000)),
            cert(
                "arn:exact",
                &["shop.example.com", "www.example.com"],
                Some(1500),
            ),
            cert("arn:other", &["other.org"], Some(3000)),
        ];
        let pick = |host| pick_certificate(host, &certs, 1000).map(|c| c.arn.as_str());
        assert_eq!(pick("shop.example.com"), Some("arn:exact"));
        assert_eq!(pick("WWW.example.com"), Some("arn:exact"));
        assert_eq!(pick("api.example.com"), Some("arn:wild"));
        assert_eq!(pick("a.b.example.com"), None);
        assert_eq!(pick("example.com"), None);
        assert_eq!(pick("*.example.com"), Some("arn:wild"));
        assert_eq!(pick("nothing.net"), None);
    }

    #[test]
    fn expired_certificates_are_skipped_and_later_expiry_wins() {
        let certs = [
            cert("arn:old", &["a.example.com"], Some(500)),
            cert("arn:soon", &["a.example.com"], Some(1200)),
            cert("arn:late", &["a.example.com"], Some(9000)),
        ];
        let picked = pick_certificate("a.example.com", &certs, 1000).map(|c| c.arn.as_str());
        assert_eq!(picked, Some("arn:late"));
        let picked = pick_certificate("a.example.com", &certs[..1], 1000);
        assert!(picked.is_none());
    }
}
