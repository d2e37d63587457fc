//! Vendor metadata: what a package says about itself.
//!
//! All of it is untrusted text, shown to the user and never acted on.

use serde::Serialize;

/// Metadata found in a package's header or members.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum VendorInfo {
    /// The variables of a makeself header.
    Makeself(MakeselfInfo),
    /// An HP `cpq_package` component XML.
    HpComponent(HpComponent),
    /// A Dell update package's `package.xml`.
    DellPackage(DellPackage),
    /// The PE wrapper of a self-extracting package.
    Pe(PeInfo),
    /// An HPE `.fwpkg`'s `payload.json`.
    HpeFwpkg(HpeFwpkg),
    /// A NetApp Service Processor package's `RLM_FW/install/Metadata`.
    NetappSp(NetappSp),
    /// One release of an LVFS cabinet's `*.metainfo.xml`.
    Lvfs(LvfsRelease),
    /// The signed `provides`/`requires` of a package fwkit built.
    Fwkit(FwkitRelease),
}

impl VendorInfo {
    /// The version of the firmware the package installs, as this metadata
    /// states it. `None` where it names none: a makeself header's version
    /// is makeself's own, and a PE wrapper carries no firmware version.
    pub fn release_version(&self) -> Option<&str> {
        match self {
            VendorInfo::HpComponent(c) => c
                .version
                .as_deref()
                .or_else(|| c.devices.iter().find_map(|d| d.version.as_deref())),
            VendorInfo::DellPackage(p) => p.vendor_version.as_deref(),
            VendorInfo::HpeFwpkg(p) => p.devices.iter().find_map(|d| d.version.as_deref()),
            VendorInfo::NetappSp(s) => s.version.as_deref(),
            VendorInfo::Lvfs(r) => r.version.as_deref(),
            VendorInfo::Fwkit(r) => Some(r.version.as_str()),
            VendorInfo::Makeself(_) | VendorInfo::Pe(_) => None,
        }
    }
}

/// What a fwkit manifest says a package applies to (`fwkit pack
/// --provides … --requires …`), under the manifest's signature.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FwkitRelease {
    /// The manifest's `name`.
    pub name: String,
    /// The manifest's `version`: the version the package installs.
    pub version: String,
    /// `provides` lines: device GUIDs.
    pub provides: Vec<String>,
    /// `requires` lines: `<compare> <version> [<GUID>]`.
    pub requires: Vec<String>,
}

/// One release an LVFS cabinet's metainfo file declares.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LvfsRelease {
    /// The metainfo member it came from.
    pub source: String,
    /// The component's `<id>`, e.g. `com.example.Device.firmware`.
    pub component_id: Option<String>,
    /// The component's `<name>` (untranslated).
    pub name: Option<String>,
    /// `<release version>`.
    pub version: Option<String>,
    /// `<release date>`, or `@` and the `timestamp`.
    pub date: Option<String>,
    /// The payload member the release installs.
    pub payload: String,
    /// `<size type="installed">`, as declared.
    pub installed_size: Option<String>,
    /// Device GUIDs from `<provides><firmware type="flashed">`.
    pub devices: Vec<String>,
    /// The component's `<requires>` children, as declared (`fwkit plan`
    /// evaluates them).
    pub requires: Vec<LvfsRequire>,
}

/// One child of a metainfo `<requires>`: `<firmware>`, `<hardware>`,
/// `<not_hardware>`, `<id>`, `<client>`…, its attributes and text as written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LvfsRequire {
    /// The element's name, e.g. `firmware`.
    pub element: String,
    /// `compare`, e.g. `ge`.
    pub compare: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// The text: another device's GUID, HWIDs joined by `|`, a feature.
    pub text: Option<String>,
    /// `depth` (a parent or child device).
    pub depth: Option<String>,
}

/// What an HPE `.fwpkg`'s `payload.json` declares.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HpeFwpkg {
    /// `PackageFormat`, e.g. `FWPKG-v2`.
    pub package_format: Option<String>,
    /// `UpdatableBy`: `Bmc`, `Uefi`, `RuntimeAgent`.
    pub updatable_by: Vec<String>,
    /// `Devices.Device[]`.
    pub devices: Vec<HpDevice>,
}

/// What a NetApp SP package's metadata file says.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetappSp {
    /// The member the metadata came from.
    pub source: String,
    /// The first line naming a version.
    pub version: Option<String>,
}

