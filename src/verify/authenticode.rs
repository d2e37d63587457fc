//! Authenticode signatures of PE images (HPE `cp*.exe`, Dell `.EXE`, EFI
//! applications), checked against X.509 trust anchors.
//!
//! The image digest is "whole file except checksum field, security
//! directory entry, certificate table", hashed in file order, as signers
//! and `osslsigncode` compute it for a PE whose certificate table is at
//! the end (bytes after the table already fail the PE structure check).
//! It is one [`RangeDigest`] with holes, computed in the single pass
//! beside the other digests.
//!
//! Each signature (every `WIN_CERTIFICATE` entry and every nested
//! signature, `1.3.6.1.4.1.311.2.4.1`) is a CMS SignedData whose content
//! is `SpcIndirectDataContent`, holding the image digest. A signature
//! passes when the computed image digest equals it, the signer info
//! verifies over that content, and the signer's certificate chains to a
//! given anchor with the code-signing key usage, judged at the verified
//! time stamp's time (else now, or as `--at` says). Revocation is not
//! checked.

use super::cms_signer;
use super::cms_signer::SignedData;
use super::options::At;
use super::timestamp::{self, Stamp};
use super::x509::{self, Legacy, Purpose, EKU_CODE_SIGNING};
use super::VerifyOptions;
use crate::model::{
    Algorithm, ByteRange, Check, CheckKind, Outcome, RangeDigest, Signer, SignerId,
};
use cms::content_info::ContentInfo;
use cms::signed_data::SignerInfo;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Sequence};
use spki::AlgorithmIdentifierOwned;

/// What the image digest covers, as the report says it.
pub(crate) const COVERS: &str =
    "whole file except checksum field, security directory entry, certificate table";

const SPC_INDIRECT_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.4");
const NESTED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.4.1");
/// `WIN_CERT_TYPE_PKCS_SIGNED_DATA`.
const PKCS_SIGNED_DATA: u16 = 2;

/// A PE's certificate table, as the PE reader found it.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Its place in the file (the data directory's offset and size).
    pub range: ByteRange,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The checksum field and the certificate table's directory entry.
    pub skip: Vec<ByteRange>,
    /// Checks that stand when no anchor is given: "present, not checked",
    /// and a missing payload (a signed image with no zip after it).
    pub without_anchors: Vec<Check>,
}

/// `SpcIndirectDataContent` (Authenticode specification).
#[derive(Sequence)]
struct SpcIndirectDataContent {
    data: SpcAttributeTypeAndOptionalValue,
    message_digest: DigestInfo,
}

#[derive(Sequence)]
struct SpcAttributeTypeAndOptionalValue {
    kind: ObjectIdentifier,
    #[asn1(optional = "true")]
    value: Option<der::Any>,
}

#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// One signature found in the table.
struct Found {
    data: SignedData,
    /// The image digest it claims, and its algorithm.
    claimed: (ObjectIdentifier, Vec<u8>),
    /// The `SpcIndirectDataContent` value bytes the signer info signs.
    content: Vec<u8>,
}

/// Every signature in the table, in order (nested ones after the one
/// that carries them); an entry that cannot be read is an `Err`.
fn signatures(table: &Table) -> Vec<Result<Found, String>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let bytes = &table.bytes;
    while let Some(head) = bytes.get(at..at.saturating_add(8)) {
        let length = head
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes);
        let kind = head
            .get(6..8)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map_or(0, u16::from_le_bytes);
        let end = usize::try_from(length).map_or(usize::MAX, |l| at.saturating_add(l));
        let Some(body) = bytes.get(at.saturating_add(8)..end).filter(|_| length >= 8) else {
            out.push(Err(format!(
                "certificate table entry at byte {} has length {length}, outside the table",
                table.range.0.saturating_add(at as u64)
            )));
            break;
        };
        if kind == PKCS_SIGNED_DATA {
            collect(body, &mut out, 0);
        } else {
            out.push(Err(format!(
                "certificate table entry of type {kind:#x}, not PKCS#7 signed data"
            )));
        }
        // Entries are 8-byte aligned.
        at = end.saturating_add(7) & !7;
    }
    out
}

