//! One module per container format. A format reads headers and reports what
//! the file claims (offsets, streams, declared digests, metadata) as a
//! [`Layout`]; it decides nothing about whether the claims hold. Containers
//! read member by member (zip, cabinet, set) feed the one member walk of
//! `pass::members` from their own module; payload streams are walked by
//! `pass` itself.

pub(crate) mod cab;
pub(crate) mod dell_dup;
pub(crate) mod fwkit_sfx;
pub(crate) mod jcat;
pub(crate) mod jcat_sign;
pub(crate) mod makeself;
pub(crate) mod pe;
pub(crate) mod scexe;
pub(crate) mod set;
pub(crate) mod shell;
pub(crate) mod vendor_xml;
pub(crate) mod zip;

use crate::detect::{Encoding, FormatKind};
use crate::input::Input;
use crate::model::{ByteRange, Check, Layer, RangeDigest, VendorInfo};
use crate::pass::{Capture, StreamSpec};
use std::io;

/// How the payload of a package is read.
#[derive(Debug, Clone)]
pub(crate) enum Container {
    /// Payload streams (tar inside, possibly compressed) decoded in one pass.
    Streams(Vec<StreamSpec>),
    /// A zip archive, read member by member.
    Zip(zip::ZipSpec),
    /// A cabinet, read folder by folder.
    Cab(cab::CabSpec),
    /// A directory set, read file by file.
    Set(set::SetSpec),
}

/// What a format reader found in the headers.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub format: FormatKind,
    pub layers: Vec<Layer>,
    pub container: Container,
    pub digests: Vec<RangeDigest>,
    /// Checks decided from headers alone (structure, signature presence).
    pub checks: Vec<Check>,
    pub vendor: Vec<VendorInfo>,
    pub capture: Capture,
    pub warnings: Vec<String>,
    /// A PE's Authenticode certificate table.
    pub authenticode: Option<crate::verify::authenticode::Table>,
    /// OpenPGP signatures the headers carry over a byte range (makeself's
    /// `SIGNATURE=`): (what they cover, the range, the signature bytes).
    pub openpgp: Vec<(String, ByteRange, Vec<u8>)>,
}

impl Layout {
    pub(crate) fn new(format: FormatKind) -> Layout {
        Layout {
            format,
            layers: Vec::new(),
            container: Container::Streams(Vec::new()),
            digests: Vec::new(),
            checks: Vec::new(),
            vendor: Vec::new(),
            capture: Capture::Metadata,
            warnings: Vec::new(),
            authenticode: None,
            openpgp: Vec::new(),
        }
    }

    /// The payload streams, when the payload is read as streams.
    pub(crate) fn streams(&self) -> &[StreamSpec] {
        match &self.container {
            Container::Streams(streams) => streams,
            _ => &[],
        }
    }

    /// Byte ranges of the streams, by stream index.
    pub(crate) fn streams_ranges(&self) -> Vec<ByteRange> {
        match &self.container {
            Container::Streams(streams) => streams.iter().map(|s| s.range).collect(),
            Container::Zip(spec) => vec![(spec.start, spec.end)],
            Container::Cab(spec) => vec![spec.data],
            Container::Set(_) => Vec::new(),
        }
    }

    /// Add a stream over `range`, sniffing its encoding from the file.
    pub(crate) fn add_stream(
        &mut self,
        source: &Input,
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
        let spec = StreamSpec {
            range,
            encoding,
            label,
            check: stream_check(encoding, &head),
        };
        match &mut self.container {
            Container::Streams(streams) => streams.push(spec),
            other => *other = Container::Streams(vec![spec]),
        }
        Ok(())
    }
}

/// Read the headers of a detected package.
pub(crate) fn layout(kind: FormatKind, head: &[u8], source: &Input) -> io::Result<Layout> {
    match kind {
        FormatKind::Makeself => makeself::layout(head, source),
        FormatKind::HpScexe => scexe::layout(head, source),
        FormatKind::DellDup => dell_dup::layout(head, source),
        FormatKind::Zip => zip::layout(source),
        FormatKind::Pe => pe::layout(head, source),
        FormatKind::Cab => cab::layout(source),
        // Detection never yields a set: directories are opened by `formats::set`.
        FormatKind::Set => Ok(Layout::new(kind)),
        // A bare image: no members, the whole file is what is checked.
        FormatKind::Raw => Ok(Layout::new(kind)),
        FormatKind::Tar => {
            let mut layout = Layout::new(kind);
            layout.add_stream(source, (0, source.len()), "archive".to_owned())?;
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
