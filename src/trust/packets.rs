//! A strict second look at the framing of an OpenPGP signature file, after
//! rPGP has parsed it.
//!
//! rPGP reads a subpacket whose length runs past its area by taking what
//! is there (it only logs a warning), so a damaged unhashed area parses
//! and the signature still verifies, while GnuPG rejects the packet. Fail
//! closed: every packet must be a signature packet with a definite length,
//! and in a v4 signature both subpacket areas must be made of whole
//! subpackets, exactly.

use std::io::Read;

const ARMOR: &[u8] = b"-----BEGIN PGP";

/// Check the framing of every packet in `bytes` (armored or binary).
/// Returns how many signature packets there are.
pub(crate) fn check_signature_file(bytes: &[u8]) -> Result<usize, String> {
    let binary = dearmor(bytes)?;
    let mut rest = binary.as_slice();
    let mut count = 0usize;
    while !rest.is_empty() {
        let (tag, body, after) = packet(rest)?;
        if tag != 2 {
            return Err(format!("packet with tag {tag} in a signature file"));
        }
        if body.first() == Some(&4) {
            subpacket_areas(body)?;
        }
        count = count.saturating_add(1);
        rest = after;
    }
    Ok(count)
}

fn dearmor(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let trimmed = bytes.trim_ascii_start();
    if !trimmed.starts_with(ARMOR) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    pgp::armor::Dearmor::new(std::io::BufReader::new(trimmed))
        .read_to_end(&mut out)
        .map_err(|e| format!("armor: {e}"))?;
    Ok(out)
}

/// One packet at the start of `bytes`: (tag, body, what follows).
fn packet(bytes: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let first = *bytes.first().ok_or("empty packet")?;
    let (tag, len, header) = match first {
        0xC0..=0xFF => {
            let (len, n) = new_length(bytes.get(1..).unwrap_or_default())?;
            (first & 0x3F, len, n.saturating_add(1))
        }
        0x80..=0xBF => {
            let n = match first & 0x03 {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => return Err("indeterminate packet length".to_owned()),
            };
            let len_bytes = bytes.get(1..=n).ok_or("truncated packet header")?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, b| acc.wrapping_shl(8) | usize::from(*b));
            ((first >> 2) & 0x0F, len, n.saturating_add(1))
        }
        _ => return Err(format!("byte {first:#04x} does not start a packet")),
    };
    let end = header.checked_add(len).ok_or("packet length overflows")?;
    let body = bytes.get(header..end).ok_or("packet runs past the end")?;
    Ok((tag, body, bytes.get(end..).unwrap_or_default()))
}

/// A new-format packet length: (length, octets it took). Partial lengths
/// are refused (a signature packet never needs them).
fn new_length(bytes: &[u8]) -> Result<(usize, usize), String> {
    match bytes {
        [a @ 0..=191, ..] => Ok((usize::from(*a), 1)),
        [a @ 192..=223, b, ..] => Ok((
            usize::from(a.wrapping_sub(192))
                .wrapping_shl(8)
                .wrapping_add(usize::from(*b))
                .wrapping_add(192),
            2,
        )),
        [255, a, b, c, d, ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]) as usize, 5)),
        [224..=254, ..] => Err("partial packet length".to_owned()),
        _ => Err("truncated packet length".to_owned()),
    }
}

/// A v4 signature body: version, type, algorithms, then the hashed and
/// unhashed areas, each a 2-octet length and whole subpackets.
fn subpacket_areas(body: &[u8]) -> Result<(), String> {
    let mut at = 4usize;
    for area in ["hashed", "unhashed"] {
        let len = match body.get(at..at.saturating_add(2)) {
            Some([a, b]) => usize::from(u16::from_be_bytes([*a, *b])),
            _ => return Err(format!("truncated {area} subpacket area")),
        };
        let start = at.saturating_add(2);
        let end = start.saturating_add(len);
        let mut rest = body
            .get(start..end)
            .ok_or(format!("{area} subpacket area runs past the packet"))?;
        while !rest.is_empty() {
            let (len, n) = new_length(rest).map_err(|e| format!("{area} subpacket: {e}"))?;
            if len == 0 {
                return Err(format!("empty {area} subpacket"));
            }
            rest = n
                .checked_add(len)
                .and_then(|end| rest.get(end..))
                .ok_or(format!("a {area} subpacket runs past its area"))?;
        }
        at = end;
    }
    Ok(())
}