/// The signature in `der` (trailing zero padding allowed) and its nested
/// signatures.
fn collect(der: &[u8], out: &mut Vec<Result<Found, String>>, depth: u8) {
    let found = read_signature(der);
    let nested: Vec<Vec<u8>> = match &found {
        Ok(f) => f
            .data
            .signer_infos
            .0
            .iter()
            .filter_map(|s| s.unsigned_attrs.as_ref())
            .flat_map(|a| a.iter())
            .filter(|a| a.oid == NESTED)
            .flat_map(|a| a.values.iter())
            .filter_map(|v| der::Encode::to_der(v).ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.push(found);
    if depth < 2 {
        for inner in nested {
            collect(&inner, out, depth.saturating_add(1));
        }
    }
}

fn read_signature(der: &[u8]) -> Result<Found, String> {
    let mut reader = der::SliceReader::new(der).map_err(|e| e.to_string())?;
    let info = ContentInfo::decode(&mut reader).map_err(|e| format!("not CMS: {e}"))?;
    let data = cms_signer::signed_data(&info)?;
    let encap = &data.encap_content_info;
    if encap.econtent_type != SPC_INDIRECT_DATA {
        return Err(format!(
            "signed content is {}, not SpcIndirectDataContent",
            encap.econtent_type
        ));
    }
    let content = encap
        .econtent
        .as_ref()
        .ok_or_else(|| "SpcIndirectDataContent missing".to_owned())?;
    let spc: SpcIndirectDataContent = content
        .decode_as()
        .map_err(|e| format!("SpcIndirectDataContent unreadable: {e}"))?;
    let _ = (&spc.data.kind, &spc.data.value);
    Ok(Found {
        claimed: (
            spc.message_digest.algorithm.oid,
            spc.message_digest.digest.as_bytes().to_vec(),
        ),
        // The signer signs the content's value, without its tag and length.
        content: content.value().to_vec(),
        data,
    })
}

/// The digest algorithm an OID names, among those the pass computes.
pub(crate) fn algorithm(oid: &ObjectIdentifier) -> Option<Algorithm> {
    match x509::digest_name(oid)? {
        "SHA-1" => Some(Algorithm::Sha1),
        "SHA-256" => Some(Algorithm::Sha256),
        "SHA-512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

/// The image digests the signatures in `table` claim, one per algorithm,
/// over a file of `len` bytes: computed in the pass.
pub(crate) fn image_digests(table: &Table, len: u64) -> Vec<RangeDigest> {
    let mut digests: Vec<RangeDigest> = Vec::new();
    for found in signatures(table).into_iter().flatten() {
        let Some(algorithm) = algorithm(&found.claimed.0) else {
            continue;
        };
        if digests.iter().any(|d| d.algorithm == algorithm) {
            continue;
        }
        digests.push(RangeDigest {
            range: (0, len.min(table.range.0)),
            skip: table.skip.clone(),
            algorithm,
            expected: super::hex(&found.claimed.1),
            covers: format!("Authenticode image digest ({COVERS})"),
            kind: CheckKind::Signature,
            suffix: Vec::new(),
        });
    }
    digests
}

/// Take the image digests the pass computed out of `checks` (they are
/// inputs to the signature checks, not checks of their own).
pub(crate) fn take_computed(checks: &mut Vec<Check>) -> Vec<(Algorithm, String)> {
    let (mine, rest): (Vec<Check>, Vec<Check>) =
        std::mem::take(checks).into_iter().partition(|c| {
            c.kind == CheckKind::Signature && c.covers.starts_with("Authenticode image digest")
        });
    *checks = rest;
    mine.into_iter()
        .filter_map(|c| Some((c.algorithm?, c.computed?)))
        .collect()
}

/// One check per signature in `table`; the flag says whether it passed
/// and covers the whole package.
pub(crate) fn checks(
    table: &Table,
    computed: &[(Algorithm, String)],
    options: &VerifyOptions,
) -> Vec<(Check, bool)> {
    let legacy = match options.allow_legacy_crypto {
        true => Legacy::Allow,
        false => Legacy::Refuse,
    };
    signatures(table)
        .into_iter()
        .enumerate()
        .map(|(i, found)| {
            let covers = format!("{COVERS} (Authenticode signature {})", i.saturating_add(1));
            let check = Check::new(CheckKind::Signature, covers, Outcome::NotRun)
                .with_range((0, table.range.0));
            let check = match found {
                Ok(found) => one(check, &found, computed, (options, legacy)),
                Err(why) => check.with_detail(format!("unreadable signature: {why}")),
            };
            let whole = check.outcome == Outcome::Passed;
            (check, whole)
        })
        .collect()
}

fn one(
    mut check: Check,
    found: &Found,
    computed: &[(Algorithm, String)],
    (options, legacy): (&VerifyOptions, Legacy),
) -> Check {
    let expected = super::hex(&found.claimed.1);
    check.expected = Some(expected.clone());
    let digest_name = x509::digest_name(&found.claimed.0).unwrap_or("unknown digest");
    let Some(algorithm) = algorithm(&found.claimed.0) else {
        return check.with_detail(format!(
            "image digest algorithm {} not supported",
            found.claimed.0
        ));
    };
    check.algorithm = Some(algorithm);
    if algorithm == Algorithm::Sha1 && legacy == Legacy::Refuse {
        return check
            .with_detail("SHA-1 image digest refused (give --allow-legacy-crypto to accept it)");
    }
    let Some((_, value)) = computed.iter().find(|(a, _)| *a == algorithm) else {
        return check.with_detail("the image digest was not computed");
    };
    check.computed = Some(value.clone());
    if *value != expected {
        check.outcome = Outcome::Failed;
        return check.with_detail(format!(
            "the {digest_name} image digest does not match the signed one: the file changed after signing"
        ));
    }
    let Some(signer) = found.data.signer_infos.0.iter().next() else {
        return check.with_detail("no signer info");
    };
    signer_check(check, found, signer, (options, legacy))
}

/// The signer info, the time stamp and the certificate path.
fn signer_check(
    mut check: Check,
    found: &Found,
    signer: &SignerInfo,
    (options, legacy): (&VerifyOptions, Legacy),
) -> Check {
    let certs = cms_signer::certificates(&found.data);
    let signed = match cms_signer::verify(
        signer,
        &certs,
        (&found.content, Some(&SPC_INDIRECT_DATA)),
        legacy,
    ) {
        Ok(s) => s,
        Err(why) => {
            check.outcome = match why.outcome() {
                Outcome::Failed => Outcome::Failed,
                _ => check.outcome,
            };
            return check.with_detail(why.to_string());
        }
    };
    let anchors: Vec<x509_cert::Certificate> =
        options.anchors.iter().map(|a| a.cert.clone()).collect();
    let stamp = timestamp::stamp(signer, &certs, &anchors, legacy);
    let tbs = signed.cert.tbs_certificate();
    let mut facts = vec![
        format!("signer {}", x509::name(tbs.subject())),
        format!("issuer {}", x509::name(tbs.issuer())),
        format!("serial {}", super::hex(tbs.serial_number().as_bytes())),
        format!(
            "digest {}",
            x509::digest_name(&signer.digest_alg.oid).unwrap_or("?")
        ),
        signing_time(stamp.as_ref(), signed.claimed_time),
    ];
    let (at, judged) = match judge_time(options.at, stamp.as_ref(), signed.claimed_time) {
        Ok(t) => t,
        Err(why) => {
            facts.push(why);
            return check.with_detail(facts.join("; "));
        }
    };
    facts.push(format!(
        "certificates judged at {} ({judged})",
        x509::date(at)
    ));
    facts.push("revocation not checked".to_owned());
    let purpose = Purpose {
        eku: EKU_CODE_SIGNING,
        eku_rule: x509::EkuRule::Required,
        at: Some(at),
        legacy,
        pool: &certs,
        anchors: &anchors,
    };
    check.outcome = x509::path_outcome(&signed.cert, &purpose, &mut facts);
    if check.outcome == Outcome::Passed {
        check.signer = Some(Box::new(leaf(&signed.cert)));
    }
    check.with_detail(facts.join("; "))
}

/// The identity of the signing certificate that chained to an anchor.
fn leaf(cert: &x509_cert::Certificate) -> Signer {
    use sha2::Digest as _;
    let tbs = cert.tbs_certificate();
    let sha256 = der::Encode::to_der(cert)
        .map(|der| super::hex(&sha2::Sha256::digest(der)))
        .unwrap_or_default();
    Signer {
        id: SignerId::X509 {
            subject: x509::name(tbs.subject()),
            issuer: x509::name(tbs.issuer()),
            sha256,
        },
        whole_package: false,
    }
}

fn signing_time(stamp: Option<&Result<Stamp, String>>, claimed: Option<u64>) -> String {
    match (stamp, claimed) {
        (Some(Ok(s)), _) => format!(
            "signed at {} ({} by {}, verified)",
            x509::date(s.time),
            s.kind,
            s.by
        ),
        (Some(Err(why)), _) => format!("time stamp not verified: {why}"),
        (None, Some(t)) => format!(
            "signing time {} claimed by the signer (signingTime attribute), not verified",
            x509::date(t)
        ),
        (None, None) => "no time stamp".to_owned(),
    }
}

/// The time certificates are judged at, and why.
fn judge_time(
    at: Option<At>,
    stamp: Option<&Result<Stamp, String>>,
    claimed: Option<u64>,
) -> Result<(u64, &'static str), String> {
    let verified = stamp.and_then(|s| s.as_ref().ok()).map(|s| s.time);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match (at, verified, claimed) {
        (None, Some(t), _) => Ok((t, "signing time, from the verified time stamp")),
        (None, None, _) | (Some(At::Now), _, _) => Ok((now, "now")),
        (Some(At::Date(t)), _, _) => Ok((t, "--at")),
        (Some(At::SigningTime), Some(t), _) => {
            Ok((t, "signing time, from the verified time stamp"))
        }
        (Some(At::SigningTime), None, Some(t)) => Ok((
            t,
            "--at signing-time: the signer's own signingTime claim, no verified time stamp",
        )),
        (Some(At::SigningTime), None, None) => Err(
            "--at signing-time: the signature carries no time stamp and no signingTime attribute"
                .to_owned(),
        ),
    }
}
