//! Open a file below a directory by a validated relative name, once, so the
//! handle checked is the file read: on Linux one component at a time with
//! `openat(…, O_NOFOLLOW)` from the directory's own handle, so no link (on
//! the way or at the end) is followed and a directory swapped for a link
//! after any earlier look cannot lead outside. Opened non-blocking, so a
//! FIFO planted in the mirror cannot hang a worker; then `fstat` on the
//! handle says whether it is a regular file.

use std::fs::File;
use std::io;
use std::path::Path;

/// Why an entry's file was not opened.
pub(super) enum Refused {
    /// No such file (or a parent is not a directory).
    Missing,
    /// A symbolic link on the way or at the end.
    Link,
    /// Not a regular file (a directory, a FIFO, a device).
    NotFile,
    /// Any other error.
    Io(io::Error),
}

/// Open `name` (validated: relative, `/`-separated, no `..`) below `root`.
pub(super) fn open(root: &Path, name: &str) -> Result<File, Refused> {
    let file = open_nofollow(root, name)?;
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(file),
        Ok(_) => Err(Refused::NotFile),
        Err(e) => Err(Refused::Io(e)),
    }
}

#[cfg(target_os = "linux")]
fn open_nofollow(root: &Path, name: &str) -> Result<File, Refused> {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    use rustix::io::Errno;
    let refused = |e: Errno| match e {
        Errno::NOENT | Errno::NOTDIR => Refused::Missing,
        Errno::LOOP => Refused::Link,
        other => Refused::Io(io::Error::from(other)),
    };
    let dirs = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = openat(CWD, root, dirs, Mode::empty()).map_err(refused)?;
    let mut parts = name.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            let fd = openat(&dir, part, flags, Mode::empty()).map_err(refused)?;
            return Ok(File::from(fd));
        }
        dir = match openat(&dir, part, dirs, Mode::empty()) {
            Ok(fd) => fd,
            // A link to a directory opened with O_DIRECTORY|O_NOFOLLOW gives
            // ENOTDIR on some kernels: say which it was.
            Err(Errno::NOTDIR) if is_link(&dir, part) => return Err(Refused::Link),
            Err(e) => return Err(refused(e)),
        };
    }
    Err(Refused::Missing)
}

#[cfg(target_os = "linux")]
fn is_link(dir: &rustix::fd::OwnedFd, part: &str) -> bool {
    use rustix::fs::{statat, AtFlags, FileType};
    statat(dir, part, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
}

/// Elsewhere: the path is resolved, must stay below `root`, and the file
/// opened must be the one resolved (same metadata), or it is refused.
#[cfg(not(target_os = "linux"))]
fn open_nofollow(root: &Path, name: &str) -> Result<File, Refused> {
    let path = root.join(name);
    let looked = std::fs::symlink_metadata(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Refused::Missing,
        _ => Refused::Io(e),
    })?;
    if looked.file_type().is_symlink() {
        return Err(Refused::Link);
    }
    let real = std::fs::canonicalize(&path).map_err(Refused::Io)?;
    if !real.starts_with(root) {
        return Err(Refused::Link);
    }
    File::open(&real).map_err(Refused::Io)
}
