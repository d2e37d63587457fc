//! X.509 trust anchors and certificate paths, for signatures whose signer
//! is named by a certificate (Authenticode, CMS/PKCS#7).
//!
//! Anchors are certificates the caller trusts (`--key CA.pem`); they are
//! found by content ([`certificates`]) so a shared trust store can take
//! them from the same `--key`/`--keyring` files as minisign keys.
//!
//! Path building is our own, on `x509-cert`: from the signer's certificate
//! up through the certificates the signature carries to an anchor, each
//! certificate's signature checked with its issuer's key, validity judged
//! at one chosen time, `basicConstraints` CA (and `keyCertSign` when a key
//! usage is given) on every issuer, path length constraints, the wanted
//! extended key usage on the leaf, and no unknown critical extension.
//! Revocation is not checked. `rustls-webpki` was weighed: it judges
//! validity at one time for the whole path but knows only TLS key usages
//! and refuses the code-signing and time-stamping purposes we need.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use std::time::Duration;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;

/// Extended key usage: code signing.
pub(crate) const EKU_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Extended key usage: time stamping.
pub(crate) const EKU_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Longest path tried (leaf, intermediates, anchor).
const MAX_DEPTH: usize = 8;

/// Extensions whose meaning this module enforces or that do not restrict
/// a path; any other extension marked critical fails the path.
const UNDERSTOOD: [&str; 7] = [
    "2.5.29.19", // basicConstraints
    "2.5.29.15", // keyUsage
    "2.5.29.37", // extKeyUsage
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.32", // certificatePolicies
    "2.5.29.17", // subjectAltName
];

/// Every certificate in `bytes`: PEM (one or more `CERTIFICATE` blocks) or
/// one DER certificate. `None` when the bytes are neither, so the caller
/// can try other key formats.
pub(crate) fn certificates(bytes: &[u8]) -> Option<Vec<Certificate>> {
    if bytes
        .windows(27)
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Certificate::load_pem_chain(bytes)
            .ok()
            .filter(|c| !c.is_empty());
    }
    Certificate::from_der(bytes).ok().map(|c| vec![c])
}

/// A trusted X.509 certificate (a CA, or a signer trusted directly).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub(crate) cert: Certificate,
}

impl Anchor {
    /// Every certificate in `bytes` (PEM or DER), or `None` when `bytes`
    /// are not certificates.
    pub fn parse_all(bytes: &[u8]) -> Option<Vec<Anchor>> {
        certificates(bytes).map(|c| c.into_iter().map(|cert| Anchor { cert }).collect())
    }

    /// The certificate's subject, as RFC 4514 text.
    pub fn subject(&self) -> String {
        name(self.cert.tbs_certificate().subject())
    }
}

/// Every trust anchor in the given files' contents (see `certificates`);
/// the contents that are not certificates are left to other loaders.
pub fn anchors_from<'a>(contents: impl IntoIterator<Item = &'a [u8]>) -> Vec<Anchor> {
    contents
        .into_iter()
        .filter_map(Anchor::parse_all)
        .flatten()
        .collect()
}

/// Algorithms below today's strength (SHA-1, RSA under 2048 bits) pass only
/// when the caller allowed them; they are then named in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Legacy {
    Refuse,
    Allow,
}

/// A subject or issuer name, as RFC 4514 text.
pub(crate) fn name(name: &x509_cert::name::Name) -> String {
    name.to_string()
}

/// Seconds since 1970 of an X.509 time.
fn seconds(time: x509_cert::time::Time) -> u64 {
    time.to_unix_duration().as_secs()
}

/// A UTC date of `secs` since 1970, for messages.
pub(crate) fn date(secs: u64) -> String {
    der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{secs} s after 1970"))
}

/// The digest OIDs this module computes, with their names.
pub(crate) fn digest_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "1.3.14.3.2.26" => "SHA-1",
        "2.16.840.1.101.3.4.2.1" => "SHA-256",
        "2.16.840.1.101.3.4.2.2" => "SHA-384",
        "2.16.840.1.101.3.4.2.3" => "SHA-512",
        _ => return None,
    })
}

