//! Every read of a package file goes through [`Input`].
//!
//! An `Input` is the opened file. With [`Reads::Short`] each `read` fills at
//! most a varying 1..=N bytes of the caller's buffer, as a pipe, a FUSE mount
//! or a network filesystem may. The robustness tests open every damaged
//! package that way, so no reader can take a short read for the end of the
//! file or assume a buffer was filled.

use crate::error::{Error, Result};
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::num::NonZeroUsize;
use std::path::Path;

/// How reads of a package file behave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Reads {
    /// As the operating system returns them.
    #[default]
    Whole,
    /// At most `max` bytes per read, the length drawn from `seed`.
    Short { max: NonZeroUsize, seed: u64 },
}

/// An opened package file (or a member file of a directory set).
#[derive(Debug)]
pub(crate) struct Input {
    file: File,
    reads: Reads,
    state: u64,
}

impl Input {
    /// Open `path` for reading; errors name the path.
    pub(crate) fn open(path: &Path, reads: Reads) -> Result<Input> {
        Input::try_open(path, reads).map_err(|e| Error::read(path, e))
    }

    /// Open `path` for reading, keeping the plain I/O error.
    pub(crate) fn try_open(path: &Path, reads: Reads) -> io::Result<Input> {
        let file = File::open(path)?;
        let state = match reads {
            Reads::Whole => 0,
            Reads::Short { seed, .. } => seed,
        };
        Ok(Input { file, reads, state })
    }

    /// At most `max` bytes from the start of the file at `path`: a
    /// signature file, a manifest of a set. Errors name the path.
    pub(crate) fn read_capped(path: &Path, reads: Reads, max: u64) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        Input::open(path, reads)?
            .take(max)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::read(path, e))?;
        Ok(bytes)
    }

    pub(crate) fn metadata(&self) -> io::Result<Metadata> {
        self.file.metadata()
    }

    /// How many bytes the next read may return, at most `want`.
    fn next_len(&mut self, want: usize) -> usize {
        match self.reads {
            Reads::Whole => want,
            Reads::Short { max, .. } => {
                // splitmix64: a fixed sequence per seed, so a failure reproduces.
                self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                let cap = u64::try_from(max.get()).unwrap_or(u64::MAX);
                // `cap` is not zero, and `z % cap < cap`: the length is 1..=max.
                let len = usize::try_from(z.checked_rem(cap).unwrap_or(0))
                    .unwrap_or(0)
                    .saturating_add(1);
                len.min(want)
            }
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.next_len(buf.len());
        self.file.read(buf.get_mut(..n).unwrap_or_default())
    }
}

impl Seek for Input {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file.seek(to)
    }
}

/// `path` opened for reads of 1 to 7 bytes, for unit tests of readers.
#[cfg(test)]
pub(crate) fn short_reads(path: &Path) -> Input {
    let max = NonZeroUsize::new(7).unwrap();
    Input::try_open(path, Reads::Short { max, seed: 7 }).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn short_reads_return_every_byte_in_pieces_no_longer_than_max() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&data).unwrap();
        let max = NonZeroUsize::new(7).unwrap();
        let mut input = Input::try_open(tmp.path(), Reads::Short { max, seed: 1 }).unwrap();
        let mut got = Vec::new();
        let mut lengths = std::collections::BTreeSet::new();
        let mut buf = [0u8; 64];
        loop {
            let n = input.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            assert!(n <= 7, "read of {n} bytes");
            lengths.insert(n);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, data);
        assert_eq!(lengths.len(), 7, "every length 1..=7 drawn: {lengths:?}");
    }

    #[test]
    fn whole_reads_fill_the_buffer() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&[5u8; 4096]).unwrap();
        let mut input = Input::try_open(tmp.path(), Reads::Whole).unwrap();
        let mut buf = [0u8; 4096];
        assert_eq!(input.read(&mut buf).unwrap(), 4096);
    }
}
