//! Every read of package bytes goes through this module.
//!
//! An operation opens the package once, as an [`Input`]: a shared handle that
//! answers positional reads ([`ReadAt`]), so the header readers, the single
//! pass, zip worker threads and signature checks all read the same open file
//! and never re-open it by path. A file that is replaced on disk while fwkit
//! reads it cannot change what one operation sees half way.
//!
//! Other files an operation reads (a set's members and manifests, a detached
//! signature beside the package, a nested package unpacked from a member) are
//! opened through an [`Open`], so a caller (the robustness tests, a fuzzer, a
//! virtual file system) can decide how every file is read.

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Reads at an offset without a shared cursor, so threads can share one handle.
#[allow(clippy::len_without_is_empty)] // a size, not a collection
pub trait ReadAt: Send + Sync {
    /// Read up to `buf.len()` bytes at `offset`; `Ok(0)` only at the end.
    /// May return fewer bytes than asked, like [`Read::read`].
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The number of bytes there are.
    fn len(&self) -> io::Result<u64>;
}

impl ReadAt for File {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
    /// The size from the open handle, which must be a regular file (the
    /// path may have been replaced since it was looked at).
    fn len(&self) -> io::Result<u64> {
        let meta = self.metadata()?;
        match meta.is_file() {
            true => Ok(meta.len()),
            false => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )),
        }
    }
}

/// Any `Read + Seek` as a [`ReadAt`]: reads take turns on the one cursor.
pub struct Seekable<R>(Mutex<R>);

impl<R: Read + Seek + Send> Seekable<R> {
    /// Wrap `inner`.
    pub fn new(inner: R) -> Seekable<R> {
        Seekable(Mutex::new(inner))
    }
}

impl<R: Read + Seek + Send> ReadAt for Seekable<R> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut inner = self
            .0
            .lock()
            .map_err(|_| io::Error::other("a reader thread panicked"))?;
        inner.seek(SeekFrom::Start(offset))?;
        loop {
            match inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
    fn len(&self) -> io::Result<u64> {
        let mut inner = self
            .0
            .lock()
            .map_err(|_| io::Error::other("a reader thread panicked"))?;
        inner.seek(SeekFrom::End(0))
    }
}

/// How an operation opens the files it reads by path.
pub trait Open: Send + Sync {
    /// Open `path` for reading. The path is a regular file (checked by the caller).
    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadAt>>;
}

/// Files as the operating system gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl Open for FileSystem {
    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadAt>> {
        Ok(Box::new(File::open(path)?))
    }
}

/// One opened source of package bytes, shared by every reader of one
/// operation. Cloning shares the handle.
#[derive(Clone)]
pub(crate) struct Input {
    source: Arc<dyn ReadAt>,
    len: u64,
    path: PathBuf,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

impl Input {
    /// Open the regular file at `path` through `opener`; errors name the path.
    pub(crate) fn open(opener: &dyn Open, path: &Path) -> Result<Input> {
        let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
        if !meta.is_file() {
            return Err(Error::read(
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        Input::open_listed(opener, path)
    }

    /// Open `path`, which a directory walk has just seen as a regular file,
    /// without asking the file system again; a regular file is still
    /// required of the opened handle (see `ReadAt::len` for `File`).
    pub(crate) fn open_listed(opener: &dyn Open, path: &Path) -> Result<Input> {
        let source = opener.open(path).map_err(|e| Error::read(path, e))?;
        Input::new(Arc::from(source), path)
    }

    /// Read from `source`, shown to the user as `name`.
    pub(crate) fn new(source: Arc<dyn ReadAt>, name: &Path) -> Result<Input> {
        let len = source.len().map_err(|e| Error::read(name, e))?;
        Ok(Input {
            source,
            len,
            path: name.to_path_buf(),
        })
    }

    /// The size in bytes, as seen when opened.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The path (or name) errors and reports use.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Up to `n` bytes at `offset` (fewer at the end of the input).
    pub(crate) fn read_at(&self, offset: u64, n: u64) -> io::Result<Vec<u8>> {
        let n = n.min(self.len.saturating_sub(offset));
        let mut buf = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 24));
        self.cursor(self.len)
            .at(offset)
            .take(n)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// A `Read + Seek` view of the bytes before `end`, at offset 0. Offsets
    /// are the input's own: seeking to 10 reads byte 10 of the input.
    pub(crate) fn cursor(&self, end: u64) -> Cursor {
        Cursor {
            input: self.clone(),
            pos: 0,
            end: end.min(self.len),
            buf: Vec::new(),
            buf_len: 0,
            buf_at: 0,
        }
    }
}

/// Bytes a cursor reads ahead for small reads (a zip's headers, members of
/// a few KiB): one positional read serves many.
const READ_AHEAD: usize = 128 << 10;

/// A read position in an [`Input`], bounded by an end offset. Small reads
/// are served from a read-ahead buffer; reads of a buffer's size or more go
/// straight to the source.
#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    input: Input,
    pos: u64,
    end: u64,
    /// Read-ahead space, allocated (and zeroed) once; its first `buf_len`
    /// bytes are the input's from `buf_at` on.
    buf: Vec<u8>,
    buf_len: usize,
    buf_at: u64,
}

impl Cursor {
    /// The same view, moved to `offset`.
    pub(crate) fn at(mut self, offset: u64) -> Cursor {
        self.pos = offset;
        self
    }

