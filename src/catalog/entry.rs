//! One catalogue entry checked: its path (refused before anything is opened
//! when unsafe), existence, size, digest, and the package itself.

use super::dell::{Component, Expect};
use super::{signature_path, EntryReport};
use crate::error::{Error, Result};
use crate::input::{walk_sorted, Step};
use crate::model::{Algorithm, Check, CheckKind, MemberName, Outcome, Verdict};
use crate::package::Package;
use crate::verify::{hex, parse_sha256, VerifyOptions};
use std::collections::HashSet;
use std::io::Read as _;
use std::path::Path;

/// Check one entry below `root` (the directory, canonical).
pub(super) fn check(
    root: &Path,
    index: usize,
    component: Component,
    options: &VerifyOptions,
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
    };
    let mut package_reasons = Vec::new();
    if let Some(real) = locate(root, &mut entry) {
        package_reasons = check_file(&real, &mut entry, component.expect, options);
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

/// The entry's file inside `root`, or `None` with the failed check recorded.
/// Nothing is opened for a refused name; a name that resolves outside `root`
/// through a link is refused before its file is read.
fn locate(root: &Path, entry: &mut EntryReport) -> Option<std::path::PathBuf> {
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
    let real = match std::fs::canonicalize(name.to_path(root)) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let detail = "missing: the directory holds no such file";
            entry
                .checks
                .push(Check::failed(CheckKind::Structure, covers, detail));
            return None;
        }
        Err(e) => {
            let detail = format!("cannot read: {e}");
            let check = Check::new(CheckKind::Structure, covers, Outcome::NotRun);
            entry.checks.push(check.with_detail(detail));
            return None;
        }
    };
    if !real.starts_with(root) {
        let detail = "refused: resolves outside the directory through a link";
        entry
            .checks
            .push(Check::failed(CheckKind::Safety, covers, detail));
        return None;
    }
    if !real.is_file() {
        let detail = "not a regular file";
        entry
            .checks
            .push(Check::failed(CheckKind::Structure, covers, detail));
        return None;
    }
    entry
        .checks
        .push(Check::new(CheckKind::Safety, covers, Outcome::Passed));
    Some(real)
}

/// Size, digest and the package; returns the package's reasons when it did
/// not verify.
fn check_file(
    real: &Path,
    entry: &mut EntryReport,
    expect: Expect,
    options: &VerifyOptions,
) -> Vec<String> {
    let size = std::fs::metadata(real).map(|m| m.len()).ok();
    entry.size = size;
    size_check(entry, size);
    let mut options = options.clone();
    options.progress = None;
    options.sha256 = None;
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
    } else if let Some(md5) = entry.dell.hash_md5.clone() {
        md5_check(real, entry, &md5);
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
    let sign = signature_path(real);
    if sign.is_file() {
        entry.warnings.push(format!(
            "{}.sign not checked: OpenPGP package signatures are not yet supported",
            entry.path
        ));
    }
    match (expect, options.sha256) {
        (Expect::PlainFile, Some(pin)) => {
            entry.checks.push(own_sha256(real, &entry.path, pin));
            Vec::new()
        }
        _ => package_check(real, entry, &options),
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

/// The catalogue gives only MD5: checked, and the entry marked weak.
fn md5_check(real: &Path, entry: &mut EntryReport, declared: &str) {
    use md5::Md5;
    entry.weak = true;
    let mut check = Check::new(
        CheckKind::Digest,
        format!("file {}", entry.path),
        Outcome::NotRun,
    );
    check.algorithm = Some(Algorithm::Md5);
    check.expected = Some(declared.to_ascii_lowercase());
    match digest_file(real, Md5::default()) {
        Ok(computed) => {
            check.outcome = if Some(&computed) == check.expected.as_ref() {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            check.computed = Some(computed);
            check.detail = Some("weak: the catalogue gives MD5 only".to_owned());
        }
        Err(e) => check.detail = Some(format!("cannot read: {e}")),
    }
    entry.warnings.push(
        "weak: the catalogue gives only an MD5 for this file; the package's own checks carry it"
            .to_owned(),
    );
    entry.checks.push(check);
}

fn digest_file<D: md5::Digest>(path: &Path, mut hasher: D) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
}

/// The package verified as `fwkit verify --sha256 <catalogue's>` would.
fn package_check(real: &Path, entry: &mut EntryReport, options: &VerifyOptions) -> Vec<String> {
    match Package::open(real).and_then(|p| p.verify(options)) {
        Ok(report) => {
            entry.format = Some(report.format);
            entry.warnings.extend(report.warnings);
            // The caller's --sha256 here is the catalogue's: say so.
            entry
                .checks
                .extend(report.checks.into_iter().map(|mut check| {
                    if check.kind == CheckKind::External && options.sha256.is_some() {
                        check.covers = "whole file (the catalogue's SHA-256)".to_owned();
                    }
                    check
                }));
            match report.verdict {
                Verdict::Verified => Vec::new(),
                Verdict::NotVerified { reasons } => reasons,
            }
        }
        Err(e) => {
            if let Some(pin) = options.sha256 {
                entry.checks.push(own_sha256(real, &entry.path, pin));
            }
            let check = Check::new(
                CheckKind::Structure,
                format!("package {}", entry.path),
                Outcome::NotRun,
            );
            entry.checks.push(check.with_detail(error_chain(&e)));
            Vec::new()
        }
    }
}

/// When fwkit cannot read the package, the catalogue's SHA-256 is still checked.
fn own_sha256(real: &Path, path: &str, pin: [u8; 32]) -> Check {
    let mut check = Check::new(CheckKind::External, format!("file {path}"), Outcome::NotRun);
    check.algorithm = Some(Algorithm::Sha256);
    check.expected = Some(hex(&pin));
    match digest_file(real, sha2::Sha256::default()) {
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

fn error_chain(err: &Error) -> String {
    let mut text = format!("not verified: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Files below `dir` that no entry names (nor the catalogue, its `.sign`, or
/// the `.sign` beside a named file), sorted.
pub(super) fn unlisted(catalogue: &Path, dir: &Path, paths: &[String]) -> Result<Vec<String>> {
    let root = std::fs::canonicalize(dir).map_err(|e| Error::read(dir, e))?;
    let mut named: HashSet<String> = HashSet::with_capacity(paths.len());
    for path in paths {
        if let Ok(name) = MemberName::parse(path.as_bytes()) {
            named.insert(format!("{}.sign", name.as_str()));
            named.insert(name.as_str().to_owned());
        }
    }
    if let Some(rel) = std::fs::canonicalize(catalogue).ok().and_then(|c| {
        c.strip_prefix(&root)
            .ok()
            .map(|r| r.to_string_lossy().into_owned())
    }) {
        named.insert(format!("{rel}.sign"));
        named.insert(format!("{rel}.minisig"));
        named.insert(rel);
    }
    let mut unlisted = Vec::new();
    walk_sorted(&root, |found| {
        if found.meta.is_dir() {
            return Ok(Step::Descend);
        }
        if !named.contains(&found.rel) {
            unlisted.push(found.rel);
        }
        Ok(Step::Next)
    })?;
    unlisted.sort();
    Ok(unlisted)
}
