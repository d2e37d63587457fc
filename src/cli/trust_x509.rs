//! X.509 trust anchors from `--key`/`--keyring`, found by content (PEM or
//! DER certificates), beside the minisign/signify keys `options` loads;
//! and `--at`. Kept apart so a shared trust store can absorb it.

use anyhow::{bail, Context, Result};
use fwkit::{Anchor, At};
use std::path::{Path, PathBuf};

/// Extensions of certificate files taken from a `--keyring` directory.
const CERTIFICATE_EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "der"];

/// The certificate files in a keyring directory, sorted.
pub fn keyring_certificates(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("--keyring {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| CERTIFICATE_EXTENSIONS.contains(&x))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// True when the file holds X.509 certificates (so it is not a minisign key).
pub fn is_certificate(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| Anchor::parse_all(&b))
        .is_some()
}

/// Every certificate in the `--key` files and the keyring's certificate files.
pub fn load_anchors(files: &[PathBuf], keyring: Option<&Path>) -> Result<Vec<Anchor>> {
    let mut paths = files.to_vec();
    if let Some(dir) = keyring {
        let found = keyring_certificates(dir)?;
        for path in &found {
            if !is_certificate(path) {
                bail!("{} is not a PEM or DER X.509 certificate", path.display());
            }
        }
        paths.extend(found);
    }
    let mut contents = Vec::new();
    for path in &paths {
        contents.push(
            std::fs::read(path).with_context(|| format!("cannot read key {}", path.display()))?,
        );
    }
    Ok(fwkit::anchors_from(contents.iter().map(Vec::as_slice)))
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
