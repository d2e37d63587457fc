//! The only code that writes to the filesystem.
//!
//! # Security
//!
//! Everything is written into a fresh staging directory created next to the
//! destination (mode 0700, so nobody else can place links in it). Names are
//! [`MemberName`]s, already checked for safety by the scan. A parent that
//! already exists must be a real directory, not a link: on a file system that
//! folds case or normalises Unicode, `p/x` may name a path under a link `P`
//! that the scan, which compares names byte for byte, saw as unrelated.
//! A hard link's target must be a file this module created. So nothing is
//! written through a link. Files are opened with `O_CREAT|O_EXCL` (`create_new`), which does not
//! follow a link at the final component either. Modes keep the permission
//! bits only, never setuid/setgid/sticky; ownership is never set. The staging
//! directory is renamed onto the destination only after every check passed,
//! refusing to replace anything that appeared there meanwhile; on any failure
//! it is removed and the destination does not exist.

mod hand;

pub(crate) use hand::{HandDir, HandFile};

use crate::error::{Error, Result};
use crate::model::MemberName;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where member content goes: nowhere (verify) or the staging tree (unpack).
pub(crate) trait Sink: Send {
    fn dir(&mut self, name: &MemberName, mode: u32) -> Result<()>;
    /// Create a file; `None` when content is checked and dropped.
    fn create_file(&mut self, name: &MemberName, mode: u32, mtime: u64) -> Result<Option<FileOut>>;
    fn symlink(&mut self, name: &MemberName, target: &str) -> Result<()>;
    fn hardlink(&mut self, name: &MemberName, target: &MemberName) -> Result<()>;
}

/// The sink of `verify` and `inspect`: content is checked, then dropped.
pub(crate) struct Discard;

impl Sink for Discard {
    fn dir(&mut self, _: &MemberName, _: u32) -> Result<()> {
        Ok(())
    }
    fn create_file(&mut self, _: &MemberName, _: u32, _: u64) -> Result<Option<FileOut>> {
        Ok(None)
    }
    fn symlink(&mut self, _: &MemberName, _: &str) -> Result<()> {
        Ok(())
    }
    fn hardlink(&mut self, _: &MemberName, _: &MemberName) -> Result<()> {
        Ok(())
    }
}

/// A staging directory next to the destination, removed unless committed.
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    dest: PathBuf,
    created: HashSet<MemberName>,
    dir_modes: Vec<(MemberName, u32)>,
    /// Give every directory this modification time at commit (reproducible sets).
    dir_mtime: Option<u64>,
}

/// Where one member's content is written. Owned, so members can be
/// written from several threads.
pub(crate) enum FileOut {
    /// A file below the staging directory.
    Disk {
        path: PathBuf,
        writer: io::BufWriter<File>,
        mode: u32,
        mtime: u64,
    },
    /// Content handed on rather than unpacked (`fwkit exec`: a sealed
    /// memfd, or a file of a [`HandDir`]).
    Hand(Box<dyn HandOut>),
}

/// A writer of one member's content that is not a staged file.
pub(crate) trait HandOut: Send {
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// All content written: seal or sync it.
    fn finish(self: Box<Self>) -> Result<()>;
}

impl FileOut {
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            FileOut::Disk { path, writer, .. } => {
                writer.write_all(data).map_err(|e| Error::write(&*path, e))
            }
            FileOut::Hand(out) => out.write(data),
        }
    }

    /// Flush, set the modification time and the permission bits.
    pub(crate) fn finish(self) -> Result<()> {
        let (path, writer, mode, mtime) = match self {
            FileOut::Disk {
                path,
                writer,
                mode,
                mtime,
            } => (path, writer, mode, mtime),
            FileOut::Hand(out) => return out.finish(),
        };
        let file = writer
            .into_inner()
            .map_err(|e| Error::write(&path, e.into_error()))?;
        // Best effort: a file system without timestamps (or a header time the
        // platform cannot represent) is no reason to fail.
        if let Some(time) = mtime_to_system_time(mtime) {
            let _ = file.set_modified(time);
        }
        drop(file);
        set_mode(&path, mode & 0o777)
    }
}

