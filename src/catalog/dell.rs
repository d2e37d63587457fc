//! Dell repository catalogues (`Catalog.xml`, `Catalog.xml.gz`, `Catalog.gz`):
//! the `SoftwareComponent` entries and the facts each one states. Prose in
//! `formats/dell-catalog.md`. Only reads; the checks are in `catalog::run`.

use crate::error::{Error, Result, Setting};
use serde::Serialize;

/// The facts one `SoftwareComponent` states about its package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellComponent {
    /// `identifier` (a GUID).
    pub identifier: Option<String>,
    /// `packageID`.
    pub package_id: Option<String>,
    /// `releaseID`.
    pub release_id: Option<String>,
    /// `hashMD5`, lower-case hex as written.
    pub hash_md5: Option<String>,
    /// `Cryptography/Hash[@algorithm="SHA256"]`, as written.
    pub sha256: Option<String>,
    /// `dateTime`.
    pub date_time: Option<String>,
    /// `releaseDate`.
    pub release_date: Option<String>,
    /// `vendorVersion`.
    pub vendor_version: Option<String>,
    /// `dellVersion`.
    pub dell_version: Option<String>,
    /// `packageType` (`LWXP`, `LW64`, `LLXP`, …).
    pub package_type: Option<String>,
    /// `rebootRequired`.
    pub reboot_required: Option<String>,
    /// `size`, in bytes, as written.
    pub size: Option<String>,
    /// `Name/Display`.
    pub name: Option<String>,
    /// `ComponentType@value` (`FRMW`, `BIOS`, `DRVR`, `APAC`, …).
    pub component_type: Option<String>,
    /// `SupportedSystems/Brand/Model@systemID`.
    pub system_ids: Vec<String>,
    /// `SupportedDevices/Device`.
    pub devices: Vec<DellDevice>,
}

/// One `SupportedDevices/Device` and its `PCIInfo`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellDevice {
    /// `componentID`.
    pub component_id: Option<String>,
    /// `Display`.
    pub name: Option<String>,
    /// Each `PCIInfo` as `vendorID:deviceID:subVendorID:subDeviceID`.
    pub pci: Vec<String>,
}

/// One entry: the raw `path` and what the component states.
#[derive(Debug, Clone)]
pub struct Component {
    /// `path`, exactly as written (validated later, never trusted).
    pub path: String,
    /// Everything else.
    pub facts: DellComponent,
    /// Whether the file must be a package fwkit verifies.
    pub expect: Expect,
}

/// What an entry's file is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A package: it must open and verify (a Dell catalogue lists only these).
    Package,
    /// A plain file (fwkit's own catalogue says it is not a package): its
    /// size and SHA-256 are the whole check.
    PlainFile,
}

/// Most XML nodes in one catalogue (elements, attributes, text).
const MAX_NODES: u32 = 40_000_000;

/// The catalogue's text: UTF-16 (Dell writes its `Catalog.xml` in UTF-16LE
/// with a byte-order mark) or UTF-8.
pub fn text(bytes: &[u8]) -> Result<String> {
    let utf16 = |big: bool, body: &[u8]| -> Result<String> {
        let units = body.chunks_exact(2).map(|pair| match pair {
            [a, b] if big => u16::from_be_bytes([*a, *b]),
            [a, b] => u16::from_le_bytes([*a, *b]),
            _ => 0,
        });
        char::decode_utf16(units)
            .collect::<std::result::Result<String, _>>()
            .map_err(|e| invalid(format!("the catalogue is not valid UTF-16: {e}")))
    };
    match bytes {
        [0xff, 0xfe, body @ ..] => utf16(false, body),
        [0xfe, 0xff, body @ ..] => utf16(true, body),
        [0xef, 0xbb, 0xbf, body @ ..] | body => std::str::from_utf8(body)
            .map(str::to_owned)
            .map_err(|e| invalid(format!("the catalogue is neither UTF-16 nor UTF-8: {e}"))),
    }
}

/// What [`components`] found.
pub struct Parsed {
    /// The path of every `SoftwareComponent`, in document order.
    pub paths: Vec<String>,
    /// The components `keep` kept, in document order, with their index.
    pub kept: Vec<(usize, Component)>,
}

