//! Vendor rules on top of any container, run after the pass: an HPE
//! `.fwpkg` (`payload.json`), a NetApp SP package, HP `cpq_package` XML, an
//! LVFS cabinet's metainfo and JCat files, and the stub of a self-extractor
//! fwkit packed. A new vendor rule goes here (or, when it needs a parser, in
//! `formats/` with a call from here).

use crate::detect::{lines, FormatKind};
use crate::error::{Error, Result};
use crate::formats::{cab, fwkit_sfx, vendor_xml, Layout};
use crate::input::Input;
use crate::model::{
    Algorithm, Check, CheckKind, Member, MemberKind, MemberName, Outcome, VendorInfo,
};
use crate::pass::Capture;
use crate::verify::fwkit_manifest::{FwkitManifest, MANIFEST_NAME};
use std::path::Path;

/// What the pass kept that vendor rules read, and where their results go.
pub(super) struct Findings<'a> {
    pub captured: &'a [(MemberName, Vec<u8>)],
    pub members: &'a [Member],
    pub vendor: &'a mut Vec<VendorInfo>,
    pub checks: &'a mut Vec<Check>,
    pub options: &'a crate::verify::VerifyOptions,
    /// Signature checks for the policy, each flagged when it passed and
    /// covers the whole package (an LVFS cabinet's JCat signatures).
    pub signatures: Vec<(Check, bool)>,
}

/// Every vendor rule that applies to a package at `path` with `layout`.
pub(super) fn apply(path: &Path, layout: &Layout, found: &mut Findings<'_>) {
    found
        .vendor
        .extend(super::fwkit_release::read(found.captured));
    fwpkg_and_netapp(found);
    // The format is detected by content; the name can only make fwkit
    // stricter: a file called *.fwpkg must carry HPE's component metadata.
    let named_fwpkg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("fwpkg"));
    let has_payload_json = found
        .captured
        .iter()
        .any(|(n, _)| n.as_str().eq_ignore_ascii_case("payload.json"));
    if named_fwpkg && !has_payload_json {
        found.checks.push(Check::failed(
            CheckKind::Structure,
            "payload.json",
            "an HPE .fwpkg must carry payload.json (its component metadata); this one does not",
        ));
    }
    if layout.format == FormatKind::Cab {
        let signatures = cab::lvfs_checks(
            found.captured,
            found.members,
            (found.vendor, found.checks),
            found.options,
        );
        found.signatures.extend(signatures);
    }
    if layout.capture == Capture::TopLevelXml {
        for (name, bytes) in found.captured {
            if let Some(info) = vendor_xml::parse_hp_component(name.as_str(), bytes) {
                found.vendor.push(VendorInfo::HpComponent(info));
            }
        }
    }
}

/// An HPE `.fwpkg` (`payload.json` at the top; every image it lists must be
/// a member) and a NetApp SP package (`RLM_FW/install/Metadata`).
fn fwpkg_and_netapp(found: &mut Findings<'_>) {
    for (name, bytes) in found.captured {
        let lower = name.as_str().to_ascii_lowercase();
        if lower == "payload.json" {
            let Some(fwpkg) = vendor_xml::parse_fwpkg(bytes) else {
                found.checks.push(Check::failed(
                    CheckKind::Structure,
                    "payload.json",
                    "not valid JSON: an HPE .fwpkg needs its component metadata",
                ));
                continue;
            };
            for image in fwpkg.devices.iter().flat_map(|d| &d.images) {
                let Some(file) = &image.file_name else {
                    continue;
                };
                let covers = format!("payload.json image {file}");
                let present = MemberName::parse(file.as_bytes()).ok().is_some_and(|want| {
                    found
                        .members
                        .iter()
                        .any(|m| m.path.as_ref() == Some(&want) && m.kind == MemberKind::File)
                });
                found.checks.push(if present {
                    Check::new(CheckKind::Structure, covers, Outcome::Passed)
                        .with_detail("listed image is a member")
                } else {
                    Check::failed(
                        CheckKind::Structure,
                        covers,
                        "listed image is missing from the package",
                    )
                });
            }
            found.vendor.push(VendorInfo::HpeFwpkg(fwpkg));
        } else if lower.ends_with("rlm_fw/install/metadata") {
            let info = vendor_xml::parse_netapp_metadata(name.as_str(), bytes);
            found.vendor.push(VendorInfo::NetappSp(info));
        }
    }
}

/// For a self-extracting package holding a fwkit manifest: is its stub
/// exactly the one `fwkit pack` writes for that manifest and payload? The
/// stub is the code that runs, and no checksum inside covers it; this makes
/// a signature over the manifest cover the stub too. `None` when the package
/// is not self-extracting or holds no fwkit manifest.
pub(super) fn stub_check(
    input: &Input,
    layout: &Layout,
    captured: &[(MemberName, Vec<u8>)],
) -> Result<Option<Check>> {
    if layout.format != FormatKind::Makeself {
        return Ok(None);
    }
    let Some((_, bytes)) = captured.iter().find(|(n, _)| n.as_str() == MANIFEST_NAME) else {
        return Ok(None);
    };
    let (Ok(manifest), Some(stub_range)) = (
        FwkitManifest::parse(bytes),
        layout.layers.first().map(|l| l.range),
    ) else {
        return Ok(None);
    };
    let covers = "self-extracting stub";
    let stub = input
        .read_at(0, stub_range.1)
        .map_err(|e| Error::read(input.path(), e))?;
    let line2 = lines(&stub).nth(1).unwrap_or_default();
    let version = std::str::from_utf8(line2)
        .ok()
        .and_then(|l| l.strip_prefix(fwkit_sfx::GENERATED_BY))
        .and_then(|rest| rest.split(' ').next());
    let Some(version) = version else {
        return Ok(Some(
            Check::new(CheckKind::Digest, covers, Outcome::Info)
                .with_range(stub_range)
                .with_detail("the stub was not written by fwkit pack; nothing covers it"),
        ));
    };
    let digest = |algorithm: Algorithm| {
        layout
            .digests
            .iter()
            .find(|d| d.algorithm == algorithm)
            .map(|d| d.expected.clone())
    };
    let sha256 = digest(Algorithm::Sha256).unwrap_or_default();
    let cksum = digest(Algorithm::Cksum)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // The makeself layout puts the stub's end at most at the end of the file.
    let payload_len = input.len().saturating_sub(stub_range.1);
    let label = fwkit_sfx::Label {
        name: &manifest.name,
        version: &manifest.version,
        run: manifest.run.as_deref(),
    };
    let expected = fwkit_sfx::expected_stub(
        label,
        fwkit_sfx::Flavour::of(&stub),
        version,
        (payload_len, &sha256, cksum),
    );
    let mut check = Check::new(CheckKind::Digest, covers, Outcome::Passed).with_range(stub_range);
    if expected == stub {
        check.detail = Some(format!(
            "identical to the stub fwkit {version} writes for {MANIFEST_NAME} (name, version, command) and this payload"
        ));
    } else {
        check.outcome = Outcome::Failed;
        check.detail = Some(format!(
            "differs from the stub fwkit {version} writes for {MANIFEST_NAME} (first difference at byte {}): it may run something the manifest does not say",
            expected.iter().zip(&stub).take_while(|(a, b)| a == b).count()
        ));
    }
    Ok(Some(check))
}
