//! OpenPGP detached signatures beside a package (`PKG.sign`, `PKG.asc`,
//! `PKG.sig`): what the pass must hash for them, and the checks they give.
//!
//! The digest each signature needs, H(file ‖ trailer), is a range digest
//! of the one pass with the signature's trailer as its suffix
//! ([`range_digests`]); [`checks`] takes the computed values back and asks
//! [`crate::trust::openpgp`] whether a trusted key made the signature.

use super::VerifyOptions;
use crate::model::{ByteRange, Check, CheckKind, Outcome, RangeDigest, Signer, SignerId};
use crate::trust::openpgp::{self as pgp_trust, Outcome as PgpOutcome, Policy, REVOCATION_NOTE};

/// The label of the range digests made for OpenPGP signatures.
const LABEL: &str = "openpgp signature digest";

/// OpenPGP signatures over a byte range of the package: a detached file
/// beside it (the whole file), or a makeself `SIGNATURE=` (the payload).
pub(crate) struct PgpFile {
    /// What they cover, in words, for the report.
    pub covers: String,
    /// The bytes they cover.
    pub range: ByteRange,
    /// The range is the whole package (a detached file), not a part that
    /// leaves code (a self-extractor's stub) unsigned.
    pub whole: bool,
    /// The signature packets, or why they could not be read.
    pub signatures: Result<Vec<pgp::packet::Signature>, String>,
}

impl PgpFile {
    /// A detached signature file `name` over the whole package of `len` bytes.
    pub(crate) fn detached(name: &str, bytes: &[u8], len: u64) -> PgpFile {
        PgpFile {
            covers: format!("whole file (detached OpenPGP signature {name})"),
            range: (0, len),
            whole: true,
            signatures: pgp_trust::parse_signatures(bytes),
        }
    }

    /// A signature the headers carry over `range`, part of the package.
    pub(crate) fn embedded(covers: &str, range: ByteRange, bytes: &[u8]) -> PgpFile {
        PgpFile {
            covers: covers.to_owned(),
            range,
            whole: false,
            signatures: pgp_trust::parse_signatures(bytes),
        }
    }
}

/// True when the caller gave OpenPGP keys: only then are digests computed.
fn has_keys(options: &VerifyOptions) -> bool {
    !options.trust.openpgp().is_empty()
}

fn label(file: usize, signature: usize) -> String {
    format!("{LABEL} {file}/{signature}")
}

/// The range digests the pass computes for the signatures of `files`.
pub(crate) fn range_digests(files: &[PgpFile], options: &VerifyOptions) -> Vec<RangeDigest> {
    if !has_keys(options) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let Ok(signatures) = &file.signatures else {
            continue;
        };
        for (s, signature) in signatures.iter().enumerate() {
            if let Ok(prepared) = pgp_trust::prepare(signature) {
                out.push(RangeDigest {
                    range: file.range,
                    skip: Vec::new(),
                    algorithm: prepared.algorithm,
                    expected: String::new(),
                    covers: label(f, s),
                    kind: CheckKind::Signature,
                    suffix: prepared.trailer,
                });
            }
        }
    }
    out
}

/// True for a pass result that is an OpenPGP signature's digest (an input
/// to [`checks`], not a check).
pub(crate) fn is_digest(check: &Check) -> bool {
    check.kind == CheckKind::Signature && check.covers.starts_with(LABEL)
}

/// One check per signature in `files`, given the pass's digests, each with
/// whether it covers the whole package.
pub(crate) fn checks(
    files: &[PgpFile],
    digests: &[Check],
    options: &VerifyOptions,
) -> Vec<(Check, bool)> {
    let keys = options.trust.openpgp();
    let policy = Policy {
        allow_legacy: options.allow_legacy_crypto,
        now: chrono::Utc::now(),
    };
    let mut out = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let covers = file.covers.clone();
        let signatures = match &file.signatures {
            Ok(s) => s,
            Err(why) => {
                let outcome = match keys.is_empty() {
                    true => Outcome::Info,
                    false => Outcome::NotRun,
                };
                let mut check = Check::new(CheckKind::Signature, covers, outcome);
                check.detail = Some(format!("malformed OpenPGP signature file: {why}"));
                out.push((check.with_range(file.range), file.whole));
                continue;
            }
        };
        for (s, signature) in signatures.iter().enumerate() {
            let (issuer, check, about) = first_look(signature, covers.clone());
            let mut check = check.with_range(file.range);
            if keys.is_empty() {
                check.detail = Some(unchecked(&issuer, &about));
                out.push((check, file.whole));
                continue;
            }
            let digest = digests
                .iter()
                .find(|d| d.covers == label(f, s))
                .and_then(|d| d.computed.as_deref())
                .and_then(super::digest::from_hex);
            let outcome = match (pgp_trust::prepare(signature), digest) {
                (Err(why), _) => PgpOutcome::NotRun(why),
                (Ok(_), None) => {
                    PgpOutcome::NotRun("the signed digest was not computed".to_owned())
                }
                (Ok(_), Some(d)) => pgp_trust::verify_digest(signature, &keys, &d, policy),
            };
            let who = match &issuer.claimed_user_id {
                Some(uid) => format!("{} (claims to be {uid:?})", issuer.id),
                None => issuer.id.clone(),
            };
            apply(&mut check, outcome, &who, &about);
            out.push((check, file.whole));
        }
    }
    out
}

