//! One builder per container for the hostile table: each writes a case's
//! entries, after the harmless member, in its own way, or says it cannot
//! carry them.

use super::cases::{Case, Entry, EVIL, HARMLESS, HARMLESS_NAME};
use crate::util::{
    find, gzip_stored, makeself_archive, os, scexe, sha256_hex, tool, write_file, Makeself, RawZip,
    Tar,
};
use std::ffi::OsStr;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// A container the hostile table runs against.
pub struct Container {
    pub name: &'static str,
    /// What must be on PATH to build (or skip) it.
    pub tools: &'static [&'static str],
    /// The container checks its data (a CRC or checksum), and that check
    /// passes: only the names are bad.
    pub stream_check: bool,
    /// Write the case as a package in the work directory and return its
    /// path; `None` when the container cannot carry the case.
    pub build: fn(&Path, &Case) -> Option<PathBuf>,
}

pub const TAR: Container = Container {
    name: "tar",
    tools: &[],
    stream_check: false,
    build: |work, case| written(work, "hostile.tar", tar_of(case).finish()),
};

pub const TAR_GZ: Container = Container {
    name: "tar.gz",
    tools: &[],
    stream_check: true,
    build: |work, case| {
        let bytes = gzip_stored(&tar_of(case).finish());
        written(work, "hostile.tar.gz", bytes)
    },
};

pub const SCEXE: Container = Container {
    name: "scexe",
    tools: &[],
    stream_check: true,
    build: |work, case| {
        let bytes = scexe(&gzip_stored(&tar_of(case).finish()));
        written(work, "hostile.scexe", bytes)
    },
};

pub const ZIP: Container = Container {
    name: "zip",
    tools: &[],
    stream_check: true,
    build: zip_of,
};

pub const MAKESELF: Container = Container {
    name: "makeself",
    tools: &["makeself", "tar", "gzip", "md5sum", "cksum", "mkfifo"],
    stream_check: true,
    build: makeself_of,
};

pub const CAB: Container = Container {
    name: "cab",
    tools: &["gcab"],
    stream_check: true,
    build: cab_of,
};

pub const SET: Container = Container {
    name: "directory set",
    tools: &["mkfifo"],
    stream_check: false,
    build: set_of,
};

fn written(work: &Path, name: &str, bytes: Vec<u8>) -> Option<PathBuf> {
    let pkg = work.join(name);
    write_file(&pkg, &bytes, 0o644);
    Some(pkg)
}

/// The case as a tar, header by header: a tar carries every entry. A name
/// with a NUL goes through a GNU long-name entry, as nothing else can hold it.
fn tar_of(case: &Case) -> Tar {
    let mut tar = Tar::new();
    tar.file(HARMLESS_NAME, 0o644, HARMLESS);
    for entry in &case.entries {
        match entry {
            Entry::File(name) if name.contains('\0') => {
                tar.gnu_long_name(name.as_bytes())
                    .file("placeholder", 0o644, EVIL);
            }
            Entry::File(name) => {
                tar.entry(b'0', name.as_bytes(), b"", 0o644, EVIL);
            }
            Entry::PaxFile(name) => {
                tar.pax("path", name.as_bytes())
                    .file("placeholder", 0o644, EVIL);
            }
            Entry::Dir(name) => {
                tar.dir(name, 0o755);
            }
            Entry::Symlink(name, target) => {
                tar.symlink(name, target);
            }
            Entry::Hardlink(name, target) => {
                tar.hardlink(name, target);
            }
            Entry::Special(typeflag, name) => {
                tar.entry(*typeflag, name.as_bytes(), b"", 0o644, b"");
            }
        }
    }
    tar
}

/// The case as a zip written by `util::RawZip`: files (any bytes in the
/// name), directories and symlinks; no hard links, pax records or devices.
/// Nor two entries of one name: fwkit refuses such a zip as a whole, before
/// it lists members (`zip/hostile.rs`, `duplicate_names`).
fn zip_of(work: &Path, case: &Case) -> Option<PathBuf> {
    let mut names: Vec<&str> = case.entries.iter().map(Entry::name).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let mut zip = RawZip::new();
    zip.file(HARMLESS_NAME.as_bytes(), HARMLESS);
    for entry in &case.entries {
        match entry {
            Entry::File(name) => zip.file(name.as_bytes(), EVIL),
            Entry::Dir(name) => zip.dir(name.as_bytes()),
            Entry::Symlink(name, target) => zip.symlink(name.as_bytes(), target.as_bytes()),
            Entry::PaxFile(_) | Entry::Hardlink(..) | Entry::Special(..) => return None,
        };
    }
    written(work, "hostile.zip", zip.finish())
}