/// `data` hashed with the digest `oid`; SHA-1 only when legacy is allowed.
pub(crate) fn hash(oid: &ObjectIdentifier, data: &[u8], legacy: Legacy) -> Result<Vec<u8>, String> {
    use sha2::Digest;
    match digest_name(oid) {
        Some("SHA-1") if legacy == Legacy::Refuse => {
            Err("SHA-1 digest refused (give --allow-legacy-crypto to accept it)".to_owned())
        }
        Some("SHA-1") => Ok(sha1::Sha1::digest(data).to_vec()),
        Some("SHA-256") => Ok(sha2::Sha256::digest(data).to_vec()),
        Some("SHA-384") => Ok(sha2::Sha384::digest(data).to_vec()),
        Some("SHA-512") => Ok(sha2::Sha512::digest(data).to_vec()),
        _ => Err(format!("unsupported digest algorithm {oid}")),
    }
}

/// The digest a signature algorithm implies, if it names one
/// (`sha256WithRSAEncryption`, `ecdsa-with-SHA384`, ...).
fn implied_digest(signature_oid: &str) -> Option<&'static str> {
    Some(match signature_oid {
        "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" => "1.3.14.3.2.26",
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" => "2.16.840.1.101.3.4.2.1",
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => "2.16.840.1.101.3.4.2.2",
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => "2.16.840.1.101.3.4.2.3",
        _ => return None,
    })
}

/// Check `signature` over `message` with `key`. `algorithm` is the
/// signature algorithm; `digest` the digest algorithm when `algorithm` is
/// bare `rsaEncryption` (CMS signer infos).
pub(crate) fn verify_signature(
    key: &SubjectPublicKeyInfoOwned,
    (algorithm, digest): (&ObjectIdentifier, Option<&ObjectIdentifier>),
    message: &[u8],
    signature: &[u8],
    legacy: Legacy,
) -> Result<(), String> {
    let algorithm_text = algorithm.to_string();
    let digest = match implied_digest(&algorithm_text) {
        Some(oid) => ObjectIdentifier::new(oid).map_err(|e| e.to_string())?,
        None if algorithm_text == "1.2.840.113549.1.1.1" => {
            *digest.ok_or_else(|| "rsaEncryption without a digest algorithm".to_owned())?
        }
        None => return Err(format!("unsupported signature algorithm {algorithm}")),
    };
    let hashed = hash(&digest, message, legacy)?;
    match key.algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => verify_rsa(key, &digest, &hashed, signature, legacy),
        "1.2.840.10045.2.1" => verify_ecdsa(key, &hashed, signature),
        other => Err(format!("unsupported public key algorithm {other}")),
    }
}

fn verify_rsa(
    key: &SubjectPublicKeyInfoOwned,
    digest: &ObjectIdentifier,
    hashed: &[u8],
    signature: &[u8],
    legacy: Legacy,
) -> Result<(), String> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let der = key.to_der().map_err(|e| e.to_string())?;
    let public = rsa::PublicKey::from_public_key_der(&der)
        .map_err(|e| format!("unreadable RSA key: {e}"))?;
    let bits = public.size().saturating_mul(8);
    if bits < 2048 && legacy == Legacy::Refuse {
        return Err(format!(
            "{bits}-bit RSA key refused (give --allow-legacy-crypto to accept it)"
        ));
    }
    let scheme = match digest_name(digest) {
        Some("SHA-1") => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
        Some("SHA-256") => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        Some("SHA-384") => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        Some("SHA-512") => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        _ => return Err(format!("unsupported digest algorithm {digest}")),
    };
    public
        .verify(scheme, hashed, signature)
        .map_err(|_| "RSA signature does not verify".to_owned())
}

fn verify_ecdsa(
    key: &SubjectPublicKeyInfoOwned,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let point = key.subject_public_key.raw_bytes();
    let curve = key
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let bad = |_| "ECDSA signature does not verify".to_owned();
    match curve.as_deref() {
        Some("1.2.840.10045.3.1.7") => {
            let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?;
            let s = p256::ecdsa::Signature::from_der(signature).map_err(bad)?;
            k.verify_prehash(hashed, &s).map_err(bad)
        }
        Some("1.3.132.0.34") => {
            let k = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?;
            let s = p384::ecdsa::Signature::from_der(signature).map_err(bad)?;
            k.verify_prehash(hashed, &s).map_err(bad)
        }
        other => Err(format!("unsupported elliptic curve {other:?}")),
    }
}

/// A certificate path that reached an anchor.
pub(crate) struct Path {
    /// Subjects from the leaf to the anchor.
    pub subjects: Vec<String>,
}

