//! Detached PKCS#7 (CMS `SignedData`, RFC 5652) signatures: the PKCS#7
//! blobs of JCat files (PEM) and HPE `.compsig` files that are DER CMS.
//!
//! A detached signature carries no content: its signer infos sign the
//! `messageDigest` of bytes kept elsewhere (a payload, a part of a
//! package, or the hex checksum text a JCat `Target` blob signs). The
//! digest is either computed here over bytes held in memory (a checksum
//! text) or taken from the single pass over the package
//! ([`Content::Digests`]); the signer info, its signed attributes and the
//! certificate path are checked by `cms_signer` and `x509`, as for
//! Authenticode.
//!
//! Certificate validity periods are not checked unless `--at` asks: fwupd
//! checks JCat payload signatures with time checks off (a firmware signed
//! years ago stays installable), and the report says so. Revocation is
//! not checked. A leaf with an extended key usage must list code signing.

use super::cms_signer::{self, SignedData};
use super::options::At;
use super::x509::{self, EkuRule, Legacy, Purpose, EKU_CODE_SIGNING};
use super::VerifyOptions;
use crate::model::{Algorithm, Check, Outcome};
use base64::Engine as _;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::Decode;
use x509_cert::Certificate;

const PEM_BEGIN: &str = "-----BEGIN PKCS7-----";
const PEM_END: &str = "-----END PKCS7-----";

/// What fwkit says about certificate times when `--at` is not given.
pub(crate) const TIME_NOTE: &str = "certificate validity periods not checked (as fwupd does for payloads; give --at to check them)";

/// A parsed detached signature.
pub(crate) struct Pkcs7 {
    data: SignedData,
}

/// What the signature signs.
pub(crate) enum Content<'a> {
    /// Bytes in memory (a JCat checksum text).
    Bytes(&'a [u8]),
    /// Digests the pass computed over the signed bytes.
    Digests(&'a [(Algorithm, String)]),
}

/// Parse a PEM (`-----BEGIN PKCS7-----`) or DER detached signature.
pub(crate) fn parse(bytes: &[u8]) -> Result<Pkcs7, String> {
    let der = match std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.contains(PEM_BEGIN))
    {
        Some(text) => pem(text)?,
        None => bytes.to_vec(),
    };
    parse_der(&der)
}

/// Parse a DER `ContentInfo` holding a detached `SignedData`.
pub(crate) fn parse_der(der: &[u8]) -> Result<Pkcs7, String> {
    let info = ContentInfo::from_der(der).map_err(|e| format!("not DER CMS: {e}"))?;
    let data = cms_signer::signed_data(&info)?;
    if data.encap_content_info.econtent.is_some() {
        return Err("the SignedData carries its content (fwkit checks detached signatures)".into());
    }
    if data.signer_infos.0.is_empty() {
        return Err("no signer info".to_owned());
    }
    Ok(Pkcs7 { data })
}

fn pem(text: &str) -> Result<Vec<u8>, String> {
    let start = text
        .find(PEM_BEGIN)
        .map(|i| i.saturating_add(PEM_BEGIN.len()))
        .unwrap_or_default();
    let body = text.get(start..).unwrap_or_default();
    let end = body
        .find(PEM_END)
        .ok_or_else(|| "PEM without an END PKCS7 line".to_owned())?;
    let b64: String = body
        .get(..end)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("PEM body is not base64: {e}"))
}

impl Pkcs7 {
    /// The digest algorithms the signer infos need over the content.
    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        let mut out = Vec::new();
        for info in self.data.signer_infos.0.iter() {
            if let Some(a) = super::authenticode::algorithm(&info.digest_alg.oid) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        out
    }

    /// The subject of the first signer's certificate, for reports.
    pub(crate) fn signer_subject(&self) -> String {
        let certs = cms_signer::certificates(&self.data);
        self.data
            .signer_infos
            .0
            .iter()
            .find_map(|i| cms_signer::find_signer(&i.sid, &certs))
            .map(|c| x509::name(c.tbs_certificate().subject()))
            .unwrap_or_else(|| "a signer whose certificate is not in the signature".to_owned())
    }
}

/// Judge `signature` over `content`: `check` (a signature check naming
/// what is covered) gets the outcome and the facts. Every signer info must
/// verify; the signature passes when one chains to a given anchor.
pub(crate) fn check(
    mut check: Check,
    signature: &Pkcs7,
    content: Content<'_>,
    options: &VerifyOptions,
) -> Check {
    if options.anchors.is_empty() {
        check.outcome = Outcome::Info;
        return check.with_detail(format!(
            "PKCS#7 signature by {} present, not checked (give --key with an X.509 certificate)",
            signature.signer_subject()
        ));
    }
    let legacy = match options.allow_legacy_crypto {
        true => Legacy::Allow,
        false => Legacy::Refuse,
    };
    let mut judged: Vec<(Outcome, String)> = Vec::new();
    for info in signature.data.signer_infos.0.iter() {
        judged.push(signer(info, signature, &content, (options, legacy)));
    }
    let worst = [
        Outcome::Failed,
        Outcome::NotRun,
        Outcome::Passed,
        Outcome::Info,
    ]
    .into_iter()
    .find(|o| judged.iter().any(|(j, _)| j == o))
    .unwrap_or(Outcome::NotRun);
    check.outcome = worst;
    let details: Vec<String> = judged.into_iter().map(|(_, d)| d).collect();
    check.with_detail(details.join(" | "))
}

