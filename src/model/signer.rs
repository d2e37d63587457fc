//! Who made a signature that verified: the machine-usable identity a
//! signature check carries (`Check::signer`), for policies (`fwkit plan
//! --policy`, `[signers]`) and scripts that must not parse `detail` text.

use serde::Serialize;

/// The identity behind a signature check that passed: established by the
/// caller's trusted material (`--key`/`--keyring`), never by what the
/// signature merely claims. Absent on checks that did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// What kind of key or certificate made it.
    #[serde(flatten)]
    pub id: SignerId,
    /// The signature covers the whole package (a detached signature over
    /// the file, a signed manifest listing every member, an Authenticode
    /// signature of the image and what follows it), not only a part.
    pub whole_package: bool,
}

/// The identity, per kind of signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SignerId {
    /// A minisign or signify Ed25519 key.
    Minisign {
        /// The key id, 16 upper-case hex digits.
        key_id: String,
    },
    /// An OpenPGP key.
    Openpgp {
        /// The fingerprint of the key that made the signature (a subkey or
        /// the primary key), upper-case hex.
        fingerprint: String,
        /// The fingerprint of its primary key, upper-case hex.
        primary_fingerprint: String,
        /// The certificate's primary user id (bound by the trusted key).
        user_id: String,
    },
    /// An X.509 signing (leaf) certificate that chained to a given anchor.
    X509 {
        /// Its subject, RFC 4514 text (most significant RDN last).
        subject: String,
        /// Its issuer, RFC 4514 text.
        issuer: String,
        /// SHA-256 of its DER encoding, lower-case hex.
        sha256: String,
    },
}

impl Signer {
    /// The identity in words: `minisign key id …`, `OpenPGP …`, `X.509 …`.
    pub fn describe(&self) -> String {
        match &self.id {
            SignerId::Minisign { key_id } => format!("minisign key id {key_id}"),
            SignerId::Openpgp {
                fingerprint,
                primary_fingerprint,
                ..
            } if fingerprint == primary_fingerprint => format!("OpenPGP key {fingerprint}"),
            SignerId::Openpgp {
                fingerprint,
                primary_fingerprint,
                ..
            } => format!("OpenPGP subkey {fingerprint} of key {primary_fingerprint}"),
            SignerId::X509 {
                subject, sha256, ..
            } => format!("X.509 certificate \"{subject}\" (sha256 {sha256})"),
        }
    }
}
