//! An inventory from a Redfish `UpdateService/FirmwareInventory` collection
//! read with `$expand` (DMTF `SoftwareInventoryCollection`: `Members[]`,
//! each a `SoftwareInventory`), for `fwkit plan --inventory-from-redfish`.
//!
//! Each member with a `Version` becomes one device:
//!
//! - `name`: `Name`, else `SoftwareId`, else `Id`;
//! - `guids`: `SoftwareId` when it is a GUID, and the GUIDs of every
//!   `Oem.<vendor>.Targets` list (HPE iLO reports a device's firmware
//!   Target GUIDs there, the ones HPE packages name);
//! - `dell_component_id`: the component id of a Dell iDRAC member `Id`
//!   `Installed-<componentID>-<version>…`;
//! - `version`: `Version`; the format is guessed as for any inventory.
//!
//! Members whose `Id` starts `Previous-` or `Available-` (iDRAC's rollback
//! and staged images) are not running and are left out. `RelatedItem` is a
//! link to another resource, not followed (fwkit reads no network); the
//! system (vendor, model, ROM family, Dell systemID) is not in this
//! collection and is added by hand from `/redfish/v1/Systems/…`.

use super::inventory::{self, Device, Inventory, System};
use serde_json::Value;

/// The largest collection read, in bytes.
pub const MAX_REDFISH: u64 = inventory::MAX_INVENTORY.saturating_mul(4);

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The Dell component id in an iDRAC member id `Installed-25227-…`.
fn dell_component_id(id: &str) -> Option<String> {
    let rest = id
        .strip_prefix("Installed-")
        .or_else(|| id.strip_prefix("Current-"))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty() && rest.get(digits.len()..).is_some_and(|r| r.starts_with('-')))
        .then_some(digits)
}

/// The GUIDs of `SoftwareId` and of every `Oem.*.Targets`, lower-cased,
/// without repeats.
fn guids(member: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let software = text(member, "SoftwareId").into_iter();
    let targets = member
        .get("Oem")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|oem| oem.values())
        .filter_map(|vendor| vendor.get("Targets").and_then(Value::as_array))
        .flatten()
        .filter_map(|t| t.as_str().map(str::trim).map(str::to_owned));
    for guid in software.chain(targets) {
        let guid = guid.to_ascii_lowercase();
        if inventory::is_guid(&guid) && !out.contains(&guid) {
            out.push(guid);
        }
    }
    out
}

/// One member as a device; `Ok(None)` for a member that is not running
/// firmware (no version, a rollback or staged image).
fn device(name: &str, at: usize, member: &Value) -> Result<Option<Device>, String> {
    if !member.is_object() {
        return Err(format!("{name}: Members[{at}] is not an object"));
    }
    let id = text(member, "Id");
    let Some(version) = text(member, "Version") else {
        if id.is_none() && member.get("@odata.id").is_some() {
            return Err(format!(
                "{name}: Members[{at}] is only a link (@odata.id): read the collection expanded, GET …/FirmwareInventory?$expand=."
            ));
        }
        return Ok(None);
    };
    let id = id.unwrap_or_default();
    if id.starts_with("Previous-") || id.starts_with("Available-") {
        return Ok(None);
    }
    let label = text(member, "Name")
        .or_else(|| text(member, "SoftwareId"))
        .unwrap_or_else(|| id.clone());
    Ok(Some(Device {
        name: label,
        guids: guids(member),
        pci: None,
        dell_component_id: dell_component_id(&id),
        version,
        version_format: None,
    }))
}

/// An inventory from the bytes of `name`, a Redfish FirmwareInventory
/// collection read with `$expand`.
pub fn from_redfish(name: &str, bytes: &[u8]) -> Result<Inventory, String> {
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_REDFISH) {
        return Err(format!(
            "{name}: larger than {MAX_REDFISH} bytes for a FirmwareInventory collection"
        ));
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("{name}: {e}"))?;
    let members = doc.get("Members").and_then(Value::as_array).ok_or_else(|| {
        format!("{name}: no `Members` array (a Redfish UpdateService/FirmwareInventory collection, read with ?$expand=.)")
    })?;
    let mut devices = Vec::new();
    for (at, member) in members.iter().enumerate() {
        devices.extend(device(name, at, member)?);
    }
    let inventory = Inventory {
        system: System::default(),
        devices,
    };
    inventory::check(name, &inventory)?;
    Ok(inventory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dell_ids() {
        assert_eq!(
            dell_component_id("Installed-25227-25.5.6.0009__RAID.Integrated.1-1"),
            Some("25227".to_owned())
        );
        assert_eq!(dell_component_id("Installed-x-1"), None);
        assert_eq!(dell_component_id("Previous-159-2.1.0"), None);
        assert_eq!(dell_component_id("BMC"), None);
    }
}
