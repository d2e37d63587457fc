//! Zip archives, plain or behind a prefix (see `formats/zip.md`).
//!
//! The `zip` crate reads the central directory and decompresses members; this
//! module adds what a verifier needs on top: the end record must end exactly
//! where the archive ends (no trailing bytes), local and central headers must
//! agree, no two entries may share bytes (the overlapping-entry bomb), every
//! member's CRC-32 and size are checked, and members are read on both cores.

use super::{Layout, Source};
use crate::error::{Error, Result};
use crate::extract::FileOut;
use crate::input::{Input, Reads};
use crate::package::{
    Algorithm, Check, CheckKind, Layer, Member, MemberKind, MemberName, Outcome, VerifyOptions,
};
use crate::scan::{self, Sink, Stop};
use crate::verify::safety::{Admission, Tree};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
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

pub(crate) fn layout(source: &mut Source) -> io::Result<Layout> {
    let mut layout = Layout::new(crate::detect::FormatKind::Zip);
    let len = source.len;
    add_archive(&mut layout, source, 0, len)?;
    Ok(layout)
}

/// Find a zip archive that ends at `end` and starts at or after `from`.
pub(crate) fn add_archive(
    layout: &mut Layout,
    source: &mut Source,
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
            layout.zip = Some(ZipSpec { start: from, end });
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

/// `Read + Seek` over the first `end` bytes of a file.
struct Window {
    file: Input,
    end: u64,
    pos: u64,
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let n = self.file.read(buf.get_mut(..n).unwrap_or_default())?;
        self.pos = self.pos.saturating_add(n as u64); // n <= end - pos
        Ok(n)
    }
}

impl Seek for Window {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        self.pos = self.file.seek(SeekFrom::Start(target))?;
        Ok(self.pos)
    }
}

type Archive = zip::ZipArchive<Window>;

fn open(path: &Path, reads: Reads, spec: &ZipSpec) -> Result<std::result::Result<Archive, String>> {
    let file = Input::open(path, reads)?;
    let window = Window {
        file,
        end: spec.end,
        pos: 0,
    };
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Detect,
    };
    Ok(zip::ZipArchive::with_config(config, window).map_err(|e| e.to_string()))
}

/// Largest symlink target read from a zip member.
const MAX_LINK: u64 = 4096;

