//! Time stamps on a CMS signature, carried as unsigned attributes of the
//! signer info: an RFC 3161 time-stamp token (Microsoft's attribute
//! 1.3.6.1.4.1.311.3.3.1) or the legacy Authenticode countersignature
//! (PKCS#9 `countersignature`, 1.2.840.113549.1.9.6). Either signs a
//! digest of the signer's signature value; a stamp verifies when that
//! digest matches, its own signature verifies and the time-stamping
//! authority's certificate chains to a trusted anchor with the
//! time-stamping key usage, valid at the stamped time.

use super::cms_signer;
use super::x509::{self, Legacy, Purpose, EKU_TIME_STAMPING};
use cms::content_info::ContentInfo;
use cms::signed_data::SignerInfo;
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Decode, Reader, SliceReader};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

const RFC3161: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.3.3.1");
const COUNTERSIGNATURE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.6");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// A verified time stamp.
pub(crate) struct Stamp {
    /// Seconds since 1970.
    pub time: u64,
    /// "RFC 3161 time stamp" or "Authenticode countersignature".
    pub kind: &'static str,
    /// The time-stamping authority's certificate subject.
    pub by: String,
}

/// The stamp on `info`, if it carries one: `Ok` when it verifies against
/// `anchors`, `Err` saying why not.
pub(crate) fn stamp(
    info: &SignerInfo,
    certs: &[Certificate],
    anchors: &[Certificate],
    legacy: Legacy,
) -> Option<Result<Stamp, String>> {
    let attrs = info.unsigned_attrs.as_ref()?;
    let signature = info.signature.as_bytes();
    attrs.iter().find_map(|attr| {
        let value = attr.values.iter().next()?;
        let der = der::Encode::to_der(value).ok()?;
        if attr.oid == RFC3161 {
            Some(rfc3161(&der, signature, anchors, legacy))
        } else if attr.oid == COUNTERSIGNATURE {
            Some(countersignature(&der, (signature, certs), anchors, legacy))
        } else {
            None
        }
    })
}

fn countersignature(
    der: &[u8],
    (signature, certs): (&[u8], &[Certificate]),
    anchors: &[Certificate],
    legacy: Legacy,
) -> Result<Stamp, String> {
    let kind = "Authenticode countersignature";
    let info = SignerInfo::from_der(der).map_err(|e| format!("{kind} unreadable: {e}"))?;
    let signed = cms_signer::verify(&info, certs, (signature, None), legacy)
        .map_err(|e| format!("{kind}: {e}"))?;
    let time = signed
        .claimed_time
        .ok_or_else(|| format!("{kind} without a signing time"))?;
    trusted(&signed.cert, (certs, anchors), time, legacy).map_err(|e| format!("{kind}: {e}"))?;
    Ok(Stamp {
        time,
        kind,
        by: x509::name(signed.cert.tbs_certificate().subject()),
    })
}

fn rfc3161(
    der: &[u8],
    signature: &[u8],
    anchors: &[Certificate],
    legacy: Legacy,
) -> Result<Stamp, String> {
    let kind = "RFC 3161 time stamp";
    let info = ContentInfo::from_der(der).map_err(|e| format!("{kind} unreadable: {e}"))?;
    let data = cms_signer::signed_data(&info).map_err(|e| format!("{kind}: {e}"))?;
    let encap = &data.encap_content_info;
    let tst = encap
        .econtent
        .as_ref()
        .filter(|_| encap.econtent_type == TST_INFO)
        .and_then(|c| c.decode_as::<OctetString>().ok())
        .ok_or_else(|| format!("{kind} carries no TSTInfo"))?;
    let certs = cms_signer::certificates(&data);
    let signer = data
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| format!("{kind} has no signer"))?;
    let signed = cms_signer::verify(signer, &certs, (tst.as_bytes(), Some(&TST_INFO)), legacy)
        .map_err(|e| format!("{kind}: {e}"))?;
    let (imprint, time) = tst_info(tst.as_bytes()).map_err(|e| format!("{kind} TSTInfo: {e}"))?;
    let digest = x509::hash(&imprint.0.oid, signature, legacy)?;
    if digest != imprint.1 {
        return Err(format!(
            "{kind} stamps another signature (its message imprint does not match)"
        ));
    }
    trusted(&signed.cert, (&certs, anchors), time, legacy).map_err(|e| format!("{kind}: {e}"))?;
    Ok(Stamp {
        time,
        kind,
        by: x509::name(signed.cert.tbs_certificate().subject()),
    })
}

