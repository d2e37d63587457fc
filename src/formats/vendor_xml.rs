//! Vendor metadata readers: HP `cpq_package` XML, HPE `payload.json`, NetApp SP
//! `Metadata`, Dell `package.xml`, and the XML helpers they share.
//!
//! All of it is untrusted text, shown to the user and never acted on.

use crate::model::{
    DellDevice, DellPackage, DellSystem, HpComponent, HpDevice, HpImage, HpeFwpkg, NetappSp, PciIds,
};
/// Largest metadata XML fwkit parses.
pub(crate) const MAX_XML: usize = 1 << 20;

/// The first child element named `tag` (ASCII case-insensitive).
pub(crate) fn child<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    tag: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(tag))
}

/// Every child element named `tag` (ASCII case-insensitive).
pub(crate) fn children<'a, 'i: 'a>(
    node: roxmltree::Node<'a, 'i>,
    tag: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(tag))
}

/// The trimmed text of an element, at most 500 characters (it is shown, never
/// acted on); `None` when empty.
pub(crate) fn text(node: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
    let text: String = node?
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(500).collect())
}

fn attr(node: Option<roxmltree::Node<'_, '_>>, name: &str) -> Option<String> {
    node?.attribute(name).map(str::to_owned)
}

fn parse_xml(bytes: &[u8]) -> Option<roxmltree::Document<'_>> {
    if bytes.len() > MAX_XML {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    roxmltree::Document::parse(text.trim_start_matches('\u{feff}').trim()).ok()
}

/// Parse an HP `cpq_package` XML; `None` when it is not one.
pub(crate) fn parse_hp_component(source: &str, bytes: &[u8]) -> Option<HpComponent> {
    let doc = parse_xml(bytes)?;
    let root = doc.root_element();
    if root.tag_name().name() != "cpq_package" {
        return None;
    }
    let version = child(root, "version");
    let name = child(root, "name").and_then(|n| {
        children(n, "name_xlate").find(|x| {
            x.attribute("lang")
                .is_none_or(|l| l.eq_ignore_ascii_case("en"))
        })
    });
    let date = child(root, "release_date").and_then(|d| {
        let year = d.attribute("year")?;
        let month = d.attribute("month").unwrap_or("1");
        let day = d.attribute("day").unwrap_or("1");
        Some(format!("{year}-{month:0>2}-{day:0>2}"))
    });
    let (products, other_products) = hp_products(root);
    let devices = child(root, "payload")
        .and_then(|p| child(p, "Devices"))
        .map(|d| children(d, "Device").map(parse_hp_device).collect())
        .unwrap_or_default();
    Some(HpComponent {
        source: source.to_owned(),
        filename: text(child(root, "filename")),
        name: text(name),
        version: attr(version, "value"),
        revision: attr(version, "revision"),
        type_of_change: attr(version, "type_of_change"),
        release_date: date,
        products,
        other_products,
        devices,
    })
}

/// The `rom` of each `products/product`, and the attributes of those
/// without one (at most [`MAX_LISTED`] of each).
fn hp_products(root: roxmltree::Node<'_, '_>) -> (Vec<String>, Vec<String>) {
    let mut roms = Vec::new();
    let mut others = Vec::new();
    let Some(products) = child(root, "products") else {
        return (roms, others);
    };
    for product in children(products, "product").take(MAX_LISTED) {
        match product.attribute("rom") {
            Some(rom) => roms.push(rom.chars().take(100).collect()),
            None => others.push(
                product
                    .attributes()
                    .map(|a| format!("{}=\"{}\"", a.name(), a.value()))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(200)
                    .collect(),
            ),
        }
    }
    (roms, others)
}

/// The most systems, devices or products read from one metadata file.
const MAX_LISTED: usize = 1024;

fn parse_hp_device(device: roxmltree::Node<'_, '_>) -> HpDevice {
    HpDevice {
        name: text(child(device, "DeviceName")),
        target: text(child(device, "Target")),
        version: text(child(device, "Version")),
        images: children(device, "FirmwareImages")
            .map(|image| HpImage {
                file_name: text(child(image, "FileName")),
                reset_required: text(child(image, "ResetRequired")),
                direct_flash_ok: text(child(image, "DirectFlashOk")),
                uefi_flashable: text(child(image, "UefiFlashable")),
                install_duration_sec: text(child(image, "InstallDurationSec")),
            })
            .collect(),
    }
}

/// Parse an HPE `payload.json`; `None` when it is not JSON.
pub(crate) fn parse_fwpkg(bytes: &[u8]) -> Option<HpeFwpkg> {
    use serde_json::Value;
    if bytes.len() > MAX_XML {
        return None;
    }
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let string = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let field = |v: &Value, name: &str| {
        v.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| string(v))
    };
    let list = |v: Option<&Value>| -> Vec<Value> {
        match v {
            Some(Value::Array(items)) => items.clone(),
            Some(other @ Value::Object(_)) => vec![other.clone()],
            _ => Vec::new(),
        }
    };
    let updatable_by = match doc.get("UpdatableBy") {
        Some(Value::Array(items)) => items.iter().filter_map(string).collect(),
        Some(other) => string(other).into_iter().collect(),
        None => Vec::new(),
    };
    let devices = list(doc.get("Devices").and_then(|d| d.get("Device")))
        .iter()
        .map(|d| HpDevice {
            name: field(d, "DeviceName"),
            target: field(d, "Target"),
            version: field(d, "Version"),
            images: list(d.get("FirmwareImages"))
                .iter()
                .map(|i| HpImage {
                    file_name: field(i, "FileName"),
                    reset_required: field(i, "ResetRequired"),
                    direct_flash_ok: field(i, "DirectFlashOk"),
                    uefi_flashable: field(i, "UefiFlashable"),
                    install_duration_sec: field(i, "InstallDurationSec"),
                })
                .collect(),
        })
        .collect();
    Some(HpeFwpkg {
        package_format: field(&doc, "PackageFormat"),
        updatable_by,
        devices,
    })
}

