//! Signature decisions: which signatures a package carries, whether the
//! caller's keys accept them, and whether one of them covers the whole
//! package.
//!
//! Found signatures: a `X.minisig` or `X.sig` member next to a member `X`
//! (usually `FWKIT-MANIFEST.minisig` or `SHA256SUMS.sig`), and a detached
//! `PKG.minisig` / `PKG.sig` next to the package file.
//!
//! Policy: with keys, a valid signature by one of them must cover the whole
//! package (a detached signature over the file, or a signature over a
//! manifest that lists every member); without keys, signatures are reported
//! as present, not checked; `require_signature` makes that a failure.

use super::manifest::Manifest;
use super::VerifyOptions;
use crate::model::{Check, CheckKind, Member, MemberKind, MemberName, Outcome, Signer, SignerId};
use crate::sign::{self, PublicKey, Signature};
use std::io::Read;

/// Largest detached signature file read.
pub(crate) const MAX_SIGNATURE_FILE: u64 = 64 << 10;

/// A detached signature file beside the package, as read by the caller.
pub(crate) struct Detached<R> {
    /// The signature file, for the report.
    pub name: String,
    /// Its content (at most [`MAX_SIGNATURE_FILE`] bytes).
    pub text: Vec<u8>,
    /// The package's bytes (read only for a signature over the data itself)
    /// and their length.
    pub data: (R, u64),
}

/// The signatures a package carries: members next to the members they
/// sign, and detached files beside the package.
pub(crate) struct Carried<'a, R> {
    pub captured: &'a [(MemberName, Vec<u8>)],
    pub manifests: &'a [Manifest],
    pub members: &'a [Member],
    pub detached: Vec<Detached<R>>,
    /// Authenticode signatures, checked; the flag: passed and covers the
    /// whole package.
    pub authenticode: Vec<(Check, bool)>,
    /// Other checked signatures (JCat blobs, HPE compsig files); the flag:
    /// passed and covers the whole package.
    pub others: Vec<(Check, bool)>,
}

struct Found {
    /// What the signature covers, in words.
    covers: String,
    /// It covers every member of the package.
    whole: bool,
    check: Check,
}

/// What a signature is checked against: the data, or (for a prehashed
/// signature) the data's BLAKE2b-512 computed in the pass.
enum Signed<R> {
    Data(R),
    Prehashed([u8; 64], R),
}

fn check_one<R: std::io::Read>(
    text: &[u8],
    covers: &str,
    keys: &[PublicKey],
    data: Signed<R>,
) -> Check {
    let mut check = Check::new(CheckKind::Signature, covers.to_owned(), Outcome::Info);
    let parsed = std::str::from_utf8(text)
        .map_err(|_| "not text".to_owned())
        .and_then(|t| Signature::parse(t).map_err(|e| e.to_string()));
    let signature = match parsed {
        Ok(s) => s,
        Err(why) => {
            check.detail = Some(format!(
                "a signature file is present but is not minisign/signify ({why}); not checked"
            ));
            return check;
        }
    };
    check.expected = Some(format!("key id {}", signature.key_id));
    if keys.is_empty() {
        check.detail = Some(format!(
            "{} signature by key id {} present, not checked (give --key to check it)",
            if signature.trusted.is_some() {
                "minisign"
            } else {
                "signify"
            },
            signature.key_id
        ));
        return check;
    }
    let verified = match data {
        Signed::Prehashed(hash, _) if signature.prehashed => {
            sign::verify_prehashed(&signature, keys, &hash)
        }
        Signed::Prehashed(_, data) | Signed::Data(data) => sign::verify(&signature, keys, data),
    };
    match verified {
        Ok(verified) => {
            check.outcome = Outcome::Passed;
            check.computed = Some(format!("key id {}", verified.key_id));
            check.signer = Some(Box::new(Signer {
                id: SignerId::Minisign {
                    key_id: verified.key_id.to_string(),
                },
                whole_package: false,
            }));
            check.detail = Some(match verified.trusted_comment {
                Some(comment) => format!("good signature; trusted comment: {comment}"),
                None => "good signature".to_owned(),
            });
        }
        // Another signer's signature (a countersigned package) is not a
        // failure; whether some given key covers the package is decided below.
        Err(e @ sign::SignError::NoKeyForKeyId { .. }) => {
            check.detail = Some(format!("{e}; not checked"));
        }
        Err(e) => {
            check.outcome = Outcome::Failed;
            check.detail = Some(e.to_string());
        }
    }
    check
}

/// True when `manifest` lists every file member of the package but itself
/// and its own signature files (an unlisted `other.sig` is a member like any).
fn lists_everything(manifest: &Manifest, members: &[Member]) -> bool {
    if manifest.complete {
        return manifest.bad_lines.is_empty();
    }
    let listed = manifest.listed();
    members
        .iter()
        .filter(|m| m.kind == MemberKind::File)
        .filter_map(|m| m.path.as_ref())
        .filter(|p| !manifest.is_own_file(p))
        .all(|p| listed.contains(p))
}

