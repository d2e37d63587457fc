//! A bare image (format `raw`: a file with a detached signature, or
//! checked with `--sha256`) has no members. It is handed whole, as the one
//! member named by the file's own name: `{img.bin}` for `img.bin` (or
//! `dir/img.bin`). Its bytes are read once into a sealed memfd, and the
//! package verified is that memfd: the bytes handed are the bytes hashed.

use super::{memfd, Handed, Handoff, HandoffOptions, Place};
use crate::error::{Error, Result};
use crate::model::MemberName;
use crate::package::Package;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
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
    let unsupported = |why: String| Error::Write {
        path: package.path().to_owned(),
        source: io::Error::new(io::ErrorKind::Unsupported, why),
    };
    let size = package.file_size();
    if options.as_files {
        return Err(unsupported(
            "a bare image is handed only as a sealed memfd; --as-files is not supported for format raw yet".to_owned(),
        ));
    }
    if size > options.max_memory {
        return Err(unsupported(format!(
            "the image ({size} bytes) is over --max-memory ({} bytes), and a bare image is handed only as a sealed memfd",
            options.max_memory
        )));
    }
    memfd::probe().map_err(|e| {
        unsupported(format!(
            "no sealed memfds here ({e}); a bare image is handed only as one"
        ))
    })?;
    let (file, sha256) = copy_sealed(package, &name, size)?;
    let copy = package.reread(Arc::new(
        file.try_clone()
            .map_err(|e| Error::read(package.path(), e))?,
    ))?;
    let report = copy.verify(&options.verify)?;
    Ok(Handoff {
        report,
        handed: vec![Handed {
            name: name.clone(),
            size,
            sha256,
            place: Place::Memfd(file),
        }],
        notes: vec![format!(
            "a bare image is handed whole as the member {name}: read once into a sealed memfd, and that memfd was verified"
        )],
        seen: HashMap::new(),
        dir: None,
        nested_dirs: Vec::new(),
    })
}

/// The first `size` bytes of the package's file in a sealed memfd, and
/// their SHA-256.
fn copy_sealed(package: &Package, name: &MemberName, size: u64) -> Result<(File, String)> {
    let write_error = |e: io::Error| Error::Write {
        path: package.path().to_owned(),
        source: e,
    };
    let mut file = memfd::create(name.as_str()).map_err(write_error)?;
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
        file.write_all(&chunk).map_err(write_error)?;
        offset = offset.saturating_add(chunk.len() as u64);
    }
    memfd::seal(&file).map_err(write_error)?;
    Ok((file, crate::verify::hex(&sha256.finalize())))
}
