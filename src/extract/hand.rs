//! Files handed to a program (`fwkit exec --as-files`): a private directory
//! (mode 0700) in the system's temporary directory, each member a new file
//! created `O_CREAT|O_EXCL|O_NOFOLLOW` with mode 0400 and synced before the
//! program starts. The directory is removed by [`HandDir::remove`] (or when
//! dropped), whatever the program did to the modes below it.

use crate::error::{Error, Result};
use crate::model::MemberName;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The private directory of handed files.
pub(crate) struct HandDir {
    dir: tempfile::TempDir,
}

/// One handed file being written.
pub(crate) struct HandFile {
    path: PathBuf,
    writer: io::BufWriter<File>,
}

impl HandDir {
    /// A new private directory below the system's temporary directory.
    pub(crate) fn new() -> Result<HandDir> {
        let parent = std::env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix("fwkit-exec-")
            .tempdir_in(&parent)
            .map_err(|e| Error::write(&parent, e))?;
        super::set_mode(dir.path(), 0o700)?;
        Ok(HandDir { dir })
    }

    /// The directory.
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Create the file for `name` (and its parent directories, 0700).
    pub(crate) fn create(&self, name: &MemberName) -> Result<HandFile> {
        for ancestor in name.ancestors() {
            let path = ancestor.to_path(self.root());
            match make_private_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && super::is_real_dir(&path) => {
                }
                Err(e) => return Err(Error::write(path, e)),
            }
        }
        let path = name.to_path(self.root());
        let file = create_read_only(&path).map_err(|e| Error::write(&path, e))?;
        Ok(HandFile {
            path,
            writer: io::BufWriter::with_capacity(256 << 10, file),
        })
    }

    /// Remove the directory and everything in it, first giving back the
    /// owner's permissions the program may have taken away.
    pub(crate) fn remove(self) -> Result<()> {
        let root = self.root().to_path_buf();
        restore_dir_modes(&root);
        self.dir.close().map_err(|e| Error::write(root, e))
    }
}

impl HandFile {
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<()> {
        self.writer
            .write_all(data)
            .map_err(|e| Error::write(&self.path, e))
    }

    /// Flush and sync: the content is on disk before the program starts.
    pub(crate) fn finish(self) -> Result<PathBuf> {
        Ok(self.finish_open()?.0)
    }

    /// [`HandFile::finish`], keeping the file open (it can be read through
    /// this handle: a bare image is verified from its handed copy).
    pub(crate) fn finish_open(self) -> Result<(PathBuf, File)> {
        let HandFile { path, writer } = self;
        let file = writer
            .into_inner()
            .map_err(|e| Error::write(&path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::write(&path, e))?;
        Ok((path, file))
    }
}

#[cfg(unix)]
fn make_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn make_private_dir(path: &Path) -> io::Result<()> {
    fs::create_dir(path)
}

/// A new file, mode 0400, never through a link (the handle that creates it
/// may still read and write it).
#[cfg(unix)]
fn create_read_only(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create_new(true).mode(0o400);
    #[cfg(target_os = "linux")]
    options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    options.open(path)
}

#[cfg(not(unix))]
fn create_read_only(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

/// Make every directory below `dir` (and `dir`) 0700 again, so it can be
/// emptied. Links are not followed. Best effort: removal reports what fails.
fn restore_dir_modes(dir: &Path) {
    let _ = super::set_mode(dir, 0o700);
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                restore_dir_modes(&entry.path());
            }
        }
    }
}
