//! Format detection: one `match` on the first bytes of a file or byte range.
//!
//! Detection never looks at a file name. Shell-wrapped packages are told
//! apart by their marker lines; a wrapper's inner range is detected again
//! with [`Encoding::sniff`].

use serde::Serialize;

/// How many bytes of a file detection looks at. Shell markers must appear
/// within this prefix.
pub const HEAD_LEN: usize = 1 << 20;

pub use crate::model::FormatKind;

/// Line markers of shell-wrapped formats.
pub(crate) const MAKESELF_MARKER: &[u8] = b"# This script was generated using Makeself";
pub(crate) const DELL_PACKAGE_MARKER: &[u8] = b"#####Startofpackage#####";
pub(crate) const DELL_ARCHIVE_MARKER: &[u8] = b"#####Startofarchive#####";
pub(crate) const SCEXE_SKIP: &[u8] = b"_SKIP=";

/// Detect the container format from the first bytes of a file.
///
/// `head` should hold the first [`HEAD_LEN`] bytes (or the whole file when
/// it is shorter).
pub fn detect(head: &[u8]) -> Option<FormatKind> {
    match head {
        [b'#', b'!', ..] => detect_shell(head),
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(FormatKind::Zip),
        [b'M', b'Z', ..] => Some(FormatKind::Pe),
        [b'M', b'S', b'C', b'F', ..] => Some(FormatKind::Cab),
        _ => match Encoding::sniff(head) {
            Encoding::Tar => Some(FormatKind::Tar),
            Encoding::Gzip | Encoding::Bzip2 | Encoding::Xz | Encoding::Zstd | Encoding::Lz4 => {
                Some(FormatKind::Tar)
            }
            _ => None,
        },
    }
}

fn detect_shell(head: &[u8]) -> Option<FormatKind> {
    let text = text_prefix(head);
    let has_line = |marker: &[u8]| lines(text).any(|l| l.starts_with(marker));
    if has_line(MAKESELF_MARKER) {
        Some(FormatKind::Makeself)
    } else if has_line(DELL_PACKAGE_MARKER) || has_line(DELL_ARCHIVE_MARKER) {
        Some(FormatKind::DellDup)
    } else if lines(text).any(is_scexe_skip_line) {
        Some(FormatKind::HpScexe)
    } else {
        None
    }
}

/// `_SKIP=<digits>` at the start of a line (leading blanks allowed).
pub(crate) fn is_scexe_skip_line(line: &[u8]) -> bool {
    let trimmed = trim_start(line);
    trimmed.starts_with(SCEXE_SKIP)
        && trimmed
            .get(SCEXE_SKIP.len())
            .is_some_and(|b| b.is_ascii_digit())
}

/// The leading part of `data` that can be shell text: up to the first NUL.
pub(crate) fn text_prefix(data: &[u8]) -> &[u8] {
    data.split(|&b| b == 0).next().unwrap_or(data)
}

/// Lines of `text` without their `\n` (and without a trailing `\r`).
pub(crate) fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

pub(crate) fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(line.len());
    line.get(start..).unwrap_or_default()
}

/// How a payload byte range is encoded, sniffed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Encoding {
    /// gzip (`1f 8b`).
    Gzip,
    /// bzip2 (`BZh`).
    Bzip2,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// zstd frame (`28 b5 2f fd`).
    Zstd,
    /// lz4 frame (`04 22 4d 18`).
    Lz4,
    /// An uncompressed tar (`ustar` at offset 257).
    Tar,
    /// lzop (`89 4c 5a 4f`): recognised, not supported.
    Lzo,
    /// Unix compress (`1f 9d`): recognised, not supported.
    Compress,
    /// bzip3 (`BZ3v1`): recognised, not supported.
    Bzip3,
    /// ASCII-armoured OpenPGP message (gpg symmetric encryption).
    GpgArmored,
    /// Binary OpenPGP message (gpg asymmetric encryption).
    GpgBinary,
    /// OpenSSL `enc` output (`Salted__`).
    OpensslEncrypted,
    /// Base64 text (makeself `--base64`, or openssl `-a`).
    Base64,
    /// Nothing fwkit knows.
    Unknown,
}

