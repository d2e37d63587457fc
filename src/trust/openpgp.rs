//! OpenPGP detached signatures over a file, checked against trusted
//! OpenPGP certificates, from a digest computed elsewhere.
//!
//! A v4 OpenPGP signature signs `H(data ‖ trailer)`, where the trailer is
//! the signature packet's hashed part (version, type, algorithms, hashed
//! subpackets) followed by `0x04 0xFF` and its length. The trailer is known
//! as soon as the signature file is read, so the caller's single pass over
//! the data hashes `data ‖ trailer` beside its other digests
//! ([`Prepared::trailer`], [`Prepared::algorithm`]) and hands the result to
//! [`verify_digest`]: the file is never read a second time.
//!
//! Packet parsing and the public-key arithmetic are rPGP's (`pgp`); which
//! key may make a signature is decided here:
//!
//! - the key is found by the signature's issuer fingerprint or key id among
//!   the primary keys and subkeys of the trusted certificates;
//! - the primary key needs a user id self-signature that verifies; a subkey
//!   needs a binding signature that verifies, with the signing key flag and
//!   a primary-key binding (back-)signature, as GnuPG requires;
//! - a verifying revocation (key or subkey) rejects the key, whatever the
//!   signature's date;
//! - expiry (key, subkey, signature) is judged at the time of checking,
//!   not at the signature's creation time: that time is the signer's own
//!   claim, with no trusted timestamp behind it;
//! - SHA-1, DSA and RSA below 2048 bits are legacy: refused (not run)
//!   unless the caller allows them, and then reported as legacy;
//! - only binary-document signatures (type 0x00) over data, hashed with
//!   SHA-1, SHA-256 or SHA-512, are checked; anything else is not run.
//!
//! Revocation is checked against the certificates given only: there is no
//! keyserver or online lookup.

use crate::model::Algorithm;
use chrono::{DateTime, Utc};
use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType, SignatureVersion};
use pgp::types::{KeyDetails, PublicParams};
use std::io::Cursor;

/// The words every OpenPGP report carries about revocation.
pub const REVOCATION_NOTE: &str =
    "revocation checked against the keyring given only; no online revocation";

const ARMOR_SIGNATURE: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const MIN_RSA_BITS: usize = 2048;

/// True when `bytes` start with a binary OpenPGP public-key packet (tag 6).
pub fn is_binary_public_key(bytes: &[u8]) -> bool {
    packet_tag(bytes) == Some(6)
}

/// The tag of the packet `bytes` start with, old or new format.
fn packet_tag(bytes: &[u8]) -> Option<u8> {
    let first = *bytes.first()?;
    match first {
        0xC0..=0xFF => Some(first & 0x3F),
        0x80..=0xBF => Some((first >> 2) & 0x0F),
        _ => None,
    }
}

/// Every certificate in an armored or binary keyring.
pub fn parse_keys(bytes: &[u8]) -> Result<Vec<SignedPublicKey>, String> {
    let trimmed = bytes.trim_ascii_start();
    let keys: Vec<_> = if trimmed.starts_with(b"-----BEGIN") {
        let (keys, _) =
            SignedPublicKey::from_armor_many(Cursor::new(trimmed)).map_err(|e| e.to_string())?;
        keys.collect::<Result<_, _>>().map_err(|e| e.to_string())?
    } else {
        SignedPublicKey::from_bytes_many(Cursor::new(bytes))
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?
    };
    if keys.is_empty() {
        return Err("no public key in it".to_owned());
    }
    Ok(keys)
}

/// True when `bytes` look like an OpenPGP signature (armored, or a first
/// binary packet with tag 2); minisign and signify files never do.
pub fn is_signature(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(ARMOR_SIGNATURE) || packet_tag(bytes) == Some(2)
}

/// Every signature packet of a detached signature file.
pub fn parse_signatures(bytes: &[u8]) -> Result<Vec<Signature>, String> {
    use pgp::composed::DetachedSignature as StandaloneSignature;
    let trimmed = bytes.trim_ascii_start();
    let signatures: Vec<StandaloneSignature> = if trimmed.starts_with(ARMOR_SIGNATURE) {
        let (sigs, _) = StandaloneSignature::from_armor_many(Cursor::new(trimmed))
            .map_err(|e| e.to_string())?;
        sigs.collect::<Result<_, _>>().map_err(|e| e.to_string())?
    } else {
        StandaloneSignature::from_bytes_many(Cursor::new(bytes))
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?
    };
    if signatures.is_empty() {
        return Err("no signature packet in it".to_owned());
    }
    let framed = super::packets::check_signature_file(bytes)?;
    if framed != signatures.len() {
        return Err(format!(
            "{framed} signature packet(s) framed, {} parsed",
            signatures.len()
        ));
    }
    Ok(signatures.into_iter().map(|s| s.signature).collect())
}