impl Staging {
    /// Prepare to unpack into `dest`, which must not exist.
    pub(crate) fn new(dest: &Path) -> Result<Staging> {
        if dest.symlink_metadata().is_ok() {
            return Err(Error::DestinationExists {
                path: dest.to_path_buf(),
            });
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = tempfile::Builder::new()
            .prefix(".fwkit-unpack-")
            .tempdir_in(&parent)
            .map_err(|e| Error::write(&parent, e))?;
        Ok(Staging {
            dir,
            dest: dest.to_path_buf(),
            created: HashSet::new(),
            dir_modes: Vec::new(),
            dir_mtime: None,
        })
    }

    /// Every directory gets `mtime` when the tree is committed.
    pub(crate) fn fix_dir_times(&mut self, mtime: u64) {
        self.dir_mtime = Some(mtime);
    }

    /// The staging directory (the future destination).
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &MemberName) -> PathBuf {
        name.to_path(self.dir.path())
    }

    /// Create every missing ancestor of `name`, outermost first.
    fn parents(&mut self, name: &MemberName) -> Result<()> {
        for ancestor in name.ancestors() {
            // Recorded only once it is known to be a real directory.
            if !self.created.contains(&ancestor) {
                let path = self.path(&ancestor);
                match fs::create_dir(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_real_dir(&path) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(Error::write(path, io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            "an earlier member (a link or file whose name differs only in case or Unicode form?) holds this directory's place; nothing is written through it",
                        )));
                    }
                    Err(e) => return Err(Error::write(path, e)),
                }
                self.created.insert(ancestor);
            }
        }
        Ok(())
    }

    /// Move the staged tree into place. Fails, leaving nothing, if the
    /// destination appeared meanwhile.
    pub(crate) fn commit(mut self) -> Result<PathBuf> {
        // Innermost directories first, so a read-only parent does not block a child.
        self.dir_modes
            .sort_by_key(|(name, _)| std::cmp::Reverse(name.depth()));
        for (name, mode) in &self.dir_modes {
            set_mode(&self.path(name), mode | 0o700)?;
        }
        set_mode(self.dir.path(), 0o755)?;
        if let Some(mtime) = self.dir_mtime {
            set_dir_times(self.dir.path(), mtime);
        }
        let staged = self.dir.path().to_path_buf();
        rename_no_replace(&staged, &self.dest).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => Error::DestinationExists {
                path: self.dest.clone(),
            },
            _ => Error::write(&self.dest, e),
        })?;
        // The directory now lives at `dest`; do not delete it.
        let _ = self.dir.keep();
        Ok(self.dest)
    }
}

impl Sink for Staging {
    fn dir(&mut self, name: &MemberName, mode: u32) -> Result<()> {
        self.parents(name)?;
        if !self.created.contains(name) {
            let path = self.path(name);
            fs::create_dir(&path).map_err(|e| Error::write(path, e))?;
            self.created.insert(name.clone());
        }
        self.dir_modes.push((name.clone(), mode & 0o777));
        Ok(())
    }

    fn create_file(&mut self, name: &MemberName, mode: u32, mtime: u64) -> Result<Option<FileOut>> {
        self.parents(name)?;
        let path = self.path(name);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        self.created.insert(name.clone());
        Ok(Some(FileOut::Disk {
            path,
            writer: io::BufWriter::with_capacity(256 << 10, file),
            mode,
            mtime,
        }))
    }

    fn symlink(&mut self, name: &MemberName, target: &str) -> Result<()> {
        self.parents(name)?;
        let path = self.path(name);
        make_symlink(target, &path).map_err(|e| Error::write(&path, e))?;
        self.created.insert(name.clone());
        Ok(())
    }

    fn hardlink(&mut self, name: &MemberName, target: &MemberName) -> Result<()> {
        self.parents(name)?;
        let path = self.path(name);
        if !self.created.contains(target) {
            return Err(Error::write(
                &path,
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("hard link to {target}, which was not unpacked"),
                ),
            ));
        }
        fs::hard_link(self.path(target), &path).map_err(|e| Error::write(&path, e))?;
        self.created.insert(name.clone());
        Ok(())
    }
}

/// A directory, not a link to one.
fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::write(path, e))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &str, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_symlink(_: &str, _: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlinks are only created on Unix",
    ))
}

#[cfg(target_os = "linux")]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        // File systems without RENAME_NOREPLACE: check, then rename.
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            rename_checked(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    rename_checked(from, to)
}

fn rename_checked(from: &Path, to: &Path) -> io::Result<()> {
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "destination appeared while unpacking",
        ));
    }
    fs::rename(from, to)
}

