//! `fwkit verify --catalog`: prove a mirror of a vendor repository against
//! the catalogue that lists it.
//!
//! The catalogue is read and checked first (its pin, or its signature), then
//! every entry of this shard is checked on every core: the file at the entry's
//! path exists inside the directory, its size and digest match what the
//! catalogue states, and the package verifies as `fwkit verify` would
//! ([`Package::verify`](crate::Package::verify)). Results reach the caller
//! in catalogue order, one at a time, so they stream.
//!
//! # Security
//!
//! An entry's path is untrusted: a path with `..`, an absolute path, a drive
//! prefix or a backslash is refused before anything is opened, and a path
//! that resolves outside the directory through a link is refused too.

pub mod dell;
mod entry;
pub mod own;
mod run;

use crate::error::{Error, Result, Setting};
use crate::model::{Algorithm, Check, CheckKind, Outcome, Verdict};
use crate::verify::{hex, VerifyOptions};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::Read as _;
use std::path::{Path, PathBuf};

pub use dell::{DellComponent, DellDevice};

/// The default [`CatalogOptions::max_catalog`]: 512 MiB.
pub const DEFAULT_MAX_CATALOG: u64 = 512 << 20;

/// How a catalogue is verified.
#[derive(Clone, Default)]
pub struct CatalogOptions {
    /// Options for every package (keys, limits). Its `sha256` and `progress`
    /// are ignored.
    pub verify: VerifyOptions,
    /// Most bytes of the catalogue, compressed and decompressed (the whole
    /// catalogue is parsed in memory; 0: [`DEFAULT_MAX_CATALOG`]).
    pub max_catalog: u64,
    /// The SHA-256 of the catalogue file the caller trusts.
    pub sha256: Option<[u8; 32]>,
    /// Keys one of which must sign the catalogue (`CATALOGUE.minisig`) when
    /// it is not pinned; the packages are then covered by its SHA-256s.
    pub keys: Vec<crate::sign::PublicKey>,
    /// Packages verified at once (0: one per core).
    pub jobs: usize,
    /// Verify only this share of the entries.
    pub shard: Option<Shard>,
    /// Files in the directory that no entry names fail the catalogue.
    pub strict: Strictness,
}

/// Whether files no entry names are a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strictness {
    /// They are listed as a warning.
    #[default]
    Warn,
    /// They fail the catalogue (`--strict`).
    Fail,
}

/// Shard `index` of `count` (0-based): the entries whose path hashes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// Which shard, `0..count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::Invalid {
            setting: Setting::Catalog,
            reason: format!("shard '{text}' is not I/N with 0 <= I < N"),
        };
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// True when the entry at `path` (as the catalogue writes it) is in this
    /// shard: the first 8 bytes of SHA-256(path), big-endian, modulo `count`.
    /// The same on every machine and every run.
    pub fn holds(&self, path: &str) -> bool {
        let digest = Sha256::digest(path.as_bytes());
        let mut first = [0u8; 8];
        for (slot, byte) in first.iter_mut().zip(digest.iter()) {
            *slot = *byte;
        }
        u64::from_be_bytes(first).checked_rem(self.count) == Some(self.index)
    }
}

/// What was checked about one entry.
#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    /// Its position in the catalogue (0-based, over all entries).
    pub index: usize,
    /// Its path, as the catalogue writes it.
    pub path: String,
    /// What the catalogue states about it.
    pub dell: DellComponent,
    /// The file's size, when it was found.
    pub size: Option<u64>,
    /// The package format, when fwkit recognised it.
    pub format: Option<crate::model::FormatKind>,
    /// True when the only digest the catalogue gives is MD5.
    pub weak: bool,
    /// Every check: the catalogue's (path, size, digest), then the package's.
    pub checks: Vec<Check>,
    /// Things to know that are not failures.
    pub warnings: Vec<String>,
    /// The answer for this entry.
    pub verdict: Verdict,
}

/// The answer for the whole catalogue (this shard).
#[derive(Debug, Clone, Serialize)]
pub struct CatalogReport {
    /// The catalogue file.
    pub catalogue: PathBuf,
    /// Its kind (`dell`, or `fwkit` for `fwkit pack --format catalog`).
    pub kind: &'static str,
    /// The directory checked.
    pub directory: PathBuf,
    /// The shard, when one was asked for.
    pub shard: Option<Shard>,
    /// The catalogue's own checks (pin, signature, unlisted files).
    pub checks: Vec<Check>,
    /// Entries in the catalogue.
    pub entries: usize,
    /// Entries in this shard (checked).
    pub checked: usize,
    /// Of those, verified.
    pub verified: usize,
    /// Of those, verified on an MD5 alone.
    pub weak: usize,
    /// Bytes of the files checked.
    pub bytes: u64,
    /// Files in the directory no entry names (shard 0 only).
    pub unlisted: Vec<String>,
    /// Things to know that are not failures.
    pub warnings: Vec<String>,
    /// The answer.
    pub verdict: Verdict,
}

/// What [`verify`] hands its caller while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// The catalogue was read: this many entries, of this many bytes in all
    /// (as the catalogue states them), will be checked.
    Start {
        /// Entries in this shard.
        entries: usize,
        /// The sum of their stated sizes.
        bytes: u64,
    },
    /// One entry is done (they come in catalogue order).
    Entry(&'a EntryReport),
}

