//! The inventory `fwkit plan` plans against: the system and its devices
//! with their current versions (docs/inventory.schema.json). Read strictly:
//! a size cap, serde_json's nesting limit, unknown fields refused, GUIDs and
//! version formats checked, each error naming the line or the device.

use super::version::VersionFormat;
use serde::Deserialize;

/// The largest inventory file read, in bytes.
pub const MAX_INVENTORY: u64 = 4 << 20;
/// The most devices in one inventory.
const MAX_DEVICES: usize = 10_000;

/// The machine and its devices.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    /// The machine.
    pub system: System,
    /// Its updatable devices.
    pub devices: Vec<Device>,
}

/// What identifies the machine itself.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// The manufacturer, e.g. `HP`.
    pub vendor: Option<String>,
    /// The product name.
    pub model: Option<String>,
    /// HP ProLiant system ROM family, e.g. `P62`.
    pub hp_rom_family: Option<String>,
    /// Dell `systemID`, e.g. `0A2B`.
    pub dell_system_id: Option<String>,
    /// fwupd's hardware IDs (CHIDs), lower-case GUIDs.
    #[serde(default)]
    pub hwids: Vec<String>,
}

/// One updatable device.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// A name for people.
    pub name: String,
    #[serde(default)]
    /// Its GUIDs (fwupd instance IDs), lower- or upper-case.
    pub guids: Vec<String>,
    /// Its PCI identifiers.
    pub pci: Option<Pci>,
    /// Its Dell component id (a Dell package's
    /// `SupportedDevices/Device@componentID`), e.g. `159` for the BIOS.
    pub dell_component_id: Option<String>,
    /// The version it runs now.
    pub version: String,
    /// fwupd's version format; guessed from the version as fwupd does
    /// (a dotted triplet is `triplet`) when absent.
    pub version_format: Option<String>,
}

/// PCI identifiers, hexadecimal strings (`8086`, `0x8086`).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pci {
    /// The vendor ID, e.g. `1000`.
    pub vendor: Option<String>,
    /// The device ID, e.g. `005d`.
    pub device: Option<String>,
    /// The subsystem vendor ID.
    pub subsystem_vendor: Option<String>,
    /// The subsystem ID.
    pub subsystem_device: Option<String>,
}

impl Device {
    /// The version format: declared, else fwupd's guess.
    pub fn format(&self) -> VersionFormat {
        self.version_format
            .as_deref()
            .and_then(VersionFormat::from_name)
            .unwrap_or_else(|| VersionFormat::guess(&self.version))
    }

    /// Whether the device carries `guid` (case-insensitive).
    pub fn has_guid(&self, guid: &str) -> bool {
        self.guids
            .iter()
            .any(|g| g.eq_ignore_ascii_case(guid.trim()))
    }
}

/// Whether `text` is a GUID: 8-4-4-4-12 hexadecimal digits.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parse an inventory from the bytes of `name`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Inventory, String> {
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_INVENTORY) {
        return Err(format!(
            "{name}: larger than {MAX_INVENTORY} bytes; an inventory is a small JSON file"
        ));
    }
    // serde_json's message ends with the line and column.
    let inventory: Inventory = serde_json::from_slice(bytes).map_err(|e| format!("{name}: {e}"))?;
    check(name, &inventory)?;
    Ok(inventory)
}

/// The checks serde cannot make: GUIDs, version formats, counts.
pub(super) fn check(name: &str, inventory: &Inventory) -> Result<(), String> {
    if inventory.devices.len() > MAX_DEVICES {
        return Err(format!("{name}: more than {MAX_DEVICES} devices"));
    }
    for guid in &inventory.system.hwids {
        if !is_guid(guid) {
            return Err(format!("{name}: system.hwids: '{guid}' is not a GUID"));
        }
    }
    for (i, device) in inventory.devices.iter().enumerate() {
        let at = format!("{name}: devices[{i}] ({})", device.name);
        if device.version.trim().is_empty() {
            return Err(format!("{at}: field `version` is empty"));
        }
        for guid in &device.guids {
            if !is_guid(guid) {
                return Err(format!("{at}: field `guids`: '{guid}' is not a GUID"));
            }
        }
        if let Some(format) = &device.version_format {
            if VersionFormat::from_name(format).is_none() {
                let known: Vec<&str> = VersionFormat::names().collect();
                return Err(format!(
                    "{at}: field `version_format`: '{format}' is none of {}",
                    known.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// An inventory from the output of `fwupdmgr get-devices --json`: each
/// device with a version, its `Name`, `Guid` list and `VersionFormat`.
pub fn from_fwupd(name: &str, bytes: &[u8]) -> Result<Inventory, String> {
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_INVENTORY.saturating_mul(4)) {
        return Err(format!("{name}: too large for fwupd's device list"));
    }
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{name}: {e}"))?;
    let list = doc
        .get("Devices")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("{name}: no `Devices` array (fwupdmgr get-devices --json)"))?;
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let mut devices = Vec::new();
    for device in list {
        let Some(version) = text(device, "Version") else {
            continue;
        };
        let guids = device
            .get("Guid")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        devices.push(Device {
            name: text(device, "Name").unwrap_or_default(),
            guids,
            pci: None,
            dell_component_id: None,
            version,
            version_format: text(device, "VersionFormat")
                .filter(|f| VersionFormat::from_name(f).is_some()),
        });
    }
    let inventory = Inventory {
        system: System::default(),
        devices,
    };
    check(name, &inventory)?;
    Ok(inventory)
}
