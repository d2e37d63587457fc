//! Microsoft cabinet files (`MSCF`), the container of LVFS firmware (see
//! `formats/cab.md`).
//!
//! The `cab` crate decompresses the data (stored, MSZIP, LZX) and checks the
//! CFDATA checksum of every data block it loads. This module adds what a
//! verifier needs on top, from its own parse of the headers ([`parse`]):
//!
//! - the header's cabinet size is the file's size, and every byte of the file
//!   belongs to the header, the folder table, the file table or one data
//!   block: no hidden bytes, no two structures sharing bytes;
//! - every file lies inside its folder, and the files of a folder tile the
//!   folder's decompressed bytes exactly (no overlapping files, no bytes that
//!   belong to no file);
//! - each folder is decompressed once, front to back, so every data block's
//!   checksum is checked and a cabinet of many files costs one pass.
//!
//! The crate reads a file by name and starts every read at the start of the
//! file's folder. To read each folder once, the crate is shown a view of the
//! cabinet whose file table is replaced by one entry per folder
//! ([`FolderView`]); this module splits the folder's bytes into the files.
//!
//! Cabinet names use `\` as separator (they come from Windows). Here, and only
//! here, `\` becomes `/` before a name is checked, so `drivers\a.sys` unpacks
//! as `drivers/a.sys`, while `..\x`, `\x` and `C:\x` are still refused as a
//! parent-directory, absolute or drive-prefixed name.
//!
//! # Security
//!
//! Header values are checked before the crate sees the file, so the crate
//! only decodes cabinets whose block chains, folder sizes and file ranges
//! agree: the conditions under which its indexing is in bounds. A panic in
//! the crate is still caught and reported as a failed check.

mod header;
mod lvfs;
mod view;

pub(crate) use header::CabSpec;
pub(crate) use lvfs::lvfs_checks;

use header::{compressions, parse, Compression};
use view::{Exact, FolderView};

use super::{Layout, Source};
use crate::error::{Error, Result};
use crate::input::Input;
use crate::package::{Algorithm, Check, CheckKind, Layer, Member, MemberKind, MemberName, Outcome};
use crate::scan::{self, Sink, Stop};
use crate::verify::safety::{Admission, Tree};
use std::io::{self, Read};

/// Read and check the headers of a cabinet.
pub(crate) fn layout(source: &mut Source) -> io::Result<Layout> {
    let mut layout = Layout::new(crate::detect::FormatKind::Cab);
    let len = source.len;
    match parse(source)? {
        Ok(spec) => {
            layout.layers.push(Layer {
                kind: "cabinet (MSCF 1.3)".to_owned(),
                range: (0, len),
            });
            layout.layers.push(Layer {
                kind: format!(
                    "cabinet data: {} folder(s) ({}), {} block(s)",
                    spec.folders.len(),
                    compressions(&spec),
                    spec.blocks
                ),
                range: spec.data,
            });
            layout.checks.push(
                Check::new(CheckKind::Structure, "cabinet structure", Outcome::Passed).with_detail(
                    format!(
                        "{} file(s) in {} folder(s), {} data block(s): sizes and offsets agree, every byte belongs to one structure",
                        spec.files.len(),
                        spec.folders.len(),
                        spec.blocks
                    ),
                ),
            );
            layout.cab = Some(spec);
        }
        Err(problems) => layout.checks.push(Check::failed(
            CheckKind::Structure,
            "cabinet structure",
            problems.join("; "),
        )),
    }
    Ok(layout)
}

/// One pass over a cabinet: every folder decompressed once, members
/// checked and handed to `sink` (range digests run beside it, in `Package::pass`).
pub(crate) fn scan(pass: &scan::Pass<'_>, sink: &mut dyn Sink) -> Result<scan::ScanResult> {
    let Some(spec) = &pass.layout.cab else {
        return Ok(scan::ScanResult::default());
    };
    read(pass, spec, sink)
}