/// Read the version line of a NetApp SP metadata file (format not public:
/// the first line that mentions a version, shown as text).
pub(crate) fn parse_netapp_metadata(source: &str, bytes: &[u8]) -> NetappSp {
    let text = String::from_utf8_lossy(bytes.get(..MAX_XML).unwrap_or(bytes));
    let version = text
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("version"))
        .map(|l| l.trim().chars().take(200).collect());
    NetappSp {
        source: source.to_owned(),
        version,
    }
}

/// Parse a Dell `SoftwareComponent` package XML; `None` when it is not one.
pub(crate) fn parse_dell_package(bytes: &[u8]) -> Option<DellPackage> {
    let doc = parse_xml(bytes)?;
    let root = doc.root_element();
    if root.tag_name().name() != "SoftwareComponent" {
        return None;
    }
    let display = |tag: &str| {
        child(root, tag).and_then(|n| {
            let en = children(n, "Display").find(|d| {
                d.attribute("lang")
                    .is_none_or(|l| l.eq_ignore_ascii_case("en"))
            });
            text(en)
        })
    };
    let get = |name: &str| root.attribute(name).map(str::to_owned);
    Some(DellPackage {
        name: display("Name"),
        package_id: get("packageID"),
        release_id: get("releaseID"),
        vendor_version: get("vendorVersion"),
        dell_version: get("dellVersion"),
        release_date: get("releaseDate"),
        package_type: get("packageType"),
        component_type: attr(child(root, "ComponentType"), "value"),
        reboot_required: get("rebootRequired"),
        systems: dell_systems(root),
        devices: dell_devices(root),
    })
}

/// The English `Display` text of `node`.
fn display(node: roxmltree::Node<'_, '_>) -> Option<String> {
    text(children(node, "Display").find(|d| {
        d.attribute("lang")
            .is_none_or(|l| l.eq_ignore_ascii_case("en"))
    }))
}

/// `SupportedSystems/Brand/Model` with a `systemID`.
fn dell_systems(root: roxmltree::Node<'_, '_>) -> Vec<DellSystem> {
    let Some(systems) = child(root, "SupportedSystems") else {
        return Vec::new();
    };
    children(systems, "Brand")
        .flat_map(|brand| {
            children(brand, "Model").filter_map(move |model| {
                Some(DellSystem {
                    system_id: model
                        .attribute("systemID")?
                        .trim()
                        .chars()
                        .take(64)
                        .collect(),
                    brand: display(brand),
                    model: display(model),
                })
            })
        })
        .take(MAX_LISTED)
        .collect()
}

/// `SupportedDevices/Device`: `componentID`, name, `PCIInfo`.
fn dell_devices(root: roxmltree::Node<'_, '_>) -> Vec<DellDevice> {
    let Some(devices) = child(root, "SupportedDevices") else {
        return Vec::new();
    };
    let id = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.attribute(name)
            .map(|v| v.trim().chars().take(64).collect::<String>())
    };
    children(devices, "Device")
        .take(MAX_LISTED)
        .map(|device| DellDevice {
            component_id: id(device, "componentID"),
            name: display(device),
            pci: child(device, "PCIInfo").map(|pci| PciIds {
                vendor: id(pci, "vendorID"),
                device: id(pci, "deviceID"),
                subsystem_vendor: id(pci, "subVendorID"),
                subsystem_device: id(pci, "subDeviceID"),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hp_component_fields() {
        let xml = br#"<?xml version="1.0"?>
<cpq_package version="2.0"><filename>CP1.scexe</filename>
<version value="2.10" revision="A" type_of_change="0"/>
<name><name_xlate lang="en">Expander</name_xlate></name>
<release_date year="2026" month="3" day="9"/>
<products><product rom="U30"/></products>
<payload><Devices><Device><DeviceName>SAS</DeviceName><Target>g</Target>
<FirmwareImages><FileName>PUF21000.bin</FileName><ResetRequired>True</ResetRequired></FirmwareImages>
</Device></Devices></payload></cpq_package>"#;
        let c = parse_hp_component("CP1.xml", xml).unwrap();
        assert_eq!(c.name.as_deref(), Some("Expander"));
        assert_eq!(c.version.as_deref(), Some("2.10"));
        assert_eq!(c.release_date.as_deref(), Some("2026-03-09"));
        assert_eq!(c.products, vec!["U30"]);
        assert_eq!(
            c.devices[0].images[0].file_name.as_deref(),
            Some("PUF21000.bin")
        );
        assert!(parse_hp_component("x", b"<other/>").is_none());
    }

    #[test]
    fn xml_with_a_dtd_is_refused() {
        let xml = br#"<!DOCTYPE a [<!ENTITY x "yyyy">]><cpq_package>&x;</cpq_package>"#;
        // roxmltree expands a small internal entity; what matters is no external fetch
        // and bounded expansion, so either outcome is acceptable but it must not panic.
        let _ = parse_hp_component("x", xml);
    }
}
