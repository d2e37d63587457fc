//! One CMS `SignerInfo` checked (RFC 5652 §5.4): the signer's certificate
//! found among those the signature carries, the `messageDigest` signed
//! attribute against the content, and the signature over the DER of the
//! signed attributes with the signer's key. Shared by Authenticode, its
//! countersignatures and RFC 3161 time-stamp tokens.

use super::x509::{self, Legacy};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfo, SignerInfos};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Encode, Sequence};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::Certificate;

const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

/// What a checked signer info established.
pub(crate) struct Signed {
    pub cert: Certificate,
    /// The `signingTime` signed attribute (the signer's own claim), in
    /// seconds since 1970.
    pub claimed_time: Option<u64>,
}

/// CMS `SignedData` (RFC 5652 §5.1), read leniently where the `cms`
/// crate is strict: the certificate and CRL sets are kept as raw elements,
/// since Microsoft's time-stamp tokens carry certificate choices the crate
/// does not know (an attribute certificate, `[1]`); only plain
/// certificates among them are used.
#[derive(Sequence)]
pub(crate) struct SignedData {
    pub version: der::asn1::Int,
    pub digest_algorithms: der::Any,
    pub encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub certificates: Option<Vec<der::Any>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub crls: Option<Vec<der::Any>>,
    pub signer_infos: SignerInfos,
}

/// The OID of CMS `SignedData`.
pub(crate) const SIGNED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

/// The `SignedData` a CMS `ContentInfo` holds; `Err` says what is wrong.
pub(crate) fn signed_data(info: &cms::content_info::ContentInfo) -> Result<SignedData, String> {
    if info.content_type != SIGNED_DATA {
        return Err(format!(
            "CMS content type {} is not SignedData",
            info.content_type
        ));
    }
    info.content
        .decode_as()
        .map_err(|e| format!("SignedData unreadable: {e}"))
}

/// The plain certificates a SignedData carries.
pub(crate) fn certificates(data: &SignedData) -> Vec<Certificate> {
    data.certificates
        .iter()
        .flatten()
        .filter_map(|c| c.to_der().ok())
        .filter_map(|d| <Certificate as der::Decode>::from_der(&d).ok())
        .collect()
}

/// The certificate `sid` names, among `certs`.
pub(crate) fn find_signer<'a>(
    sid: &SignerIdentifier,
    certs: &'a [Certificate],
) -> Option<&'a Certificate> {
    certs.iter().find(|c| {
        let tbs = c.tbs_certificate();
        match sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                *tbs.issuer() == ias.issuer && *tbs.serial_number() == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
                .get_extension::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, own)| own == *ski),
        }
    })
}

/// The single value of signed attribute `oid`, if present.
fn attribute<'a>(info: &'a SignerInfo, oid: &ObjectIdentifier) -> Option<&'a der::Any> {
    info.signed_attrs
        .as_ref()?
        .iter()
        .find(|a| a.oid == *oid)
        .and_then(|a| a.values.iter().next())
}

/// Why a signer info did not verify, sorted once for every caller: the
/// signed bytes or the signature are wrong (a failed check), or fwkit
/// cannot check it (an algorithm it does not support or refuses, a part it
/// cannot read or requires and is missing: a check that did not run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignerError {
    Broken(String),
    Unchecked(String),
}

impl SignerError {
    /// The outcome of a signature check that stopped here.
    pub(crate) fn outcome(&self) -> crate::model::Outcome {
        match self {
            SignerError::Broken(_) => crate::model::Outcome::Failed,
            SignerError::Unchecked(_) => crate::model::Outcome::NotRun,
        }
    }
}

impl std::fmt::Display for SignerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignerError::Broken(why) | SignerError::Unchecked(why) => f.write_str(why),
        }
    }
}

/// Check `info`: its `messageDigest` is the digest of `content`, its
/// `contentType` (when present) is `content_type`, and its signature over
/// the signed attributes verifies with the certificate it names.
pub(crate) fn verify(
    info: &SignerInfo,
    certs: &[Certificate],
    (content, content_type): (&[u8], Option<&ObjectIdentifier>),
    legacy: Legacy,
) -> Result<Signed, SignerError> {
    let digest =
        x509::hash(&info.digest_alg.oid, content, legacy).map_err(SignerError::Unchecked)?;
    verify_digest(info, certs, (&digest, content_type), legacy)
}

/// [`verify`], given the content's digest (with the signer info's digest
/// algorithm) instead of the content: computed by the single pass over a
/// package, for a detached signature.
pub(crate) fn verify_digest(
    info: &SignerInfo,
    certs: &[Certificate],
    (digest, content_type): (&[u8], Option<&ObjectIdentifier>),
    legacy: Legacy,
) -> Result<Signed, SignerError> {
    use SignerError::{Broken, Unchecked};
    let cert = find_signer(&info.sid, certs)
        .ok_or_else(|| Unchecked("the signer's certificate is not in the signature".to_owned()))?;
    let attrs = info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| Unchecked("no signed attributes (fwkit requires them)".to_owned()))?;
    if x509::digest_name(&info.digest_alg.oid) == Some("SHA-1") && legacy == Legacy::Refuse {
        return Err(Unchecked(
            "SHA-1 digest refused (give --allow-legacy-crypto to accept it)".to_owned(),
        ));
    }
    let claimed = attribute(info, &MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| Unchecked("no messageDigest signed attribute".to_owned()))?;
    if claimed.as_bytes() != digest {
        return Err(Broken(
            "the messageDigest signed attribute does not match the signed content".into(),
        ));
    }
    if let (Some(expected), Some(value)) = (content_type, attribute(info, &CONTENT_TYPE)) {
        let found = value
            .decode_as::<ObjectIdentifier>()
            .map_err(|e| Unchecked(format!("unreadable contentType attribute: {e}")))?;
        if found != *expected {
            return Err(Broken(format!(
                "the contentType signed attribute is {found}, the content is {expected}"
            )));
        }
    }
    let signed = attrs.to_der().map_err(|e| Unchecked(e.to_string()))?;
    x509::verify_signature(
        cert.tbs_certificate().subject_public_key_info(),
        (&info.signature_algorithm.oid, Some(&info.digest_alg.oid)),
        &signed,
        info.signature.as_bytes(),
        legacy,
    )
    .map_err(|e| {
        let why = format!("signature over the signed attributes: {e}");
        // x509 says "unsupported", "refused" or "unreadable" when it could
        // not check; anything else is a signature that does not verify.
        match ["unsupported", "refused", "unreadable"]
            .iter()
            .any(|w| e.contains(w))
        {
            true => Unchecked(why),
            false => Broken(why),
        }
    })?;
    let claimed_time = attribute(info, &SIGNING_TIME)
        .and_then(|v| v.to_der().ok())
        .and_then(|d| <x509_cert::time::Time as der::Decode>::from_der(&d).ok())
        .map(|t| t.to_unix_duration().as_secs());
    Ok(Signed {
        cert: cert.clone(),
        claimed_time,
    })
}