/// Every `SoftwareComponent` of the catalogue `xml`, in document order;
/// `keep(path)` says which ones to keep (a shard).
pub fn components(xml: &str, keep: &dyn Fn(&str) -> bool) -> Result<Parsed> {
    let options = roxmltree::ParsingOptions {
        // Dell catalogues carry no DTD: refusing one refuses entity expansion.
        allow_dtd: false,
        nodes_limit: MAX_NODES,
    };
    let doc = roxmltree::Document::parse_with_options(xml, options)
        .map_err(|e| invalid(format!("the catalogue is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Manifest" {
        return Err(invalid(format!(
            "the root element is <{}>, not a Dell <Manifest>",
            root.tag_name().name()
        )));
    }
    let mut paths = Vec::new();
    let mut kept = Vec::new();
    for node in root
        .children()
        .filter(|n| n.has_tag_name("SoftwareComponent"))
    {
        let Some(path) = node.attribute("path") else {
            return Err(invalid(format!(
                "SoftwareComponent {} (line {}) has no path",
                paths.len().saturating_add(1),
                doc.text_pos_at(node.range().start).row
            )));
        };
        if keep(path) {
            let component = Component {
                path: path.to_owned(),
                facts: facts(node),
                expect: Expect::Package,
            };
            kept.push((paths.len(), component));
        }
        paths.push(path.to_owned());
    }
    Ok(Parsed { paths, kept })
}

fn facts(node: roxmltree::Node) -> DellComponent {
    let attr = |name: &str| node.attribute(name).map(str::to_owned);
    let child = |name: &str| node.children().find(|n| n.has_tag_name(name));
    DellComponent {
        identifier: attr("identifier"),
        package_id: attr("packageID"),
        release_id: attr("releaseID"),
        hash_md5: attr("hashMD5"),
        sha256: child("Cryptography").and_then(sha256_of),
        date_time: attr("dateTime"),
        release_date: attr("releaseDate"),
        vendor_version: attr("vendorVersion"),
        dell_version: attr("dellVersion"),
        package_type: attr("packageType"),
        reboot_required: attr("rebootRequired"),
        size: attr("size"),
        name: child("Name").and_then(display),
        component_type: child("ComponentType")
            .and_then(|n| n.attribute("value"))
            .map(str::to_owned),
        system_ids: child("SupportedSystems")
            .map(|systems| {
                systems
                    .children()
                    .filter(|n| n.has_tag_name("Brand"))
                    .flat_map(|brand| brand.children().filter(|n| n.has_tag_name("Model")))
                    .filter_map(|model| model.attribute("systemID").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        devices: child("SupportedDevices")
            .map(|devices| {
                devices
                    .children()
                    .filter(|n| n.has_tag_name("Device"))
                    .map(device)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// `Cryptography/Hash` whose `algorithm` names SHA-256 (`SHA256`, `sha-256`).
fn sha256_of(crypto: roxmltree::Node) -> Option<String> {
    crypto
        .children()
        .filter(|n| n.has_tag_name("Hash"))
        .find(|n| {
            n.attribute("algorithm")
                .is_some_and(|a| a.replace('-', "").eq_ignore_ascii_case("sha256"))
        })
        .map(|n| n.text().unwrap_or("").trim().to_owned())
}

/// The text of the first `Display` child (Dell writes one per language).
fn display(node: roxmltree::Node) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name("Display"))
        .and_then(|n| n.text())
        .map(|t| t.trim().to_owned())
}

fn device(node: roxmltree::Node) -> DellDevice {
    DellDevice {
        component_id: node.attribute("componentID").map(str::to_owned),
        name: display(node),
        pci: node
            .children()
            .filter(|n| n.has_tag_name("PCIInfo"))
            .map(|pci| {
                ["vendorID", "deviceID", "subVendorID", "subDeviceID"]
                    .map(|a| pci.attribute(a).unwrap_or(""))
                    .join(":")
            })
            .collect(),
    }
}

fn invalid(reason: String) -> Error {
    Error::Invalid {
        setting: Setting::Catalog,
        reason,
    }
}
