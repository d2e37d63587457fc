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
mod lvfs_sign;
mod requires;
mod view;

pub(crate) use header::CabSpec;
pub(crate) use lvfs::lvfs_checks;

use header::{compressions, parse, Compression};
use view::{Exact, FolderView};

use super::Layout;
use crate::error::{Error, Result};
use crate::extract::Sink;
use crate::input::Input;
use crate::model::{Algorithm, Check, CheckKind, Layer, MemberKind, MemberName, Outcome};
use crate::pass::{Admitted, Capture, Entry, ScanResult, Stop, Walk};
use crate::verify::VerifyOptions;
use std::io::{self, Read};

/// Read and check the headers of a cabinet.
pub(crate) fn layout(source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(crate::detect::FormatKind::Cab);
    let len = source.len();
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
            layout.container = super::Container::Cab(spec);
        }
        Err(problems) => layout.checks.push(Check::failed(
            CheckKind::Structure,
            "cabinet structure",
            problems.join("; "),
        )),
    }
    Ok(layout)
}

/// What a pass over a cabinet reads.
pub(crate) struct CabPass<'a> {
    pub input: &'a Input,
    pub spec: &'a CabSpec,
    pub options: &'a VerifyOptions,
    pub capture: Capture,
}

/// What the pass does with one file entry: `None` when it is not written
/// (refused) and only decompressed and dropped.
type Plan = Option<(Admitted, bool)>;

/// One pass over a cabinet: every folder decompressed once, members
/// checked and handed to `sink` (range digests run beside it).
pub(crate) fn scan(cp: &CabPass<'_>, sink: &mut dyn Sink) -> Result<ScanResult> {
    let spec = cp.spec;
    let mut walk = Walk::new(cp.options, cp.capture, &[]);
    let mut plans: Vec<Plan> = vec![None; spec.files.len()];
    for (index, entry) in spec.files.iter().enumerate() {
        // Cabinet names separate with `\`; turned into `/` for cabinets only
        // (see the module docs), then checked like any other name.
        let name: Vec<u8> = entry
            .raw
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        let admitted = walk.admit(Entry {
            raw: &entry.raw,
            path: Some(&name),
            kind: MemberKind::File,
            size: entry.size,
            mode: 0o644,
            stream: 0,
            problem: None,
        });
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(Stop::Fatal(e)) => return Err(e),
            Err(Stop::Limit(why) | Stop::Content(why)) => {
                let check = Check::new(CheckKind::Limit, "cabinet", Outcome::Failed);
                return Ok(walk.finish(vec![check.with_detail(why)]));
            }
        };
        if let (Some(admitted), Some(plan)) = (admitted, plans.get_mut(index)) {
            let metadata = walk.policy().keeps(&admitted.name, entry.size);
            *plan = Some((admitted, metadata));
        }
    }
    let order = folder_order(spec);
    let view = FolderView::new(cp.input.cursor(cp.input.len()), cp.input.len(), spec)
        .map_err(|e| Error::read(cp.input.path(), e))?;
    let mut cabinet = match catch(|| cab::Cabinet::new(view)) {
        Ok(Ok(cabinet)) => cabinet,
        Ok(Err(e)) => return Ok(failed_open(walk, e.to_string())),
        Err(why) => return Ok(failed_open(walk, why)),
    };
    let mut reader = Reader {
        spec,
        order: &order,
        plans: &plans,
        buf: vec![0u8; 256 << 10],
    };
    if late_metadata(&order, &plans) {
        reader.learn(&mut cabinet, &mut walk);
    }
    let (failures, unsupported) = reader.read_all(&mut cabinet, &mut walk, sink)?;
    let check = stream_check(spec, failures, unsupported);
    Ok(walk.finish(vec![check]))
}

/// Each folder's entries in the order of their bytes.
fn folder_order(spec: &CabSpec) -> Vec<Vec<usize>> {
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); spec.folders.len()];
    for (index, entry) in spec.files.iter().enumerate() {
        if let Some(list) = order.get_mut(entry.folder) {
            list.push(index);
        }
    }
    for list in &mut order {
        list.sort_by_key(|&i| spec.files.get(i).map(|e| (e.offset, e.size)));
    }
    order
}

