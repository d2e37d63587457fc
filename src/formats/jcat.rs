//! JCat files (`*.jcat`): the checksums and signatures fwupd and LVFS keep
//! beside the files they describe (see `formats/cab.md`, "JCat").
//!
//! A JCat file is one gzip member holding JSON:
//!
//! ```json
//! {"JcatVersionMajor": 0, "JcatVersionMinor": 1,
//!  "Items": [{"Id": "firmware.bin", "AliasIds": [],
//!             "Blobs": [{"Kind": 1, "Flags": 1, "Timestamp": 1700000000,
//!                        "Data": "<sha256 as lower-case hex>"}]}]}
//! ```
//!
//! Each item names a file (`Id`, or one of `AliasIds`); each blob is a
//! checksum of it (kind 1 SHA-256, 4 SHA-1, 10 SHA-512) or a signature (2 GPG,
//! 3 PKCS#7, 9 Ed25519). `Data` is text when bit 0 of `Flags` is set, base64
//! otherwise; a checksum's data is always the digest as lower-case hex text.
//! A blob with a `Target` signs another blob of the item (e.g. the SHA-256
//! text), not the file. Nothing in the JSON is itself protected: only what a
//! signature covers can be trusted; `jcat_sign` checks the PKCS#7 and GPG
//! signature blobs.
//!
//! This module only reads the file; `cab::lvfs_checks` decides.

use crate::model::Algorithm;
use base64::Engine as _;
use serde::Deserialize;
use std::io::Read;

/// Largest decompressed JSON fwkit parses.
pub(crate) const MAX_JSON: usize = 4 << 20;
/// Most items, and most blobs in all, fwkit reads from one file.
const MAX_ITEMS: usize = 4096;
const MAX_BLOBS: usize = 65_536;

/// Blob kinds (libjcat's `JcatBlobKind` numbering).
const KIND_SHA256: u64 = 1;
const KIND_GPG: u64 = 2;
const KIND_PKCS7: u64 = 3;
const KIND_SHA1: u64 = 4;
const KIND_ED25519: u64 = 9;
const KIND_SHA512: u64 = 10;
/// `Flags` bit: `Data` is text, not base64.
const FLAG_IS_UTF8: u64 = 1;

/// A parsed JCat file.
#[derive(Debug, Clone)]
pub(crate) struct JcatFile {
    pub major: u64,
    pub minor: u64,
    pub items: Vec<Item>,
    /// Bytes after the gzip member (LVFS's CDN appends some to the files it
    /// serves); not part of the JSON.
    pub trailing: usize,
}

/// The blobs for one file.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub alias_ids: Vec<String>,
    pub blobs: Vec<Blob>,
}

/// One checksum or signature.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub kind: u64,
    /// When it was made (Unix time), if recorded.
    pub timestamp: Option<u64>,
    /// The blob kind this blob signs, when it signs another blob of the item.
    pub target: Option<u64>,
    /// The decoded data, or why it could not be decoded.
    pub data: Result<Vec<u8>, String>,
}

/// What a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobKind {
    Checksum(Algorithm),
    Signature(&'static str),
    /// Transparency-log items, kinds newer than fwkit: not checked.
    Other,
}

impl Blob {
    pub(crate) fn kind(&self) -> BlobKind {
        match self.kind {
            KIND_SHA256 => BlobKind::Checksum(Algorithm::Sha256),
            KIND_SHA1 => BlobKind::Checksum(Algorithm::Sha1),
            KIND_SHA512 => BlobKind::Checksum(Algorithm::Sha512),
            KIND_GPG => BlobKind::Signature("gpg"),
            KIND_PKCS7 => BlobKind::Signature("pkcs7"),
            KIND_ED25519 => BlobKind::Signature("ed25519"),
            _ => BlobKind::Other,
        }
    }
}

/// Name of a blob kind for reports.
pub(crate) fn kind_name(kind: u64) -> String {
    match kind {
        KIND_SHA256 => "sha256".to_owned(),
        KIND_GPG => "gpg".to_owned(),
        KIND_PKCS7 => "pkcs7".to_owned(),
        KIND_SHA1 => "sha1".to_owned(),
        5 => "bt-manifest".to_owned(),
        6 => "bt-checkpoint".to_owned(),
        7 => "bt-inclusion-proof".to_owned(),
        8 => "bt-verifier".to_owned(),
        KIND_ED25519 => "ed25519".to_owned(),
        KIND_SHA512 => "sha512".to_owned(),
        11 => "bt-logindex".to_owned(),
        other => format!("kind {other}"),
    }
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "JcatVersionMajor")]
    major: u64,
    #[serde(rename = "JcatVersionMinor")]
    minor: u64,
    #[serde(rename = "Items")]
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawItem {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "AliasIds", default)]
    alias_ids: Vec<String>,
    #[serde(rename = "Blobs", default)]
    blobs: Vec<RawBlob>,
}

