//! One catalogue entry checked: its path (refused before anything is opened
//! when unsafe), existence, size, digest, and the package itself.

use super::below;
use super::dell::{Component, Expect};
use super::source::Names;
use super::EntryReport;
use crate::error::{Error, Result};
use crate::input::ReadAt;
use crate::input::{walk_sorted, Step};
use crate::model::{Algorithm, Check, CheckKind, MemberName, Outcome, Verdict};
use crate::package::Package;
use crate::verify::{hex, parse_sha256, VerifyOptions};
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How packages are verified: without a trust store (the catalogue's
/// SHA-256 covers each), or, for a package with an OpenPGP signature beside
/// it (`PKG.sign`, as Dell ships them, `.asc`, `.sig`) when OpenPGP keys
/// were given, with them: that signature must then be good.
pub(super) struct Packages {
    plain: VerifyOptions,
    signed: Option<VerifyOptions>,
}

impl Packages {
    pub(super) fn new(options: &super::CatalogOptions) -> Packages {
        let mut plain = options.verify.clone();
        plain.progress = None;
        plain.sha256 = None;
        let signed = (!options.trust.openpgp().is_empty()).then(|| {
            let mut signed = plain.clone();
            signed.trust = options.trust.clone();
            signed
        });
        Packages { plain, signed }
    }
}

/// Check one entry below `root` (the directory, canonical).
pub(super) fn check(
    root: &Path,
    index: usize,
    component: Component,
    packages: &Packages,
) -> EntryReport {
    let mut entry = EntryReport {
        index,
        path: component.path,
        dell: component.facts,
        size: None,
        format: None,
        weak: false,
        checks: Vec::new(),
        warnings: Vec::new(),
        verdict: Verdict::Verified,
        vendor: Vec::new(),
    };
    let mut package_reasons = Vec::new();
    if let Some((real, file)) = locate(root, &mut entry) {
        package_reasons = check_file(&real, &file, &mut entry, component.expect, packages);
    }
    let mut reasons: Vec<String> = entry
        .checks
        .iter()
        .filter(|c| c.outcome.is_failure())
        .map(Check::summary)
        .collect();
    for reason in package_reasons {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    if !reasons.is_empty() {
        entry.verdict = Verdict::NotVerified { reasons };
    }
    entry
}

/// The entry's file inside `root`, opened once, or `None` with the failed
/// check recorded. Nothing is opened for a refused name; the name is opened
/// one component at a time below `root` without following links, so what is
/// checked is the handle, never a path that could change after a check.
fn locate(root: &Path, entry: &mut EntryReport) -> Option<(PathBuf, Arc<File>)> {
    let covers = format!("path {}", entry.path);
    let name = match MemberName::parse(entry.path.as_bytes()) {
        Ok(name) => name,
        Err(e) => {
            let detail = format!("refused: {e}; nothing outside the directory is read");
            entry
                .checks
                .push(Check::failed(CheckKind::Safety, covers, detail));
            return None;
        }
    };
    let failed = |kind, detail: &str| Check::failed(kind, covers.clone(), detail.to_owned());
    let file = match below::open(root, name.as_str()) {
        Ok(file) => file,
        Err(below::Refused::Missing) => {
            let detail = "missing: the directory holds no such file";
            entry.checks.push(failed(CheckKind::Structure, detail));
            return None;
        }
        Err(below::Refused::Link) => {
            let detail = "refused: a symbolic link on the way (links are not followed; nothing outside the directory is read)";
            entry.checks.push(failed(CheckKind::Safety, detail));
            return None;
        }
        Err(below::Refused::NotFile) => {
            entry
                .checks
                .push(failed(CheckKind::Structure, "not a regular file"));
            return None;
        }
        Err(below::Refused::Io(e)) => {
            let check = Check::new(CheckKind::Structure, covers, Outcome::NotRun);
            entry
                .checks
                .push(check.with_detail(format!("cannot read: {e}")));
            return None;
        }
    };
    entry
        .checks
        .push(Check::new(CheckKind::Safety, covers, Outcome::Passed));
    Some((name.to_path(root), Arc::new(file)))
}

/// Size, digest and the package; returns the package's reasons when it did
/// not verify.
fn check_file(
    real: &Path,
    file: &Arc<File>,
    entry: &mut EntryReport,
    expect: Expect,
    packages: &Packages,
) -> Vec<String> {
    let size = file.metadata().map(|m| m.len()).ok();
    entry.size = size;
    size_check(entry, size);
    let sign = super::signed::openpgp_signature(real);
    let mut options = match (&sign, &packages.signed) {
        (Some(_), Some(signed)) => signed.clone(),
        (Some(sign), None) => {
            entry.warnings.push(format!(
                "{} not checked: give the signer's OpenPGP key with --key/--keyring",
                sign.file_name().unwrap_or_default().to_string_lossy()
            ));
            packages.plain.clone()
        }
        (None, _) => packages.plain.clone(),
    };
    let declared = entry.dell.sha256.clone();
    if let Some(text) = declared.as_deref() {
        match parse_sha256(text) {
            Some(pin) => options.sha256 = Some(pin),
            None => entry.checks.push(Check::failed(
                CheckKind::Digest,
                format!("catalogue SHA-256 of {}", entry.path),
                format!("'{text}' is not 64 hex digits"),
            )),
        }
    } else if let Some(weak) = weak_digest(entry) {
        mark_weak(entry, weak.0);
        match expect {
            // A package's weak digest is computed in its own pass (one
            // read of the file, not two).
            Expect::Package => options.stated = Some(weak),
            Expect::PlainFile => weak_check(file, entry, weak),
        }
    } else {
        let check = Check::new(
            CheckKind::Digest,
            format!("file {}", entry.path),
            Outcome::NotRun,
        );
        entry
            .checks
            .push(check.with_detail("the catalogue gives no digest for this file"));
    }
    match (expect, options.sha256) {
        (Expect::PlainFile, Some(pin)) => {
            entry.checks.push(own_sha256(file, &entry.path, pin));
            Vec::new()
        }
        _ => package_check(real, file, entry, &options),
    }
}

fn size_check(entry: &mut EntryReport, size: Option<u64>) {
    let covers = format!("size of {}", entry.path);
    let declared = entry
        .dell
        .size
        .as_deref()
        .map(|s| (s, s.trim().parse::<u64>()));
    let check = match (declared, size) {
        (None, _) => {
            entry
                .warnings
                .push("the catalogue gives no size".to_owned());
            return;
        }
        (Some((text, Err(_))), _) => Check::failed(
            CheckKind::Structure,
            covers,
            format!("size '{text}' is not a number"),
        ),
        (Some(_), None) => Check::new(CheckKind::Structure, covers, Outcome::NotRun)
            .with_detail("cannot read the file's size"),
        (Some((_, Ok(want))), Some(have)) => {
            let mut check = if want == have {
                Check::new(CheckKind::Structure, covers, Outcome::Passed)
            } else {
                Check::failed(
                    CheckKind::Structure,
                    covers,
                    "the size differs from the catalogue's",
                )
            };
            check.expected = Some(want.to_string());
            check.computed = Some(have.to_string());
            check
        }
    };
    entry.checks.push(check);
}

/// The digest the catalogue gives when it gives no SHA-256: SHA-1 (LVFS)
/// or MD5 (Dell), lower-case.
fn weak_digest(entry: &EntryReport) -> Option<(Algorithm, String)> {
    let (algorithm, text) = match (&entry.dell.sha1, &entry.dell.hash_md5) {
        (Some(sha1), _) => (Algorithm::Sha1, sha1),
        (None, Some(md5)) => (Algorithm::Md5, md5),
        (None, None) => return None,
    };
    Some((algorithm, text.trim().to_ascii_lowercase()))
}

fn weak_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Sha1 => "SHA-1",
        _ => "MD5",
    }
}

