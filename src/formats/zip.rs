//! Zip archives, plain or behind a prefix (see `formats/zip.md`).
//!
//! The `zip` crate reads the central directory and decompresses members; this
//! module adds what a verifier needs on top: the end record must end exactly
//! where the archive ends (no trailing bytes), local and central headers must
//! agree, no two entries may share bytes (the overlapping-entry bomb), every
//! member's CRC-32 and size are checked, and members are read on both cores.

use super::Layout;
use crate::error::Result;
use crate::extract::Sink;
use crate::input::{Cursor, Input};
use crate::model::MemberName;
use crate::model::{Algorithm, Check, CheckKind, Layer, MemberKind, Outcome};
use crate::pass::RESERVE_KEPT;
use crate::pass::{parallel, Admitted, Capture, Content, Entry, Policy, ScanResult, Stop, Walk};
use crate::verify::manifest::{self, Manifest};
use crate::verify::VerifyOptions;
use std::io::{self, Read};
use std::sync::Mutex;

/// Where the zip archive of a package lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZipSpec {
    /// The archive starts at or after this offset (after a PE image, say).
    pub start: u64,
    /// The archive ends here (the end record's last byte + 1).
    pub end: u64,
}

const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: u64 = 22;

pub(crate) fn layout(source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(crate::detect::FormatKind::Zip);
    let len = source.len();
    add_archive(&mut layout, source, 0, len)?;
    Ok(layout)
}

/// Find a zip archive that ends at `end` and starts at or after `from`.
pub(crate) fn add_archive(
    layout: &mut Layout,
    source: &Input,
    from: u64,
    end: u64,
) -> io::Result<()> {
    let structure = "zip end of central directory";
    let window = (EOCD_LEN + 0xffff).min(end.saturating_sub(from));
    // `window <= end`.
    let tail_start = end.saturating_sub(window);
    let tail = source.read_at(tail_start, window)?;
    let mut found = None;
    let mut misplaced = None;
    for at in (0..=tail.len().saturating_sub(EOCD_LEN as usize)).rev() {
        let record = tail.get(at..).unwrap_or_default();
        if record.starts_with(EOCD_SIG) {
            let comment = record
                .get(20..)
                .and_then(|b| b.first_chunk())
                .map_or(0, |b| u64::from(u16::from_le_bytes(*b)));
            // `tail_start + at <= end`, a file offset: far from overflowing
            // even with the 22 + 65,535 bytes of a record added.
            let record_start = tail_start.saturating_add(at as u64);
            let record_end = record_start
                .saturating_add(EOCD_LEN)
                .saturating_add(comment);
            if record_end == end {
                found = Some(record_start);
                break;
            }
            misplaced.get_or_insert(record_end);
        }
    }
    match (found, misplaced) {
        (Some(eocd), _) => {
            layout.layers.push(Layer {
                kind: "zip archive".to_owned(),
                range: (from, end),
            });
            layout.layers.push(Layer {
                kind: "zip end of central directory record".to_owned(),
                range: (eocd, end),
            });
            layout.container = super::Container::Zip(ZipSpec { start: from, end });
        }
        (None, Some(record_end)) if record_end > end => layout.checks.push(Check::failed(
            CheckKind::Structure,
            structure,
            format!(
                "the zip's end record is truncated: its comment runs to byte {record_end}, past the end at {end}"
            ),
        )),
        (None, Some(record_end)) => layout.checks.push(
            Check::failed(
                CheckKind::Structure,
                structure,
                format!(
                    "{} bytes follow the zip's end record (which ends at byte {record_end})",
                    end.saturating_sub(record_end)
                ),
            )
            .with_range((record_end.min(end), end)),
        ),
        (None, None) => layout.checks.push(Check::failed(
            CheckKind::Structure,
            structure,
            format!("no end-of-central-directory record in bytes {from}..{end}"),
        )),
    }
    Ok(())
}

type Archive = zip::ZipArchive<Cursor>;

fn open(input: &Input, spec: &ZipSpec) -> std::result::Result<Archive, String> {
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Detect,
    };
    zip::ZipArchive::with_config(config, input.cursor(spec.end)).map_err(|e| e.to_string())
}

/// Largest symlink target read from a zip member.
const MAX_LINK: u64 = 4096;

