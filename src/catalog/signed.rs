//! The catalogue's own trust, decided before any entry is read: the
//! caller's `--sha256` pin, else a minisign signature beside it
//! (`CATALOGUE.minisig`, fwkit's own catalogues) by a `--key`, else an
//! OpenPGP signature beside it (`CATALOGUE.sign`, as Dell publishes
//! `Catalog.gz.sign`, or `.asc`, `.sig`) by trusted OpenPGP material given
//! with `--key`/`--keyring`. Anything else fails closed: the catalogue does
//! not count as verified, and the check says what would make it count.

use super::CatalogOptions;
use crate::formats::jcat::{self, BlobKind};
use crate::formats::jcat_sign;
use crate::model::{Algorithm, Check, CheckKind, Outcome};
use crate::trust::openpgp as pgp_trust;
use crate::verify::digest::Hasher;
use crate::verify::hex;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// Most bytes of a detached signature file read.
const MAX_SIGNATURE_FILE: u64 = 1 << 20;

/// What to do when nothing makes the catalogue count.
const HOW: &str = "pin it with --sha256, or give the signer's OpenPGP key with --key/--keyring and put its signature (.sign or .asc) beside it";

/// The `.jcat` beside a catalogue, read and parsed once for both its
/// checksums and its signatures (so both judge the same file).
pub(super) struct BesideJcat {
    path: PathBuf,
    parsed: Result<jcat::JcatFile, String>,
}

impl BesideJcat {
    /// The `.jcat` beside `catalogue`, if there is one.
    pub(super) fn read(catalogue: &Path) -> Option<BesideJcat> {
        let path = crate::sign::detached_path(catalogue, "jcat");
        if !path.is_file() {
            return None;
        }
        let parsed = read_small(&path, MAX_JCAT_FILE).and_then(|bytes| jcat::parse(&bytes));
        Some(BesideJcat { path, parsed })
    }

    /// Its item for the catalogue at `path` (by file name) and that name,
    /// or why there is none.
    fn item_for(&self, path: &Path) -> Result<(&jcat::Item, String), String> {
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = self
            .parsed
            .as_ref()
            .map_err(|why| format!("not a JCat file: {why}"))?;
        let item = file
            .items
            .iter()
            .find(|i| i.id == base || i.alias_ids.contains(&base))
            .ok_or_else(|| format!("it has no item for {base}"))?;
        Ok((item, base))
    }
}

/// The catalogue's trust check, over its bytes `raw`; `jcat`: the `.jcat`
/// beside it.
pub(super) fn trust_check(
    path: &Path,
    raw: &[u8],
    options: &CatalogOptions,
    jcat: Option<&BesideJcat>,
) -> Check {
    let covers = format!("catalogue {}", path.display());
    if let Some(pin) = options.sha256 {
        return pin_check(covers, raw, pin);
    }
    let minisig = crate::sign::detached_path(path, "minisig");
    if minisig.is_file() {
        return minisig_check(covers, &minisig, raw, &options.keys);
    }
    match (openpgp_signature(path), jcat) {
        (Some(sign), _) => openpgp_check(covers, &sign, raw, options),
        (None, Some(jcat)) => jcat_signature_check(covers, path, jcat, raw, options),
        (None, None) => Check::new(CheckKind::Signature, covers, Outcome::NotRun).with_detail(
            format!("the catalogue is neither pinned (--sha256) nor signed: not verified; {HOW}"),
        ),
    }
}

/// The first OpenPGP signature file beside `path`: `.sign`, `.asc`, `.sig`.
pub fn openpgp_signature(path: &Path) -> Option<PathBuf> {
    ["sign", "asc", "sig"]
        .iter()
        .map(|ext| crate::sign::detached_path(path, ext))
        .find(|p| p.is_file())
}

fn pin_check(covers: String, raw: &[u8], pin: [u8; 32]) -> Check {
    let computed = hex(&Sha256::digest(raw));
    let expected = hex(&pin);
    let outcome = if computed == expected {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    let mut check = Check::new(CheckKind::External, covers, outcome);
    check.algorithm = Some(Algorithm::Sha256);
    check.expected = Some(expected);
    check.computed = Some(computed);
    check
}

/// A minisign signature over the catalogue's bytes, by one of `keys`.
fn minisig_check(
    covers: String,
    minisig: &Path,
    raw: &[u8],
    keys: &[crate::sign::PublicKey],
) -> Check {
    let mut check = Check::new(CheckKind::Signature, covers, Outcome::NotRun);
    if keys.is_empty() {
        return check.with_detail(format!(
            "signed ({}), but no --key to check it with",
            minisig.display()
        ));
    }
    let text = match std::fs::read_to_string(minisig) {
        Ok(text) => text,
        Err(e) => return check.with_detail(format!("cannot read {}: {e}", minisig.display())),
    };
    let result = crate::sign::Signature::parse(&text)
        .and_then(|signature| crate::sign::verify(&signature, keys, raw));
    match result {
        Ok(_) => {
            check.outcome = Outcome::Passed;
            check.with_detail(format!("minisign signature {}", minisig.display()))
        }
        Err(e) => {
            check.outcome = Outcome::Failed;
            check.with_detail(format!("{}: {e}", minisig.display()))
        }
    }
}

/// A file beside the catalogue (a signature, a `.jcat`), at most `max`
/// bytes; why not, in words for a check's detail.
fn read_small(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    match crate::input::read_whole(&crate::input::FileSystem, path, max) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("larger than {max} bytes")),
        Err(crate::error::Error::Read { source, .. }) => Err(format!("cannot read it: {source}")),
        Err(e) => Err(e.to_string()),
    }
}