impl Encoding {
    /// Sniff the encoding of a payload from its first bytes (at least 512
    /// bytes are needed to see a tar header).
    pub fn sniff(head: &[u8]) -> Encoding {
        match head {
            [0x1f, 0x8b, ..] => Encoding::Gzip,
            [0x1f, 0x9d, ..] => Encoding::Compress,
            [b'B', b'Z', b'3', b'v', b'1', ..] => Encoding::Bzip3,
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Encoding::Bzip2,
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Encoding::Xz,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Encoding::Zstd,
            [0x04, 0x22, 0x4d, 0x18, ..] => Encoding::Lz4,
            [0x89, b'L', b'Z', b'O', ..] => Encoding::Lzo,
            [b'S', b'a', b'l', b't', b'e', b'd', b'_', b'_', ..] => Encoding::OpensslEncrypted,
            _ if head.starts_with(b"-----BEGIN PGP MESSAGE-----") => Encoding::GpgArmored,
            _ if head.get(257..262) == Some(b"ustar") => Encoding::Tar,
            // OpenPGP packet tags 1 (PKESK) and 3 (SKESK), old and new format.
            [0x84 | 0x85 | 0x8c | 0x8d | 0xc1 | 0xc3, ..] => Encoding::GpgBinary,
            _ if looks_base64(head) => Encoding::Base64,
            _ => Encoding::Unknown,
        }
    }

    /// Stable name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Bzip2 => "bzip2",
            Encoding::Xz => "xz",
            Encoding::Zstd => "zstd",
            Encoding::Lz4 => "lz4",
            Encoding::Tar => "none (tar)",
            Encoding::Lzo => "lzo",
            Encoding::Compress => "compress",
            Encoding::Bzip3 => "bzip3",
            Encoding::GpgArmored => "gpg (armoured, encrypted)",
            Encoding::GpgBinary => "gpg (encrypted)",
            Encoding::OpensslEncrypted => "openssl (encrypted)",
            Encoding::Base64 => "base64",
            Encoding::Unknown => "unknown",
        }
    }

    /// True for encodings fwkit can decode.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            Encoding::Gzip
                | Encoding::Bzip2
                | Encoding::Xz
                | Encoding::Zstd
                | Encoding::Lz4
                | Encoding::Tar
        )
    }

    /// True for encrypted payloads (fwkit never decrypts them).
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            Encoding::GpgArmored | Encoding::GpgBinary | Encoding::OpensslEncrypted
        )
    }
}

fn looks_base64(head: &[u8]) -> bool {
    let sample = head.get(..256).unwrap_or(head);
    sample.len() >= 16
        && sample
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_markers_pick_the_format() {
        let makeself = b"#!/bin/sh\n# This script was generated using Makeself 2.4.5\n_SKIP=3\n";
        assert_eq!(detect(makeself), Some(FormatKind::Makeself));
        let dell = b"#!/bin/sh\necho hi\n#####Startofarchive#####\n";
        assert_eq!(detect(dell), Some(FormatKind::DellDup));
        let scexe = b"#!/bin/sh\n_SKIP=3\nexit\n";
        assert_eq!(detect(scexe), Some(FormatKind::HpScexe));
        assert_eq!(detect(b"#!/bin/sh\necho _SKIP=3\n"), None);
        assert_eq!(detect(b"#!/bin/sh\n_SKIP=x\n"), None);
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(Encoding::sniff(&[0x1f, 0x8b, 8, 0]), Encoding::Gzip);
        assert_eq!(Encoding::sniff(b"BZh91AY&SY"), Encoding::Bzip2);
        assert_eq!(Encoding::sniff(b"BZ3v1\0\0"), Encoding::Bzip3);
        assert_eq!(
            Encoding::sniff(b"Salted__12345678"),
            Encoding::OpensslEncrypted
        );
        assert_eq!(Encoding::sniff(&[0u8; 4]), Encoding::Unknown);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(Encoding::sniff(&tar), Encoding::Tar);
        assert_eq!(detect(&tar), Some(FormatKind::Tar));
    }
}