/// The entry is weak: the catalogue gives only MD5 or SHA-1 for it.
fn mark_weak(entry: &mut EntryReport, algorithm: Algorithm) {
    entry.weak = true;
    entry.warnings.push(format!(
        "weak: the catalogue gives only an {} for this file; the package's own checks carry it",
        weak_name(algorithm)
    ));
}

/// The check of the catalogue's weak digest of `path`, given what was
/// computed (`Err`: why it could not be).
fn weak_digest_check(
    path: &str,
    (algorithm, declared): (Algorithm, String),
    computed: std::result::Result<String, String>,
) -> Check {
    let mut check = Check::new(CheckKind::Digest, format!("file {path}"), Outcome::NotRun);
    check.algorithm = Some(algorithm);
    match computed {
        Ok(computed) => {
            check.outcome = match computed == declared {
                true => Outcome::Passed,
                false => Outcome::Failed,
            };
            check.computed = Some(computed);
            check.detail = Some(format!(
                "weak: the catalogue gives {} only",
                weak_name(algorithm)
            ));
        }
        Err(why) => check.detail = Some(why),
    }
    check.expected = Some(declared);
    check
}

/// A file that is no package: its weak digest in a read of its own.
fn weak_check(file: &File, entry: &mut EntryReport, weak: (Algorithm, String)) {
    let computed = digest_file(file, weak.0).map_err(|e| format!("cannot read: {e}"));
    let check = weak_digest_check(&entry.path, weak, computed);
    entry.checks.push(check);
}

