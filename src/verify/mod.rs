//! Every checksum and safety decision. Formats report what a file claims;
//! this module decides whether the claims hold and what the verdict is.

pub(crate) mod digest;
pub(crate) mod safety;

pub use digest::{hex, parse_sha256};

use crate::formats::RangeDigest;
use crate::package::{Algorithm, ByteRange, Check, CheckKind, Member, Outcome, Verdict};

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
    RangeDigest {
        range: (0, len),
        algorithm: Algorithm::Sha256,
        expected: hex(sha256),
        covers: "whole file (--sha256)".to_owned(),
        kind: CheckKind::External,
    }
}

/// True for checks whose pass means the covered bytes are intact.
fn is_integrity(check: &Check) -> bool {
    match check.kind {
        CheckKind::Digest | CheckKind::External => true,
        CheckKind::Stream => check.algorithm == Some(Algorithm::StreamCheck),
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
        .filter(|c| is_integrity(c) && c.outcome == Outcome::Passed)
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
