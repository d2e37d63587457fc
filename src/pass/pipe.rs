//! A payload stream decoded on a thread of its own: the decoder (with the
//! file blocks and range digests it drives) runs beside the tar walk (with
//! member hashing and writing), so a many-member archive costs the slower
//! of the two, not their sum. Decoded bytes cross in bounded chunks; memory
//! stays at a few chunks whatever the payload size.

use super::decode::Decoder;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes of decoded data per chunk, and chunks in flight.
const CHUNK: usize = 256 << 10;
const DEPTH: usize = 8;

/// Run `walk` over the bytes `decoder` produces, decoding on another thread.
/// After the decoded data the decoder checks that nothing follows the
/// compressed stream; a failure of that, or of decoding, reaches `walk` as a
/// read error at the point it happened.
pub(super) fn beside<R, T>(decoder: Decoder<R>, walk: impl FnOnce(&mut Pipe) -> T) -> T
where
    R: BufRead + Send,
{
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(DEPTH);
        // Chunks the walk has read go back to the decoder to be filled
        // again: no fresh 256 KiB allocation (and page faults) per chunk.
        let (back, spare) = sync_channel(DEPTH.saturating_add(2));
        scope.spawn(move || decode(decoder, &tx, &spare));
        let mut pipe = Pipe {
            rx,
            back,
            chunk: Vec::new(),
            at: 0,
            done: false,
        };
        let out = walk(&mut pipe);
        // Dropping the receiver stops a decoder the walk no longer reads.
        drop(pipe);
        out
    })
}

fn decode<R: BufRead>(
    mut decoder: Decoder<R>,
    tx: &SyncSender<io::Result<Vec<u8>>>,
    spare: &Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        // A recycled chunk is already this long: nothing to zero.
        chunk.resize(CHUNK, 0);
        match fill(&mut decoder, &mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunk.truncate(n);
                if tx.send(Ok(chunk)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
    let mut inner = decoder.into_inner();
    let trailing = match inner.fill_buf() {
        Ok([]) => return,
        Ok(_) => io::Error::other("bytes after the end of the compressed stream"),
        Err(e) => e,
    };
    let _ = tx.send(Err(trailing));
}

/// Read into `buf` until it is full or the data ends; the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0usize;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            // `n <= rest.len()`: `filled` stays at most `buf.len()`.
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The decoded bytes, as the walk reads them.
pub(super) struct Pipe {
    rx: Receiver<io::Result<Vec<u8>>>,
    back: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let rest = self.chunk.get(self.at..).unwrap_or_default();
            if !rest.is_empty() {
                let n = rest.len().min(buf.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.at = self.at.saturating_add(n);
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.chunk, chunk);
                    // Full or gone, the decoder allocates instead.
                    let _ = self.back.try_send(used);
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The decoder finished and hung up: the end of the data.
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
    }
}