/// Is there metadata the pass would read after some other member it may
/// describe? Then the metadata is read alone first, to learn which digests
/// the others need.
fn late_metadata(order: &[Vec<usize>], plans: &[Plan]) -> bool {
    let mut seen_other = false;
    let mut late = false;
    for (_, metadata) in order
        .iter()
        .flatten()
        .filter_map(|&i| plans.get(i)?.as_ref())
    {
        late |= *metadata && seen_other;
        seen_other |= !*metadata;
    }
    late
}

/// The cabinet's stream check: block checksums, decoding, folder sizes.
fn stream_check(spec: &CabSpec, failures: Vec<String>, unsupported: Vec<usize>) -> Check {
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
    check
}

fn failed_open(walk: Walk, why: String) -> ScanResult {
    let check = Check::failed(
        CheckKind::Stream,
        "cabinet",
        format!("the cab crate could not read the cabinet: {why}"),
    );
    walk.finish(vec![check])
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
    fn learn(&mut self, cabinet: &mut Cabinet, walk: &mut Walk) {
        for (folder, list) in self.order.iter().enumerate() {
            let last = list
                .iter()
                .rposition(|&i| matches!(self.plans.get(i), Some(Some((_, true)))));
            let Some(last) = last else { continue };
            let readable = self
                .spec
                .folders
                .get(folder)
                .is_some_and(|f| f.compression != Compression::Quantum && f.size > 0);
            if !readable {
                continue;
            }
            let (plans, buf, spec) = (self.plans, &mut self.buf, self.spec);
            let _ = catch(|| -> std::result::Result<(), Stop> {
                let mut stream = cabinet.read_file(&folder.to_string()).map_err(Stop::from)?;
                for &index in list.iter().take(last.saturating_add(1)) {
                    let size = spec.files.get(index).map_or(0, |e| e.size);
                    let mut part = Exact {
                        inner: &mut stream,
                        left: size,
                    };
                    match plans.get(index) {
                        Some(Some((admitted, true))) => {
                            let policy = walk.policy().clone();
                            let content =
                                policy.read(&mut part, &admitted.name, size, buf, None)?;
                            if let Some(bytes) = content.kept {
                                learn(&admitted.name, &bytes, walk);
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
        walk: &mut Walk,
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
            let outcome = catch(|| -> std::result::Result<(), Stop> {
                let mut stream: Box<dyn Read + '_> = if info.size == 0 {
                    Box::new(io::empty())
                } else {
                    Box::new(cabinet.read_file(&folder.to_string()).map_err(Stop::from)?)
                };
                for &index in list {
                    self.read_entry(index, &mut stream, walk, sink)?;
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

    /// One file's bytes of its folder's stream: written, hashed and
    /// recorded, or (refused) read and dropped.
    fn read_entry(
        &mut self,
        index: usize,
        stream: &mut dyn Read,
        walk: &mut Walk,
        sink: &mut dyn Sink,
    ) -> std::result::Result<(), Stop> {
        let Some(entry) = self.spec.files.get(index) else {
            return Ok(());
        };
        let mut part = Exact {
            inner: stream,
            left: entry.size,
        };
        let Some(Some((admitted, metadata))) = self.plans.get(index) else {
            io::copy(&mut part, &mut io::sink()).map_err(|e| {
                Stop::Content(format!("{}: {e}", String::from_utf8_lossy(&entry.raw)))
            })?;
            return Ok(());
        };
        // Metadata is also hashed with what a JCat file may list for it.
        let policy = match metadata {
            true => walk
                .policy()
                .with([Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]),
            false => walk.policy().clone(),
        };
        let out = sink
            .create_file(&admitted.name, 0o644, 0)
            .map_err(Stop::Fatal)?;
        let content = policy.read(&mut part, &admitted.name, entry.size, &mut self.buf, out)?;
        if let Some(bytes) = &content.kept {
            learn(&admitted.name, bytes, walk);
        }
        walk.record(admitted, content).map_err(Stop::Content)
    }
}

/// Add the algorithms a metadata member asks for: a manifest's, a metainfo
/// release's checksums, a JCat file's checksum blobs.
fn learn(path: &MemberName, bytes: &[u8], walk: &mut Walk) {
    walk.learn(path, bytes);
    let lower = path.as_str().to_ascii_lowercase();
    if lower.ends_with(".metainfo.xml") {
        walk.want(lvfs::algorithms(bytes));
    }
    if lower.ends_with(".jcat") {
        walk.want(super::jcat::algorithms(bytes));
    }
}
