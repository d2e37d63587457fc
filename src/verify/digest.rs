//! Digest state for every algorithm a package can declare.

use crate::model::Algorithm;
use crc::{Crc, Table, CRC_32_CKSUM};
use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// POSIX `cksum`: CRC-32/CKSUM (poly 0x04C11DB7, not reflected, init 0,
/// output complemented) over the data followed by its length.
static CKSUM: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_CKSUM);

pub(crate) enum Hasher {
    Cksum(crc::Digest<'static, u32, Table<16>>, u64),
    Md5(Box<Md5>),
    Sha256(Box<Sha256>),
    Sha1(Box<Sha1>),
    Sha512(Box<Sha512>),
    Blake2b512(Box<blake2::Blake2b512>),
    /// Stream checks are done by decoders, never over raw ranges.
    None,
}

impl Hasher {
    pub(crate) fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Cksum => Hasher::Cksum(CKSUM.digest(), 0),
            Algorithm::Md5 => Hasher::Md5(Box::default()),
            Algorithm::Sha256 => Hasher::Sha256(Box::default()),
            Algorithm::Sha1 => Hasher::Sha1(Box::default()),
            Algorithm::Sha512 => Hasher::Sha512(Box::default()),
            Algorithm::Blake2b512 => Hasher::Blake2b512(Box::default()),
            Algorithm::StreamCheck => Hasher::None,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Cksum(digest, len) => {
                digest.update(data);
                // No one hashes 2^64 bytes; wrapping keeps the counter total.
                *len = len.wrapping_add(data.len() as u64);
            }
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Blake2b512(h) => blake2::Digest::update(h.as_mut(), data),
            Hasher::None => {}
        }
    }

    /// The digest in the form packages declare it: decimal for cksum,
    /// lower-case hex otherwise.
    pub(crate) fn finish(self) -> String {
        match self {
            Hasher::Cksum(mut digest, len) => {
                // The length, least significant byte first, without trailing zero bytes.
                let mut n = len;
                while n != 0 {
                    digest.update(&[(n & 0xff) as u8]);
                    n >>= 8;
                }
                digest.finalize().to_string()
            }
            Hasher::Md5(h) => hex(&h.finalize()),
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha1(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
            Hasher::Blake2b512(h) => hex(&blake2::Digest::finalize(*h)),
            Hasher::None => String::new(),
        }
    }
}

/// Lower-case hex of `bytes` (a table, not `write!` per byte: every member's
/// digest goes through here).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |nibble: u8| DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0xf));
    }
    // Only ASCII digits were pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// Bytes from lower- or upper-case hex text.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    // Hex digits only: `from_str_radix` alone would take a sign ("+f").
    if bytes.len() % 2 != 0 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// Parse a lower- or upper-case hex BLAKE2b-512.
pub(crate) fn parse_blake2b512(text: &str) -> Option<[u8; 64]> {
    from_hex(text)?.try_into().ok()
}

/// Parse a hex SHA-256 as a user typed it.
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    from_hex(text.trim())?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_digits_only() {
        assert_eq!(from_hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(from_hex("+f"), None);
        assert_eq!(from_hex("abc"), None);
        assert!(parse_sha256(&format!(" {} ", "ab".repeat(32))).is_some());
        assert!(parse_sha256(&format!("+{}", "a".repeat(63))).is_none());
    }

    fn cksum(data: &[u8]) -> String {
        let mut h = Hasher::new(Algorithm::Cksum);
        h.update(data);
        h.finish()
    }

    #[test]
    fn cksum_matches_posix_reference_values() {
        // Values printed by GNU coreutils `cksum`.
        assert_eq!(cksum(b""), "4294967295");
        assert_eq!(cksum(b"hello\n"), "3015617425");
        assert_eq!(cksum(b"123456789"), "930766865");
    }

    #[test]
    fn split_updates_equal_one_update() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        for algorithm in [
            Algorithm::Cksum,
            Algorithm::Md5,
            Algorithm::Sha256,
            Algorithm::Sha1,
            Algorithm::Sha512,
            Algorithm::Blake2b512,
        ] {
            let mut one = Hasher::new(algorithm);
            one.update(&data);
            let mut many = Hasher::new(algorithm);
            for chunk in data.chunks(333) {
                many.update(chunk);
            }
            assert_eq!(one.finish(), many.finish());
        }
    }

    #[test]
    fn sha256_hex_round_trip() {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"abc");
        let text = h.finish();
        assert_eq!(
            text,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&parse_sha256(&text).unwrap()), text);
        assert!(parse_sha256("xyz").is_none());
    }
}