/// Every signature check, and the policy's verdict on them.
pub(crate) fn checks<R: Read>(
    mut carried: Carried<'_, R>,
    options: &VerifyOptions,
    pass: Evidence,
) -> Vec<Check> {
    let keys = &options.keys;
    let mut found = member_signatures(&carried, keys, pass.stub_ok);
    for file in std::mem::take(&mut carried.detached) {
        let covers = format!("whole file (detached {})", file.name);
        let (data, len) = file.data;
        let signed = match pass.prehash {
            Some(hash) => Signed::Prehashed(hash, data),
            None => Signed::Data(data),
        };
        let check = check_one(&file.text, &covers, keys, signed).with_range((0, len));
        found.push(Found {
            covers,
            whole: true,
            check,
        });
    }
    let openpgp = super::openpgp::checks(&pass.openpgp, &pass.openpgp_digests, options);
    let others = std::mem::take(&mut carried.others);
    for (check, whole) in carried
        .authenticode
        .into_iter()
        .chain(openpgp)
        .chain(others)
    {
        found.push(Found {
            covers: check.covers.clone(),
            whole,
            check,
        });
    }
    let mut out: Vec<Check> = found
        .iter()
        .map(|f| {
            let mut check = f.check.clone();
            if let Some(signer) = &mut check.signer {
                signer.whole_package = f.whole;
            }
            check
        })
        .collect();
    out.extend(policy(&found, options, pass.stub_ok));
    out
}

/// Signatures carried as members: `X.minisig` or `X.sig` beside a kept
/// member `X`.
fn member_signatures<R>(
    carried: &Carried<'_, R>,
    keys: &[PublicKey],
    stub_ok: Option<bool>,
) -> Vec<Found> {
    let mut found = Vec::new();
    for (name, bytes) in carried.captured {
        let name = name.as_str();
        let Some(target) = name
            .strip_suffix(".minisig")
            .or_else(|| name.strip_suffix(".sig"))
        else {
            continue;
        };
        let covers = format!("member {target} (signature {name})");
        let kept = carried.captured.iter().find(|(n, _)| n.as_str() == target);
        let Some((_, data)) = kept else {
            let mut check = Check::new(CheckKind::Signature, covers.clone(), Outcome::Info);
            check.detail = Some(format!(
                "signature of {target}, which fwkit does not keep; not checked"
            ));
            found.push(Found {
                covers,
                whole: false,
                check,
            });
            continue;
        };
        // A self-extractor's stub runs code: a manifest signature covers the
        // whole package only when the stub is proven to be fwkit's own.
        let whole = stub_ok != Some(false)
            && carried
                .manifests
                .iter()
                .find(|m| m.source.as_str() == target)
                .is_some_and(|m| lists_everything(m, carried.members));
        let check = check_one(bytes, &covers, keys, Signed::Data(&data[..]));
        found.push(Found {
            covers,
            whole,
            check,
        });
    }
    found
}

/// The policy: with keys, a valid signature by one of them must cover the
/// whole package; without, `require_signature` makes that a failure too.
fn policy(found: &[Found], options: &VerifyOptions, stub_ok: Option<bool>) -> Option<Check> {
    let satisfied = found
        .iter()
        .any(|f| f.whole && f.check.outcome == Outcome::Passed);
    if !options.has_trust() {
        let detail = match found.is_empty() {
            true => "a signature is required (--require-signature) and none was found",
            false => "a signature is required (--require-signature) but no --key/--keyring was given to check it",
        };
        return options
            .require_signature
            .then(|| Check::failed(CheckKind::Signature, "package", detail));
    }
    if satisfied {
        return None;
    }
    let partial: Vec<&str> = found
        .iter()
        .filter(|f| f.check.outcome == Outcome::Passed)
        .map(|f| f.covers.as_str())
        .collect();
    let detail = if found.is_empty() {
        "no signature found (looked for *.minisig/*.sig members, a detached PKG.minisig/PKG.sig/PKG.sign/PKG.asc/PKG.jcat/PKG.compsig, JCat signatures in a cabinet and an Authenticode signature)"
            .to_owned()
    } else if partial.is_empty() {
        "no valid signature by the given key(s)".to_owned()
    } else {
        let stub = match stub_ok {
            Some(false) => " (the self-extracting stub, which runs code, is covered by none: only a detached signature of the whole file, or a FWKIT-MANIFEST signature with fwkit's own stub, covers it)",
            _ => "",
        };
        format!(
            "valid signatures cover only part of the package ({}){stub}; a signature must cover a manifest listing every member, or the whole file",
            partial.join(", ")
        )
    };
    Some(Check::failed(CheckKind::Signature, "package", detail))
}

/// What the pass established that the signature policy needs.
pub(crate) struct Evidence {
    /// For a self-extractor with a fwkit manifest: is the stub fwkit's own?
    pub stub_ok: Option<bool>,
    /// The whole file's BLAKE2b-512, when a detached minisign signature exists.
    pub prehash: Option<[u8; 64]>,
    /// Detached OpenPGP signature files beside the package.
    pub openpgp: Vec<super::openpgp::PgpFile>,
    /// The digests the pass computed for them.
    pub openpgp_digests: Vec<Check>,
}
