//! Multi-file upgrade sets: a directory of images with checksum manifests
//! (an FTP upgrade set, a ROMPaq key, a `fwkit pack --format set` output;
//! see `formats/set.md`).
//!
//! The manifests are read first, so every listed file is hashed with the
//! right algorithms in one read; files are read on two threads. A listed file
//! that is missing or different fails the set before anything is placed.

use super::Layout;
use crate::detect::FormatKind;
use crate::error::{Error, Result};
use crate::input::{Input, Reads};
use crate::package::{
    Algorithm, Check, CheckKind, Layer, Member, MemberKind, MemberName, Outcome, VerifyOptions,
};
use crate::scan::{self, Sink, Stop};
use crate::verify::manifest::{self, Manifest};
use crate::verify::safety::{Admission, Tree};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A directory set: its root and the manifests that describe it.
#[derive(Debug, Clone)]
pub(crate) struct SetSpec {
    pub root: PathBuf,
    /// Manifest files given by the caller (`--manifest`), outside or inside the set.
    pub external: Vec<PathBuf>,
}

pub(crate) fn layout(root: &Path, external: &[PathBuf]) -> Layout {
    let mut layout = Layout::new(FormatKind::Set);
    layout.layers.push(Layer {
        kind: format!("directory set {}", root.display()),
        range: (0, 0),
    });
    layout.set = Some(SetSpec {
        root: root.to_path_buf(),
        external: external.to_vec(),
    });
    layout
}

/// One entry met by [`walk_sorted`].
pub(crate) struct Found {
    /// Path below the root, `/`-separated.
    pub rel: String,
    /// Full path.
    pub path: PathBuf,
    /// Its metadata (links not followed).
    pub meta: fs::Metadata,
}

/// Visit every entry below `root` depth first in name order, never following
/// links; `visit` says what to do next (see [`Step`]).
pub(crate) fn walk_sorted(root: &Path, mut visit: impl FnMut(Found) -> Result<Step>) -> Result<()> {
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| Error::read(&dir, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::read(&dir, e))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let rel_path = rel.join(entry.file_name());
            let meta =
                fs::symlink_metadata(entry.path()).map_err(|e| Error::read(entry.path(), e))?;
            let text = rel_path
                .to_string_lossy()
                .replace(std::path::MAIN_SEPARATOR, "/");
            match visit(Found {
                rel: text,
                path: entry.path(),
                meta,
            })? {
                Step::Descend => subdirs.push(rel_path),
                Step::Next => {}
                Step::Stop => return Ok(()),
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// What [`walk_sorted`] does after an entry.
pub(crate) enum Step {
    /// Walk into this directory.
    Descend,
    /// Go on with the next entry.
    Next,
    /// End the walk.
    Stop,
}

/// Every file, directory and link below `root`, in sorted order, as members.
fn walk(
    root: &Path,
    tree: &mut Tree,
    members: &mut Vec<Member>,
    limit: &mut Option<String>,
) -> Result<()> {
    walk_sorted(root, |found| {
        let meta = &found.meta;
        let kind = if meta.is_dir() {
            MemberKind::Dir
        } else if meta.is_file() {
            MemberKind::File
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&found.path)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            MemberKind::Symlink { target }
        } else {
            MemberKind::Other {
                what: "special file".to_owned(),
            }
        };
        let size = if meta.is_file() { meta.len() } else { 0 };
        let (path, problem) = match tree.admit(found.rel.as_bytes(), &kind, size) {
            Admission::Root => return Ok(Step::Next),
            Admission::Limit(why) => {
                *limit = Some(why);
                return Ok(Step::Stop);
            }
            Admission::Refused(p, why) => (p, Some(why)),
            Admission::Accepted(p) => (Some(p), None),
        };
        let step = if kind == MemberKind::Dir && problem.is_none() {
            Step::Descend
        } else {
            Step::Next
        };
        members.push(Member {
            name: found.rel,
            path,
            kind,
            size,
            mode: mode_of(meta),
            stream: 0,
            problem,
            digests: Default::default(),
        });
        Ok(step)
    })
}

#[cfg(unix)]
pub(crate) fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
pub(crate) fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.is_dir() {
        0o755
    } else {
        0o644
    }
}

/// Captured member content, by name.
type Captured = Vec<(String, Vec<u8>)>;

/// One byte past the manifest cap: the parser then sees an oversized one.
const MANIFEST_READ: u64 = manifest::MAX_MANIFEST as u64 + 1;