/// What the pass does with one file entry.
#[derive(Clone)]
enum Plan {
    /// Not written (refused): decompressed and dropped.
    Skip,
    /// Written, hashed; `metadata` members are also kept for parsing.
    Read {
        member: usize,
        path: MemberName,
        metadata: bool,
    },
}

fn read(pass: &scan::Pass<'_>, spec: &CabSpec, sink: &mut dyn Sink) -> Result<scan::ScanResult> {
    let path = pass.path;
    let mut result = scan::ScanResult::default();
    // The headers again, from the file as it is now: it must be the file
    // whose headers were checked when it was opened.
    let mut source = Source::new(Input::open(path, pass.reads)?, pass.len);
    let again = parse(&mut source).map_err(|e| Error::read(path, e))?;
    if again.as_ref().ok() != Some(spec) {
        result.checks.push(Check::failed(
            CheckKind::Structure,
            "cabinet structure",
            "the file changed after it was opened",
        ));
        return Ok(result);
    }

    let mut tree = Tree::new(pass.options.limits);
    let mut plans = vec![Plan::Skip; spec.files.len()];
    let mut stopped = None;
    for (index, entry) in spec.files.iter().enumerate() {
        // Cabinet names separate with `\`; turned into `/` for cabinets only
        // (see the module docs), then checked like any other name.
        let name: Vec<u8> = entry
            .raw
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        let (member_path, problem) = match tree.admit(&name, &MemberKind::File, entry.size) {
            Admission::Root => continue,
            Admission::Limit(why) => {
                stopped = Some(why);
                break;
            }
            Admission::Refused(p, why) => (p, Some(why)),
            Admission::Accepted(p) => (Some(p), None),
        };
        if let (Some(p), None, Some(plan)) = (&member_path, &problem, plans.get_mut(index)) {
            *plan = Plan::Read {
                member: result.members.len(),
                path: p.clone(),
                metadata: scan::wants_content(pass.layout.capture, p, entry.size),
            };
        }
        result.members.push(Member {
            name: String::from_utf8_lossy(&entry.raw).into_owned(),
            path: member_path,
            kind: MemberKind::File,
            size: entry.size,
            mode: 0o644,
            stream: 0,
            problem,
            digests: Default::default(),
        });
    }
    if let Some(why) = stopped {
        result
            .checks
            .push(Check::new(CheckKind::Limit, "cabinet", Outcome::Failed).with_detail(why));
        let (checks, chained) = tree.finish();
        result.checks.extend(checks);
        scan::mark_refused(&mut result.members, chained);
        return Ok(result);
    }

    // Each folder's entries in the order of their bytes.
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); spec.folders.len()];
    for (index, entry) in spec.files.iter().enumerate() {
        if let Some(list) = order.get_mut(entry.folder) {
            list.push(index);
        }
    }
    for list in &mut order {
        list.sort_by_key(|&i| spec.files.get(i).map(|e| (e.offset, e.size)));
    }

    let mut algos = pass.member_algos.to_vec();
    if pass.options.hash_members && !algos.contains(&Algorithm::Sha256) {
        algos.push(Algorithm::Sha256);
    }
    // Metadata the pass reads after some other member it may describe: read
    // the metadata alone first, to learn which digests the others need.
    let mut seen_other = false;
    let mut late_metadata = false;
    for plan in order.iter().flatten().filter_map(|&i| plans.get(i)) {
        if let Plan::Read { metadata, .. } = plan {
            late_metadata |= *metadata && seen_other;
            seen_other |= !*metadata;
        }
    }
    let mut reader = Reader {
        spec,
        order: &order,
        plans: &plans,
        buf: vec![0u8; 256 << 10],
    };
    let file = Input::open(path, pass.reads)?;
    let view = FolderView::new(file, pass.len, spec).map_err(|e| Error::read(path, e))?;
    let mut cabinet = match catch(|| cab::Cabinet::new(view)) {
        Ok(Ok(cabinet)) => cabinet,
        Ok(Err(e)) => return Ok(failed_open(result, tree, e.to_string())),
        Err(why) => return Ok(failed_open(result, tree, why)),
    };
    if late_metadata {
        reader.learn(&mut cabinet, &mut algos);
    }
    let (failures, unsupported) = reader.read_all(&mut cabinet, &mut result, &mut algos, sink)?;

    let mut check = Check::new(CheckKind::Stream, "cabinet", Outcome::Passed).with_range(spec.data);
    check.algorithm = Some(Algorithm::StreamCheck);
    if !failures.is_empty() {
        check.outcome = Outcome::Failed;
        check.detail = Some(failures.join("; "));
    } else if !unsupported.is_empty() {
        check.outcome = Outcome::NotRun;
        check.detail = Some(format!(
            "folder(s) {} use Quantum compression, which fwkit cannot decode; their files were not checked",
            unsupported
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else if spec.unchecked > 0 {
        // Decoded fine, but some blocks carry no checksum: no integrity claim.
        check.kind = CheckKind::Structure;
        check.algorithm = None;
        check.detail = Some(format!(
            "{} of {} data block(s) carry no CFDATA checksum, so the data is not covered; every folder decompressed to its declared size",
            spec.unchecked, spec.blocks
        ));
    } else {
        check.detail = Some(format!(
            "CFDATA checksums of {} data block(s) verified; {} folder(s) decompressed ({}) to their declared sizes",
            spec.blocks,
            spec.folders.len(),
            compressions(spec)
        ));
    }
    result.checks.push(check);
    let (checks, chained) = tree.finish();
    result.checks.extend(checks);
    scan::mark_refused(&mut result.members, chained);
    Ok(result)
}

fn failed_open(mut result: scan::ScanResult, tree: Tree, why: String) -> scan::ScanResult {
    result.checks.push(Check::failed(
        CheckKind::Stream,
        "cabinet",
        format!("the cab crate could not read the cabinet: {why}"),
    ));
    let (checks, chained) = tree.finish();
    result.checks.extend(checks);
    scan::mark_refused(&mut result.members, chained);
    result
}

/// Run `f`, turning a panic into an error message. The headers were checked
/// before the crate sees them; this is the last line if the file changes
/// under fwkit or the crate has a bug.
fn catch<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "the cab crate failed (internal panic)".to_owned())
}

