//! Every checksum and safety decision. Formats report what a file claims;
//! this module decides whether the claims hold and what the verdict is.

pub(crate) mod authenticode;
mod claims;
mod cms_signer;
pub(crate) mod digest;
pub mod fwkit_manifest;
pub(crate) mod manifest;
pub(crate) mod openpgp;
mod options;
mod parallel;
pub(crate) mod pkcs7;
pub(crate) mod safety;
pub(crate) mod signature;
mod timestamp;
pub mod x509;

pub(crate) use claims::{manifest_checks, Links};
pub use options::{At, VerifyOptions};

pub(crate) use digest::parse_blake2b512;
pub use digest::{hex, parse_sha256};

use crate::model::{Algorithm, ByteRange, Check, CheckKind, Member, Outcome, RangeDigest, Verdict};

/// The check for one declared or external digest, given what was computed.
pub(crate) fn digest_check(digest: &RangeDigest, computed: Option<String>) -> Check {
    let mut check =
        Check::new(digest.kind, digest.covers.clone(), Outcome::NotRun).with_range(digest.range);
    check.algorithm = Some(digest.algorithm);
    check.expected = Some(digest.expected.clone());
    match computed {
        Some(value) => {
            check.outcome = if value == digest.expected {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            check.computed = Some(value);
        }
        None => check.detail = Some("the digest could not be computed".to_owned()),
    }
    check
}

/// The external whole-file SHA-256 as a range digest.
pub(crate) fn external_sha256(sha256: &[u8; 32], len: u64) -> RangeDigest {
    external(Algorithm::Sha256, hex(sha256), "whole file (--sha256)", len)
}

/// A digest of the whole file of `len` bytes that the caller states.
pub(crate) fn external(
    algorithm: Algorithm,
    expected: String,
    covers: &str,
    len: u64,
) -> RangeDigest {
    RangeDigest {
        range: (0, len),
        skip: Vec::new(),
        algorithm,
        expected,
        covers: covers.to_owned(),
        kind: CheckKind::External,
        suffix: Vec::new(),
    }
}

/// Algorithms some listed member was not hashed with in the pass (it came
/// before the manifest in the archive): a second pass must compute them.
pub(crate) fn missing_member_digests(
    manifests: &[manifest::Manifest],
    members: &[Member],
    links: &Links,
) -> Vec<Algorithm> {
    let mut missing = Vec::new();
    for (which, m) in manifests.iter().enumerate() {
        for (entry, index) in links.of(which, m) {
            let Some(member) = index.and_then(|i| members.get(i)) else {
                continue;
            };
            if member.kind == crate::model::MemberKind::File
                && !member.digests.contains_key(&entry.algorithm)
                && !missing.contains(&entry.algorithm)
            {
                missing.push(entry.algorithm);
            }
        }
    }
    missing
}

/// Every file member must be covered by some integrity check that ran (passed or
/// failed: a failure is reported once, by that check): a
/// digest over its stream's bytes, its stream's own check, or a manifest.
/// A plain tar with no manifest covers nothing.
pub(crate) fn member_coverage(
    checks: &[Check],
    streams: &[ByteRange],
    members: &[Member],
    listed: &[bool],
    has_manifest: bool,
) -> Vec<Check> {
    let covered_stream = |index: usize| {
        let Some(&(start, end)) = streams.get(index) else {
            return false;
        };
        // Checked, passed or failed: one failure gives one reason.
        checks.iter().any(|c| {
            is_integrity(c)
                && matches!(c.outcome, Outcome::Passed | Outcome::Failed)
                && c.range.is_some_and(|(a, b)| {
                    // A digest over the stream's bytes, or the stream's own check
                    // (a zip's starts at its first local header, inside the range).
                    (a <= start && end <= b)
                        || (c.kind == CheckKind::Stream && start <= a && b == end)
                })
        })
    };
    let uncovered: Vec<&str> = members
        .iter()
        .zip(listed.iter().chain(std::iter::repeat(&false)))
        .filter(|(m, _)| m.kind == crate::model::MemberKind::File && m.problem.is_none())
        .filter(|(_, listed)| !**listed)
        .filter(|(m, _)| !covered_stream(m.stream))
        .map(|(m, _)| m.name.as_str())
        .collect();
    let has_integrity = checks.iter().any(is_integrity);
    if uncovered.is_empty() || (!has_integrity && !has_manifest) {
        // Either all is covered, or the package has no integrity data at all,
        // which the verdict reports once.
        return Vec::new();
    }
    let shown: Vec<&str> = uncovered.iter().take(5).copied().collect();
    let more = uncovered.len().saturating_sub(shown.len());
    let mut detail = format!("no checksum covers {}", shown.join(", "));
    if more > 0 {
        detail.push_str(&format!(" and {more} more"));
    }
    vec![Check::failed(
        CheckKind::Digest,
        format!("{} member(s)", uncovered.len()),
        detail,
    )]
}

/// True for checks whose pass means the covered bytes are intact.
fn is_integrity(check: &Check) -> bool {
    match check.kind {
        CheckKind::Digest | CheckKind::External => true,
        CheckKind::Stream => check.algorithm == Some(Algorithm::StreamCheck),
        // An Authenticode signature carries the digest of the image it
        // covers, computed in the pass; any other signature that verified
        // proves the bytes it covers are intact (a bare image has nothing else).
        CheckKind::Signature => {
            (check.algorithm.is_some() && check.computed.is_some())
                || (check.outcome == Outcome::Passed && check.range.is_some())
        }
        _ => false,
    }
}

/// Decide the verdict from every check and member.
pub(crate) fn verdict(checks: &[Check], members: &[Member]) -> Verdict {
    let mut reasons: Vec<String> = Vec::new();
    for check in checks.iter().filter(|c| c.outcome.is_failure()) {
        let what = match check.outcome {
            Outcome::NotRun => "could not check",
            _ => "failed",
        };
        reasons.push(format!("{what}: {}", check.summary()));
    }
    for member in members {
        if let Some(problem) = &member.problem {
            reasons.push(format!("unsafe member {}: {problem}", member.name));
        }
    }
    if !checks.iter().any(is_integrity) {
        reasons.push(
            "no integrity data: the package carries no checksum, digest or checked stream; pass --sha256 to pin a trusted digest"
                .to_owned(),
        );
    }
    if reasons.is_empty() {
        Verdict::Verified
    } else {
        Verdict::NotVerified { reasons }
    }
}

/// Byte ranges of `0..len` that no passed integrity check covers.
pub(crate) fn uncovered(checks: &[Check], len: u64) -> Vec<ByteRange> {
    let mut covered: Vec<ByteRange> = checks
        .iter()
        .filter(|c| {
            (is_integrity(c) || c.kind == CheckKind::Signature) && c.outcome == Outcome::Passed
        })
        .filter_map(|c| c.range)
        .collect();
    covered.sort_unstable();
    let mut gaps = Vec::new();
    let mut at = 0u64;
    for (start, end) in covered {
        if start > at {
            gaps.push((at, start));
        }
        at = at.max(end);
    }
    if at < len {
        gaps.push((at, len));
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passed(kind: CheckKind, range: ByteRange) -> Check {
        let mut c = Check::new(kind, "x", Outcome::Passed).with_range(range);
        c.algorithm = Some(Algorithm::Md5);
        c
    }

    #[test]
    fn no_integrity_data_is_not_verified() {
        let checks = vec![Check::new(CheckKind::Structure, "layout", Outcome::Passed)];
        assert!(!verdict(&checks, &[]).is_verified());
        let checks = vec![passed(CheckKind::Digest, (0, 10))];
        assert!(verdict(&checks, &[]).is_verified());
    }

    #[test]
    fn a_check_that_did_not_run_fails() {
        let checks = vec![
            passed(CheckKind::Digest, (0, 10)),
            Check::new(CheckKind::Stream, "payload", Outcome::NotRun),
        ];
        assert!(!verdict(&checks, &[]).is_verified());
    }

    #[test]
    fn gaps_are_reported() {
        let checks = vec![
            passed(CheckKind::Digest, (10, 20)),
            passed(CheckKind::Digest, (15, 30)),
        ];
        assert_eq!(uncovered(&checks, 40), vec![(0, 10), (30, 40)]);
    }
}