/// The TSA's certificate chains to an anchor, valid at the stamped time.
fn trusted(
    cert: &Certificate,
    (pool, anchors): (&[Certificate], &[Certificate]),
    at: u64,
    legacy: Legacy,
) -> Result<(), String> {
    let purpose = Purpose {
        eku: EKU_TIME_STAMPING,
        eku_rule: x509::EkuRule::Required,
        at: Some(at),
        legacy,
        pool,
        anchors,
    };
    x509::path(cert, &purpose).map(|_| ()).map_err(|e| match e {
        x509::PathError::Untrusted(why) | x509::PathError::Invalid(why) => why,
    })
}

/// `TSTInfo` (RFC 3161 §2.4.2): the message imprint and `genTime`; the
/// fields after them are not needed.
type Imprint = (AlgorithmIdentifierOwned, Vec<u8>);

fn tst_info(der: &[u8]) -> Result<(Imprint, u64), String> {
    let text = |e: der::Error| e.to_string();
    let mut outer = SliceReader::new(der).map_err(text)?;
    let header = der::Header::decode(&mut outer).map_err(text)?;
    let body = outer.read_slice(header.length()).map_err(text)?;
    let mut r = SliceReader::new(body).map_err(text)?;
    let _version = Int::decode(&mut r).map_err(text)?;
    let _policy: ObjectIdentifier = ObjectIdentifier::decode(&mut r).map_err(text)?;
    let imprint_header = der::Header::decode(&mut r).map_err(text)?;
    let imprint_body = r.read_slice(imprint_header.length()).map_err(text)?;
    let mut ir = SliceReader::new(imprint_body).map_err(text)?;
    let algorithm = AlgorithmIdentifierOwned::decode(&mut ir).map_err(text)?;
    let digest = OctetString::decode(&mut ir).map_err(text)?;
    let _serial = Int::decode(&mut r).map_err(text)?;
    let time = gen_time(&mut r)?;
    Ok(((algorithm, digest.as_bytes().to_vec()), time))
}

/// `genTime`: a GeneralizedTime that may carry fractions of a second
/// (RFC 3161 §2.4.2, `YYYYMMDDhhmmss[.s...]Z`), which `der` refuses; the
/// fraction is dropped.
fn gen_time(r: &mut SliceReader<'_>) -> Result<u64, String> {
    let header = der::Header::decode(r).map_err(|e| e.to_string())?;
    if header.tag() != der::Tag::GeneralizedTime {
        return Err(format!(
            "genTime has tag {}, not GeneralizedTime",
            header.tag()
        ));
    }
    let bytes = r.read_slice(header.length()).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(bytes).map_err(|_| "genTime is not text".to_owned())?;
    let whole = text
        .strip_suffix('Z')
        .map(|t| t.split('.').next().unwrap_or(t))
        .filter(|t| t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("genTime {text:?} is not YYYYMMDDhhmmss[.f]Z"))?;
    let field = |from: usize, to: usize| -> Result<u16, String> {
        whole
            .get(from..to)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("genTime {text:?} unreadable"))
    };
    let narrow = |v: u16| u8::try_from(v).map_err(|_| format!("genTime {text:?} out of range"));
    let time = der::DateTime::new(
        field(0, 4)?,
        narrow(field(4, 6)?)?,
        narrow(field(6, 8)?)?,
        narrow(field(8, 10)?)?,
        narrow(field(10, 12)?)?,
        narrow(field(12, 14)?)?,
    )
    .map_err(|e| format!("genTime {text:?}: {e}"))?;
    Ok(time.unix_duration().as_secs())
}