type Cabinet = cab::Cabinet<FolderView>;

/// Reads the folders of one cabinet, each front to back.
struct Reader<'a> {
    spec: &'a CabSpec,
    order: &'a [Vec<usize>],
    plans: &'a [Plan],
    buf: Vec<u8>,
}

impl Reader<'_> {
    /// Read only the metadata members (and what precedes them in their
    /// folders), to learn the digests the other members need. Failures are
    /// left for the full pass to report.
    fn learn(&mut self, cabinet: &mut Cabinet, algos: &mut Vec<Algorithm>) {
        for (folder, list) in self.order.iter().enumerate() {
            let last = list.iter().rposition(|&i| {
                matches!(self.plans.get(i), Some(Plan::Read { metadata: true, .. }))
            });
            let Some(last) = last else { continue };
            let readable = self
                .spec
                .folders
                .get(folder)
                .is_some_and(|f| f.compression != Compression::Quantum && f.size > 0);
            if !readable {
                continue;
            }
            let (plans, buf) = (self.plans, &mut self.buf);
            let _ = catch(|| -> std::result::Result<(), Stop> {
                let mut stream = cabinet.read_file(&folder.to_string()).map_err(Stop::from)?;
                for &index in list.iter().take(last.saturating_add(1)) {
                    let size = self.spec.files.get(index).map_or(0, |e| e.size);
                    let mut part = Exact {
                        inner: &mut stream,
                        left: size,
                    };
                    match plans.get(index) {
                        Some(Plan::Read {
                            path,
                            metadata: true,
                            ..
                        }) => {
                            let content = scan::consume(&mut part, path, buf, &[], true, None)?;
                            if let Some(bytes) = content.kept {
                                learn(path, &bytes, algos);
                            }
                        }
                        _ => {
                            io::copy(&mut part, &mut io::sink())?;
                        }
                    }
                }
                Ok(())
            });
        }
    }

    /// Decompress every folder once: write and hash the members, keep the
    /// metadata. Returns the failures and the folders fwkit cannot decode.
    fn read_all(
        &mut self,
        cabinet: &mut Cabinet,
        result: &mut scan::ScanResult,
        algos: &mut Vec<Algorithm>,
        sink: &mut dyn Sink,
    ) -> Result<(Vec<String>, Vec<usize>)> {
        let mut failures = Vec::new();
        let mut unsupported = Vec::new();
        for (folder, list) in self.order.iter().enumerate() {
            let Some(info) = self.spec.folders.get(folder) else {
                continue;
            };
            if info.compression == Compression::Quantum {
                unsupported.push(folder);
                continue;
            }
            let (spec, plans, buf) = (self.spec, self.plans, &mut self.buf);
            let outcome = catch(|| -> std::result::Result<(), Stop> {
                let mut stream: Box<dyn Read + '_> = if info.size == 0 {
                    Box::new(io::empty())
                } else {
                    Box::new(cabinet.read_file(&folder.to_string()).map_err(Stop::from)?)
                };
                for &index in list {
                    let Some(entry) = spec.files.get(index) else {
                        continue;
                    };
                    let mut part = Exact {
                        inner: &mut stream,
                        left: entry.size,
                    };
                    let Some(Plan::Read {
                        member,
                        path,
                        metadata,
                    }) = plans.get(index)
                    else {
                        io::copy(&mut part, &mut io::sink()).map_err(|e| {
                            Stop::Content(format!("{}: {e}", String::from_utf8_lossy(&entry.raw)))
                        })?;
                        continue;
                    };
                    let mut wanted = algos.clone();
                    if *metadata {
                        for a in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
                            if !wanted.contains(&a) {
                                wanted.push(a);
                            }
                        }
                    }
                    let out = sink.create_file(path, 0o644, 0).map_err(Stop::Fatal)?;
                    let content = scan::consume(&mut part, path, buf, &wanted, *metadata, out)?;
                    if let Some(m) = result.members.get_mut(*member) {
                        m.digests = content.digests;
                    }
                    if let Some(bytes) = content.kept {
                        learn(path, &bytes, algos);
                        result.captured.push((path.to_string(), bytes));
                    }
                }
                Ok(())
            });
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(Stop::Fatal(e))) => return Err(e),
                Ok(Err(Stop::Content(why) | Stop::Limit(why))) => {
                    failures.push(format!("folder {folder}: {why}"));
                }
                Err(why) => failures.push(format!("folder {folder}: {why}")),
            }
        }
        Ok((failures, unsupported))
    }
}

/// Add the algorithms a metadata member asks for: a manifest's, a metainfo
/// release's checksums, a JCat file's checksum blobs.
fn learn(path: &MemberName, bytes: &[u8], algos: &mut Vec<Algorithm>) {
    let mut wanted = Vec::new();
    if let Some(manifest) = crate::verify::manifest::parse(path, bytes) {
        wanted.extend(manifest.entries.iter().map(|e| e.algorithm));
    }
    let lower = path.as_str().to_ascii_lowercase();
    if lower.ends_with(".metainfo.xml") {
        wanted.extend(lvfs::algorithms(bytes));
    }
    if lower.ends_with(".jcat") {
        wanted.extend(super::jcat::algorithms(bytes));
    }
    for a in wanted {
        if !algos.contains(&a) {
            algos.push(a);
        }
    }
}
