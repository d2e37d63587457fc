//! Tar archives, plain or compressed (see `formats/tar.md`).
//!
//! The walk over entries lives in `scan.rs`; this module turns a payload's
//! encoding into a streaming decoder that checks the stream's own integrity
//! data (gzip CRC-32, bzip2 CRCs, xz check, zstd/lz4 checksums) as it reads.

use crate::detect::Encoding;
use std::io::{self, BufRead, Read};

/// A streaming decoder over a `BufRead`, giving the reader back at the end so
/// the caller can check nothing follows the compressed stream.
pub(crate) enum Decoder<R: BufRead> {
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    Bzip2(bzip2::bufread::MultiBzDecoder<R>),
    Xz(liblzma::bufread::XzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Lz4(lz4_flex::frame::FrameDecoder<R>),
    Plain(R),
}

impl<R: BufRead> Decoder<R> {
    pub(crate) fn new(encoding: Encoding, inner: R) -> io::Result<Decoder<R>> {
        Ok(match encoding {
            Encoding::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(inner)),
            Encoding::Bzip2 => Decoder::Bzip2(bzip2::bufread::MultiBzDecoder::new(inner)),
            Encoding::Xz => Decoder::Xz(liblzma::bufread::XzDecoder::new_multi_decoder(inner)),
            Encoding::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(inner)?),
            Encoding::Lz4 => Decoder::Lz4(lz4_flex::frame::FrameDecoder::new(inner)),
            Encoding::Tar => Decoder::Plain(inner),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("{} payloads are not supported", other.name()),
                ))
            }
        })
    }

    pub(crate) fn into_inner(self) -> R {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Bzip2(d) => d.into_inner(),
            Decoder::Xz(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
            Decoder::Lz4(d) => d.into_inner(),
            Decoder::Plain(r) => r,
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Bzip2(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Lz4(d) => d.read(buf),
            Decoder::Plain(r) => r.read(buf),
        }
    }
}