/// What a path must satisfy.
pub(crate) struct Purpose<'a> {
    /// Extended key usage the leaf must carry.
    pub eku: ObjectIdentifier,
    /// Whether a leaf without any extended key usage passes.
    pub eku_rule: EkuRule,
    /// Seconds since 1970 at which every certificate must be valid;
    /// `None`: validity periods are not checked (JCat payloads, as fwupd).
    pub at: Option<u64>,
    pub legacy: Legacy,
    /// Certificates to build the path through (from the signature).
    pub pool: &'a [Certificate],
    pub anchors: &'a [Certificate],
}

/// How the leaf's extended key usage is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EkuRule {
    /// The leaf must carry the wanted usage (Authenticode, time stamps).
    Required,
    /// A leaf with no extended key usage extension may be used for any
    /// purpose (RFC 5280 §4.2.1.12); one that has it must list the wanted
    /// usage (JCat PKCS#7 and HPE compsig signers).
    IfPresent,
}

/// Why no path reached an anchor.
#[derive(Debug)]
pub(crate) enum PathError {
    /// The chain does not end at any given anchor (untrusted, not broken).
    Untrusted(String),
    /// A certificate on the way fails a rule.
    Invalid(String),
}

/// The outcome of `leaf`'s path for a signature check: passed (the chain
/// added to `facts`), info when it reaches no anchor given (not counted),
/// failed when it is invalid (why added to `facts`).
pub(crate) fn path_outcome(
    leaf: &Certificate,
    purpose: &Purpose<'_>,
    facts: &mut Vec<String>,
) -> crate::model::Outcome {
    use crate::model::Outcome;
    match path(leaf, purpose) {
        Ok(path) => {
            facts.push(format!("chain {}", path.subjects.join(" -> ")));
            Outcome::Passed
        }
        Err(PathError::Untrusted(why)) => {
            facts.push(format!("{why}; not counted"));
            Outcome::Info
        }
        Err(PathError::Invalid(why)) => {
            facts.push(why);
            Outcome::Failed
        }
    }
}

/// Build the path from `leaf` to one of the anchors, then check it. A
/// path that reaches no anchor is `Untrusted`; one that reaches an anchor
/// but breaks a rule on the way is `Invalid`.
pub(crate) fn path(leaf: &Certificate, purpose: &Purpose<'_>) -> Result<Path, PathError> {
    let chain = build(leaf, purpose)?;
    check_leaf(leaf, purpose).map_err(PathError::Invalid)?;
    let last = chain.len().saturating_sub(1);
    for (depth, cert) in chain.iter().skip(1).enumerate() {
        let role = match depth.saturating_add(1) == last {
            true => Role::Anchor,
            false => Role::OnPath,
        };
        check_issuer(cert, (depth, role), purpose).map_err(PathError::Invalid)?;
    }
    Ok(Path {
        subjects: chain
            .iter()
            .map(|c| name(c.tbs_certificate().subject()))
            .collect(),
    })
}

/// The certificates from `leaf` to an anchor (the last), each signed by
/// the next.
fn build(leaf: &Certificate, purpose: &Purpose<'_>) -> Result<Vec<Certificate>, PathError> {
    let mut chain = vec![leaf.clone()];
    let mut current = leaf.clone();
    for _ in 0..MAX_DEPTH {
        // A certificate the caller trusts itself ends the path.
        if purpose.anchors.contains(&current) {
            return Ok(chain);
        }
        let issuer_name = current.tbs_certificate().issuer().clone();
        let named = |c: &&Certificate| *c.tbs_certificate().subject() == issuer_name;
        // An anchor that signed the current certificate ends the path.
        let (anchor, refused) = first_signer(
            &current,
            purpose.anchors.iter().filter(named),
            purpose.legacy,
        );
        if let Some(anchor) = anchor {
            chain.push(anchor.clone());
            return Ok(chain);
        }
        if let Some(why) = refused {
            return Err(PathError::Invalid(format!(
                "{} names a trusted anchor as its issuer, but its signature does not verify with it: {why}",
                name(current.tbs_certificate().subject())
            )));
        }
        let candidates = purpose.pool.iter().filter(|c| *c != &current).filter(named);
        let (next, refused) = first_signer(&current, candidates, purpose.legacy);
        let Some(next) = next.cloned() else {
            let why = refused.map(|e| format!(" ({e})")).unwrap_or_default();
            return Err(PathError::Untrusted(format!(
                "the chain ends at {} (issuer {}), which is not a trusted anchor{why}",
                name(current.tbs_certificate().subject()),
                name(&issuer_name)
            )));
        };
        chain.push(next.clone());
        current = next;
    }
    Err(PathError::Invalid(format!(
        "no anchor within {MAX_DEPTH} certificates"
    )))
}

