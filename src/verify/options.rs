//! What the caller asks a verification to do: the pinned digest, trusted keys,
//! limits and progress.

use crate::model::{Limits, Progress};
use std::sync::Arc;

/// Options for `Package::verify` and `Package::inspect`.
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// A SHA-256 of the whole file the caller trusts (e.g. from the vendor's
    /// download page). When given, it must match.
    pub sha256: Option<[u8; 32]>,
    /// A digest of the whole file another source states in an algorithm
    /// weaker than SHA-256 (a catalogue's MD5 or SHA-1): `(algorithm,
    /// lower-case hex)`, checked in the same pass as every other digest,
    /// as an external check. It never stands in for `sha256`.
    pub stated: Option<(crate::model::Algorithm, String)>,
    /// Resource limits.
    pub limits: Limits,
    /// Progress receiver.
    pub progress: Option<Arc<dyn Progress>>,
    /// Compute the SHA-256 of every member (as `inspect` does).
    pub hash_members: bool,
    /// Trusted public keys (minisign or signify). When given, a valid
    /// signature by one of them must cover the whole package.
    pub keys: Vec<crate::sign::PublicKey>,
    /// Fail when no signature is checked, even without keys.
    pub require_signature: bool,
    /// Trusted X.509 certificates (Authenticode signers chain to one).
    pub anchors: Vec<crate::verify::x509::Anchor>,
    /// When certificates are judged valid; `None`: at the verified time
    /// stamp's time, else now.
    pub at: Option<At>,
    /// Every trusted key and certificate (minisign/signify, OpenPGP,
    /// X.509), detected by content. Its minisign keys are also in `keys`.
    pub trust: crate::trust::TrustStore,
    /// Accept SHA-1 digests, DSA and RSA keys under 2048 bits (reported as
    /// legacy); refused (not run) otherwise.
    pub allow_legacy_crypto: bool,
}

impl VerifyOptions {
    /// True when the caller trusts any key or certificate.
    pub fn has_trust(&self) -> bool {
        !self.keys.is_empty() || !self.trust.is_empty() || !self.anchors.is_empty()
    }
}

/// When a signer's certificates must be valid (`--at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The time of verification.
    Now,
    /// The verified time stamp's time, else the signer's signingTime claim.
    SigningTime,
    /// Seconds since 1970.
    Date(u64),
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("sha256", &self.sha256.map(|d| crate::verify::hex(&d)))
            .field("stated", &self.stated)
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .field("hash_members", &self.hash_members)
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|k| k.key_id.to_string())
                    .collect::<Vec<_>>(),
            )
            .field("require_signature", &self.require_signature)
            .field(
                "anchors",
                &self.anchors.iter().map(|a| a.subject()).collect::<Vec<_>>(),
            )
            .field("at", &self.at)
            .field("trust", &self.trust.anchors.len())
            .field("allow_legacy_crypto", &self.allow_legacy_crypto)
            .finish()
    }
}