fn apply(check: &mut Check, outcome: PgpOutcome, issuer: &str, about: &str) {
    match outcome {
        PgpOutcome::Good {
            user_id,
            fingerprint,
            primary,
            legacy,
        } => {
            check.outcome = Outcome::Passed;
            check.computed = Some(format!("signer {fingerprint}"));
            check.signer = Some(Box::new(Signer {
                id: SignerId::Openpgp {
                    fingerprint: fingerprint.clone(),
                    primary_fingerprint: primary.clone(),
                    user_id: user_id.clone(),
                },
                whole_package: false,
            }));
            let key = match fingerprint == primary {
                true => format!("key {fingerprint}"),
                false => format!("subkey {fingerprint} of key {primary}"),
            };
            let legacy = legacy
                .map(|why| format!("; legacy crypto ({why}), accepted by --allow-legacy-crypto"))
                .unwrap_or_default();
            check.detail = Some(format!(
                "good OpenPGP signature by {user_id} ({key}); {about}{legacy}; {REVOCATION_NOTE}"
            ));
        }
        PgpOutcome::Untrusted => {
            check.detail = Some(format!(
                "OpenPGP signature by {issuer}, a key not among the given keys (its user id is not verified); not counted; {about}"
            ));
        }
        PgpOutcome::Bad(why) => {
            check.outcome = Outcome::Failed;
            check.detail = Some(format!(
                "OpenPGP signature by {issuer}: {why}; {about}; {REVOCATION_NOTE}"
            ));
        }
        PgpOutcome::NotRun(why) => {
            check.outcome = Outcome::NotRun;
            check.detail = Some(format!("OpenPGP signature by {issuer}: {why}; {about}"));
        }
    }
}

/// A signature's issuer, its check before any key (info), and what it
/// claims of itself.
fn first_look(
    signature: &pgp::packet::Signature,
    covers: String,
) -> (pgp_trust::Issuer, Check, String) {
    let issuer = pgp_trust::issuer(signature);
    let mut check = Check::new(CheckKind::Signature, covers, Outcome::Info);
    check.expected = Some(format!("issuer {}", issuer.id));
    let created = issuer.created.as_deref().unwrap_or("unknown");
    let about = format!("created {created} (signer's claim); {}", issuer.algorithms);
    (issuer, check, about)
}

/// The detail of a signature no OpenPGP key was given for.
fn unchecked(issuer: &pgp_trust::Issuer, about: &str) -> String {
    format!(
        "OpenPGP signature by {} present, not checked (give --key with an OpenPGP public key); {about}",
        issuer.id
    )
}

/// OpenPGP signatures (`signature`, a detached signature file's bytes)
/// over `text` held in memory (a JCat checksum text a `Target` blob
/// signs): hashed here, since the text is not in the package. One check
/// per signature, each naming `covers`.
pub(crate) fn text_checks(
    covers: &str,
    signature: &[u8],
    text: &[u8],
    options: &VerifyOptions,
) -> Vec<Check> {
    let keys = options.trust.openpgp();
    let none = |outcome, detail: String| {
        let mut check = Check::new(CheckKind::Signature, covers.to_owned(), outcome);
        check.detail = Some(detail);
        vec![check]
    };
    let signatures = match pgp_trust::parse_signatures(signature) {
        Ok(s) => s,
        Err(why) if keys.is_empty() => {
            return none(Outcome::Info, format!("malformed OpenPGP signature: {why}"))
        }
        Err(why) => {
            return none(
                Outcome::NotRun,
                format!("malformed OpenPGP signature: {why}"),
            )
        }
    };
    let policy = Policy {
        allow_legacy: options.allow_legacy_crypto,
        now: chrono::Utc::now(),
    };
    let mut out = Vec::new();
    for signature in &signatures {
        let (issuer, mut check, about) = first_look(signature, covers.to_owned());
        if keys.is_empty() {
            check.detail = Some(unchecked(&issuer, &about));
            out.push(check);
            continue;
        }
        let outcome = match pgp_trust::prepare(signature) {
            Err(why) => PgpOutcome::NotRun(why),
            Ok(prepared) => {
                let mut hasher = super::digest::Hasher::new(prepared.algorithm);
                hasher.update(text);
                hasher.update(&prepared.trailer);
                match super::digest::from_hex(&hasher.finish()) {
                    Some(d) => pgp_trust::verify_digest(signature, &keys, &d, policy),
                    None => PgpOutcome::NotRun("digest not computed".to_owned()),
                }
            }
        };
        let who = match &issuer.claimed_user_id {
            Some(uid) => format!("{} (claims to be {uid:?})", issuer.id),
            None => issuer.id.clone(),
        };
        apply(&mut check, outcome, &who, &about);
        out.push(check);
    }
    out
}
