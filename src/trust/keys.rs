//! May this key of a trusted OpenPGP certificate make a data signature?
//! Self-signatures, key flags, expiry and revocation, as the module docs
//! of [`super::openpgp`] describe.

use chrono::{DateTime, Duration, Utc};
use pgp::composed::{SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{PublicKey, Signature, SignatureType, SubpacketData};
use pgp::types::{KeyDetails, PublicKeyTrait, PublicParams, Tag};

/// The key that made a signature: the primary key, or a subkey.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The certificate's primary key.
    Primary(&'a PublicKey),
    /// One of its subkeys, with its binding signatures.
    Subkey(&'a SignedPublicSubKey),
}

impl Key<'_> {
    /// The key's public parameters.
    pub fn public_params(&self) -> &PublicParams {
        match self {
            Key::Primary(k) => k.public_params(),
            Key::Subkey(s) => s.key.public_params(),
        }
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> pgp::types::Fingerprint {
        match self {
            Key::Primary(k) => k.fingerprint(),
            Key::Subkey(s) => s.key.fingerprint(),
        }
    }

    /// Check a signature's cryptography over `digest`.
    pub fn verify_signature(
        &self,
        hash: pgp::crypto::hash::HashAlgorithm,
        digest: &[u8],
        signature: &pgp::types::SignatureBytes,
    ) -> pgp::errors::Result<()> {
        match self {
            Key::Primary(k) => k.verify_signature(hash, digest, signature),
            Key::Subkey(s) => s.key.verify_signature(hash, digest, signature),
        }
    }
}

/// The certificate's user id: the primary one with a verifying
/// self-signature, else the first such, else a placeholder.
pub fn user_id(cert: &SignedPublicKey) -> String {
    let primary = &cert.primary_key;
    let valid = |u: &&pgp::types::SignedUser| uid_binding(primary, u).is_some();
    let users: Vec<_> = cert.details.users.iter().filter(valid).collect();
    users
        .iter()
        .find(|u| u.is_primary())
        .or(users.first())
        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
        .unwrap_or_else(|| "(no user id with a valid self-signature)".to_owned())
}

/// `Ok` when `key` of `cert` may have made `signature`, judged at `now`;
/// otherwise why not.
pub fn usable(
    cert: &SignedPublicKey,
    key: Key<'_>,
    signature: &Signature,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let primary = &cert.primary_key;
    if let Some(sig) = cert
        .details
        .revocation_signatures
        .iter()
        .find(|s| s.verify_key(primary).is_ok())
    {
        return Err(format!("the key is revoked{}", reason(sig)));
    }
    let self_sig = newest(
        cert.details
            .users
            .iter()
            .filter_map(|u| uid_binding(primary, u)),
    )
    .ok_or("the primary key has no user id with a valid, unrevoked self-signature")?;
    expired(
        "the primary key",
        primary.created_at(),
        self_sig.key_expiration_time(),
        now,
    )?;
    match key {
        Key::Primary(_) => {
            let flags = self_sig.key_flags();
            if has_key_flags(self_sig) && !flags.sign() {
                return Err("the primary key is not marked for signing (key flags)".to_owned());
            }
        }
        Key::Subkey(sub) => subkey_usable(primary, sub, now)?,
    }
    if let Some(created) = signature.created() {
        let end = ends(created, signature.signature_expiration_time());
        if let Some(end) = end.filter(|end| *end <= now) {
            return Err(format!("the signature expired at {}", end.to_rfc3339()));
        }
    }
    Ok(())
}

/// A signing subkey: a verifying binding signature with the sign flag and
/// a primary-key back-signature, not revoked, not expired.
fn subkey_usable(
    primary: &PublicKey,
    sub: &SignedPublicSubKey,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let verifies = |s: &&Signature| s.verify_subkey_binding(primary, &sub.key).is_ok();
    let of_type = |t: SignatureType| move |s: &&Signature| s.typ() == Some(t) && verifies(s);
    if let Some(sig) = sub
        .signatures
        .iter()
        .find(of_type(SignatureType::SubkeyRevocation))
    {
        return Err(format!("the signing subkey is revoked{}", reason(sig)));
    }
    let binding = newest(
        sub.signatures
            .iter()
            .filter(of_type(SignatureType::SubkeyBinding)),
    )
    .ok_or("the subkey has no valid binding signature")?;
    if !binding.key_flags().sign() {
        return Err("the subkey is not marked for signing (key flags)".to_owned());
    }
    let back = binding
        .embedded_signature()
        .is_some_and(|b| b.verify_primary_key_binding(&sub.key, primary).is_ok());
    if !back {
        return Err(
            "the signing subkey has no valid primary-key binding (back-)signature".to_owned(),
        );
    }
    expired(
        "the signing subkey",
        sub.key.created_at(),
        binding.key_expiration_time(),
        now,
    )
}

/// The newest verifying self-certification of `user`, unless that newest
/// one is a certification revocation (the user id was withdrawn).
fn uid_binding<'a>(primary: &PublicKey, user: &'a pgp::types::SignedUser) -> Option<&'a Signature> {
    let newest = newest(user.signatures.iter().filter(|s| {
        s.is_certification()
            && s.verify_certification(primary, Tag::UserId, &user.id)
                .is_ok()
    }))?;
    (newest.typ() != Some(SignatureType::CertRevocation)).then_some(newest)
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().copied())
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

fn expired(
    what: &str,
    created: &DateTime<Utc>,
    valid_for: Option<&Duration>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    match ends(created, valid_for).filter(|end| *end <= now) {
        Some(end) => Err(format!(
            "{what} expired at {} (expiry is judged at the time of checking)",
            end.to_rfc3339()
        )),
        None => Ok(()),
    }
}

/// When a validity period that starts at `created` ends: never for none,
/// zero (OpenPGP's "does not expire") or past the end of time.
fn ends(created: &DateTime<Utc>, valid_for: Option<&Duration>) -> Option<DateTime<Utc>> {
    valid_for
        .filter(|d| d.num_seconds() > 0)
        .and_then(|d| created.checked_add_signed(*d))
}

fn reason(sig: &Signature) -> String {
    let code = sig.revocation_reason_code().map(|c| format!("{c:?}"));
    let text = sig
        .revocation_reason_string()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|s| !s.is_empty());
    match (code, text) {
        (Some(c), Some(t)) => format!(" ({c}: {t})"),
        (Some(c), None) => format!(" ({c})"),
        (None, Some(t)) => format!(" ({t})"),
        (None, None) => String::new(),
    }
}