/// An OpenPGP signature file `sign` over the catalogue's bytes: passed when
/// a trusted key made one of its signatures and none is bad; failed when one
/// does not match; not run (a failure) when no trusted key made any.
pub(super) fn openpgp_check(
    covers: String,
    sign: &Path,
    raw: &[u8],
    options: &CatalogOptions,
) -> Check {
    let name = sign.display().to_string();
    match read_small(sign, MAX_SIGNATURE_FILE) {
        Ok(bytes) => openpgp_bytes_check(covers, &name, &bytes, raw, options),
        Err(why) => Check::new(CheckKind::Signature, covers, Outcome::NotRun).with_detail(format!(
            "{name}: not a readable OpenPGP signature ({why}); not verified; {HOW}"
        )),
    }
}

/// An OpenPGP detached signature (`bytes`, from `name`) over `raw`.
fn openpgp_bytes_check(
    covers: String,
    name: &str,
    bytes: &[u8],
    raw: &[u8],
    options: &CatalogOptions,
) -> Check {
    let mut check = Check::new(CheckKind::Signature, covers, Outcome::NotRun);
    let signatures = match pgp_trust::parse_signatures(bytes) {
        Ok(s) => s,
        Err(why) => {
            return check.with_detail(format!(
                "{name}: not a readable OpenPGP signature ({why}); not verified; {HOW}"
            ))
        }
    };
    let keys = options.trust.openpgp();
    if keys.is_empty() {
        let who: Vec<String> = signatures.iter().map(|s| pgp_trust::issuer(s).id).collect();
        return check.with_detail(format!(
            "signed ({name}, by {}), but no OpenPGP key was given to check it: not verified; {HOW}",
            who.join(", ")
        ));
    }
    // The signatures checked over the bytes in memory as verify checks any
    // OpenPGP signature over a text; their checks folded into one.
    let verify = crate::verify::VerifyOptions {
        trust: options.trust.clone(),
        ..options.verify.clone()
    };
    let checks = crate::verify::openpgp::text_checks(&check.covers, bytes, raw, &verify);
    let said = |outcome: Outcome| -> Vec<String> {
        checks
            .iter()
            .filter(|c| c.outcome == outcome)
            .map(|c| c.detail.clone().unwrap_or_default())
            .collect()
    };
    let (bad, good) = (said(Outcome::Failed), said(Outcome::Passed));
    let mut other = said(Outcome::Info);
    other.extend(said(Outcome::NotRun));
    if let Some(passed) = checks.iter().find(|c| c.outcome == Outcome::Passed) {
        check.computed = passed.computed.clone();
        check.signer = passed.signer.clone();
    }
    if !bad.is_empty() {
        check.outcome = Outcome::Failed;
        return check.with_detail(format!(
            "bad OpenPGP catalogue signature {name}: {}",
            bad.join("; ")
        ));
    }
    if !good.is_empty() {
        check.outcome = Outcome::Passed;
        return check.with_detail(format!(
            "good OpenPGP catalogue signature {name}: {}",
            good.join("; ")
        ));
    }
    check.with_detail(format!(
        "OpenPGP catalogue signature {name} not made by a trusted key ({}): not verified; {HOW}",
        other.join("; ")
    ))
}

