//! The trust store: every key and certificate the caller trusts, whatever
//! its kind, detected by content.
//!
//! `--key FILE` and `--keyring DIR` hand their files' bytes to
//! [`TrustStore::add`], which recognises:
//!
//! - a minisign or signify public key (`untrusted comment:` + base64);
//! - OpenPGP public keys or keyrings, ASCII-armored
//!   (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or binary (a first packet
//!   with tag 6, public key);
//! - X.509 certificates, PEM (`-----BEGIN CERTIFICATE-----`, any number) or
//!   DER (one `SEQUENCE`), kept as DER trust anchors for the Authenticode
//!   and PKCS#7 checks.
//!
//! Anything else is refused with the reason: a file meant as a key that is
//! not read as one must not silently leave the store empty.
//!
//! # Security
//!
//! Key files are untrusted input like any other. OpenPGP keys are parsed by
//! rPGP (`pgp`); whether a key may make a given signature (self-signatures,
//! key flags, expiry, revocation) is decided per signature in
//! [`openpgp`], never when loading.

mod keys;
pub mod openpgp;
mod packets;

use crate::sign::PublicKey;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// One trusted key or certificate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Anchor {
    /// A minisign or signify Ed25519 public key.
    Minisign(PublicKey),
    /// An OpenPGP certificate (primary key, user ids, subkeys, signatures).
    OpenPgp(Box<pgp::composed::SignedPublicKey>),
    /// An X.509 certificate, DER-encoded, trusted as a root.
    X509(X509Anchor),
}

/// An X.509 certificate given as a trust anchor, kept as DER. Parsing and
/// path building are the Authenticode / PKCS#7 checks' business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Anchor {
    /// The certificate's DER bytes.
    pub der: Vec<u8>,
    /// Where it came from (file name), for reports.
    pub source: String,
}

/// Every key and certificate the caller trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    /// In the order they were given.
    pub anchors: Vec<Anchor>,
}

/// Why a file given as trusted material was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The content is none of the kinds the store reads.
    #[error("{source_name}: not a minisign/signify public key, an OpenPGP public key or keyring, or an X.509 certificate (PEM or DER)")]
    Unrecognised {
        /// The file.
        source_name: String,
    },
    /// The content looks like a kind the store reads but does not parse.
    #[error("{source_name}: {kind} that cannot be read: {reason}")]
    Malformed {
        /// The file.
        source_name: String,
        /// What it looked like.
        kind: &'static str,
        /// What the parser said.
        reason: String,
    },
}

impl TrustStore {
    /// Read `bytes` (the content of `source_name`) and add what they hold.
    /// Returns how many anchors were added.
    pub fn add(&mut self, source_name: &str, bytes: &[u8]) -> Result<usize, TrustError> {
        let found = parse(source_name, bytes)?;
        let n = found.len();
        self.anchors.extend(found);
        Ok(n)
    }

    /// True when nothing is trusted.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The minisign/signify keys.
    pub fn minisign(&self) -> Vec<PublicKey> {
        self.anchors
            .iter()
            .filter_map(|a| match a {
                Anchor::Minisign(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }

    /// The OpenPGP certificates.
    pub fn openpgp(&self) -> Vec<&pgp::composed::SignedPublicKey> {
        self.anchors
            .iter()
            .filter_map(|a| match a {
                Anchor::OpenPgp(k) => Some(&**k),
                _ => None,
            })
            .collect()
    }

    /// The X.509 trust anchors.
    pub fn x509(&self) -> Vec<&X509Anchor> {
        self.anchors
            .iter()
            .filter_map(|a| match a {
                Anchor::X509(c) => Some(c),
                _ => None,
            })
            .collect()
    }
}

const PGP_PUBLIC_ARMOR: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
const PEM_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";
const PEM_CERTIFICATE_END: &str = "-----END CERTIFICATE-----";

/// What `bytes` hold, detected by content.
pub fn parse(source_name: &str, bytes: &[u8]) -> Result<Vec<Anchor>, TrustError> {
    let text = std::str::from_utf8(bytes).ok();
    if let Some(t) = text {
        if t.starts_with(crate::sign::UNTRUSTED_PREFIX) {
            return PublicKey::parse(t)
                .map(|k| vec![Anchor::Minisign(k)])
                .map_err(|e| malformed(source_name, "minisign/signify public key", e));
        }
        if t.contains(PEM_CERTIFICATE) {
            return pem_certificates(source_name, t);
        }
    }
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(PGP_PUBLIC_ARMOR) || openpgp::is_binary_public_key(bytes) {
        return openpgp::parse_keys(bytes)
            .map(|keys| {
                keys.into_iter()
                    .map(|k| Anchor::OpenPgp(Box::new(k)))
                    .collect()
            })
            .map_err(|e| malformed(source_name, "OpenPGP public key", e));
    }
    if is_der_sequence(bytes) {
        return Ok(vec![Anchor::X509(X509Anchor {
            der: bytes.to_vec(),
            source: source_name.to_owned(),
        })]);
    }
    Err(TrustError::Unrecognised {
        source_name: source_name.to_owned(),
    })
}

fn malformed(source_name: &str, kind: &'static str, e: impl std::fmt::Display) -> TrustError {
    TrustError::Malformed {
        source_name: source_name.to_owned(),
        kind,
        reason: e.to_string(),
    }
}

/// Every `CERTIFICATE` block of a PEM text, decoded.
fn pem_certificates(source_name: &str, text: &str) -> Result<Vec<Anchor>, TrustError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(PEM_CERTIFICATE) {
        let after = rest
            .get(start.saturating_add(PEM_CERTIFICATE.len())..)
            .unwrap_or_default();
        let Some(end) = after.find(PEM_CERTIFICATE_END) else {
            return Err(malformed(
                source_name,
                "PEM certificate",
                "no END CERTIFICATE line",
            ));
        };
        let body: String = after
            .get(..end)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let der = BASE64
            .decode(body.as_bytes())
            .map_err(|e| malformed(source_name, "PEM certificate", e))?;
        if !is_der_sequence(&der) {
            return Err(malformed(
                source_name,
                "PEM certificate",
                "the decoded bytes are not a DER SEQUENCE",
            ));
        }
        out.push(Anchor::X509(X509Anchor {
            der,
            source: source_name.to_owned(),
        }));
        rest = after
            .get(end.saturating_add(PEM_CERTIFICATE_END.len())..)
            .unwrap_or_default();
    }
    Ok(out)
}

/// A DER `SEQUENCE` (0x30) whose definite length is exactly the rest of
/// the bytes: the outer shape of a certificate.
fn is_der_sequence(bytes: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = bytes else {
        return false;
    };
    let (len, body) = match *first {
        n @ 0..=0x7f => (usize::from(n), rest),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let (Some(len_bytes), Some(body)) = (rest.get(..count), rest.get(count..)) else {
                return false;
            };
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, body)
        }
        _ => return false,
    };
    len == body.len()
}