/// What the pass must hash for one signature: `algorithm` over the data,
/// then `trailer`.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The digest algorithm the signature names.
    pub algorithm: Algorithm,
    /// The bytes hashed after the data.
    pub trailer: Vec<u8>,
}

/// What must be hashed to check `signature`, or why it cannot be checked.
pub fn prepare(signature: &Signature) -> Result<Prepared, String> {
    let Some(config) = signature.config() else {
        return Err(format!(
            "signature version {:?} is not supported",
            signature.version()
        ));
    };
    if !matches!(
        signature.version(),
        SignatureVersion::V4 | SignatureVersion::V3
    ) {
        return Err(format!(
            "signature version {:?} is not supported",
            signature.version()
        ));
    }
    if config.typ() != SignatureType::Binary {
        return Err(format!(
            "signature type {:?} is not a binary document signature",
            config.typ()
        ));
    }
    let algorithm = match config.hash_alg {
        HashAlgorithm::Sha1 => Algorithm::Sha1,
        HashAlgorithm::Sha256 => Algorithm::Sha256,
        HashAlgorithm::Sha512 => Algorithm::Sha512,
        other => return Err(format!("hash algorithm {other:?} is not supported")),
    };
    let mut recorder: Box<dyn pgp_digest::DynDigest + Send> = Box::new(Recorder(Vec::new()));
    let len = config
        .hash_signature_data(&mut recorder)
        .map_err(|e| format!("signature packet: {e}"))?;
    let mut trailer = recorder.finalize().into_vec();
    trailer.extend(
        config
            .trailer(len)
            .map_err(|e| format!("signature packet: {e}"))?,
    );
    Ok(Prepared { algorithm, trailer })
}

/// A "digest" that keeps what it is fed: how the signature's hashed
/// trailer is taken from rPGP's own serialisation.
#[derive(Clone)]
struct Recorder(Vec<u8>);

impl pgp_digest::DynDigest for Recorder {
    fn update(&mut self, data: &[u8]) {
        self.0.extend_from_slice(data);
    }
    fn finalize(self: Box<Self>) -> Box<[u8]> {
        self.0.into_boxed_slice()
    }
    fn finalize_into(self, _: &mut [u8]) -> Result<(), pgp_digest::InvalidBufferSize> {
        Err(pgp_digest::InvalidBufferSize)
    }
    fn finalize_into_reset(&mut self, _: &mut [u8]) -> Result<(), pgp_digest::InvalidBufferSize> {
        Err(pgp_digest::InvalidBufferSize)
    }
    fn reset(&mut self) {
        self.0.clear();
    }
    fn output_size(&self) -> usize {
        self.0.len()
    }
    fn box_clone(&self) -> Box<dyn pgp_digest::DynDigest> {
        Box::new(self.clone())
    }
}

/// What the caller allows.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Accept SHA-1, DSA and RSA below 2048 bits (reported as legacy).
    pub allow_legacy: bool,
    /// The time keys and signatures are judged at.
    pub now: DateTime<Utc>,
}

/// Who made a signature, as far as the signature itself says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// Issuer fingerprint (upper-case hex) or, without one, the key id.
    pub id: String,
    /// The signature's creation time (RFC 3339), as the signer claims it.
    pub created: Option<String>,
    /// The hash and public-key algorithms.
    pub algorithms: String,
    /// The Signer's User ID subpacket: the signer's own, unverified claim.
    pub claimed_user_id: Option<String>,
}

/// The result of checking one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A trusted key made it and it matches the data.
    Good {
        /// The signer's user id (the certificate's primary one).
        user_id: String,
        /// Fingerprint of the key that signed (a subkey's, when a subkey did).
        fingerprint: String,
        /// Fingerprint of the certificate's primary key.
        primary: String,
        /// Why it is legacy crypto, when it is (allowed by the policy).
        legacy: Option<String>,
    },
    /// No trusted key has the issuer's fingerprint or key id: not checked.
    Untrusted,
    /// It does not verify, or a trusted key may not make it (revoked,
    /// expired, not a signing key): the reason.
    Bad(String),
    /// It cannot be checked (legacy crypto not allowed, unsupported).
    NotRun(String),
}

