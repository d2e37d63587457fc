//! X.509 trust anchors from the trust store `options` loads from
//! `--key`/`--keyring` (by content), ready for path building; and `--at`.

use anyhow::{bail, Context, Result};
use fwkit::{Anchor, At};

/// The X.509 certificates of the trust store (loaded once, by content,
/// from `--key`/`--keyring`) as path-building anchors; one that does not
/// parse as a certificate is an error naming its file.
pub fn anchors(trust: &fwkit::trust::TrustStore) -> Result<Vec<Anchor>> {
    let mut out = Vec::new();
    for cert in trust.x509() {
        match Anchor::parse_all(&cert.der) {
            Some(found) => out.extend(found),
            None => bail!("{} is not a PEM or DER X.509 certificate", cert.source),
        }
    }
    Ok(out)
}

/// `--at now|signing-time|YYYY-MM-DD`.
pub fn parse_at(text: &str) -> Result<At> {
    match text {
        "now" => return Ok(At::Now),
        "signing-time" => return Ok(At::SigningTime),
        _ => {}
    }
    let parts: Vec<&str> = text.split('-').collect();
    let numbers: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    let (year, month, day) = match numbers.as_deref() {
        Some(&[y, m, d]) if parts.first().is_some_and(|p| p.len() == 4) => (y, m, d),
        _ => bail!("--at {text}: expected now, signing-time or YYYY-MM-DD"),
    };
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day))
        .with_context(|| format!("--at {text}: not a date"))?;
    let secs = u64::try_from(days.saturating_mul(86_400))
        .with_context(|| format!("--at {text}: before 1970"))?;
    Ok(At::Date(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// civil-from-days inverse), `None` for an impossible month or day.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}
