//! The applicability a fwkit manifest signs (`provides`, `requires`),
//! reported as vendor metadata so `fwkit plan` reads it like any vendor's.

use crate::model::{FwkitRelease, MemberName, VendorInfo};
use crate::verify::fwkit_manifest::{FwkitManifest, MANIFEST_NAME};

/// The release the top-level `FWKIT-MANIFEST` declares, when it declares
/// `provides` or `requires` and parses (an unreadable one is already a
/// failed check).
pub(super) fn read(captured: &[(MemberName, Vec<u8>)]) -> Option<VendorInfo> {
    let (_, bytes) = captured.iter().find(|(n, _)| n.as_str() == MANIFEST_NAME)?;
    let manifest = FwkitManifest::parse(bytes).ok()?;
    if manifest.provides.is_empty() && manifest.requires.is_empty() {
        return None;
    }
    Some(VendorInfo::Fwkit(FwkitRelease {
        name: manifest.name,
        version: manifest.version,
        provides: manifest.provides,
        requires: manifest.requires,
    }))
}