#[derive(Deserialize)]
struct RawBlob {
    #[serde(rename = "Kind")]
    kind: u64,
    #[serde(rename = "Flags")]
    flags: u64,
    #[serde(rename = "Timestamp", default)]
    timestamp: Option<u64>,
    #[serde(rename = "Target", default)]
    target: Option<u64>,
    #[serde(rename = "Data")]
    data: String,
}

/// Parse a JCat file: one gzip member of JSON, at most [`MAX_JSON`] bytes
/// decompressed.
pub(crate) fn parse(bytes: &[u8]) -> Result<JcatFile, String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err("not gzip-compressed (a JCat file is gzip JSON)".to_owned());
    }
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut json = Vec::new();
    const READ_AT_MOST: u64 = MAX_JSON as u64 + 1;
    (&mut decoder)
        .take(READ_AT_MOST)
        .read_to_end(&mut json)
        .map_err(|e| format!("gzip: {e}"))?;
    if json.len() > MAX_JSON {
        return Err(format!("decompresses to more than {MAX_JSON} bytes"));
    }
    let trailing = decoder.into_inner().len();
    let raw: RawFile = serde_json::from_slice(&json).map_err(|e| format!("JSON: {e}"))?;
    if raw.major != 0 {
        return Err(format!(
            "JCat version {}.{} is newer than fwkit reads (0.x)",
            raw.major, raw.minor
        ));
    }
    if raw.items.len() > MAX_ITEMS {
        return Err(format!("more than {MAX_ITEMS} items"));
    }
    let blobs: usize = raw.items.iter().map(|i| i.blobs.len()).sum();
    if blobs > MAX_BLOBS {
        return Err(format!("more than {MAX_BLOBS} blobs"));
    }
    let items = raw
        .items
        .into_iter()
        .map(|item| Item {
            id: item.id,
            alias_ids: item.alias_ids,
            blobs: item
                .blobs
                .into_iter()
                .map(|b| Blob {
                    kind: b.kind,
                    timestamp: b.timestamp,
                    target: b.target,
                    data: if b.flags & FLAG_IS_UTF8 != 0 {
                        Ok(b.data.into_bytes())
                    } else {
                        base64::engine::general_purpose::STANDARD
                            .decode(b.data.trim())
                            .map_err(|e| format!("Data is not base64: {e}"))
                    },
                })
                .collect(),
        })
        .collect();
    Ok(JcatFile {
        major: raw.major,
        minor: raw.minor,
        items,
        trailing,
    })
}

/// The digest algorithms a JCat file's checksum blobs need, and those its
/// PKCS#7 blobs over a file were made with (as each signer info says);
/// none when it does not parse.
pub(crate) fn algorithms(bytes: &[u8]) -> Vec<Algorithm> {
    let mut out = Vec::new();
    if let Ok(file) = parse(bytes) {
        for blob in file.items.iter().flat_map(|i| &i.blobs) {
            let wanted = match (blob.kind(), blob.target, &blob.data) {
                (BlobKind::Checksum(a), _, _) => vec![a],
                (BlobKind::Signature("pkcs7"), None, Ok(data)) => crate::verify::pkcs7::parse(data)
                    .map(|p| p.algorithms())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for a in wanted {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn parses_items_and_blobs() {
        let json = br#"{"JcatVersionMajor":0,"JcatVersionMinor":1,"Items":[
            {"Id":"firmware.bin","AliasIds":["fw.bin"],"Blobs":[
              {"Kind":1,"Flags":1,"Timestamp":1,"Data":"ab"},
              {"Kind":3,"Flags":0,"Data":"aGVsbG8="},
              {"Kind":3,"Flags":1,"Target":1,"Data":"-----BEGIN PKCS7-----"}]}]}"#;
        let mut bytes = gzip(json);
        bytes.extend_from_slice(b"IHATECDN");
        let file = parse(&bytes).unwrap();
        assert_eq!(file.trailing, 8);
        let item = &file.items[0];
        assert_eq!(item.alias_ids, vec!["fw.bin"]);
        assert_eq!(item.blobs[0].kind(), BlobKind::Checksum(Algorithm::Sha256));
        assert_eq!(item.blobs[0].data.as_deref(), Ok(&b"ab"[..]));
        assert_eq!(item.blobs[1].data.as_deref(), Ok(&b"hello"[..]));
        assert_eq!(item.blobs[2].target, Some(1));
        assert_eq!(algorithms(&bytes), vec![Algorithm::Sha256]);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse(b"{}").unwrap_err().contains("not gzip"));
        assert!(parse(&gzip(b"{")).unwrap_err().contains("JSON"));
        let newer = gzip(br#"{"JcatVersionMajor":1,"JcatVersionMinor":0,"Items":[]}"#);
        assert!(parse(&newer).unwrap_err().contains("newer"));
        let big = gzip(&vec![b' '; MAX_JSON + 1]);
        assert!(parse(&big).unwrap_err().contains("more than"));
        let truncated = gzip(br#"{"JcatVersionMajor":0,"JcatVersionMinor":1,"Items":[]}"#);
        assert!(parse(&truncated[..truncated.len() - 4]).is_err());
    }
}