/// Who the signature names as its issuer.
pub fn issuer(signature: &Signature) -> Issuer {
    let id = match (
        signature.issuer_fingerprint().first(),
        signature.issuer().first(),
    ) {
        (Some(fp), _) => hex_upper(fp.as_bytes()),
        (None, Some(id)) => format!("key id {}", hex_upper(id.as_ref())),
        (None, None) => "unknown (no issuer subpacket)".to_owned(),
    };
    Issuer {
        id,
        created: signature.created().map(|t| t.to_rfc3339()),
        algorithms: match signature.config() {
            Some(c) => format!("{:?}/{:?}", c.pub_alg, c.hash_alg),
            None => "unknown".to_owned(),
        },
        claimed_user_id: signature
            .signers_userid()
            .map(|u| String::from_utf8_lossy(u).into_owned()),
    }
}

/// Upper-case hex, as GnuPG prints fingerprints.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Check `signature` given `digest` = H(data ‖ trailer) with the algorithm
/// [`prepare`] named, against the trusted `keys`.
pub fn verify_digest(
    signature: &Signature,
    keys: &[&SignedPublicKey],
    digest: &[u8],
    policy: Policy,
) -> Outcome {
    let Some(found) = keys.iter().find_map(|cert| signing_key(cert, signature)) else {
        return Outcome::Untrusted;
    };
    let (cert, key) = found;
    if signature.signed_hash_value().map(|v| v.to_vec()) != digest.get(..2).map(<[u8]>::to_vec) {
        return Outcome::Bad("signature does not match the data (hash prefix differs)".to_owned());
    }
    let Some(bytes) = signature.signature() else {
        return Outcome::NotRun("signature has no signature bytes".to_owned());
    };
    let Some(hash_alg) = signature.hash_alg() else {
        return Outcome::NotRun("signature names no hash algorithm".to_owned());
    };
    let legacy = legacy_reason(hash_alg, key.public_params());
    if let (Some(why), false) = (&legacy, policy.allow_legacy) {
        return Outcome::NotRun(format!(
            "legacy crypto ({why}); not checked without --allow-legacy-crypto"
        ));
    }
    if let Err(e) = key.verify_signature(hash_alg, digest, bytes) {
        return Outcome::Bad(format!("signature does not match the data ({e})"));
    }
    if let Err(why) = super::keys::usable(cert, key, signature, policy.now) {
        return Outcome::Bad(why);
    }
    Outcome::Good {
        user_id: super::keys::user_id(cert),
        fingerprint: hex_upper(key.fingerprint().as_bytes()),
        primary: hex_upper(cert.fingerprint().as_bytes()),
        legacy,
    }
}

/// A key of `cert` (primary or subkey) the signature names as its issuer.
fn signing_key<'a>(
    cert: &'a SignedPublicKey,
    signature: &Signature,
) -> Option<(&'a SignedPublicKey, super::keys::Key<'a>)> {
    let fingerprints = signature.issuer_fingerprint();
    let ids = signature.issuer();
    let named = |fp: pgp::types::Fingerprint, id: pgp::types::KeyId| {
        fingerprints.iter().any(|f| **f == fp) || (fingerprints.is_empty() && ids.contains(&&id))
    };
    let primary = &cert.primary_key;
    if named(primary.fingerprint(), primary.key_id()) {
        return Some((cert, super::keys::Key::Primary(primary)));
    }
    cert.public_subkeys
        .iter()
        .find(|s| named(s.key.fingerprint(), s.key.key_id()))
        .map(|s| (cert, super::keys::Key::Subkey(s)))
}

/// Why this hash or key is legacy crypto, if it is.
fn legacy_reason(hash: HashAlgorithm, params: &PublicParams) -> Option<String> {
    if hash == HashAlgorithm::Sha1 {
        return Some("SHA-1 digest".to_owned());
    }
    match params {
        PublicParams::DSA(_) => Some("DSA key".to_owned()),
        PublicParams::RSA(rsa) => {
            use rsa09::traits::PublicKeyParts as _;
            let bits = rsa.key.n().bits();
            (bits < MIN_RSA_BITS).then(|| format!("RSA-{bits} key"))
        }
        _ => None,
    }
}
