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
use crate::extract::Sink;
use crate::input::{mode_of, read_capped, walk_sorted, Input, Open, Step};
use crate::model::{Check, CheckKind, Layer, MemberKind, MemberName, Outcome};
use crate::pass::{parallel, Admitted, Capture, Entry, ScanResult, Stop, Walk};
use crate::verify::manifest;
use crate::verify::VerifyOptions;
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
    layout.container = super::Container::Set(SetSpec {
        root: root.to_path_buf(),
        external: external.to_vec(),
    });
    layout
}

/// What a pass over a set reads.
pub(crate) struct SetPass<'a> {
    pub spec: &'a SetSpec,
    pub options: &'a VerifyOptions,
    /// How the set's files are opened.
    pub opener: &'a dyn Open,
}

/// One pass over a set: list it, read its manifests, hash every file once
/// (on every core) with the algorithms the manifests need, copy to `sink`.
pub(crate) fn scan(sp: &SetPass<'_>, sink: &mut dyn Sink) -> Result<ScanResult> {
    let mut walk = Walk::new(sp.options, Capture::Metadata, &[]);
    let files = match list(&sp.spec.root, &mut walk, sink)? {
        Ok(files) => files,
        Err(why) => {
            let check = Check::new(CheckKind::Limit, "directory set", Outcome::Failed);
            return Ok(walk.abandon(vec![check.with_detail(why)]));
        }
    };
    let described = read_manifests(sp, &files, &mut walk)?;
    let mut failures = read_files(sp, &files, &mut walk, sink)?;
    let mut checks = Vec::new();
    if !failures.is_empty() {
        failures.sort();
        checks.push(Check::failed(
            CheckKind::Structure,
            "directory set",
            format!("unreadable files: {}", failures.join("; ")),
        ));
    }
    if !described {
        checks.push(Check::failed(
            CheckKind::Structure,
            "directory set",
            "no manifest (SHA256SUMS, MD5SUMS, CHECKSUM, *.sha256, … or --manifest) describes the set",
        ));
    }
    Ok(walk.finish(checks))
}

/// Every file, directory and link below `root`, in sorted order, through
/// the walk; directories placed. Returns the files to read, or the limit
/// that stopped the listing.
fn list(
    root: &Path,
    walk: &mut Walk,
    sink: &mut dyn Sink,
) -> Result<std::result::Result<Vec<Admitted>, String>> {
    let mut files = Vec::new();
    let mut limit = None;
    let mut fatal = None;
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
        let is = (kind == MemberKind::Dir, kind == MemberKind::File);
        let admitted = walk.admit(Entry {
            raw: found.rel.as_bytes(),
            path: None,
            kind,
            size,
            mode: mode_of(meta),
            stream: 0,
            problem: None,
        });
        let admitted = match admitted {
            Ok(Some(admitted)) => admitted,
            Ok(None) => return Ok(Step::Next),
            Err(Stop::Limit(why) | Stop::Content(why)) => {
                limit = Some(why);
                return Ok(Step::Stop);
            }
            Err(Stop::Fatal(e)) => return Err(e),
        };
        match is {
            (true, _) => {
                if let Err(e) = walk.place(&admitted, sink) {
                    fatal = Some(e);
                    return Ok(Step::Stop);
                }
                Ok(Step::Descend)
            }
            (_, true) => {
                files.push(admitted);
                Ok(Step::Next)
            }
            _ => Ok(Step::Next),
        }
    })?;
    match (fatal, limit) {
        (Some(Stop::Fatal(e)), _) => Err(e),
        (Some(Stop::Content(why) | Stop::Limit(why)), _) | (None, Some(why)) => Ok(Err(why)),
        (None, None) => Ok(Ok(files)),
    }
}

/// Read the set's manifests (top-level manifest files, plus the caller's)
/// and its signature files into the walk, before any other file is read.
/// Returns whether some manifest describes the set.
fn read_manifests(sp: &SetPass<'_>, files: &[Admitted], walk: &mut Walk) -> Result<bool> {
    let max = sp.options.limits.max_manifest;
    // One byte past the limit: the parser then sees an oversized manifest.
    let read = max.saturating_add(1);
    let mut described = false;
    for admitted in files {
        let name = &admitted.name;
        let size = walk.members().get(admitted.index).map_or(0, |m| m.size);
        let signature = name.as_str().ends_with(".minisig") || name.as_str().ends_with(".sig");
        let is_manifest = manifest::manifest_kind(name).is_some();
        if !(is_manifest || signature && size <= 64 << 10) {
            continue;
        }
        let bytes = read_capped(sp.opener, &name.to_path(&sp.spec.root), read)?;
        described |= walk.learn(name, &bytes) && is_manifest;
        walk.keep(name.clone(), bytes);
    }
    for file in &sp.spec.external {
        let bytes = read_capped(sp.opener, file, read)?;
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
        if !walk.learn_outside(&name, &bytes) {
            return Err(Error::NotAManifest { path: file.clone() });
        }
        described = true;
        walk.keep(name, bytes);
    }
    Ok(described)
}

/// Hash (and copy to `sink`) every file of the set on every core; returns
/// the files that could not be read, or changed size while being read.
fn read_files(
    sp: &SetPass<'_>,
    files: &[Admitted],
    walk: &mut Walk,
    sink: &mut dyn Sink,
) -> Result<Vec<String>> {
    let jobs: Vec<(u64, (&Admitted, u32, u64))> = files
        .iter()
        .map(|admitted| {
            let member = walk.members().get(admitted.index);
            let (size, mode) = member.map_or((0, 0o644), |m| (m.size, m.mode));
            (size, (admitted, mode, size))
        })
        .collect();
    let policy = walk.policy().clone();
    let sink = Mutex::new(sink);
    let outcomes = parallel::run(
        &sp.spec.root,
        &jobs,
        || Ok(vec![0u8; 256 << 10]),
        |buf, &(admitted, mode, size)| {
            let name = &admitted.name;
            let input = match Input::open_listed(sp.opener, &name.to_path(&sp.spec.root)) {
                Ok(input) => input,
                Err(e) => return Ok(Err(format!("{name}: {}", crate::pass::error_chain(&e)))),
            };
            let out = match sink.lock() {
                Ok(mut sink) => sink.create_file(name, mode, 0)?,
                Err(_) => None,
            };
            let mut reader = input.cursor(input.len());
            match policy.read(&mut reader, name, size, buf, out) {
                Ok(mut content) => {
                    // Manifests and signatures were read before the files.
                    content.kept = None;
                    Ok(Ok(content))
                }
                Err(Stop::Fatal(e)) => Err(e),
                Err(Stop::Content(why) | Stop::Limit(why)) => Ok(Err(why)),
            }
        },
    )?;
    let mut failures = Vec::new();
    for (admitted, outcome) in files.iter().zip(outcomes) {
        if let Err(why) = outcome.and_then(|content| walk.record(admitted, content)) {
            failures.push(why);
        }
    }
    Ok(failures)
}
