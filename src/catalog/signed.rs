//! The catalogue's own trust, decided before any entry is read: the
//! caller's `--sha256` pin, else a minisign signature beside it
//! (`CATALOGUE.minisig`, fwkit's own catalogues) by a `--key`, else an
//! OpenPGP signature beside it (`CATALOGUE.sign`, as Dell publishes
//! `Catalog.gz.sign`, or `.asc`, `.sig`) by trusted OpenPGP material given
//! with `--key`/`--keyring`. Anything else fails closed: the catalogue does
//! not count as verified, and the check says what would make it count.

use super::CatalogOptions;
use crate::formats::jcat::{self, BlobKind};
use crate::model::{Algorithm, Check, CheckKind, Outcome};
use crate::trust::openpgp::{self as pgp_trust, Outcome as PgpOutcome, Policy};
use crate::verify::digest::Hasher;
use crate::verify::hex;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// Most bytes of a detached signature file read.
const MAX_SIGNATURE_FILE: u64 = 1 << 20;

/// What to do when nothing makes the catalogue count.
const HOW: &str = "pin it with --sha256, or give the signer's OpenPGP key with --key/--keyring and put its signature (.sign or .asc) beside it";

/// The catalogue's trust check, over its bytes `raw`.
pub(super) fn trust_check(path: &Path, raw: &[u8], options: &CatalogOptions) -> Check {
    let covers = format!("catalogue {}", path.display());
    if let Some(pin) = options.sha256 {
        return pin_check(covers, raw, pin);
    }
    let minisig = crate::sign::detached_path(path, "minisig");
    if minisig.is_file() {
        return minisig_check(covers, &minisig, raw, &options.keys);
    }
    let jcat = crate::sign::detached_path(path, "jcat");
    match openpgp_signature(path) {
        Some(sign) => openpgp_check(covers, &sign, raw, options),
        None if jcat.is_file() => jcat_signature_check(covers, &jcat, raw, options),
        None => Check::new(CheckKind::Signature, covers, Outcome::NotRun).with_detail(format!(
            "the catalogue is neither pinned (--sha256) nor signed: not verified; {HOW}"
        )),
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

/// Read a detached signature file, at most [`MAX_SIGNATURE_FILE`] bytes.
fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_SIGNATURE_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_SIGNATURE_FILE {
        return Err(format!("larger than {MAX_SIGNATURE_FILE} bytes"));
    }
    Ok(bytes)
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
    let mut check = Check::new(CheckKind::Signature, covers, Outcome::NotRun);
    let name = sign.display();
    let signatures = match read_small(sign).and_then(|b| pgp_trust::parse_signatures(&b)) {
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
    let policy = Policy {
        allow_legacy: options.verify.allow_legacy_crypto,
        now: chrono::Utc::now(),
    };
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut other = Vec::new();
    for signature in &signatures {
        let issuer = pgp_trust::issuer(signature);
        let outcome = match pgp_trust::prepare(signature) {
            Ok(prepared) => {
                let mut hasher = Hasher::new(prepared.algorithm);
                hasher.update(raw);
                hasher.update(&prepared.trailer);
                match from_hex(&hasher.finish()) {
                    Some(digest) => pgp_trust::verify_digest(signature, &keys, &digest, policy),
                    None => PgpOutcome::NotRun("the digest was not computed".to_owned()),
                }
            }
            Err(why) => PgpOutcome::NotRun(why),
        };
        match outcome {
            PgpOutcome::Good {
                user_id,
                fingerprint,
                ..
            } => good.push(format!("{user_id} ({fingerprint})")),
            PgpOutcome::Bad(why) => bad.push(format!("{}: {why}", issuer.id)),
            PgpOutcome::Untrusted => other.push(format!("{}: not a given key", issuer.id)),
            PgpOutcome::NotRun(why) => other.push(format!("{}: {why}", issuer.id)),
        }
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
        check.computed = good.first().map(|g| format!("signer {g}"));
        return check.with_detail(format!(
            "good OpenPGP catalogue signature {name} by {}; {}",
            good.join(", "),
            pgp_trust::REVOCATION_NOTE
        ));
    }
    check.with_detail(format!(
        "OpenPGP catalogue signature {name} not made by a trusted key ({}): not verified; {HOW}",
        other.join("; ")
    ))
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// SEAM(jcat): the signatures (PKCS#7, GPG) in the `.jcat` beside LVFS
/// metadata. JCat signature verification is being written on branch `jcat`;
/// until it is merged, a `.jcat` alone never makes the metadata count (it
/// is treated like an unpinned catalogue: `--sha256`, or a trusted OpenPGP
/// `.asc` beside it, is needed). When `jcat` lands, check its signature
/// blobs over `raw` here with `options.verify`'s trust store and return
/// passed or failed; keep not-run when no trusted signer made one.
fn jcat_signature_check(
    covers: String,
    jcat: &Path,
    raw: &[u8],
    options: &CatalogOptions,
) -> Check {
    let _ = (raw, options);
    let kinds = jcat_file(jcat)
        .ok()
        .map(|file| {
            let mut kinds: Vec<String> = file
                .items
                .iter()
                .flat_map(|item| item.blobs.iter())
                .filter(|b| matches!(b.kind(), BlobKind::Signature(_)))
                .map(|b| jcat::kind_name(b.kind))
                .collect();
            kinds.sort();
            kinds.dedup();
            kinds.join(", ")
        })
        .unwrap_or_default();
    Check::new(CheckKind::Signature, covers, Outcome::NotRun).with_detail(format!(
        "signed only in {} ({kinds}): JCat signatures are not checked by fwkit yet, so the metadata is not verified; pin it with --sha256, or give the signer's OpenPGP key with --key/--keyring and put its .asc beside it",
        jcat.display()
    ))
}

/// Most bytes of a `.jcat` file read.
const MAX_JCAT_FILE: u64 = 16 << 20;

fn jcat_file(path: &Path) -> Result<jcat::JcatFile, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_JCAT_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_JCAT_FILE {
        return Err(format!("larger than {MAX_JCAT_FILE} bytes"));
    }
    jcat::parse(&bytes)
}

/// The checksums the `.jcat` beside LVFS metadata states for it, each
/// checked over the metadata's bytes `raw`; its signatures listed, not
/// checked (see [`jcat_signature_check`]). A checksum alone does not make
/// the metadata count: nothing protects the `.jcat` itself.
pub(super) fn jcat_checks(path: &Path, raw: &[u8]) -> Vec<Check> {
    let jcat = crate::sign::detached_path(path, "jcat");
    if !jcat.is_file() {
        return Vec::new();
    }
    let name = jcat.display().to_string();
    let file = match jcat_file(&jcat) {
        Ok(file) => file,
        Err(why) => {
            return vec![Check::failed(
                CheckKind::Structure,
                format!("JCat {name}"),
                format!("not a JCat file: {why}"),
            )]
        }
    };
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(item) = file
        .items
        .iter()
        .find(|i| i.id == base || i.alias_ids.contains(&base))
    else {
        return vec![Check::failed(
            CheckKind::Structure,
            format!("JCat {name}"),
            format!("it has no item for {base}"),
        )];
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
            BlobKind::Signature(kind) => checks.push(
                Check::new(CheckKind::Signature, covers.clone(), Outcome::Info).with_detail(
                    format!("JCat {kind} signature present, not checked by fwkit yet"),
                ),
            ),
            BlobKind::Other => {}
        }
    }
    checks
}