/// The case as a cabinet: gcab packs placeholder files of the same lengths,
/// then their names are patched in the file table (names are not covered by
/// the CFDATA checksums, so the cabinet stays otherwise valid). A cabinet
/// holds only files (directories are implied by names), and no NUL in a name.
fn cab_of(work: &Path, case: &Case) -> Option<PathBuf> {
    let mut names = Vec::new();
    for entry in &case.entries {
        match entry {
            Entry::File(name) if !name.contains('\0') && name.len() >= 3 => names.push(name),
            Entry::Dir(_) => {}
            _ => return None,
        }
    }
    let src = work.join("cab-src");
    write_file(&src.join(HARMLESS_NAME), HARMLESS, 0o644);
    let placeholders: Vec<String> = (0..names.len())
        .map(|i| format!("{}", char::from(b'A' + i as u8)) + &"x".repeat(names[i].len() - 1))
        .collect();
    for placeholder in &placeholders {
        write_file(&src.join(placeholder), EVIL, 0o644);
    }
    let mut args: Vec<&OsStr> = vec![os("--create"), os("--zip"), os("../hostile.cab")];
    args.push(os(HARMLESS_NAME));
    args.extend(placeholders.iter().map(|p| os(p)));
    tool(&src, "gcab", &args);
    fs::remove_dir_all(&src).expect("remove the cab sources");
    let pkg = work.join("hostile.cab");
    let mut bytes = fs::read(&pkg).expect("read the cabinet");
    for (placeholder, name) in placeholders.iter().zip(names) {
        let at =
            find(&bytes, format!("{placeholder}\0").as_bytes()).expect("name in the file table");
        bytes[at..at + name.len()].copy_from_slice(name.as_bytes());
    }
    written(work, "hostile.cab", bytes)
}

/// The case made by Debian's makeself from the entries written to disk
/// ([`on_disk`]); makeself lists files with `find`, so no newline in a name.
fn makeself_of(work: &Path, case: &Case) -> Option<PathBuf> {
    let newline = case.entries.iter().any(|e| e.name().contains('\n'));
    if newline {
        return None;
    }
    let src = work.join("makeself-src");
    on_disk(&src, case)?;
    let pkg = makeself_archive(&src, &work.join("hostile.run"), Makeself::default());
    fs::remove_dir_all(&src).expect("remove the makeself sources");
    pkg
}

/// The case as a directory set ([`on_disk`]) with a `SHA256SUMS` for
/// the harmless member, so that a manifest describes the set.
fn set_of(work: &Path, case: &Case) -> Option<PathBuf> {
    let set = work.join("set");
    on_disk(&set, case)?;
    let sums = format!("{}  {HARMLESS_NAME}\n", sha256_hex(HARMLESS));
    write_file(&set.join("SHA256SUMS"), sums.as_bytes(), 0o644);
    Some(set)
}

/// Write the harmless member and the case's entries below `dir` as they would be on
/// disk. `None` when an entry cannot exist there as written: a NUL, an
/// absolute or `..` name, a second entry of one name, a path through a
/// symlink or a file, a hard link, a pax record, a device.
fn on_disk(dir: &Path, case: &Case) -> Option<()> {
    write_file(&dir.join(HARMLESS_NAME), HARMLESS, 0o644);
    for entry in &case.entries {
        let name = entry.name();
        let rel = Path::new(name);
        let escapes = rel
            .components()
            .any(|c| matches!(c, Component::RootDir | Component::ParentDir));
        let through = rel
            .ancestors()
            .skip(1)
            .any(|a| fs::symlink_metadata(dir.join(a)).is_ok_and(|m| !m.is_dir()));
        if name.contains('\0') || escapes || through || fs::symlink_metadata(dir.join(rel)).is_ok()
        {
            return None;
        }
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create parents");
        match entry {
            Entry::File(_) => write_file(&path, EVIL, 0o644),
            Entry::Dir(_) => fs::create_dir(&path).expect("create dir"),
            Entry::Symlink(_, target) => {
                std::os::unix::fs::symlink(target, &path).expect("create symlink");
            }
            Entry::Special(b'6', _) => {
                tool(dir, "mkfifo", &[path.as_os_str()]);
            }
            Entry::PaxFile(_) | Entry::Hardlink(..) | Entry::Special(..) => return None,
        }
    }
    Some(())
}
