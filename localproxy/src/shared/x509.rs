//! Just enough DER to read a certificate's `notAfter`, for the expiry metric.
//!
//! `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
//! signature, issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }` (RFC 5280).

/// The `notAfter` of a DER certificate as Unix seconds, or `None` if it does not parse.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (certificate, _) = element(der, 0x30)?;
    let (mut tbs, _) = element(certificate, 0x30)?;
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs, 0xa0)?.1;
    }
    let (_, rest) = element(tbs, 0x02)?; // serialNumber
    let (_, rest) = element(rest, 0x30)?; // signature algorithm
    let (_, rest) = element(rest, 0x30)?; // issuer
    let (validity, _) = element(rest, 0x30)?;
    let (_, _, after_not_before) = any_element(validity)?;
    let (tag, not_after, _) = any_element(after_not_before)?;
    match tag {
        0x17 => time(not_after, 2),
        0x18 => time(not_after, 4),
        _ => None,
    }
}

/// One element of the expected tag: `(contents, rest)`.
fn element(input: &[u8], expected: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = any_element(input)?;
    (tag == expected).then_some((contents, rest))
}

/// One element: `(tag, contents, rest)` (single-byte tags, definite lengths).
fn any_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        bytes
            .iter()
            .fold(0usize, |length, &byte| length << 8 | usize::from(byte))
    };
    (input.len() >= length).then(|| (tag, &input[..length], &input[length..]))
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950-2049) or `YYYYMMDDHHMMSSZ` (GeneralizedTime).
fn time(text: &[u8], year_digits: usize) -> Option<i64> {
    if text.len() != year_digits + 11 || text.last() != Some(&b'Z') {
        return None;
    }
    let number = |from: usize, len: usize| -> Option<i64> {
        text.get(from..from + len)?
            .iter()
            .try_fold(0i64, |value, &byte| {
                byte.is_ascii_digit()
                    .then(|| value * 10 + i64::from(byte - b'0'))
            })
    };
    let mut year = number(0, year_digits)?;
    if year_digits == 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    let at = year_digits;
    let (month, day) = (number(at, 2)?, number(at + 2, 2)?);
    let (hour, minute, second) = (number(at + 4, 2)?, number(at + 6, 2)?, number(at + 8, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_not_after_of_generated_certificates() {
        let mut params =
            rcgen::CertificateParams::new(vec!["a.example".to_owned()]).expect("params");
        params.not_after = rcgen::date_time_ymd(2031, 7, 15);
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.clone().self_signed(&key).expect("certificate");
        // 2031-07-15T00:00:00Z
        assert_eq!(not_after(certificate.der()), Some(1_941_840_000));
        params.not_after = rcgen::date_time_ymd(2060, 1, 1);
        let certificate = params.self_signed(&key).expect("certificate");
        assert_eq!(not_after(certificate.der()), Some(2_840_140_800));
    }

    #[test]
    fn dates_and_garbage() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(time(b"491231235959Z", 2), Some(2_524_607_999));
        assert_eq!(time(b"500101000000Z", 2), Some(-631_152_000));
        assert_eq!(not_after(b"\x30\x03\x02\x01"), None);
        assert_eq!(not_after(&[]), None);
    }
}