/// The signatures (PKCS#7, GPG) in the `.jcat` beside LVFS metadata,
/// judged over the metadata's bytes `raw` with the trust material given
/// (`jcat_sign`, as for a `.jcat` beside a package). Passed when a trusted
/// signature covers the metadata and none fails; not-run when no trusted
/// signer made one.
fn jcat_signature_check(
    covers: String,
    path: &Path,
    jcat: &BesideJcat,
    raw: &[u8],
    options: &CatalogOptions,
) -> Check {
    let (item, base) = match jcat.item_for(path) {
        Ok(found) => found,
        Err(why) => {
            return Check::failed(
                CheckKind::Signature,
                covers,
                format!("{}: {why}", jcat.path.display()),
            )
        }
    };
    // The catalogue's trust material, not the packages' options.
    let verify = crate::verify::VerifyOptions {
        anchors: options.anchors.clone(),
        trust: options.trust.clone(),
        ..options.verify.clone()
    };
    let signed = jcat_sign::Signed {
        name: base.clone(),
        digests: digests_of(raw),
        pgp_elsewhere: false,
        options: &verify,
    };
    let mut covered = false;
    let mut judged = Vec::new();
    for blob in item.blobs.iter() {
        let (BlobKind::Signature(kind), Ok(data)) = (blob.kind(), &blob.data) else {
            continue;
        };
        let what = format!("JCat {kind} signature in {}", jcat.path.display());
        // A GPG blob over the metadata itself: its bytes are here, so the
        // signature (trailer included) is checked over them.
        if kind == "gpg" && blob.target.is_none() {
            let check = openpgp_bytes_check(what.clone(), &what, data, raw, options);
            covered |= check.outcome == Outcome::Passed;
            judged.push(check);
            continue;
        }
        let one = jcat_sign::judge(&what, (item, blob, data), Some(&signed));
        covered |= one.covers_file;
        judged.extend(one.checks);
    }
    let failed = judged.iter().any(|c| c.outcome == Outcome::Failed);
    let outcome = match (failed, covered) {
        (true, _) => Outcome::Failed,
        (false, true) => Outcome::Passed,
        (false, false) => Outcome::NotRun,
    };
    summary(covers, &judged, outcome, (&jcat.path, &base))
}

/// One check from the judged signature blobs of a `.jcat`, with the
/// outcome decided from them.
fn summary(
    covers: String,
    judged: &[Check],
    outcome: Outcome,
    (jcat, base): (&Path, &str),
) -> Check {
    let mut details: Vec<String> = judged
        .iter()
        .map(|c| {
            let said = match c.outcome {
                Outcome::Passed => "passed",
                Outcome::Failed => "FAILED",
                Outcome::Info => "untrusted",
                _ => "not checked",
            };
            format!("{said} {}: {}", c.covers, c.detail.as_deref().unwrap_or(""))
        })
        .collect();
    if judged.is_empty() {
        details.push(format!("{} holds no signature for {base}", jcat.display()));
    }
    if outcome == Outcome::NotRun {
        details.push(format!(
            "no trusted signature covers the metadata: not verified; {HOW}, or its X.509 certificate for a JCat PKCS#7 signature"
        ));
    }
    Check::new(CheckKind::Signature, covers, outcome).with_detail(details.join(" | "))
}

/// The digests a JCat signature may be made over, of `raw`.
fn digests_of(raw: &[u8]) -> Vec<(Algorithm, String)> {
    [Algorithm::Sha256, Algorithm::Sha512, Algorithm::Sha1]
        .into_iter()
        .map(|algorithm| {
            let mut hasher = Hasher::new(algorithm);
            hasher.update(raw);
            (algorithm, hasher.finish())
        })
        .collect()
}

/// Most bytes of a `.jcat` file read.
const MAX_JCAT_FILE: u64 = 16 << 20;

/// The checksums the `.jcat` beside LVFS metadata states for it, each
/// checked over the metadata's bytes `raw`; its signatures listed, not
/// judged by [`jcat_signature_check`]. A checksum alone does not make
/// the metadata count: nothing protects the `.jcat` itself.
pub(super) fn jcat_checks(path: &Path, raw: &[u8], jcat: Option<&BesideJcat>) -> Vec<Check> {
    let Some(jcat) = jcat else {
        return Vec::new();
    };
    let name = jcat.path.display().to_string();
    let item = match jcat.item_for(path) {
        Ok((item, _)) => item,
        Err(why) => {
            return vec![Check::failed(
                CheckKind::Structure,
                format!("JCat {name}"),
                why,
            )]
        }
    };
    let covers = format!("catalogue {} (checksum in {name})", path.display());
    let mut checks = Vec::new();
    for blob in &item.blobs {
        match blob.kind() {
            BlobKind::Checksum(algorithm) => {
                let mut check = Check::new(CheckKind::Digest, covers.clone(), Outcome::Failed);
                check.algorithm = Some(algorithm);
                let mut hasher = Hasher::new(algorithm);
                hasher.update(raw);
                let computed = hasher.finish();
                let expected = match &blob.data {
                    Ok(data) => String::from_utf8_lossy(data).trim().to_ascii_lowercase(),
                    Err(why) => format!("unreadable ({why})"),
                };
                if expected == computed {
                    check.outcome = Outcome::Passed;
                }
                check.expected = Some(expected);
                check.computed = Some(computed);
                checks.push(
                    check.with_detail("unsigned by itself: it does not make the metadata count"),
                );
            }
            // Judged in the catalogue's own signature check.
            BlobKind::Signature(_) | BlobKind::Other => {}
        }
    }
    checks
}
