//! The catalogue's bytes as a stream of text: gunzipped when it starts with
//! the gzip magic (at most `--max-catalog` bytes out), UTF-16 (Dell writes
//! `Catalog.xml` in UTF-16LE with a byte-order mark) transcoded to UTF-8 on
//! the fly, so no decompressed copy of the catalogue is ever held. Also the
//! set of names the catalogue lists, kept as 128-bit hashes so 200,000
//! entries cost a few MiB.

use crate::error::{Error, Result, Setting};
use crate::model::MemberName;
use sha2::{Digest as _, Sha256};
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// The catalogue text of `raw` (the file `path`'s bytes), at most `max`
/// bytes decompressed.
pub(super) fn text<'a>(
    path: &Path,
    raw: &'a [u8],
    max: u64,
) -> Result<Box<dyn BufRead + Send + 'a>> {
    let inner: Box<dyn Read + Send + 'a> = if raw.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let capped = Capped {
        inner,
        left: max,
        max,
        path: path.display().to_string(),
    };
    let mut reader = BufReader::with_capacity(64 << 10, capped);
    let head = reader
        .fill_buf()
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    let (bom, big) = match head {
        [0xff, 0xfe, ..] => (2, Some(false)),
        [0xfe, 0xff, ..] => (2, Some(true)),
        [0xef, 0xbb, 0xbf, ..] => (3, None),
        _ => (0, None),
    };
    reader.consume(bom);
    Ok(match big {
        Some(big) => Box::new(BufReader::with_capacity(
            64 << 10,
            Utf16 {
                inner: reader,
                big,
                odd: None,
                high: None,
                out: Vec::new(),
                at: 0,
            },
        )),
        None => Box::new(reader),
    })
}

/// The message of the error a read past `--max-catalog` gives.
pub(super) fn too_large(path: &str, max: u64, what: &str) -> String {
    format!(
        "{path} {what} more than {max} bytes, the catalogue limit (raise it with --max-catalog)"
    )
}

/// A reader that fails once more than `max` bytes came out of it.
struct Capped<R> {
    inner: R,
    left: u64,
    max: u64,
    path: String,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = u64::try_from(n).unwrap_or(u64::MAX);
        match self.left.checked_sub(got) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => Err(io::Error::other(too_large(
                &self.path,
                self.max,
                "decompresses to",
            ))),
        }
    }
}

/// UTF-16 text read as UTF-8.
struct Utf16<R> {
    inner: R,
    big: bool,
    /// A byte read without its pair.
    odd: Option<u8>,
    /// A high surrogate read without its low half.
    high: Option<u16>,
    out: Vec<u8>,
    at: usize,
}

impl<R: Read> Utf16<R> {
    /// Decode the next block; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        let mut raw = [0u8; 16 << 10];
        let n = self.inner.read(&mut raw)?;
        if n == 0 {
            if self.odd.is_some() || self.high.is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the catalogue's UTF-16 text ends in the middle of a character",
                ));
            }
            return Ok(false);
        }
        let mut units: Vec<u16> = Vec::with_capacity(n.div_ceil(2).saturating_add(1));
        units.extend(self.high.take());
        let mut pending = self.odd.take();
        for byte in raw.get(..n).unwrap_or_default() {
            match pending.take() {
                None => pending = Some(*byte),
                Some(first) if self.big => units.push(u16::from_be_bytes([first, *byte])),
                Some(first) => units.push(u16::from_le_bytes([first, *byte])),
            }
        }
        self.odd = pending;
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            self.high = units.pop();
        }
        self.out.clear();
        self.at = 0;
        let mut utf8 = [0u8; 4];
        for c in char::decode_utf16(units) {
            let c = c.map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the catalogue is not valid UTF-16: {e}"),
                )
            })?;
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let rest = self.out.get(self.at..).unwrap_or_default();
        let mut n = 0usize;
        for (to, from) in buf.iter_mut().zip(rest) {
            *to = *from;
            n = n.saturating_add(1);
        }
        self.at = self.at.saturating_add(n);
        Ok(n)
    }
}

/// The names a catalogue lists, as hashes of their normalised form.
#[derive(Default)]
pub(super) struct Names(HashSet<u128>);

impl Names {
    fn key(name: &str) -> u128 {
        let digest = Sha256::digest(name.as_bytes());
        let mut first = [0u8; 16];
        for (to, from) in first.iter_mut().zip(digest.iter()) {
            *to = *from;
        }
        u128::from_be_bytes(first)
    }

    /// Remember `path` as the catalogue writes it (an unsafe one is skipped:
    /// it names nothing in the directory).
    pub(super) fn insert(&mut self, path: &str) {
        if let Ok(name) = MemberName::parse(path.as_bytes()) {
            self.0.insert(Names::key(name.as_str()));
        }
    }

    /// True when the catalogue lists `rel`, or `rel` is the `.sign` beside
    /// a file it lists.
    pub(super) fn names(&self, rel: &str) -> bool {
        self.0.contains(&Names::key(rel))
            || rel
                .strip_suffix(".sign")
                .is_some_and(|file| self.0.contains(&Names::key(file)))
    }
}

pub(super) fn invalid(reason: String) -> Error {
    Error::Invalid {
        setting: Setting::Catalog,
        reason,
    }
}

/// The unescaped value of attribute `name` of element `e`, `None` when it
/// is absent; a malformed attribute is an error made by `xml_error`.
pub(super) fn attribute(
    e: &quick_xml::events::BytesStart<'_>,
    name: &[u8],
    xml_error: impl Fn(&dyn std::fmt::Display) -> Error,
) -> Result<Option<String>> {
    match e.try_get_attribute(name) {
        Ok(Some(a)) => a
            .unescape_value()
            .map(|v| Some(v.into_owned()))
            .map_err(|err| xml_error(&err)),
        Ok(None) => Ok(None),
        Err(err) => Err(xml_error(&err)),
    }
}