/// The signer info checked over the content: its certificate (embedded,
/// or among the anchors), the digest, the signature over the signed
/// attributes. `Err`: the outcome and why.
fn verify_signer(
    info: &SignerInfo,
    signature: &Pkcs7,
    content: &Content<'_>,
    (anchors, legacy): (&[Certificate], Legacy),
) -> Result<(cms_signer::Signed, Vec<Certificate>), (Outcome, String)> {
    // A signature that does not embed its signer's certificate (what
    // `jcat-tool self-sign` makes) verifies with that certificate given as
    // an anchor; otherwise its signer is unknown, and it is not counted.
    let mut certs = cms_signer::certificates(&signature.data);
    if cms_signer::find_signer(&info.sid, &certs).is_none() {
        match cms_signer::find_signer(&info.sid, anchors) {
            Some(cert) => certs.push(cert.clone()),
            None => return Err((Outcome::Info, format!("PKCS#7 signature by {}, whose certificate is neither in the signature nor among the given anchors; not counted", sid_text(&info.sid)))),
        }
    }
    let content_type = Some(&signature.data.encap_content_info.econtent_type);
    let digest_name = x509::digest_name(&info.digest_alg.oid).unwrap_or("unknown digest");
    let verified = match content {
        Content::Bytes(bytes) => cms_signer::verify(info, &certs, (bytes, content_type), legacy),
        Content::Digests(computed) => {
            let algorithm = super::authenticode::algorithm(&info.digest_alg.oid);
            let value = computed
                .iter()
                .find(|(a, _)| Some(*a) == algorithm)
                .and_then(|(_, v)| super::digest::from_hex(v));
            let Some(value) = value else {
                return Err((
                    Outcome::NotRun,
                    format!("the {digest_name} digest of the signed bytes was not computed ({} digest algorithm)", info.digest_alg.oid),
                ));
            };
            cms_signer::verify_digest(info, &certs, (&value, content_type), legacy)
        }
    };
    match verified {
        Ok(s) => Ok((s, certs)),
        Err(why) => Err((
            why.outcome(),
            format!("PKCS#7 signer info ({digest_name}): {why}"),
        )),
    }
}

/// One signer info: its digest, its signature, its certificate path.
fn signer(
    info: &SignerInfo,
    signature: &Pkcs7,
    content: &Content<'_>,
    (options, legacy): (&VerifyOptions, Legacy),
) -> (Outcome, String) {
    // The anchors' certificates, copied once for this signer info.
    let anchors: Vec<Certificate> = options.anchors.iter().map(|a| a.cert.clone()).collect();
    let (signed, certs) = match verify_signer(info, signature, content, (&anchors, legacy)) {
        Ok(found) => found,
        Err(judged) => return judged,
    };
    let digest_name = x509::digest_name(&info.digest_alg.oid).unwrap_or("unknown digest");
    let tbs = signed.cert.tbs_certificate();
    let mut facts = vec![
        format!("signer {}", x509::name(tbs.subject())),
        format!("issuer {}", x509::name(tbs.issuer())),
        format!("{digest_name}, signed attributes verified"),
    ];
    let at = match judge_time(options.at, signed.claimed_time) {
        Ok(Some((at, why))) => {
            facts.push(format!("certificates judged at {} ({why})", x509::date(at)));
            Some(at)
        }
        Ok(None) => {
            facts.push(TIME_NOTE.to_owned());
            None
        }
        Err(why) => return (Outcome::NotRun, format!("{}; {why}", facts.join("; "))),
    };
    facts.push("revocation not checked".to_owned());
    let purpose = Purpose {
        eku: EKU_CODE_SIGNING,
        eku_rule: EkuRule::IfPresent,
        at,
        legacy,
        pool: &certs,
        anchors: &anchors,
    };
    let outcome = x509::path_outcome(&signed.cert, &purpose, &mut facts);
    (outcome, facts.join("; "))
}

/// Who a signer identifier names, for reports.
fn sid_text(sid: &SignerIdentifier) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => format!(
            "the certificate with serial {} from issuer \"{}\"",
            super::hex(ias.serial_number.as_bytes()),
            x509::name(&ias.issuer)
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => format!(
            "the key with subject key identifier {}",
            super::hex(ski.0.as_bytes())
        ),
    }
}

/// When certificates are judged: not at all by default; `--at` asks.
fn judge_time(at: Option<At>, claimed: Option<u64>) -> Result<Option<(u64, &'static str)>, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match (at, claimed) {
        (None, _) => Ok(None),
        (Some(At::Now), _) => Ok(Some((now, "--at now"))),
        (Some(At::Date(t)), _) => Ok(Some((t, "--at"))),
        (Some(At::SigningTime), Some(t)) => Ok(Some((
            t,
            "--at signing-time: the signer's own signingTime claim",
        ))),
        (Some(At::SigningTime), None) => {
            Err("--at signing-time: the signature carries no signingTime attribute".to_owned())
        }
    }
}