/// What a pass over a zip reads.
pub(crate) struct ZipPass<'a> {
    pub input: &'a Input,
    pub spec: &'a ZipSpec,
    pub options: &'a VerifyOptions,
    pub capture: Capture,
}

/// One pass over a zip: structure, members, CRCs, digests, content to `sink`.
pub(crate) fn scan(zp: &ZipPass<'_>, sink: &mut dyn Sink) -> Result<ScanResult> {
    let covers = "zip archive";
    let mut walk = Walk::new(zp.options, zp.capture, &[]);
    let mut archive = match open(zp.input, zp.spec) {
        Ok(archive) => archive,
        Err(why) => {
            let check = Check::failed(
                CheckKind::Structure,
                covers,
                format!("central directory unreadable: {why}"),
            );
            return Ok(walk.abandon(vec![check]));
        }
    };
    let (listed, valid) = list_checked(&mut archive, &mut walk);
    if let Err(why) = valid {
        // One failure, one reason: nothing of what was admitted is
        // reported (it was never read), as if the listing had not started.
        let check = Check::failed(CheckKind::Structure, covers, why);
        return Ok(Walk::new(zp.options, zp.capture, &[]).abandon(vec![check]));
    }
    let mut warnings = Vec::new();
    if archive.offset() > 0 {
        warnings.push(format!(
            "the zip starts at byte {} and its offsets are relative to that",
            archive.offset()
        ));
    }
    let mut listing = match listed? {
        Ok(listing) => listing,
        Err((why, mut checks)) => {
            checks.push(Check::new(CheckKind::Limit, covers, Outcome::Failed).with_detail(why));
            let mut result = walk.finish(checks);
            result.warnings.extend(warnings);
            return Ok(result);
        }
    };
    place_others(&mut listing, &walk, sink)?;
    listing
        .failures
        .extend(read_members(zp, &archive, &listing.files, &mut walk, sink)?);
    let start = listing.first_header.max(zp.spec.start).min(zp.spec.end);
    let mut check =
        Check::new(CheckKind::Stream, covers, Outcome::Passed).with_range((start, zp.spec.end));
    check.algorithm = Some(Algorithm::StreamCheck);
    if listing.failures.is_empty() {
        check.detail = Some(format!(
            "CRC-32 and length of {} member(s) verified against the central directory, whose entries the local headers match (name, sizes, CRC-32, method, flags)",
            listing.files.len()
        ));
    } else {
        check.outcome = Outcome::Failed;
        check.detail = Some(listing.failures.join("; "));
    }
    listing.checks.push(check);
    let mut result = walk.finish(listing.checks);
    result.warnings.extend(warnings);
    Ok(result)
}

/// The entries admitted and the manifests learnt, and the header check's
/// answer. Local headers against the central directory, overlaps and
/// unlisted headers are read on a thread of its own (its own cursor over
/// the one handle), the manifests (no more than `--max-manifest` each) on
/// another, while the entries are admitted here; nothing is placed, and no
/// other member read, before the header check has said yes.
#[allow(clippy::type_complexity)]
fn list_checked(
    archive: &mut Archive,
    walk: &mut Walk,
) -> (
    Result<std::result::Result<Listing, (String, Vec<Check>)>>,
    std::result::Result<(), String>,
) {
    let mut validator = archive.clone();
    let mut reader = archive.clone();
    let max_manifest = walk.policy().max_manifest();
    std::thread::scope(|scope| {
        let check = scope.spawn(move || validator.validate_header_consistency());
        let manifests = scope.spawn(move || read_manifests(&mut reader, max_manifest));
        let listed = list(archive, walk);
        // A manifest not learnt (the thread failed) leaves its members
        // without the digests it asks for: their checks cannot run.
        let manifests = manifests.join().unwrap_or_default();
        if let Ok(Ok(listing)) = &listed {
            learn_manifests(manifests, &listing.files, walk);
        }
        let valid = check
            .join()
            .map_err(|_| "internal: the zip header check failed".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string()));
        (listed, valid)
    })
}

/// The central directory read into the walk.
struct Listing {
    /// File members to read: (member, zip index).
    files: Vec<(Admitted, usize)>,
    /// Directories and links, placed after the header check.
    others: Vec<Admitted>,
    checks: Vec<Check>,
    failures: Vec<String>,
    /// The zip's first byte: its first local header (bytes of a wrapper
    /// before it, such as the rest of a PE overlay, stay uncovered).
    first_header: u64,
}