/// The first candidate whose key verifies `cert`'s signature, and the
/// last refusal when none does.
fn first_signer<'a>(
    cert: &Certificate,
    candidates: impl Iterator<Item = &'a Certificate>,
    legacy: Legacy,
) -> (Option<&'a Certificate>, Option<String>) {
    let mut refused = None;
    for candidate in candidates {
        match signed_by(cert, candidate, legacy) {
            Ok(()) => return (Some(candidate), None),
            Err(e) => refused = Some(e),
        }
    }
    (None, refused)
}

fn signed_by(cert: &Certificate, issuer: &Certificate, legacy: Legacy) -> Result<(), String> {
    let tbs = cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
    let signature = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| "certificate signature is not whole bytes".to_owned())?;
    verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        (&cert.signature_algorithm().oid, None),
        &tbs,
        signature,
        legacy,
    )
}

/// Whether a certificate is a trust anchor: RFC 5280 takes an anchor's
/// name and key as given, so its extensions are not processed (Debian's
/// Secure Boot CA marks Netscape's certificate type critical).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Anchor,
    OnPath,
}

/// Validity at the chosen time, and no critical extension we ignore.
fn check_common(cert: &Certificate, at: Option<u64>, role: Role) -> Result<(), String> {
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let (from, until) = (seconds(validity.not_before), seconds(validity.not_after));
    if let Some(at) = at.filter(|at| *at < from || *at > until) {
        return Err(format!(
            "certificate {} is valid from {} to {}, not at {}",
            name(tbs.subject()),
            date(from),
            date(until),
            date(at)
        ));
    }
    if role == Role::Anchor {
        return Ok(());
    }
    for ext in tbs.extensions().map(|e| e.as_slice()).unwrap_or_default() {
        let oid = ext.extn_id.to_string();
        if ext.critical && !UNDERSTOOD.contains(&oid.as_str()) {
            return Err(format!(
                "certificate {} has critical extension {oid}, which fwkit does not enforce",
                name(tbs.subject())
            ));
        }
    }
    Ok(())
}

fn check_leaf(leaf: &Certificate, purpose: &Purpose<'_>) -> Result<(), String> {
    check_common(leaf, purpose.at, Role::OnPath)?;
    let tbs = leaf.tbs_certificate();
    let eku = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| format!("unreadable extended key usage: {e}"))?;
    match eku {
        Some((_, usages)) if usages.0.contains(&purpose.eku) => Ok(()),
        None if purpose.eku_rule == EkuRule::IfPresent => Ok(()),
        _ => Err(format!(
            "signer certificate {} lacks the extended key usage {} ({})",
            name(tbs.subject()),
            purpose.eku,
            match purpose.eku == EKU_CODE_SIGNING {
                true => "code signing",
                false => "time stamping",
            }
        )),
    }
}

/// An issuer `depth` certificates above the leaf: a CA, allowed to sign
/// certificates, with a path length constraint that admits `depth`
/// intermediates below it.
fn check_issuer(
    cert: &Certificate,
    (depth, role): (usize, Role),
    purpose: &Purpose<'_>,
) -> Result<(), String> {
    check_common(cert, purpose.at, role)?;
    let tbs = cert.tbs_certificate();
    let subject = name(tbs.subject());
    let basic = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|e| format!("unreadable basic constraints on {subject}: {e}"))?;
    let Some((_, basic)) = basic.filter(|(_, b)| b.ca) else {
        return Err(format!("issuer {subject} is not a CA (basicConstraints)"));
    };
    if let Some(limit) = basic.path_len_constraint {
        if depth > usize::from(limit) {
            return Err(format!(
                "issuer {subject} allows {limit} intermediate(s) below it, the path has {depth}"
            ));
        }
    }
    let usage = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| format!("unreadable key usage on {subject}: {e}"))?;
    if usage.is_some_and(|(_, u)| !u.key_cert_sign()) {
        return Err(format!(
            "issuer {subject} may not sign certificates (keyUsage)"
        ));
    }
    Ok(())
}
