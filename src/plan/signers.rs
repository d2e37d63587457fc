//! The policy's `[signers]`: whose verified signatures a package must
//! carry. Every entry names one identity unambiguously; a package meets the
//! rule when a signature that passed (checked against the caller's
//! `--key`/`--keyring`) and covers the whole package was made by any of
//! them. A signer seen but not trusted, or a signature over part of the
//! package only, never counts.
//!
//! ```toml
//! [signers]
//! minisign = ["1A2B3C4D5E6F7081"]                          # key ids
//! openpgp = ["A1B2 C3D4 ... (40 or 64 hex digits)"]        # fingerprints
//! x509-sha256 = ["9f:86:d0:..."]                           # leaf certificate SHA-256
//! x509-subject = ["CN=Test Code Signer,O=Example"]         # leaf subject, RFC 4514
//! ```

use crate::model::{Signer, SignerId};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Required signers, per kind of signature: one of them, of any kind,
/// must have signed the whole package.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Signers {
    /// minisign key ids (16 hex digits, as `fwkit verify` shows them).
    #[serde(default)]
    pub minisign: Vec<String>,
    /// OpenPGP fingerprints (v4: 40 hex digits, v6: 64), of the primary key
    /// or of the signing subkey; spaces and case do not matter. 64-bit key
    /// ids are refused: they are not unique.
    #[serde(default)]
    pub openpgp: Vec<String>,
    /// SHA-256 of the X.509 signing (leaf) certificate's DER, hex; colons,
    /// spaces and case do not matter (`openssl x509 -fingerprint -sha256`).
    #[serde(default)]
    pub x509_sha256: Vec<String>,
    /// The X.509 signing (leaf) certificate's whole subject, RFC 4514
    /// (`openssl x509 -noout -subject -nameopt RFC2253`): every RDN, in
    /// order; attribute names and spaces around `,` and `=` do not matter.
    #[serde(default)]
    pub x509_subject: Vec<String>,
    /// `[signers.vendor.NAME]`: required signers for one vendor's packages
    /// (see `signer_sections`); empty inside a section.
    #[serde(default)]
    pub vendor: BTreeMap<String, Signers>,
    /// `[signers.format.NAME]`: required signers for one format's packages.
    #[serde(default)]
    pub format: BTreeMap<String, Signers>,
}

/// An identity with only hex digits kept, upper-cased; `seps` are dropped.
fn hex_id(text: &str, seps: &[char]) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !seps.contains(c))
        .collect::<String>()
        .to_ascii_uppercase()
}

fn is_hex(text: &str, lengths: &[usize]) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An RFC 4514 name as (attribute type upper-cased, value) pairs, in
/// order; `None` when a part has no `=` or an empty type.
fn rdns(text: &str) -> Option<Vec<(String, String)>> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let last = parts.last_mut()?;
        match c {
            '\\' => {
                last.push(c);
                last.extend(chars.next());
            }
            ',' => parts.push(String::new()),
            _ => last.push(c),
        }
    }
    parts
        .iter()
        .map(|p| {
            let (kind, value) = p.split_once('=')?;
            let kind = kind.trim().to_ascii_uppercase();
            (!kind.is_empty()).then(|| (kind, value.trim().to_owned()))
        })
        .collect()
}

/// Check the entries of `signers`; the error names the field and entry.
pub fn check(signers: &Signers) -> Result<(), String> {
    for id in &signers.minisign {
        if !is_hex(id, &[16]) {
            return Err(format!(
                "signers.minisign: '{id}' is not a key id of 16 hex digits"
            ));
        }
    }
    for id in &signers.openpgp {
        let hex = hex_id(id, &[]);
        if is_hex(&hex, &[8, 16]) {
            return Err(format!("signers.openpgp: '{id}' is a key id, not a fingerprint; key ids are not unique (anyone can make a key with a given id), give the full fingerprint (gpg --fingerprint)"));
        }
        if !is_hex(&hex, &[40, 64]) {
            return Err(format!(
                "signers.openpgp: '{id}' is not an OpenPGP fingerprint (40 or 64 hex digits)"
            ));
        }
    }
    for id in &signers.x509_sha256 {
        if !is_hex(&hex_id(id, &[':']), &[64]) {
            return Err(format!(
                "signers.x509-sha256: '{id}' is not a SHA-256 fingerprint (64 hex digits)"
            ));
        }
    }
    for id in &signers.x509_subject {
        if rdns(id).is_none() {
            return Err(format!(
                "signers.x509-subject: '{id}' is not an RFC 4514 name (TYPE=value,TYPE=value…)"
            ));
        }
    }
    Ok(())
}

impl Signers {
    /// True when the list names no signer (its sections aside).
    pub fn is_empty(&self) -> bool {
        self.minisign.is_empty()
            && self.openpgp.is_empty()
            && self.x509_sha256.is_empty()
            && self.x509_subject.is_empty()
    }

    /// The policy's signers, in words.
    pub fn describe(&self) -> Vec<String> {
        let minisign = self.minisign.iter().map(|k| format!("minisign key id {k}"));
        let openpgp = self
            .openpgp
            .iter()
            .map(|f| format!("OpenPGP fingerprint {}", hex_id(f, &[])));
        let sha256 = self
            .x509_sha256
            .iter()
            .map(|f| format!("X.509 certificate sha256 {}", hex_id(f, &[':'])));
        let subject = self
            .x509_subject
            .iter()
            .map(|s| format!("X.509 subject \"{s}\""));
        minisign
            .chain(openpgp)
            .chain(sha256)
            .chain(subject)
            .collect()
    }

    /// Whether `signer` is one of the policy's (its coverage aside).
    pub fn accepts(&self, signer: &Signer) -> bool {
        match &signer.id {
            SignerId::Minisign { key_id } => {
                self.minisign.iter().any(|w| w.eq_ignore_ascii_case(key_id))
            }
            SignerId::Openpgp {
                fingerprint,
                primary_fingerprint,
                ..
            } => self.openpgp.iter().any(|w| {
                let w = hex_id(w, &[]);
                w.eq_ignore_ascii_case(fingerprint) || w.eq_ignore_ascii_case(primary_fingerprint)
            }),
            SignerId::X509 {
                subject, sha256, ..
            } => {
                self.x509_sha256
                    .iter()
                    .any(|w| hex_id(w, &[':']).eq_ignore_ascii_case(sha256))
                    || self
                        .x509_subject
                        .iter()
                        .any(|w| rdns(w).is_some() && rdns(w) == rdns(subject))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_compare_by_rdn() {
        assert_eq!(rdns("cn = A\\, B , O=X"), rdns("CN=A\\, B,O=X"));
        assert_ne!(rdns("CN=A,O=X"), rdns("O=X,CN=A"));
        assert_ne!(rdns("CN=A"), rdns("CN=A,O=X"));
        assert_eq!(rdns("CN"), None);
    }

    #[test]
    fn key_ids_are_refused() {
        let signers = Signers {
            openpgp: vec!["0123 4567 89AB CDEF".to_owned()],
            ..Signers::default()
        };
        assert!(check(&signers).unwrap_err().contains("key id"));
    }
}