/// Verify the mirror `dir` against `catalogue`; `each` receives every entry
/// of the shard in catalogue order as soon as it and those before it are done.
/// `Err` means the catalogue could not be read or parsed, or `each` failed.
pub fn verify(
    catalogue: &Path,
    dir: &Path,
    options: &CatalogOptions,
    each: &mut dyn FnMut(Event<'_>) -> Result<()>,
) -> Result<CatalogReport> {
    let max = match options.max_catalog {
        0 => DEFAULT_MAX_CATALOG,
        n => n,
    };
    let raw = read_capped(catalogue, max)?;
    let mut checks = vec![trust_check(catalogue, &raw, options)];
    let xml = dell::text(&decompress(catalogue, raw, max)?)?;
    let shard = options.shard;
    let keep = |path: &str| shard.is_none_or(|s| s.holds(path));
    let (kind, parsed) = if xml.trim_start().starts_with('{') {
        ("fwkit", own::components(&xml, &keep)?)
    } else {
        ("dell", dell::components(&xml, &keep)?)
    };
    drop(xml);
    let mut report = CatalogReport {
        catalogue: catalogue.to_owned(),
        kind,
        directory: dir.to_owned(),
        shard,
        checks: Vec::new(),
        entries: parsed.paths.len(),
        checked: parsed.kept.len(),
        verified: 0,
        weak: 0,
        bytes: 0,
        unlisted: Vec::new(),
        warnings: Vec::new(),
        verdict: Verdict::Verified,
    };
    if shard.is_none_or(|s| s.index == 0) {
        report.unlisted = entry::unlisted(catalogue, dir, &parsed.paths)?;
        checks.push(unlisted_check(&report.unlisted, options.strict));
    }
    report.checks = checks;
    drop(parsed.paths);
    let bytes = parsed
        .kept
        .iter()
        .filter_map(|(_, c)| c.facts.size.as_deref()?.trim().parse::<u64>().ok())
        .fold(0u64, u64::saturating_add);
    each(Event::Start {
        entries: report.checked,
        bytes,
    })?;
    run::entries(dir, parsed.kept, options, &mut |done: &EntryReport| {
        report.bytes = report.bytes.saturating_add(done.size.unwrap_or(0));
        if done.verdict.is_verified() {
            report.verified = report.verified.saturating_add(1);
            if done.weak {
                report.weak = report.weak.saturating_add(1);
            }
        }
        each(Event::Entry(done))
    })?;
    report.verdict = verdict(&report);
    Ok(report)
}

fn verdict(report: &CatalogReport) -> Verdict {
    let mut reasons: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.outcome.is_failure())
        .map(Check::summary)
        .collect();
    let failed = report.checked.saturating_sub(report.verified);
    if failed > 0 {
        reasons.push(format!(
            "{failed} of {} entries not verified",
            report.checked
        ));
    }
    if reasons.is_empty() {
        Verdict::Verified
    } else {
        Verdict::NotVerified { reasons }
    }
}

/// The catalogue's bytes, at most `max`; a larger file is an error that says so.
fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(path, e))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(too_large(path, max, "is"));
    }
    Ok(bytes)
}

/// Gunzip a catalogue that starts with the gzip magic, at most `max` bytes out.
fn decompress(path: &Path, raw: Vec<u8>, max: u64) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Invalid {
            setting: Setting::Catalog,
            reason: format!("{}: damaged gzip stream: {e}", path.display()),
        })?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > max {
        return Err(too_large(path, max, "decompresses to"));
    }
    Ok(out)
}

fn too_large(path: &Path, max: u64, what: &str) -> Error {
    Error::Invalid {
        setting: Setting::Catalog,
        reason: format!(
            "{} {what} more than {max} bytes, the catalogue limit (raise it with --max-catalog)",
            path.display()
        ),
    }
}

/// The catalogue's own trust: the caller's pin, else a minisign signature
/// by a `--key`, else (Dell) an OpenPGP signature, not yet supported; nothing
/// fails closed.
fn trust_check(path: &Path, raw: &[u8], options: &CatalogOptions) -> Check {
    let covers = format!("catalogue {}", path.display());
    let minisig = crate::sign::detached_path(path, "minisig");
    if options.sha256.is_none() && minisig.is_file() {
        return minisig_check(covers, &minisig, raw, &options.keys);
    }
    if let Some(pin) = options.sha256 {
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
        return check;
    }
    let sign = signature_path(path);
    let detail = if sign.is_file() {
        format!(
            "OpenPGP catalogue signature: not yet supported ({}); pin the catalogue with --sha256",
            sign.display()
        )
    } else {
        "the catalogue is neither pinned (--sha256) nor signed".to_owned()
    };
    Check::new(CheckKind::Signature, covers, Outcome::NotRun).with_detail(detail)
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

/// Dell publishes `Catalog.gz.sign` beside `Catalog.gz`: `<catalogue>.sign`.
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sign");
    PathBuf::from(name)
}

fn unlisted_check(unlisted: &[String], strict: Strictness) -> Check {
    let covers = "files in the directory no entry names";
    match (unlisted.len(), strict) {
        (0, _) => Check::new(CheckKind::Structure, covers, Outcome::Passed),
        (n, Strictness::Fail) => Check::failed(
            CheckKind::Structure,
            covers,
            format!("{n} unlisted (--strict)"),
        ),
        (n, Strictness::Warn) => Check::new(CheckKind::Structure, covers, Outcome::Info)
            .with_detail(format!("{n} unlisted")),
    }
}