/// Every central directory entry through the walk; directories and links
/// kept to be placed once the headers are known to be consistent.
/// `Ok(Err)`: a limit stopped the listing.
#[allow(clippy::type_complexity)]
fn list(
    archive: &mut Archive,
    walk: &mut Walk,
) -> Result<std::result::Result<Listing, (String, Vec<Check>)>> {
    let mut listing = Listing {
        files: Vec::new(),
        others: Vec::new(),
        checks: Vec::new(),
        failures: Vec::new(),
        first_header: u64::MAX,
    };
    walk.expect(archive.len());
    for index in 0..archive.len() {
        let Some((raw, entry)) = describe(archive, index, &mut listing) else {
            continue;
        };
        let is_file = entry.kind == MemberKind::File;
        let admitted = match walk.admit(Entry { raw: &raw, ..entry }) {
            Ok(Some(admitted)) => admitted,
            Ok(None) => continue,
            Err(Stop::Limit(why)) => return Ok(Err((why, listing.checks))),
            Err(Stop::Fatal(e)) => return Err(e),
            Err(Stop::Content(why)) => {
                listing.failures.push(why);
                continue;
            }
        };
        match is_file {
            true => listing.files.push((admitted, index)),
            false => listing.others.push(admitted),
        }
    }
    Ok(Ok(listing))
}

/// Place the directories and links the listing admitted.
fn place_others(listing: &mut Listing, walk: &Walk, sink: &mut dyn Sink) -> Result<()> {
    for admitted in std::mem::take(&mut listing.others) {
        match walk.place(&admitted, sink) {
            Ok(()) => {}
            Err(Stop::Fatal(e)) => return Err(e),
            Err(Stop::Content(why) | Stop::Limit(why)) => listing.failures.push(why),
        }
    }
    Ok(())
}

/// One central directory entry as the walk sees it, and its stored name;
/// `None` (with a failed check) when the entry cannot be read.
fn describe(
    archive: &mut Archive,
    index: usize,
    listing: &mut Listing,
) -> Option<(Vec<u8>, Entry<'static>)> {
    let entry = match archive.by_index_raw(index) {
        Ok(entry) => entry,
        Err(e) => {
            let covers = format!("zip entry {index}");
            listing
                .checks
                .push(Check::failed(CheckKind::Structure, covers, e.to_string()));
            return None;
        }
    };
    let raw = entry.name_raw().to_vec();
    listing.first_header = listing.first_header.min(entry.header_start());
    let mode = entry
        .unix_mode()
        .unwrap_or(if entry.is_dir() { 0o755 } else { 0o644 });
    let (size, encrypted, is_dir, is_symlink) = (
        entry.size(),
        entry.encrypted(),
        entry.is_dir(),
        entry.is_symlink(),
    );
    drop(entry);
    let kind = if is_dir {
        MemberKind::Dir
    } else if is_symlink {
        let target = read_link(archive, index).unwrap_or_else(|why| {
            let name = String::from_utf8_lossy(&raw);
            listing
                .failures
                .push(format!("{name}: symlink target: {why}"));
            String::new()
        });
        MemberKind::Symlink { target }
    } else if mode & 0o170000 != 0 && mode & 0o170000 != 0o100000 {
        MemberKind::Other {
            what: format!("special file (mode {mode:o})"),
        }
    } else {
        MemberKind::File
    };
    let problem = encrypted.then(|| "encrypted member: fwkit does not decrypt".to_owned());
    let entry = Entry {
        raw: &[],
        path: None,
        kind,
        size,
        mode,
        stream: 0,
        problem,
    };
    Some((raw, entry))
}

