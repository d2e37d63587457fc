//! The package file read once, front to back, in blocks: every block goes
//! to the digests over byte ranges, and the decoder sees the bytes of its
//! window through `BufRead`.

use crate::input::Cursor;
use crate::model::{Progress, RangeDigest};
use crate::verify::digest::Hasher;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

const BLOCK: usize = 1 << 20;
/// Blocks queued for each digest thread.
pub(super) const QUEUE: usize = 4;

pub(super) struct Block {
    offset: u64,
    data: Vec<u8>,
}

impl Block {
    /// The file offset just past the block. Blocks lie inside the file, so
    /// this never saturates.
    fn end(&self) -> u64 {
        self.offset.saturating_add(self.data.len() as u64)
    }

    /// The block's bytes at file offsets `from..to`; empty unless
    /// `offset <= from <= to <= end()`.
    fn between(&self, from: u64, to: u64) -> &[u8] {
        let (Some(a), Some(b)) = (from.checked_sub(self.offset), to.checked_sub(self.offset))
        else {
            return &[];
        };
        match (usize::try_from(a), usize::try_from(b)) {
            (Ok(a), Ok(b)) => self.data.get(a..b).unwrap_or_default(),
            _ => &[],
        }
    }
}

pub(super) type Shared = Arc<Block>;

/// Digests over byte ranges, fed block by block.
pub(super) struct RangeHashers<'a> {
    jobs: Vec<(usize, &'a RangeDigest)>,
    hashers: Vec<Hasher>,
}

impl<'a> RangeHashers<'a> {
    pub(super) fn new(jobs: Vec<(usize, &'a RangeDigest)>) -> Self {
        let hashers = jobs.iter().map(|(_, d)| Hasher::new(d.algorithm)).collect();
        RangeHashers { jobs, hashers }
    }

    pub(super) fn feed(&mut self, block: &Block) {
        let block_end = block.end();
        for ((_, digest), hasher) in self.jobs.iter().zip(self.hashers.iter_mut()) {
            let (start, end) = digest.range;
            let mut from = start.max(block.offset);
            let to = end.min(block_end);
            // The pieces of `from..to` outside the digest's holes.
            for &(hole_start, hole_end) in &digest.skip {
                if hole_end <= from || hole_start >= to {
                    continue;
                }
                if from < hole_start {
                    hasher.update(block.between(from, hole_start));
                }
                from = from.max(hole_end);
            }
            if from < to {
                hasher.update(block.between(from, to));
            }
        }
    }

    pub(super) fn finish(self) -> Vec<(usize, String)> {
        self.jobs
            .iter()
            .zip(self.hashers)
            .map(|((i, digest), mut hasher)| {
                hasher.update(&digest.suffix);
                (*i, hasher.finish())
            })
            .collect()
    }
}

/// The file, read once front to back in blocks. Every block goes to the
/// digests; the decoder sees it through `BufRead`, limited to a window.
pub(super) struct FileBlocks<'a> {
    file: Cursor,
    /// Offset of the next block to read.
    next: u64,
    len: u64,
    inline: RangeHashers<'a>,
    workers: Vec<SyncSender<Shared>>,
    progress: Option<Arc<dyn Progress>>,
    current: Option<Shared>,
    /// Next byte the decoder will see, and the end of its window.
    pos: u64,
    end: u64,
    /// A read error, reported as "cannot read" rather than as bad content.
    failed: Option<io::ErrorKind>,
}

impl<'a> FileBlocks<'a> {
    /// Blocks of `file` from `start`; `inline` digests are fed on this
    /// thread, every block is also sent to each of `workers`.
    pub(super) fn new(
        file: Cursor,
        start: u64,
        inline: RangeHashers<'a>,
        workers: Vec<SyncSender<Shared>>,
        progress: Option<Arc<dyn Progress>>,
    ) -> FileBlocks<'a> {
        let len = file.end();
        if let Some(p) = &progress {
            p.start(len.saturating_sub(start));
        }
        FileBlocks {
            file: file.at(start),
            next: start,
            len,
            inline,
            workers,
            progress,
            current: None,
            pos: start,
            end: start,
            failed: None,
        }
    }

    pub(super) fn set_window(&mut self, (start, end): (u64, u64)) {
        self.pos = self.pos.max(start);
        self.end = end;
    }

    /// Read the next block and hand it to the digests.
    fn read_block(&mut self) -> io::Result<bool> {
        if self.next >= self.len {
            return Ok(false);
        }
        // `next < len`.
        let want = usize::try_from(self.len.saturating_sub(self.next))
            .unwrap_or(BLOCK)
            .min(BLOCK);
        let mut data = vec![0u8; want];
        let mut filled = 0usize;
        while filled < want {
            match self.file.read(data.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "file shrank while reading: ended at byte {}",
                            self.next.saturating_add(filled as u64)
                        ),
                    );
                    self.failed = Some(e.kind());
                    return Err(e);
                }
                // `n <= want - filled`: `filled` stays at most `want`.
                Ok(n) => filled = filled.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = Some(e.kind());
                    return Err(e);
                }
            }
        }
        let block = Arc::new(Block {
            offset: self.next,
            data,
        });
        self.inline.feed(&block);
        for worker in &self.workers {
            // A worker only goes away if it failed; joining it reports that.
            let _ = worker.send(Arc::clone(&block));
        }
        self.next = self.next.saturating_add(want as u64); // at most `len`
        if let Some(p) = &self.progress {
            p.advance(want as u64);
        }
        self.current = Some(block);
        Ok(true)
    }

    /// Read the rest of the file for the digests and return the inline results.
    pub(super) fn finish(mut self) -> io::Result<Vec<(usize, String)>> {
        if let Some(kind) = self.failed {
            return Err(io::Error::new(kind, "reading the package failed"));
        }
        self.current = None;
        while self.read_block()? {
            self.current = None;
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        drop(self.workers);
        Ok(self.inline.finish())
    }

    fn available(&self) -> Option<(usize, usize)> {
        let block = self.current.as_ref()?;
        let block_end = block.end();
        (self.pos >= block.offset && self.pos < block_end).then(|| {
            // Both differences are at most the block's length.
            let a = self.pos.saturating_sub(block.offset) as usize;
            let b = block_end.min(self.end).saturating_sub(block.offset) as usize;
            (a, b)
        })
    }
}

impl Read for FileBlocks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for FileBlocks<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.end {
            return Ok(&[]);
        }
        let (a, b) = loop {
            if let Some(range) = self.available() {
                break range;
            }
            if !self.read_block()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file ended at byte {}", self.pos),
                ));
            }
        };
        match &self.current {
            Some(block) => Ok(block.data.get(a..b).unwrap_or_default()),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, amt: usize) {
        self.pos = self.pos.saturating_add(amt as u64).min(self.end);
    }
}
