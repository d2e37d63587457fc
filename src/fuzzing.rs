//! Entry points for the fuzz targets in `fuzz/` and the robustness tests.
//!
//! Not part of the public API: hidden from the docs and free to change. Each
//! function is a thin wrapper that hands untrusted bytes to one crate-private
//! parser, so a fuzz target reaches it without going through a whole package.
//! Parsers that read a file (the shell-stub layouts) get the bytes through a
//! temporary file, as [`Package::open`] would.

use crate::detect::{FormatKind, HEAD_LEN};
use crate::formats::{self, shell, Source};
use crate::package::{Limits, MemberName, NameError, Package, Report, UnpackOptions};
use crate::VerifyOptions;
use std::io::{self, Write};

/// [`crate::detect`] on the first [`HEAD_LEN`] bytes, as `Package::open` reads them.
pub fn detect(data: &[u8]) -> Option<FormatKind> {
    crate::detect::detect(data.get(..HEAD_LEN).unwrap_or(data))
}

/// [`MemberName::parse`], plus the operations the scan and extraction use on
/// an accepted name (they must not panic either).
pub fn member_name(data: &[u8]) -> Result<MemberName, NameError> {
    let name = MemberName::parse(data)?;
    let _ = (name.depth(), name.parent(), name.file_name());
    let _ = name.ancestors().count();
    let _ = name.to_path(std::path::Path::new("/nonexistent"));
    Ok(name)
}

/// A symlink target resolved against a member name, lexically.
pub fn resolve_link(name: &MemberName, target: &str) -> Option<Vec<String>> {
    name.resolve_link(target)
}

/// The shell-stub text readers: top-level assignments, line offsets, marker
/// lines and literal numbers. Returns the number of assignments found.
pub fn shell_assignments(text: &[u8]) -> usize {
    let assignments = shell::assignments(text);
    for a in &assignments {
        let _ = shell::offset_after_lines(text, a.line as u64);
        if let Ok(n) = a.value.trim().parse::<u64>() {
            let _ = shell::offset_after_lines(text, n);
        }
    }
    let _ = shell::marker_lines(text, crate::detect::DELL_ARCHIVE_MARKER);
    let _ = shell::literal_numbers(text, b"head -n ", &[b" \"$0\"", b" $0"]);
    let _ = shell::literal_numbers(text, b"tail +", &[b" \"$0\""]);
    let _ = shell::find(text, b"_SKIP=");
    assignments.len()
}

/// Read the headers of `data` as format `kind` (makeself, scexe, Dell, zip,
/// PE, tar) through a temporary file. `Err` only for I/O failures.
pub fn layout(kind: FormatKind, data: &[u8]) -> io::Result<usize> {
    if kind == FormatKind::Set {
        return Ok(0);
    }
    let mut file = tempfile::tempfile()?;
    file.write_all(data)?;
    let head = data.get(..HEAD_LEN).unwrap_or(data);
    let mut source = Source::new(file, data.len() as u64);
    let layout = formats::layout(kind, head, &mut source)?;
    Ok(layout.checks.len() + layout.streams.len())
}

/// Parse `data` as a checksum manifest named `name` (e.g. `SHA256SUMS`,
/// `sub/fw.bin.md5`). `None` when `name` is not a manifest name or not a
/// safe member name. Returns the number of entries and bad lines.
pub fn manifest(name: &str, data: &[u8]) -> Option<usize> {
    let source = MemberName::parse(name.as_bytes()).ok()?;
    let manifest = crate::verify::manifest::parse(&source, data)?;
    Some(manifest.entries.len() + manifest.bad_lines.len())
}

/// Limits small enough that a fuzz input cannot keep a run busy for long.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_size: 64 << 20,
        max_entries: 10_000,
        max_depth: 64,
    }
}

/// The whole path: write `data` to a temporary file, open it as a package,
/// verify it, then unpack it into a temporary directory, with
/// [`fuzz_limits`]. `Err` when the bytes are not a recognised package or
/// I/O failed; a package that fails its checks is an `Ok` report.
pub fn verify_bytes(data: &[u8]) -> crate::Result<Report> {
    verify_bytes_with(data, fuzz_limits())
}

/// [`verify_bytes`] with the given limits.
pub fn verify_bytes_with(data: &[u8], limits: Limits) -> crate::Result<Report> {
    let dir = tempfile::tempdir().map_err(|e| crate::Error::write(std::env::temp_dir(), e))?;
    let path = dir.path().join("package");
    std::fs::write(&path, data).map_err(|e| crate::Error::write(&path, e))?;
    let package = Package::open(&path)?;
    let _ = package.declared_checks();
    let options = VerifyOptions {
        limits,
        hash_members: true,
        ..VerifyOptions::default()
    };
    let report = package.verify(&options)?;
    let unpack = UnpackOptions {
        verify: options,
        no_verify: true,
        recursive: 0,
    };
    let dest = dir.path().join("out");
    let unpacked = package.unpack(&dest, &unpack)?;
    // The unpacked tree never leaves the temporary directory.
    if let Some(placed) = &unpacked.unpacked {
        debug_assert!(placed.starts_with(dir.path()));
    }
    Ok(report)
}