/// One pass over a zip: structure, members, CRCs, digests, content to `sink`.
pub(crate) fn scan(
    (path, reads): (&Path, Reads),
    spec: &ZipSpec,
    layout: &Layout,
    options: &VerifyOptions,
    member_algos: &[Algorithm],
    sink: &mut dyn Sink,
) -> Result<scan::ScanResult> {
    let mut result = scan::ScanResult::default();
    let covers = "zip archive".to_owned();
    let mut archive = match open(path, reads, spec)? {
        Ok(archive) => archive,
        Err(why) => {
            result.checks.push(Check::failed(
                CheckKind::Structure,
                covers,
                format!("central directory unreadable: {why}"),
            ));
            return Ok(result);
        }
    };
    if let Err(e) = archive.validate_header_consistency() {
        result
            .checks
            .push(Check::failed(CheckKind::Structure, covers, e.to_string()));
        return Ok(result);
    }
    if archive.offset() > 0 {
        result.warnings.push(format!(
            "the zip starts at byte {} and its offsets are relative to that",
            archive.offset()
        ));
    }
    let mut tree = Tree::new(options.limits);
    let mut files = Vec::new();
    let mut link_failures = Vec::new();
    // The zip's first byte: its first local header (bytes of a wrapper before
    // it, such as the rest of a PE overlay, stay uncovered).
    let mut first_header = spec.end;
    let mut stopped = None;
    for index in 0..archive.len() {
        let entry = match archive.by_index_raw(index) {
            Ok(entry) => entry,
            Err(e) => {
                result.checks.push(Check::failed(
                    CheckKind::Structure,
                    format!("zip entry {index}"),
                    e.to_string(),
                ));
                continue;
            }
        };
        let raw = entry.name_raw().to_vec();
        first_header = first_header.min(entry.header_start());
        let mode = entry
            .unix_mode()
            .unwrap_or(if entry.is_dir() { 0o755 } else { 0o644 });
        let size = entry.size();
        let encrypted = entry.encrypted();
        let kind = if entry.is_dir() {
            MemberKind::Dir
        } else if entry.is_symlink() {
            MemberKind::Symlink {
                target: String::new(),
            }
        } else if mode & 0o170000 != 0 && mode & 0o170000 != 0o100000 {
            MemberKind::Other {
                what: format!("special file (mode {mode:o})"),
            }
        } else {
            MemberKind::File
        };
        drop(entry);
        let kind = match kind {
            MemberKind::Symlink { .. } => MemberKind::Symlink {
                target: match read_link(&mut archive, index) {
                    Ok(target) => target,
                    Err(why) => {
                        link_failures.push(format!(
                            "{}: symlink target: {why}",
                            String::from_utf8_lossy(&raw)
                        ));
                        String::new()
                    }
                },
            },
            other => other,
        };
        let (member_path, mut problem) = match tree.admit(&raw, &kind, size) {
            Admission::Root => continue,
            Admission::Limit(why) => {
                stopped = Some(why);
                break;
            }
            Admission::Refused(p, why) => (p, Some(why)),
            Admission::Accepted(p) => (Some(p), None),
        };
        if encrypted && problem.is_none() {
            problem = Some("encrypted member: fwkit does not decrypt".to_owned());
        }
        let name = String::from_utf8_lossy(&raw).into_owned();
        if let (Some(p), None) = (&member_path, &problem) {
            match &kind {
                MemberKind::Dir => sink.dir(p, mode)?,
                MemberKind::Symlink { target } => sink.symlink(p, target)?,
                MemberKind::File => files.push((result.members.len(), index, size)),
                _ => {}
            }
        }
        result.members.push(Member {
            name,
            path: member_path,
            kind,
            size,
            mode,
            stream: 0,
            problem,
            digests: Default::default(),
        });
    }
    // Manifests first (they are small): the members they list are then hashed
    // with the right algorithms in the one pass below.
    let mut algos = member_algos.to_vec();
    for (member, index, size) in &files {
        let Some(Some(name)) = result.members.get(*member).map(|m| m.path.as_ref()) else {
            continue;
        };
        if crate::verify::manifest::manifest_kind(name).is_none()
            || *size > crate::verify::manifest::MAX_MANIFEST as u64
        {
            continue;
        }
        let Ok(entry) = archive.by_index(*index) else {
            continue;
        };
        let mut bytes = Vec::new();
        if entry.take(*size).read_to_end(&mut bytes).is_ok() {
            if let Some(manifest) = crate::verify::manifest::parse(name, &bytes) {
                for entry in manifest.entries {
                    if !algos.contains(&entry.algorithm) {
                        algos.push(entry.algorithm);
                    }
                }
            }
        }
    }
    drop(archive);
    if let Some(why) = stopped {
        result
            .checks
            .push(Check::new(CheckKind::Limit, covers.clone(), Outcome::Failed).with_detail(why));
        let (checks, chained) = tree.finish();
        result.checks.extend(checks);
        scan::mark_refused(&mut result.members, chained);
        return Ok(result);
    }

    let mut failures = link_failures;
    failures.extend(read_members(
        (path, reads),
        spec,
        layout,
        &mut result,
        &files,
        &algos,
        options,
        sink,
    )?);
    let mut check = Check::new(CheckKind::Stream, covers, Outcome::Passed)
        .with_range((first_header.max(spec.start).min(spec.end), spec.end));
    check.algorithm = Some(Algorithm::StreamCheck);
    if failures.is_empty() {
        check.detail = Some(format!(
            "CRC-32 and size of {} member(s) verified",
            files.len()
        ));
    } else {
        check.outcome = Outcome::Failed;
        check.detail = Some(failures.join("; "));
    }
    result.checks.push(check);
    let (checks, chained) = tree.finish();
    result.checks.extend(checks);
    scan::mark_refused(&mut result.members, chained);
    Ok(result)
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

/// Decompress, check and hash the file members on both cores.
#[allow(clippy::too_many_arguments)]
fn read_members(
    (path, reads): (&Path, Reads),
    spec: &ZipSpec,
    layout: &Layout,
    result: &mut scan::ScanResult,
    files: &[(usize, usize, u64)],
    member_algos: &[Algorithm],
    options: &VerifyOptions,
    sink: &mut dyn Sink,
) -> Result<Vec<String>> {
    let mut algos = member_algos.to_vec();
    if options.hash_members && !algos.contains(&Algorithm::Sha256) {
        algos.push(Algorithm::Sha256);
    }
    // Two workers, members dealt largest first to the less loaded one.
    let mut order: Vec<&(usize, usize, u64)> = files.iter().collect();
    order.sort_by_key(|(_, _, size)| std::cmp::Reverse(*size));
    let mut shares: [Vec<(usize, usize)>; 2] = [Vec::new(), Vec::new()];
    let mut load = [0u64; 2];
    for (member, index, size) in order {
        let (slot, share) = if load[1] < load[0] {
            (&mut load[1], &mut shares[1])
        } else {
            (&mut load[0], &mut shares[0])
        };
        // Only balances the two workers: saturating is harmless.
        *slot = slot.saturating_add(*size);
        share.push((*member, *index));
    }
    let names: Vec<Option<MemberName>> = result.members.iter().map(|m| m.path.clone()).collect();
    let modes: Vec<u32> = result.members.iter().map(|m| m.mode).collect();
    let sink = Mutex::new(sink);
    let capture = layout.capture;
    let outcomes = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| {
                let (names, modes, sink, algos) = (&names, &modes, &sink, &algos);
                scope.spawn(
                    move || -> Result<Vec<(usize, std::result::Result<scan::Content, String>)>> {
                        let mut out = Vec::new();
                        if share.is_empty() {
                            return Ok(out);
                        }
                        let mut archive = match open(path, reads, spec)? {
                            Ok(a) => a,
                            Err(why) => {
                                for (member, _) in share {
                                    out.push((*member, Err(why.clone())));
                                }
                                return Ok(out);
                            }
                        };
                        let mut buf = vec![0u8; 256 << 10];
                        for (member, index) in share {
                            let Some(Some(name)) = names.get(*member) else {
                                continue;
                            };
                            let mode = modes.get(*member).copied().unwrap_or(0o644);
                            let outcome = read_one(
                                &mut archive,
                                *index,
                                name,
                                mode,
                                capture,
                                algos,
                                &mut buf,
                                sink,
                            )?;
                            out.push((*member, outcome));
                        }
                        Ok(out)
                    },
                )
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| Error::read(path, io::Error::other("zip worker failed")))??;
            all.extend(part);
        }
        Ok::<_, Error>(all)
    })?;
    let mut failures = Vec::new();
    let mut sorted = outcomes;
    sorted.sort_by_key(|(member, _)| *member);
    for (member, outcome) in sorted {
        let Some(m) = result.members.get_mut(member) else {
            continue;
        };
        match outcome {
            Ok(content) => {
                m.digests = content.digests;
                if let Some(bytes) = content.kept {
                    result.captured.push((m.name.clone(), bytes));
                }
            }
            Err(why) if why.starts_with(&m.name) => failures.push(why),
            Err(why) => failures.push(format!("{}: {why}", m.name)),
        }
    }
    Ok(failures)
}

#[allow(clippy::too_many_arguments)]
fn read_one(
    archive: &mut Archive,
    index: usize,
    name: &MemberName,
    mode: u32,
    capture: super::Capture,
    algos: &[Algorithm],
    buf: &mut [u8],
    sink: &Mutex<&mut dyn Sink>,
) -> Result<std::result::Result<scan::Content, String>> {
    let mut entry = match archive.by_index(index) {
        Ok(entry) => entry,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mtime = 0;
    let keep = scan::wants_content(capture, name, entry.size());
    let out: Option<FileOut> = match sink.lock() {
        Ok(mut sink) => sink.create_file(name, mode, mtime)?,
        Err(_) => return Ok(Err("internal: sink lock poisoned".to_owned())),
    };
    match scan::consume(&mut entry, name, buf, algos, keep, out) {
        Ok(content) => Ok(Ok(content)),
        Err(Stop::Fatal(e)) => Err(e),
        Err(Stop::Content(why) | Stop::Limit(why)) => Ok(Err(why)),
    }
}
