//! A bare image (format `raw`: a file with a detached signature, or
//! checked with `--sha256`) has no members. It is handed whole, as the one
//! member named by the file's own name: `{img.bin}` for `img.bin` (or
//! `dir/img.bin`). Its bytes are read once into a sealed memfd (or, with
//! `--as-files`, over `--max-memory`, or without memfd sealing, a read-only
//! file of a private directory), and the package verified is that copy: the
//! bytes handed are the bytes hashed.

use super::{memfd, Handed, Handoff, HandoffOptions, Place};
use crate::error::{Error, Result};
use crate::extract::HandDir;
use crate::model::{MemberName, Report};
use crate::package::Package;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

/// Bytes copied at a time.
const CHUNK: u64 = 1 << 20;

/// The member name of a bare image: its file name.
pub fn raw_member(package: &Package) -> Option<MemberName> {
    let name = package.path().file_name()?.to_str()?;
    MemberName::parse(name.as_bytes()).ok()
}

/// [`Package::handoff`] for a bare image.
pub(super) fn handoff_raw(
    package: &Package,
    members: &[MemberName],
    options: &HandoffOptions,
) -> Result<Handoff> {
    let name = raw_member(package).filter(|n| members.contains(n));
    let Some(name) = name else {
        // Nothing of it is named: verify it, hand nothing ([`Handoff::member`]
        // answers what was named).
        return Ok(Handoff {
            report: package.verify(&options.verify)?,
            handed: Vec::new(),
            notes: Vec::new(),
            seen: HashMap::new(),
            dir: None,
            nested_dirs: Vec::new(),
        });
    };
    let size = package.file_size();
    let why_files = match (options.as_files, size > options.max_memory) {
        (true, _) => Some(None),
        (false, true) => Some(Some(format!(
            "the image ({size} bytes) is over --max-memory ({} bytes)",
            options.max_memory
        ))),
        (false, false) => memfd::probe()
            .err()
            .map(|e| Some(format!("sealed memfds are not available here ({e})"))),
    };
    if let Some(why) = why_files {
        return handoff_file(package, &name, options, why);
    }
    let write_error = |e: io::Error| Error::Write {
        path: package.path().to_owned(),
        source: e,
    };
    let mut file = memfd::create(name.as_str()).map_err(write_error)?;
    let sha256 = copy(package, size, |chunk| {
        file.write_all(chunk).map_err(write_error)
    })?;
    memfd::seal(&file).map_err(write_error)?;
    let copy = package.reread(Arc::new(
        file.try_clone()
            .map_err(|e| Error::read(package.path(), e))?,
    ))?;
    let report = copy.verify(&options.verify)?;
    let note = format!(
        "a bare image is handed whole as the member {name}: read once into a sealed memfd, and that memfd was verified"
    );
    let handed = Handed {
        name: name.clone(),
        size,
        sha256,
        place: Place::Memfd(file),
    };
    Ok(whole(report, handed, vec![note], None))
}

/// A bare image handed as a read-only file of a private directory
/// (`--as-files`, or `why` it could not be a memfd): copied once into a new
/// file (`O_EXCL|O_NOFOLLOW`, mode 0400, synced), and that file, through the
/// handle that wrote it, is what is verified; the original path is not read
/// again. The directory goes with the [`Handoff`] (removed by
/// [`Handoff::remove`], or when dropped on an error here).
fn handoff_file(
    package: &Package,
    name: &MemberName,
    options: &HandoffOptions,
    why: Option<String>,
) -> Result<Handoff> {
    let size = package.file_size();
    let dir = HandDir::new()?;
    let mut out = dir.create(name)?;
    let sha256 = copy(package, size, |chunk| out.write(chunk))?;
    let (path, file) = out.finish_open()?;
    let report = package.reread(Arc::new(file))?.verify(&options.verify)?;
    let mut notes = Vec::new();
    if let Some(why) = why {
        notes.push(format!(
            "{why}; the image is handed as a read-only file instead"
        ));
    }
    notes.push(format!(
        "a bare image is handed whole as the member {name}: copied once into a read-only file of a private directory, and that file was verified"
    ));
    let handed = Handed {
        name: name.clone(),
        size,
        sha256,
        place: Place::File(path),
    };
    Ok(whole(report, handed, notes, Some(dir)))
}

/// The first `size` bytes of the package's file, read once and given to
/// `write` chunk by chunk; their SHA-256.
fn copy(
    package: &Package,
    size: u64,
    mut write: impl FnMut(&[u8]) -> Result<()>,
) -> Result<String> {
    let mut sha256 = Sha256::new();
    let mut offset = 0u64;
    while offset < size {
        let chunk = package.read_bytes(offset, CHUNK.min(size.saturating_sub(offset)))?;
        if chunk.is_empty() {
            return Err(Error::read(
                package.path(),
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was read",
                ),
            ));
        }
        sha256.update(&chunk);
        write(&chunk)?;
        offset = offset.saturating_add(chunk.len() as u64);
    }
    Ok(crate::verify::hex(&sha256.finalize()))
}

/// The handoff of a bare image: one member, the image itself.
fn whole(report: Report, handed: Handed, notes: Vec<String>, dir: Option<HandDir>) -> Handoff {
    Handoff {
        report,
        handed: vec![handed],
        notes,
        seen: HashMap::new(),
        dir,
        nested_dirs: Vec::new(),
    }
}
