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

mod below;
pub mod dell;
mod entry;
pub mod lvfs;
pub mod own;
mod run;
pub mod signed;
mod source;

use crate::error::{Error, Result, Setting};
use crate::model::{Check, CheckKind, Outcome, Verdict};
use crate::verify::VerifyOptions;
use dell::Component;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};

pub use dell::{DellComponent, DellDevice};

/// The default [`CatalogOptions::max_catalog`]: 512 MiB.
pub const DEFAULT_MAX_CATALOG: u64 = 512 << 20;

/// The default [`CatalogOptions::max_entries`]: 1,000,000 (Dell's whole
/// enterprise catalogue lists some tens of thousands).
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

/// How a catalogue is verified.
#[derive(Clone, Default)]
pub struct CatalogOptions {
    /// Options for every package (keys, limits). Its `sha256` and `progress`
    /// are ignored.
    pub verify: VerifyOptions,
    /// Most bytes of the catalogue, compressed and decompressed (the file is
    /// held in memory as it is, compressed; its text is read as a stream;
    /// 0: [`DEFAULT_MAX_CATALOG`]).
    pub max_catalog: u64,
    /// Most entries of the catalogue (0: [`DEFAULT_MAX_ENTRIES`]); more is an
    /// error naming `--max-catalog-entries`.
    pub max_entries: usize,
    /// Trusted OpenPGP material (`--key`, `--keyring`) for the catalogue's
    /// own signature (`CATALOGUE.sign`, `.asc`).
    pub trust: crate::trust::TrustStore,
    /// The SHA-256 of the catalogue file the caller trusts.
    pub sha256: Option<[u8; 32]>,
    /// Keys one of which must sign the catalogue (`CATALOGUE.minisig`) when
    /// it is not pinned; the packages are then covered by its SHA-256s.
    pub keys: Vec<crate::sign::PublicKey>,
    /// Trusted X.509 certificates for the catalogue's own signature (a JCat
    /// PKCS#7 blob beside LVFS metadata); not used for the packages.
    pub anchors: Vec<crate::verify::x509::Anchor>,
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
    /// The package's own vendor metadata, when it was read (for `fwkit plan
    /// --catalog`, which compares it with the catalogue's facts).
    #[serde(skip)]
    pub vendor: Vec<crate::model::VendorInfo>,
}

/// The answer for the whole catalogue (this shard).
#[derive(Debug, Clone, Serialize)]
pub struct CatalogReport {
    /// The catalogue file.
    pub catalogue: PathBuf,
    /// Its kind (`dell`, `lvfs` for LVFS metadata, or `fwkit` for
    /// `fwkit pack --format catalog`).
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
    /// Of those, verified on a weak digest alone (MD5, or SHA-1 for LVFS).
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
///
/// The catalogue file is read once into memory (as it is, compressed) and
/// its trust decided over those bytes; its text is then read twice as a
/// stream from them: once to count and name the entries, once to check them.
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
    let kind = kind(catalogue, &raw, max)?;
    let jcat = signed::BesideJcat::read(catalogue);
    let mut checks = vec![signed::trust_check(catalogue, &raw, options, jcat.as_ref())];
    if kind == "lvfs" {
        checks.extend(signed::jcat_checks(catalogue, &raw, jcat.as_ref()));
    }
    let shard = options.shard;
    let keep = |path: &str| shard.is_none_or(|s| s.holds(path));
    let scan = scan(catalogue, &raw, kind, options)?;
    let mut report = CatalogReport {
        catalogue: catalogue.to_owned(),
        kind,
        directory: dir.to_owned(),
        shard,
        checks: Vec::new(),
        entries: scan.entries,
        checked: scan.kept,
        verified: 0,
        weak: 0,
        bytes: 0,
        unlisted: Vec::new(),
        warnings: Vec::new(),
        verdict: Verdict::Verified,
    };
    if shard.is_none_or(|s| s.index == 0) {
        report.unlisted = entry::unlisted(catalogue, dir, &scan.names)?;
        checks.push(unlisted_check(&report.unlisted, options.strict));
    }
    report.checks = checks;
    drop(scan.names);
    each(Event::Start {
        entries: report.checked,
        bytes: scan.bytes,
    })?;
    let kept = entries(catalogue, &raw, kind, max)?
        .enumerate()
        .filter_map(|(index, next)| match next {
            Ok(c) if keep(&c.path) => Some(Ok((index, c))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        });
    run::entries(
        dir,
        Box::new(kept),
        scan.kept,
        options,
        &mut |done: &EntryReport| {
            report.bytes = report.bytes.saturating_add(done.size.unwrap_or(0));
            if done.verdict.is_verified() {
                report.verified = report.verified.saturating_add(1);
                if done.weak {
                    report.weak = report.weak.saturating_add(1);
                }
            }
            each(Event::Entry(done))
        },
    )?;
    report.verdict = verdict(&report);
    Ok(report)
}

/// `dell` (a `<Manifest>`), `lvfs` (`<components>`) or `fwkit` (a JSON
/// document, `fwkit pack --format catalog`).
fn kind(catalogue: &Path, raw: &[u8], max: u64) -> Result<&'static str> {
    let mut text = source::text(catalogue, raw, max)?;
    let head = text
        .fill_buf()
        .map_err(|e| source::invalid(format!("cannot read {}: {e}", catalogue.display())))?;
    if head.trim_ascii_start().starts_with(b"{") {
        return Ok("fwkit");
    }
    let mut reader = quick_xml::Reader::from_reader(text);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                return Ok(match e.local_name().as_ref() {
                    b"components" => "lvfs",
                    _ => "dell",
                });
            }
            // The Dell reader says what is wrong.
            Ok(quick_xml::events::Event::Eof) | Err(_) => return Ok("dell"),
            Ok(_) => {}
        }
    }
}

