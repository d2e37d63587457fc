//! The signature blobs of JCat files, checked (see `formats/cab.md`,
//! "JCat"): PKCS#7 (kind 3) against the X.509 anchors given, GPG (kind 2)
//! against the OpenPGP keys given. A blob without `Target` signs the file
//! its item names; one with `Target` signs the text of the item's blob of
//! that kind (the hex checksum), which covers the file only when that
//! checksum is the file's.
//!
//! Used for the JCat files inside a cabinet (the file's digests come from
//! the member walk) and for a `.jcat` beside a package (from the pass over
//! the package).

use crate::formats::jcat::{self, BlobKind};
use crate::model::{Algorithm, Check, CheckKind, Outcome};
use crate::verify::{openpgp, pkcs7, VerifyOptions};

/// The file a JCat item names, as the pass saw it.
pub(crate) struct Signed<'a> {
    /// Its name (member path, or the package's path), for coverage.
    pub name: String,
    /// The digests the pass computed over it.
    pub digests: Vec<(Algorithm, String)>,
    /// Whether an OpenPGP signature over it was checked elsewhere (the
    /// package's own pass, with the signature's trailer as suffix): then
    /// GPG blobs over the file itself are not judged here.
    pub pgp_elsewhere: bool,
    pub options: &'a VerifyOptions,
}

/// What judging one signature blob gave: its checks, and whether a passed
/// one covers the file.
pub(crate) struct Judged {
    pub checks: Vec<Check>,
    pub covers_file: bool,
}

/// Judge one signature `blob` (data `data`) of `item` over `file` (`None`:
/// the item names no file there). `covers` names the blob in the report.
pub(crate) fn judge(
    covers: &str,
    (item, blob, data): (&jcat::Item, &jcat::Blob, &[u8]),
    file: Option<&Signed<'_>>,
) -> Judged {
    let kind = blob.kind();
    let Some(file) = file else {
        let check = Check::failed(
            CheckKind::Signature,
            covers.to_owned(),
            "the file the item names is not there",
        );
        return Judged {
            checks: vec![check],
            covers_file: false,
        };
    };
    let mut judged = match blob.target {
        Some(target) => over_text(covers, (item, blob, data), target, file),
        None => over_file(covers, kind, data, file),
    };
    if let Some(t) = blob.timestamp.filter(|t| *t > 0) {
        for check in &mut judged.checks {
            let detail = check.detail.take().unwrap_or_default();
            check.detail = Some(format!("{detail}; blob made at Unix time {t}"));
        }
    }
    judged.covers_file &= judged.checks.iter().any(|c| c.outcome == Outcome::Passed);
    judged
}

/// A blob that signs the file itself.
fn over_file(covers: &str, kind: BlobKind, data: &[u8], file: &Signed<'_>) -> Judged {
    let checks = match kind {
        BlobKind::Signature("pkcs7") => vec![pkcs7_check(
            covers,
            data,
            pkcs7::Content::Digests(&file.digests),
            file.options,
        )],
        BlobKind::Signature("gpg") if file.pgp_elsewhere => Vec::new(),
        BlobKind::Signature("gpg") => {
            let outcome = match file.options.trust.openpgp().is_empty() {
                true => Outcome::Info,
                false => Outcome::NotRun,
            };
            vec![Check::new(CheckKind::Signature, covers.to_owned(), outcome).with_detail(
                "GPG signature of a cabinet member: it signs H(member ‖ trailer), which the member walk does not compute; not checked",
            )]
        }
        _ => vec![not_checked(covers, kind)],
    };
    Judged {
        checks,
        covers_file: true,
    }
}

/// A blob that signs the text of the item's `target` blob.
fn over_text(
    covers: &str,
    (item, blob, data): (&jcat::Item, &jcat::Blob, &[u8]),
    target: u64,
    file: &Signed<'_>,
) -> Judged {
    let kind = blob.kind();
    let signed = item
        .blobs
        .iter()
        .find(|b| b.kind == target && b.target.is_none())
        .map(|b| (b.kind(), b.data.as_deref()));
    let text = match signed {
        Some((_, Ok(text))) => text,
        _ => {
            let check = Check::new(CheckKind::Signature, covers.to_owned(), Outcome::NotRun)
                .with_detail(format!(
                    "it signs the item's {} blob, which is missing or unreadable",
                    jcat::kind_name(target)
                ));
            return Judged {
                checks: vec![check],
                covers_file: false,
            };
        }
    };
    // The signed text vouches for the file only when it is the file's digest.
    let covers_file = match signed {
        Some((BlobKind::Checksum(algorithm), _)) => file.digests.iter().any(|(a, v)| {
            *a == algorithm && v.eq_ignore_ascii_case(String::from_utf8_lossy(text).trim())
        }),
        _ => false,
    };
    let about = format!(
        "over the item's {} checksum text{}",
        jcat::kind_name(target),
        match covers_file {
            true => ", which is the file's digest",
            false => ", which is not the file's digest as computed",
        }
    );
    let mut checks = match kind {
        BlobKind::Signature("pkcs7") => vec![pkcs7_check(
            covers,
            data,
            pkcs7::Content::Bytes(text),
            file.options,
        )],
        BlobKind::Signature("gpg") => openpgp::text_checks(covers, data, text, file.options),
        _ => vec![not_checked(covers, kind)],
    };
    for check in &mut checks {
        let detail = check.detail.take().unwrap_or_default();
        check.detail = Some(format!("{detail}; {about}"));
    }
    Judged {
        checks,
        covers_file,
    }
}

fn pkcs7_check(
    covers: &str,
    data: &[u8],
    content: pkcs7::Content<'_>,
    options: &VerifyOptions,
) -> Check {
    let check = Check::new(CheckKind::Signature, covers.to_owned(), Outcome::NotRun);
    match pkcs7::parse(data) {
        Ok(signature) => pkcs7::check(check, &signature, content, options),
        Err(why) if options.anchors.is_empty() => {
            let mut check = check.with_detail(format!("malformed PKCS#7 signature: {why}"));
            check.outcome = Outcome::Info;
            check
        }
        Err(why) => check.with_detail(format!("malformed PKCS#7 signature: {why}")),
    }
}

fn not_checked(covers: &str, kind: BlobKind) -> Check {
    let what = match kind {
        BlobKind::Signature(what) => what,
        _ => "unknown",
    };
    Check::new(CheckKind::Signature, covers.to_owned(), Outcome::Info).with_detail(format!(
        "{what} signature present, not checked (fwkit checks JCat PKCS#7 and GPG signatures only)"
    ))
}
