//! One module per container format. A format reads headers and reports what
//! the file claims (offsets, streams, declared digests, metadata) as a
//! [`Layout`]; it decides nothing about whether the claims hold.

pub(crate) mod cab;
pub(crate) mod dell_dup;
pub mod fwkit_manifest;
pub(crate) mod jcat;
pub(crate) mod makeself;
pub(crate) mod pe;
pub(crate) mod scexe;
pub(crate) mod set;
pub(crate) mod shell;
pub(crate) mod tar;
pub(crate) mod zip;

use crate::detect::{Encoding, FormatKind};
use crate::input::Input;
use crate::package::{Algorithm, ByteRange, Check, Layer, VendorInfo};
use std::io::{self, Read, Seek, SeekFrom};

/// A stream of the payload to decode: a byte range, its encoding, and a tar
/// archive inside.
#[derive(Debug, Clone)]
pub(crate) struct StreamSpec {
    pub range: ByteRange,
    pub encoding: Encoding,
    /// `payload`, `chunk 2 of 3`…
    pub label: String,
    /// The stream's own integrity check, when its encoding carries one.
    pub check: Option<&'static str>,
}

/// A digest the package declares over a byte range of itself.
#[derive(Debug, Clone)]
pub(crate) struct RangeDigest {
    pub range: ByteRange,
    pub algorithm: Algorithm,
    /// Normalised: lower-case hex, or decimal for cksum.
    pub expected: String,
    pub covers: String,
    pub kind: crate::package::CheckKind,
}

/// Which members' content the scan keeps for metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    None,
    /// Top-level `*.xml` (HP `CPxxxxxx.xml`).
    TopLevelXml,
}

/// What a format reader found in the headers.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub format: FormatKind,
    pub layers: Vec<Layer>,
    pub streams: Vec<StreamSpec>,
    pub digests: Vec<RangeDigest>,
    /// Checks decided from headers alone (structure, signature presence).
    pub checks: Vec<Check>,
    pub vendor: Vec<VendorInfo>,
    pub capture: Capture,
    pub warnings: Vec<String>,
    /// A zip archive to read instead of (tar) streams.
    pub zip: Option<zip::ZipSpec>,
    /// A directory set to read instead of a file.
    pub set: Option<set::SetSpec>,
    /// A cabinet to read folder by folder instead of (tar) streams.
    pub cab: Option<cab::CabSpec>,
}

impl Layout {
    pub(crate) fn new(format: FormatKind) -> Layout {
        Layout {
            format,
            layers: Vec::new(),
            streams: Vec::new(),
            digests: Vec::new(),
            checks: Vec::new(),
            vendor: Vec::new(),
            capture: Capture::None,
            warnings: Vec::new(),
            zip: None,
            set: None,
            cab: None,
        }
    }

    /// Byte ranges of the streams, by stream index.
    pub(crate) fn streams_ranges(&self) -> Vec<ByteRange> {
        if let Some(spec) = &self.cab {
            return vec![spec.data];
        }
        match &self.zip {
            Some(spec) => vec![(spec.start, spec.end)],
            None => self.streams.iter().map(|s| s.range).collect(),
        }
    }

    /// Add a stream over `range`, sniffing its encoding from the file.
    pub(crate) fn add_stream(
        &mut self,
        source: &mut Source,
        range: ByteRange,
        label: String,
    ) -> io::Result<()> {
        let head = source.read_at(range.0, range.1.saturating_sub(range.0).min(512))?;
        let encoding = Encoding::sniff(&head);
        self.layers.push(Layer {
            kind: format!("{label}: {}", encoding.name()),
            range,
        });
        if encoding != Encoding::Tar && encoding.is_supported() {
            self.layers.push(Layer {
                kind: format!("{label}: tar"),
                range,
            });
        }
        self.streams.push(StreamSpec {
            range,
            encoding,
            label,
            check: stream_check(encoding, &head),
        });
        Ok(())
    }
}

/// Vendor metadata members kept for parsing (lower-case path).
pub(crate) fn is_metadata_name(lower: &str) -> bool {
    lower.ends_with(".minisig")
        || lower.ends_with(".sig")
        || lower == "payload.json"
        || lower.ends_with("rlm_fw/install/metadata")
        || lower.ends_with(".metainfo.xml")
        || lower.ends_with(".jcat")
}

/// Random access to the package file for header reading.
pub(crate) struct Source {
    file: Input,
    pub len: u64,
}

impl Source {
    pub(crate) fn new(file: Input, len: u64) -> Source {
        Source { file, len }
    }

    /// Read up to `n` bytes at `offset` (fewer at end of file).
    pub(crate) fn read_at(&mut self, offset: u64, n: u64) -> io::Result<Vec<u8>> {
        let n = n.min(self.len.saturating_sub(offset));
        let mut buf = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 24));
        self.file.seek(SeekFrom::Start(offset))?;
        (&mut self.file).take(n).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// Read the headers of a detected package.
pub(crate) fn layout(kind: FormatKind, head: &[u8], source: &mut Source) -> io::Result<Layout> {
    match kind {
        FormatKind::Makeself => makeself::layout(head, source),
        FormatKind::HpScexe => scexe::layout(head, source),
        FormatKind::DellDup => dell_dup::layout(head, source),
        FormatKind::Zip => zip::layout(source),
        FormatKind::Pe => pe::layout(head, source),
        FormatKind::Cab => cab::layout(source),
        // Detection never yields a set: directories are opened by `formats::set`.
        FormatKind::Set => Ok(Layout::new(kind)),
        FormatKind::Tar => {
            let mut layout = Layout::new(kind);
            layout.add_stream(source, (0, source.len), "archive".to_owned())?;
            Ok(layout)
        }
    }
}

/// The integrity check a compressed stream carries, read from its header.
fn stream_check(encoding: Encoding, head: &[u8]) -> Option<&'static str> {
    match encoding {
        Encoding::Gzip => Some("gzip CRC-32 and length"),
        Encoding::Bzip2 => Some("bzip2 block and stream CRC-32"),
        Encoding::Xz => match head.get(7).map(|b| b & 0x0f) {
            Some(0x01) => Some("xz CRC-32"),
            Some(0x04) => Some("xz CRC-64"),
            Some(0x0a) => Some("xz SHA-256"),
            _ => None,
        },
        Encoding::Zstd => head
            .get(4)
            .filter(|b| *b & 0x04 != 0)
            .map(|_| "zstd frame checksum (XXH64)"),
        Encoding::Lz4 => head
            .get(4)
            .filter(|b| *b & 0x04 != 0)
            .map(|_| "lz4 content checksum (XXH32)"),
        _ => None,
    }
}