/// Read the set's manifests: top-level manifest files, plus `external`.
pub(crate) fn manifests(
    spec: &SetSpec,
    members: &[Member],
    reads: Reads,
) -> Result<(Vec<Manifest>, Captured)> {
    let mut found = Vec::new();
    let mut captured = Vec::new();
    for member in members {
        let Some(path) = &member.path else { continue };
        let signature = path.as_str().ends_with(".minisig") || path.as_str().ends_with(".sig");
        if member.kind == MemberKind::File && signature && member.size <= 64 << 10 {
            captured.push((
                path.to_string(),
                Input::read_capped(&path.to_path(&spec.root), reads, MANIFEST_READ)?,
            ));
            continue;
        }
        if member.kind != MemberKind::File || manifest::manifest_kind(path).is_none() {
            continue;
        }
        let bytes = Input::read_capped(&path.to_path(&spec.root), reads, MANIFEST_READ)?;
        if let Some(m) = manifest::parse(path, &bytes) {
            found.push(m);
        }
        captured.push((path.to_string(), bytes));
    }
    for file in &spec.external {
        let bytes = Input::read_capped(file, reads, MANIFEST_READ)?;
        // Listed paths of an outside manifest are relative to the set's root.
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = MemberName::parse(file_name.as_bytes()).map_err(|e| {
            Error::read(
                file,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
            )
        })?;
        match manifest::parse(&name, &bytes) {
            Some(m) => {
                found.push(m);
                captured.push((name.to_string(), bytes));
            }
            None => {
                return Err(Error::InvalidOption {
                    option: "--manifest",
                    reason: format!(
                    "{} is not named like a manifest (SHA256SUMS, MD5SUMS, CHECKSUM, *.sha256, …)",
                    file.display()
                ),
                })
            }
        }
    }
    Ok((found, captured))
}

/// One pass over a set: list it, read its manifests, hash every file once
/// (on two threads) with the algorithms the manifests need, copy to `sink`.
pub(crate) fn scan(
    spec: &SetSpec,
    options: &VerifyOptions,
    reads: Reads,
    sink: &mut dyn Sink,
) -> Result<scan::ScanResult> {
    let mut result = scan::ScanResult::default();
    let mut tree = Tree::new(options.limits);
    let mut limit = None;
    walk(&spec.root, &mut tree, &mut result.members, &mut limit)?;
    if let Some(why) = limit {
        result
            .checks
            .push(Check::new(CheckKind::Limit, "directory set", Outcome::Failed).with_detail(why));
        return Ok(result);
    }
    let (manifests, captured) = manifests(spec, &result.members, reads)?;
    result.captured = captured;
    let mut algos: Vec<Algorithm> = Vec::new();
    if options.hash_members {
        algos.push(Algorithm::Sha256);
    }
    for entry in manifests.iter().flat_map(|m| &m.entries) {
        if !algos.contains(&entry.algorithm) {
            algos.push(entry.algorithm);
        }
    }
    for member in &result.members {
        if let (Some(p), None, MemberKind::Dir) = (&member.path, &member.problem, &member.kind) {
            sink.dir(p, member.mode)?;
        }
    }
    let files: Vec<usize> = result
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == MemberKind::File && m.problem.is_none())
        .map(|(i, _)| i)
        .collect();
    let sink = Mutex::new(sink);
    let outcomes = std::thread::scope(|scope| {
        let members = &result.members;
        let (sink, algos) = (&sink, &algos);
        let handles: Vec<_> = [0usize, 1]
            .into_iter()
            .map(|w| {
                let mine: Vec<usize> = files.iter().copied().skip(w).step_by(2).collect();
                scope.spawn(
                    move || -> Result<Vec<(usize, std::result::Result<scan::Content, String>)>> {
                        let mut buf = vec![0u8; 256 << 10];
                        let mut out = Vec::new();
                        for i in mine {
                            let Some(member) = members.get(i) else {
                                continue;
                            };
                            let Some(name) = member.path.as_ref() else {
                                continue;
                            };
                            let full = name.to_path(&spec.root);
                            let mut file = match Input::try_open(&full, reads) {
                                Ok(f) => f,
                                Err(e) => {
                                    out.push((i, Err(format!("{name}: {e}"))));
                                    continue;
                                }
                            };
                            let target = match sink.lock() {
                                Ok(mut s) => s.create_file(name, member.mode, 0)?,
                                Err(_) => None,
                            };
                            match scan::consume(&mut file, name, &mut buf, algos, false, target) {
                                Ok(content) => out.push((i, Ok(content))),
                                Err(Stop::Fatal(e)) => return Err(e),
                                Err(Stop::Content(why) | Stop::Limit(why)) => {
                                    out.push((i, Err(why)))
                                }
                            }
                        }
                        Ok(out)
                    },
                )
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            let part = handle.join().map_err(|_| {
                Error::read(&spec.root, std::io::Error::other("set worker failed"))
            })??;
            all.extend(part);
        }
        Ok::<_, Error>(all)
    })?;
    let mut failures = Vec::new();
    for (i, outcome) in outcomes {
        match outcome {
            Ok(content) => {
                if let Some(member) = result.members.get_mut(i) {
                    member.digests = content.digests;
                }
            }
            Err(why) => failures.push(why),
        }
    }
    if !failures.is_empty() {
        result.checks.push(Check::failed(
            CheckKind::Structure,
            "directory set",
            format!("unreadable files: {}", failures.join("; ")),
        ));
    }
    if manifests.is_empty() {
        result.checks.push(Check::failed(
            CheckKind::Structure,
            "directory set",
            "no manifest (SHA256SUMS, MD5SUMS, CHECKSUM, *.sha256, … or --manifest) describes the set",
        ));
    }
    let (checks, chained) = tree.finish();
    result.checks.extend(checks);
    scan::mark_refused(&mut result.members, chained);
    Ok(result)
}