/// Every file entry with a manifest's name, of at most `max` bytes, read
/// and parsed, by zip index. Manifests first (they are small): the members
/// they list are then hashed with the right algorithms in the one pass.
fn read_manifests(archive: &mut Archive, max: u64) -> Vec<(usize, Manifest)> {
    // Names from the central directory held in memory: only entries named
    // like a manifest are opened.
    let named: Vec<(usize, MemberName)> = archive
        .file_names_raw()
        .enumerate()
        .filter_map(|(index, raw)| {
            let name = MemberName::parse(raw).ok()?;
            manifest::manifest_kind(&name).map(|_| (index, name))
        })
        .collect();
    let mut found = Vec::new();
    for (index, name) in named {
        let Ok(entry) = archive.by_index(index) else {
            continue;
        };
        let size = entry.size();
        if entry.is_dir() || size > max {
            continue;
        }
        // One byte past the size: the entry's reader reaches its end and
        // checks the CRC-32, so the manifest learnt is the one the stream
        // check vouches for (a mismatch is reported when it is read again).
        let reserve = usize::try_from(size).unwrap_or(0).min(RESERVE_KEPT);
        let mut bytes = Vec::with_capacity(reserve);
        let read = entry.take(size.saturating_add(1)).read_to_end(&mut bytes);
        if read.is_ok() && bytes.len() as u64 == size {
            if let Some(parsed) = manifest::parse(&name, &bytes, max) {
                found.push((index, parsed));
            }
        }
    }
    found
}

/// Learn the manifests read meanwhile whose entries were admitted as files.
fn learn_manifests(found: Vec<(usize, Manifest)>, files: &[(Admitted, usize)], walk: &mut Walk) {
    for (index, manifest) in found {
        let admitted = files
            .binary_search_by_key(&index, |(_, i)| *i)
            .ok()
            .and_then(|at| files.get(at));
        if admitted.is_some_and(|(a, _)| a.name == manifest.source) {
            walk.learn_parsed(manifest);
        }
    }
}

fn read_link(archive: &mut Archive, index: usize) -> std::result::Result<String, String> {
    let entry = archive.by_index(index).map_err(|e| e.to_string())?;
    let mut target = String::new();
    entry
        .take(MAX_LINK + 1)
        .read_to_string(&mut target)
        .map_err(|e| e.to_string())?;
    if target.len() as u64 > MAX_LINK {
        return Err(format!("longer than {MAX_LINK} bytes"));
    }
    Ok(target)
}

/// Decompress, check and hash the file members on every core; returns the
/// failures, member by member.
fn read_members(
    zp: &ZipPass<'_>,
    archive: &Archive,
    files: &[(Admitted, usize)],
    walk: &mut Walk,
    sink: &mut dyn Sink,
) -> Result<Vec<String>> {
    let jobs: Vec<(u64, (&Admitted, usize, u32))> = files
        .iter()
        .map(|(admitted, index)| {
            let member = walk.members().get(admitted.index);
            let (size, mode) = member.map_or((0, 0o644), |m| (m.size, m.mode));
            (size, (admitted, *index, mode))
        })
        .collect();
    let policy = walk.policy().clone();
    let sink = Mutex::new(sink);
    let outcomes = parallel::run(
        zp.input.path(),
        &jobs,
        // Each worker reads the one handle through its own copy of the
        // archive (the central directory is shared, not read again).
        || Ok((archive.clone(), vec![0u8; 256 << 10])),
        |(archive, buf), &(admitted, index, mode)| {
            read_one(archive, (index, admitted, mode), &policy, buf, &sink)
        },
    )?;
    let mut failures = Vec::new();
    for ((admitted, _), outcome) in files.iter().zip(outcomes) {
        let recorded = outcome.and_then(|content| walk.record(admitted, content));
        if let Err(why) = recorded {
            failures.push(match why.starts_with(admitted.name.as_str()) {
                true => why,
                false => format!("{}: {why}", admitted.name),
            });
        }
    }
    Ok(failures)
}

fn read_one(
    archive: &mut Archive,
    (index, admitted, mode): (usize, &Admitted, u32),
    policy: &Policy,
    buf: &mut [u8],
    sink: &Mutex<&mut dyn Sink>,
) -> Result<std::result::Result<Content, String>> {
    let mut entry = match archive.by_index(index) {
        Ok(entry) => entry,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let out = match sink.lock() {
        Ok(mut sink) => sink.create_file(&admitted.name, mode, 0)?,
        Err(_) => return Ok(Err("internal: sink lock poisoned".to_owned())),
    };
    let size = entry.size();
    match policy.read(&mut entry, &admitted.name, size, buf, out) {
        Ok(content) => Ok(Ok(content)),
        Err(Stop::Fatal(e)) => Err(e),
        Err(Stop::Content(why) | Stop::Limit(why)) => Ok(Err(why)),
    }
}
