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
        scope.spawn(move || decode(decoder, &tx));
        let mut pipe = Pipe {
            rx,
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

fn decode<R: BufRead>(mut decoder: Decoder<R>, tx: &SyncSender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        match (&mut decoder).take(CHUNK as u64).read_to_end(&mut chunk) {
            Ok(0) => break,
            Ok(_) => {
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

/// The decoded bytes, as the walk reads them.
pub(super) struct Pipe {
    rx: Receiver<io::Result<Vec<u8>>>,
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
                    self.chunk = chunk;
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