/// Write a new file at `out` through `write`: the bytes go to a temporary
/// file next to it, which replaces nothing: it is linked into place only if
/// `out` still does not exist. On any error nothing appears at `out`.
pub(crate) fn write_new_file(
    out: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    if out.symlink_metadata().is_ok() {
        return Err(Error::DestinationExists {
            path: out.to_path_buf(),
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".fwkit-pack-")
        .tempfile_in(&parent)
        .map_err(|e| Error::write(&parent, e))?;
    write(temp.as_file_mut())?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::write(out, e))?;
    set_mode(temp.path(), mode)?;
    temp.persist_noclobber(out)
        .map_err(|e| match e.error.kind() {
            io::ErrorKind::AlreadyExists => Error::DestinationExists {
                path: out.to_path_buf(),
            },
            _ => Error::write(out, e.error),
        })?;
    Ok(())
}

/// What [`write_file`] does when the file exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse ([`Error::DestinationExists`]): the default everywhere.
    Keep,
    /// Replace it, atomically: the old file or the new one, never half.
    Replace,
}

/// Write `bytes` to `path` as a new file of mode `mode` (permission bits),
/// staged beside it, synced, then renamed into place: a reader sees the old
/// file or the whole new one. With [`Existing::Keep`] an existing path is
/// never touched.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> Result<()> {
    let write = |f: &mut File| f.write_all(bytes).map_err(|e| Error::write(path, e));
    match existing {
        Existing::Keep => write_new_file(path, mode, write),
        Existing::Replace => replace_file(path, mode, write),
    }
}

/// Replace `path` (or create it) atomically with what `write` writes, with
/// mode `mode`; a crash leaves the old file or the new one.
pub(crate) fn replace_file(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".fwkit-write-")
        .tempfile_in(&parent)
        .map_err(|e| Error::write(&parent, e))?;
    write(temp.as_file_mut())?;
    set_mode(temp.path(), mode)?;
    // On disk before the rename, so a crash leaves the old file or the new.
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::write(path, e))?;
    temp.persist(path)
        .map_err(|e| Error::write(path, e.error))?;
    Ok(())
}

/// Stage a directory tree for `out` (which must not exist); see [`Staging`].
pub(crate) fn stage_dir(out: &Path) -> Result<Staging> {
    Staging::new(out)
}

/// Set the modification time of `dir` and every directory below it (children
/// first, since writing into a directory changes its time). Best effort.
fn set_dir_times(dir: &Path, mtime: u64) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                set_dir_times(&entry.path(), mtime);
            }
        }
    }
    if let (Ok(handle), Some(time)) = (File::open(dir), mtime_to_system_time(mtime)) {
        let _ = handle.set_modified(time);
    }
}

/// Seconds since the epoch as a `SystemTime`, or `None` when the (file-derived)
/// value is beyond what the platform can represent.
fn mtime_to_system_time(mtime: u64) -> Option<std::time::SystemTime> {
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(mtime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MemberName {
        MemberName::parse(s.as_bytes()).unwrap()
    }

    /// The error and its causes, as the CLI prints them.
    fn chain(e: &Error) -> String {
        let mut out = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            out.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        out
    }

    /// What a case-folding file system does to `p/x` after a link `P` was
    /// made: the parent `p` exists, and it is a link. Simulated by making the
    /// link under the very name, behind the staging area's back.
    #[cfg(unix)]
    #[test]
    fn an_existing_parent_that_is_a_link_is_not_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let mut staging = Staging::new(&tmp.path().join("dest")).unwrap();
        std::os::unix::fs::symlink(&outside, staging.root().join("p")).unwrap();
        let err = staging.create_file(&name("p/x"), 0o644, 0).err().unwrap();
        assert!(
            chain(&err).contains("holds this directory's place"),
            "{err}"
        );
        assert!(staging.dir(&name("p/sub"), 0o755).is_err());
        assert!(staging.symlink(&name("p/l"), "x").is_err());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside");
        // A real directory in the way is used as it is.
        fs::create_dir(staging.root().join("q")).unwrap();
        assert!(staging
            .create_file(&name("q/x"), 0o644, 0)
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_hard_link_only_points_at_a_file_this_unpack_wrote() {
        let tmp = tempfile::tempdir().unwrap();
        let mut staging = Staging::new(&tmp.path().join("dest")).unwrap();
        fs::write(staging.root().join("planted"), b"x").unwrap();
        let err = staging
            .hardlink(&name("l"), &name("planted"))
            .err()
            .unwrap();
        assert!(chain(&err).contains("was not unpacked"), "{err}");
        drop(staging.create_file(&name("f"), 0o644, 0).unwrap());
        staging.hardlink(&name("l"), &name("f")).unwrap();
        assert!(staging.root().join("l").is_file());
    }
}
