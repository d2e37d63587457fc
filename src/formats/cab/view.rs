//! The cabinet as the `cab` crate is shown it, and a member's bytes within
//! its folder's stream.

use super::header::CabSpec;
use crate::input::Cursor;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// The cabinet as the `cab` crate is shown it: the file as it is, except
/// that the header's file count and file-table offset point at a table placed
/// just past the end of the file, with one entry per folder that spans the
/// folder's whole content and is named by the folder's index. Reading file
/// `"3"` then decompresses folder 3 once, front to back.
pub(super) struct FolderView {
    file: BufReader<Cursor>,
    /// Where `file` is positioned.
    file_pos: u64,
    len: u64,
    pos: u64,
    /// Header bytes replaced: (offset, bytes).
    patches: Vec<(u64, Vec<u8>)>,
    /// The file table, at offset `len`.
    table: Vec<u8>,
}

impl FolderView {
    pub(super) fn new(file: Cursor, len: u64, spec: &CabSpec) -> io::Result<FolderView> {
        let too_big = || io::Error::new(io::ErrorKind::InvalidData, "cabinet too large");
        let table_at = u32::try_from(len).map_err(|_| too_big())?;
        let count = u16::try_from(spec.folders.len()).map_err(|_| too_big())?;
        let mut table = Vec::new();
        for (index, folder) in spec.folders.iter().enumerate() {
            let size = u32::try_from(folder.size).map_err(|_| too_big())?;
            let index16 = u16::try_from(index).map_err(|_| too_big())?;
            table.extend_from_slice(&size.to_le_bytes());
            table.extend_from_slice(&0u32.to_le_bytes()); // offset in the folder
            table.extend_from_slice(&index16.to_le_bytes());
            table.extend_from_slice(&[0; 6]); // date, time, attributes
            table.extend_from_slice(index.to_string().as_bytes());
            table.push(0);
        }
        Ok(FolderView {
            file: BufReader::with_capacity(64 << 10, file),
            file_pos: 0,
            len,
            pos: 0,
            patches: vec![
                (16, table_at.to_le_bytes().to_vec()),
                (28, count.to_le_bytes().to_vec()),
            ],
            table,
        })
    }
}

impl Read for FolderView {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(past) = self.pos.checked_sub(self.len) {
            let at = usize::try_from(past).unwrap_or(usize::MAX);
            let rest = self.table.get(at..).unwrap_or_default();
            let n = buf.iter_mut().zip(rest).map(|(b, r)| *b = *r).count();
            // `n` is at most what is left of the table after `pos`.
            self.pos = self.pos.saturating_add(n as u64);
            return Ok(n);
        }
        if self.file_pos != self.pos {
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file_pos = self.pos;
        }
        // `pos < len` here.
        let want = usize::try_from(self.len.saturating_sub(self.pos))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let buf = buf.get_mut(..want).unwrap_or_default();
        let n = self.file.read(buf)?;
        let got = buf.get_mut(..n).unwrap_or_default();
        for (at, bytes) in &self.patches {
            for (i, byte) in bytes.iter().enumerate() {
                let slot = at
                    .checked_add(i as u64)
                    .and_then(|offset| offset.checked_sub(self.pos))
                    .and_then(|inside| usize::try_from(inside).ok())
                    .and_then(|inside| got.get_mut(inside));
                if let Some(slot) = slot {
                    *slot = *byte;
                }
            }
        }
        // `n <= len - pos`.
        self.pos = self.pos.saturating_add(n as u64);
        self.file_pos = self.pos;
        Ok(n)
    }
}

impl Seek for FolderView {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let end = self.len.saturating_add(self.table.len() as u64);
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        self.pos = target;
        Ok(target)
    }
}

/// A member's bytes within its folder's stream: exactly `left` bytes, or an
/// error when the stream ends early.
pub(super) struct Exact<'a> {
    pub inner: &'a mut dyn Read,
    pub left: u64,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the folder's data ended {} bytes early", self.left),
            ));
        }
        // A reader returns at most `want <= left` bytes.
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::tests::{build, parse_bytes};
    use super::*;
    use crate::input::short_reads;

    #[test]
    fn folder_view_replaces_the_file_table() {
        let bytes = build(
            &[("a", b"abcd"), ("b", b"efgh")],
            cab::CompressionType::MsZip,
        );
        let spec = parse_bytes(&bytes).unwrap();
        let input = short_reads(&bytes);
        let view = FolderView::new(input.cursor(input.len()), input.len(), &spec).unwrap();
        let mut cabinet = cab::Cabinet::new(view).unwrap();
        let mut all = Vec::new();
        cabinet
            .read_file("0")
            .unwrap()
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, b"abcdefgh");
        assert!(cabinet.get_file_entry("a").is_none());
    }
}
