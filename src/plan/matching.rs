//! Which device of the inventory a release is for (GUIDs, PCI ids, Dell
//! component ids), and the Dell package's rules: `SupportedSystems`
//! `systemID`s against the system's `dell_system_id`, `SupportedDevices`
//! PCI ids and component ids against the devices.

use super::inventory::{Device, Inventory};
use super::rules::{Release, Requirement};
use super::RuleOutcome;
use crate::model::{DellPackage, PciIds};

/// Whether a release is for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Match {
    /// It is; how (`GUID …`, `PCI …`, `componentID …`).
    Yes(String),
    /// It is not.
    No,
    /// The vendor and device ids match, but the release names subsystem
    /// ids the inventory does not give: cannot be told (fail closed).
    Unknown(String),
}

/// The release of a Dell package: `vendorVersion`, the PCI ids and
/// component ids of `SupportedDevices`, and the `systemID`s of
/// `SupportedSystems` as a requirement on the system.
pub(super) fn dell(p: &DellPackage) -> Option<Release> {
    let mut requires = Vec::new();
    if !p.systems.is_empty() {
        requires.push(Requirement::DellSystem {
            any_of: p.systems.iter().map(|s| s.system_id.clone()).collect(),
        });
    }
    Some(Release {
        source: "dell",
        name: p.name.clone(),
        version: p.vendor_version.clone()?,
        devices: Vec::new(),
        pci: p.devices.iter().filter_map(|d| d.pci.clone()).collect(),
        component_ids: p
            .devices
            .iter()
            .filter_map(|d| d.component_id.clone())
            .collect(),
        requires,
    })
}

/// Two hexadecimal ids are the same: `0x` and leading zeros aside, any
/// case. Text that is not hexadecimal compares as text.
pub(super) fn same_id(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        let s = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let s = s.trim_start_matches('0');
            if s.is_empty() { "0" } else { s }.to_ascii_lowercase()
        } else {
            s.to_ascii_lowercase()
        }
    };
    norm(a) == norm(b)
}

/// `1000:005d` and `sub 1028:1f47` when given.
pub(super) fn show_pci(p: &PciIds) -> String {
    let id = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".to_owned());
    let mut text = format!("{}:{}", id(&p.vendor), id(&p.device));
    if p.subsystem_vendor.is_some() || p.subsystem_device.is_some() {
        text.push_str(&format!(
            " subsystem {}:{}",
            id(&p.subsystem_vendor),
            id(&p.subsystem_device)
        ));
    }
    text
}

/// Whether one declared PCI id set is the device's.
fn pci_match(want: &PciIds, device: &Device) -> Match {
    let Some(have) = &device.pci else {
        return Match::No;
    };
    let pair = |w: &Option<String>, h: &Option<String>| match (w, h) {
        (None, _) => Some(true),
        (Some(_), None) => None,
        (Some(w), Some(h)) => Some(same_id(w, h)),
    };
    // Vendor and device ids must both be declared and equal.
    let base = want.vendor.is_some()
        && want.device.is_some()
        && pair(&want.vendor, &have.vendor) == Some(true)
        && pair(&want.device, &have.device) == Some(true);
    if !base {
        return Match::No;
    }
    match (
        pair(&want.subsystem_vendor, &have.subsystem_vendor),
        pair(&want.subsystem_device, &have.subsystem_device),
    ) {
        (Some(true), Some(true)) => Match::Yes(format!("PCI {}", show_pci(want))),
        (Some(false), _) | (_, Some(false)) => Match::No,
        _ => Match::Unknown(format!(
            "the package names PCI {}; the inventory gives {} no subsystem ids (devices[].pci.subsystem_vendor, subsystem_device)",
            show_pci(want),
            device.name
        )),
    }
}

/// Whether `release` is for `device`: one of its GUIDs, PCI id sets or
/// component ids is the device's.
pub(super) fn device_match(release: &Release, device: &Device) -> Match {
    if let Some(g) = release.devices.iter().find(|g| device.has_guid(g)) {
        return Match::Yes(format!("GUID {g}"));
    }
    let mut unknown = None;
    for want in &release.pci {
        match pci_match(want, device) {
            Match::Yes(how) => return Match::Yes(how),
            Match::Unknown(why) => unknown = Some(why),
            Match::No => {}
        }
    }
    if let Some(have) = &device.dell_component_id {
        if let Some(c) = release.component_ids.iter().find(|c| same_id(c, have)) {
            return Match::Yes(format!("componentID {c}"));
        }
    }
    unknown.map_or(Match::No, Match::Unknown)
}

/// What a release is for, for people: `GUID a or PCI 1000:005d or
/// componentID 25227`.
pub(super) fn targets(release: &Release) -> String {
    let mut parts: Vec<String> = release
        .devices
        .iter()
        .map(|g| format!("GUID {g}"))
        .collect();
    parts.extend(release.pci.iter().map(|p| format!("PCI {}", show_pci(p))));
    parts.extend(
        release
            .component_ids
            .iter()
            .map(|c| format!("Dell componentID {c}")),
    );
    if parts.is_empty() {
        return "no device (the package names no GUID, PCI id or component id)".to_owned();
    }
    parts.join(" or ")
}

/// The Dell systemID rule: passed when the system's `dell_system_id` is
/// one of `any_of`, not run when the inventory does not give it.
pub(super) fn dell_system(any_of: &[String], inventory: &Inventory) -> (RuleOutcome, String) {
    let have = inventory.system.dell_system_id.as_deref();
    let outcome = match have {
        None => RuleOutcome::NotRun,
        Some(h) if any_of.iter().any(|a| same_id(a, h)) => RuleOutcome::Passed,
        Some(_) => RuleOutcome::Failed,
    };
    let detail = format!(
        "the package is for Dell systemID {}; the system is {}",
        any_of.join(", "),
        have.unwrap_or("not stated (system.dell_system_id)")
    );
    (outcome, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_as_hex() {
        assert!(same_id("0639", "639"));
        assert!(same_id("0x1F47", "1f47"));
        assert!(same_id("0000", "0"));
        assert!(!same_id("0639", "063A"));
        assert!(same_id("PE", "pe"));
    }
}