/// The entries of the catalogue, in document order.
fn entries<'a>(
    catalogue: &Path,
    raw: &'a [u8],
    kind: &str,
    max: u64,
) -> Result<Box<dyn Iterator<Item = Result<Component>> + Send + 'a>> {
    let mut text = source::text(catalogue, raw, max)?;
    if kind == "fwkit" {
        let mut json = String::new();
        text.read_to_string(&mut json)
            .map_err(|e| source::invalid(format!("cannot read {}: {e}", catalogue.display())))?;
        return Ok(Box::new(own::components(&json)?.into_iter().map(Ok)));
    }
    if kind == "lvfs" {
        return Ok(Box::new(lvfs::Stream::new(text)));
    }
    Ok(Box::new(dell::Stream::new(text)))
}

/// What the first read of the catalogue found.
struct Scan {
    entries: usize,
    kept: usize,
    bytes: u64,
    names: source::Names,
}

/// Count and name every entry, checking the whole document parses and the
/// entry cap holds before any entry is checked.
fn scan(catalogue: &Path, raw: &[u8], kind: &str, options: &CatalogOptions) -> Result<Scan> {
    let max = match options.max_catalog {
        0 => DEFAULT_MAX_CATALOG,
        n => n,
    };
    let cap = match options.max_entries {
        0 => DEFAULT_MAX_ENTRIES,
        n => n,
    };
    let mut scan = Scan {
        entries: 0,
        kept: 0,
        bytes: 0,
        names: source::Names::default(),
    };
    for component in entries(catalogue, raw, kind, max)? {
        let component = component?;
        if scan.entries >= cap {
            return Err(source::invalid(format!(
                "{} lists more than {cap} entries, the entry limit (raise it with --max-catalog-entries)",
                catalogue.display()
            )));
        }
        scan.entries = scan.entries.saturating_add(1);
        scan.names.insert(&component.path);
        if options.shard.is_none_or(|s| s.holds(&component.path)) {
            scan.kept = scan.kept.saturating_add(1);
            let size = component
                .facts
                .size
                .as_deref()
                .and_then(|s| s.trim().parse().ok());
            scan.bytes = scan.bytes.saturating_add(size.unwrap_or(0u64));
        }
    }
    Ok(scan)
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
    crate::input::read_whole(&crate::input::FileSystem, path, max)?
        .ok_or_else(|| too_large(path, max, "is"))
}

fn too_large(path: &Path, max: u64, what: &str) -> Error {
    source::invalid(source::too_large(&path.display().to_string(), max, what))
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