    /// The end of the view.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }
}

impl Cursor {
    /// The buffered bytes at the current position, if any.
    fn buffered(&self) -> &[u8] {
        let valid = self.buf.get(..self.buf_len).unwrap_or_default();
        match self.pos.checked_sub(self.buf_at).map(usize::try_from) {
            Some(Ok(at)) => valid.get(at..).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Read ahead from the current position: one positional read of up to
    /// [`READ_AHEAD`] bytes (fewer at the end of the view, or when the
    /// source returns a short read).
    fn fill(&mut self) -> io::Result<()> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = READ_AHEAD.min(left);
        if self.buf.len() < want {
            self.buf = vec![0; want];
        }
        self.buf_len = 0;
        let space = self.buf.get_mut(..want).unwrap_or_default();
        self.buf_len = self.input.source.read_at(space, self.pos)?;
        self.buf_at = self.pos;
        Ok(())
    }
}

impl Read for Cursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = if !self.buffered().is_empty() || want < READ_AHEAD {
            if self.buffered().is_empty() {
                self.fill()?;
            }
            let from = self.buffered();
            let n = from.len().min(want);
            if let (Some(to), Some(from)) = (buf.get_mut(..n), from.get(..n)) {
                to.copy_from_slice(from);
            }
            n
        } else {
            let to = buf.get_mut(..want).unwrap_or_default();
            self.input.source.read_at(to, self.pos)?
        };
        self.pos = self.pos.saturating_add(n as u64); // n <= end - pos
        Ok(n)
    }
}

impl Seek for Cursor {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        self.pos = target;
        Ok(target)
    }
}

/// At most `max` bytes from the start of the file at `path`, opened through
/// `opener`: a signature file, a manifest of a set. Errors name the path.
pub(crate) fn read_capped(opener: &dyn Open, path: &Path, max: u64) -> Result<Vec<u8>> {
    let input = Input::open(opener, path)?;
    input.read_at(0, max).map_err(|e| Error::read(path, e))
}

/// The whole file at `path`, a regular file, when it holds at most `max`
/// bytes; `Ok(None)` when it holds more (one byte past `max` is read to
/// tell): a catalogue, a signature or `.jcat` file beside one.
pub(crate) fn read_whole(opener: &dyn Open, path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    let bytes = read_capped(opener, path, max.saturating_add(1))?;
    Ok((u64::try_from(bytes.len()).unwrap_or(u64::MAX) <= max).then_some(bytes))
}

/// Directory sets and `fwkit pack` inputs: the one walk over a directory tree.
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
    // Each directory: its path below the root, and that path as text,
    // `/`-separated ("" for the root).
    let mut stack = vec![(PathBuf::new(), String::new())];
    while let Some((rel, rel_text)) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<(std::ffi::OsString, fs::DirEntry)> = fs::read_dir(&dir)
            .map_err(|e| Error::read(&dir, e))?
            .map(|entry| entry.map(|e| (e.file_name(), e)))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::read(&dir, e))?;
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut subdirs = Vec::new();
        for (name, entry) in entries {
            // Not following links, relative to the directory's own handle.
            let meta = entry.metadata().map_err(|e| Error::read(entry.path(), e))?;
            let shown = name.to_string_lossy();
            let text = match rel_text.is_empty() {
                true => shown.into_owned(),
                false => format!("{rel_text}/{shown}"),
            };
            let below = meta.is_dir().then(|| (rel.join(&name), text.clone()));
            match visit(Found {
                rel: text,
                path: entry.path(),
                meta,
            })? {
                Step::Descend => subdirs.extend(below),
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

/// `bytes` as an input whose reads return 1 to 7 bytes, for unit tests of
/// readers.
#[cfg(test)]
pub(crate) fn short_reads(bytes: &[u8]) -> Input {
    struct Short(Vec<u8>);
    impl ReadAt for Short {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let at = usize::try_from(offset).unwrap_or(usize::MAX);
            let rest = self.0.get(at..).unwrap_or_default();
            let n = rest.len().min(buf.len()).min(1 + at % 7);
            buf[..n].copy_from_slice(&rest[..n]);
            Ok(n)
        }
        fn len(&self) -> io::Result<u64> {
            Ok(self.0.len() as u64)
        }
    }
    Input::new(Arc::new(Short(bytes.to_vec())), Path::new("test input")).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn cursors_share_one_handle_and_keep_their_own_position() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&data).unwrap();
        let input = Input::open(&FileSystem, tmp.path()).unwrap();
        let mut a = input.cursor(input.len()).at(100);
        let mut b = input.cursor(200);
        let mut one = [0u8; 50];
        a.read_exact(&mut one).unwrap();
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).unwrap();
        assert_eq!(&one[..], &data[100..150]);
        assert_eq!(rest, &data[..200], "a cursor stops at its end");
        a.read_exact(&mut one).unwrap();
        assert_eq!(&one[..], &data[150..200], "reads through b did not move a");
    }

    #[test]
    fn any_read_seek_is_a_source() {
        let data = b"0123456789".to_vec();
        let source = Arc::new(Seekable::new(io::Cursor::new(data)));
        let input = Input::new(source, Path::new("memory")).unwrap();
        assert_eq!(input.len(), 10);
        assert_eq!(input.read_at(3, 4).unwrap(), b"3456");
        assert_eq!(input.read_at(8, 10).unwrap(), b"89");
    }
}