/// A package's check as the catalogue entry shows it: its whole-file
/// digests are the catalogue's (the SHA-256 pinned, or the weak one).
fn catalogue_digest(path: &str, mut check: Check, options: &VerifyOptions) -> Check {
    if check.kind != CheckKind::External {
        return check;
    }
    match &options.stated {
        Some(stated) if check.algorithm == Some(stated.0) => {
            let computed = check.computed.take().ok_or_else(|| {
                check
                    .detail
                    .take()
                    .unwrap_or_else(|| "not computed".to_owned())
            });
            weak_digest_check(path, stated.clone(), computed)
        }
        _ if options.sha256.is_some() => {
            check.covers = "whole file (the catalogue's SHA-256)".to_owned();
            check
        }
        _ => check,
    }
}

/// The digest of the whole opened file, read with positional reads.
fn digest_file(file: &File, algorithm: Algorithm) -> std::io::Result<String> {
    let mut hasher = crate::verify::digest::Hasher::new(algorithm);
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = ReadAt::read_at(file, &mut buf, at)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        at = at.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
}

/// The package verified as `fwkit verify --sha256 <catalogue's>` would.
fn package_check(
    real: &Path,
    file: &Arc<File>,
    entry: &mut EntryReport,
    options: &VerifyOptions,
) -> Vec<String> {
    let source: Arc<dyn ReadAt> = file.clone();
    match Package::from_source(real, source).and_then(|p| p.verify(options)) {
        Ok(report) => {
            entry.format = Some(report.format);
            entry.warnings.extend(report.warnings);
            entry.vendor = report.vendor;
            // The caller's digests here are the catalogue's: say so.
            let path = entry.path.clone();
            entry.checks.extend(
                report
                    .checks
                    .into_iter()
                    .map(|check| catalogue_digest(&path, check, options)),
            );
            match report.verdict {
                Verdict::Verified => Vec::new(),
                Verdict::NotVerified { reasons } => reasons,
            }
        }
        Err(e) => {
            if let Some(pin) = options.sha256 {
                entry.checks.push(own_sha256(file, &entry.path, pin));
            }
            if let Some(weak) = options.stated.clone() {
                weak_check(file, entry, weak);
            }
            let check = Check::new(
                CheckKind::Structure,
                format!("package {}", entry.path),
                Outcome::NotRun,
            );
            entry
                .checks
                .push(check.with_detail(format!("not verified: {}", crate::pass::error_chain(&e))));
            Vec::new()
        }
    }
}

/// When fwkit cannot read the package, the catalogue's SHA-256 is still checked.
fn own_sha256(file: &File, path: &str, pin: [u8; 32]) -> Check {
    let mut check = Check::new(CheckKind::External, format!("file {path}"), Outcome::NotRun);
    check.algorithm = Some(Algorithm::Sha256);
    check.expected = Some(hex(&pin));
    match digest_file(file, Algorithm::Sha256) {
        Ok(computed) => {
            if Some(&computed) == check.expected.as_ref() {
                check.outcome = Outcome::Passed;
            } else {
                check.outcome = Outcome::Failed;
            }
            check.computed = Some(computed);
        }
        Err(e) => check.detail = Some(format!("cannot read: {e}")),
    }
    check
}

/// Files below `dir` that no entry names (nor the catalogue, its `.sign`,
/// `.asc`, `.minisig`, or the `.sign` beside a named file), sorted.
pub(super) fn unlisted(catalogue: &Path, dir: &Path, names: &Names) -> Result<Vec<String>> {
    let root = std::fs::canonicalize(dir).map_err(|e| Error::read(dir, e))?;
    let mut own: HashSet<String> = HashSet::new();
    if let Some(rel) = std::fs::canonicalize(catalogue).ok().and_then(|c| {
        c.strip_prefix(&root)
            .ok()
            .map(|r| r.to_string_lossy().into_owned())
    }) {
        for ext in ["sign", "asc", "sig", "minisig", "jcat"] {
            own.insert(format!("{rel}.{ext}"));
        }
        own.insert(rel);
    }
    let mut unlisted = Vec::new();
    walk_sorted(&root, |found| {
        if found.meta.is_dir() {
            return Ok(Step::Descend);
        }
        if !names.names(&found.rel) && !own.contains(&found.rel) {
            unlisted.push(found.rel);
        }
        Ok(Step::Next)
    })?;
    unlisted.sort();
    Ok(unlisted)
}