/// What the PE headers of a wrapped package say.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeInfo {
    /// Target machine, e.g. `X86_64`.
    pub machine: String,
    /// Sections and the file bytes of their raw data.
    pub sections: Vec<PeSection>,
    /// Bytes after the last section (before a trailing certificate table).
    pub overlay: (u64, u64),
    /// An Authenticode certificate table is present (not checked).
    pub authenticode: bool,
}

/// One PE section.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeSection {
    /// Section name.
    pub name: String,
    /// File bytes of its raw data.
    pub range: (u64, u64),
}

/// What a makeself header declares.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MakeselfInfo {
    /// Makeself version from the header comment.
    pub version: Option<String>,
    /// How the payload offset was found: `skip="N"`, `head -n N`, `tail +N`, `1.x skip=N`.
    pub offset_rule: String,
    /// The `label` text.
    pub label: Option<String>,
    /// The startup script (never run by fwkit).
    pub script: Option<String>,
    /// Its arguments.
    pub script_args: Option<String>,
    /// The target directory name.
    pub target_dir: Option<String>,
    /// The `Compression:` the header announces.
    pub compression: Option<String>,
    /// Chunk sizes from `filesizes`.
    pub filesizes: Vec<u64>,
    /// A gpg signature is embedded.
    pub signed: bool,
    /// The declared decrypt command (never run by fwkit).
    pub decrypt_cmd: Option<String>,
}

/// An HP smart component's `cpq_package` XML.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HpComponent {
    /// The member the XML came from.
    pub source: String,
    /// `<filename>`.
    pub filename: Option<String>,
    /// English name.
    pub name: Option<String>,
    /// `version@value`.
    pub version: Option<String>,
    /// `version@revision`.
    pub revision: Option<String>,
    /// `version@type_of_change`.
    pub type_of_change: Option<String>,
    /// Release date, `YYYY-MM-DD`.
    pub release_date: Option<String>,
    /// `products/product@rom` values.
    pub products: Vec<String>,
    /// `products/product` elements without a `rom` attribute, as their
    /// attributes (`name="value" …`): read, not evaluated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_products: Vec<String>,
    /// Devices from `payload/Devices`.
    pub devices: Vec<HpDevice>,
}

/// One device an HP component updates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HpDevice {
    /// `DeviceName`.
    pub name: Option<String>,
    /// `Target` GUID.
    pub target: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// Firmware images.
    pub images: Vec<HpImage>,
}

/// One firmware image of an HP device.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HpImage {
    /// `FileName`.
    pub file_name: Option<String>,
    /// `ResetRequired`.
    pub reset_required: Option<String>,
    /// `DirectFlashOk`.
    pub direct_flash_ok: Option<String>,
    /// `UefiFlashable`.
    pub uefi_flashable: Option<String>,
    /// `InstallDurationSec`.
    pub install_duration_sec: Option<String>,
}

/// A Dell update package's `SoftwareComponent` XML.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellPackage {
    /// English display name.
    pub name: Option<String>,
    /// `packageID`.
    pub package_id: Option<String>,
    /// `releaseID`.
    pub release_id: Option<String>,
    /// `vendorVersion`.
    pub vendor_version: Option<String>,
    /// `dellVersion`.
    pub dell_version: Option<String>,
    /// `releaseDate`.
    pub release_date: Option<String>,
    /// `packageType`.
    pub package_type: Option<String>,
    /// `ComponentType@value`.
    pub component_type: Option<String>,
    /// `rebootRequired`.
    pub reboot_required: Option<String>,
    /// `SupportedSystems/Brand/Model`: the systems it is for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<DellSystem>,
    /// `SupportedDevices/Device`: the devices it updates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DellDevice>,
}

/// One `SupportedSystems/Brand/Model` of a Dell package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellSystem {
    /// `Model@systemID`, e.g. `0639`.
    pub system_id: String,
    /// The brand's English display name, e.g. `PowerEdge`.
    pub brand: Option<String>,
    /// The model's English display name, e.g. `R730`.
    pub model: Option<String>,
}

/// One `SupportedDevices/Device` of a Dell package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellDevice {
    /// `Device@componentID`.
    pub component_id: Option<String>,
    /// The English display name.
    pub name: Option<String>,
    /// `PCIInfo`, for PCI devices.
    pub pci: Option<PciIds>,
}

/// PCI identifiers as a package declares them (hexadecimal text).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PciIds {
    /// `vendorID`.
    pub vendor: Option<String>,
    /// `deviceID`.
    pub device: Option<String>,
    /// `subVendorID`.
    pub subsystem_vendor: Option<String>,
    /// `subDeviceID`.
    pub subsystem_device: Option<String>,
}
