//! Why a device a package's vendor metadata describes gives no release:
//! each fact that is missing, named, so that "declares no release" says
//! exactly what to look for. HP `cpq_package` XML and HPE `payload.json`
//! devices are matched by their `Target` GUID only: no PCI ids are known
//! to be in HP metadata (see FORMATS-NOTES), so a device without a Target
//! cannot be matched against an inventory.

use crate::model::{HpDevice, VendorInfo};

/// Where HP devices are matched from, said once after the gaps.
pub const HP_NOTE: &str =
    "HP devices are matched by Target GUID only (HP metadata carries no PCI ids fwkit reads)";

fn device_gaps(what: &str, devices: &[HpDevice], fallback_version: Option<&str>) -> Vec<String> {
    devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let mut missing = Vec::new();
            if d.target.as_deref().is_none_or(|t| t.trim().is_empty()) {
                missing.push("<Target> GUID");
            }
            if d.version.is_none() && fallback_version.is_none() {
                missing.push("<Version>");
            }
            if missing.is_empty() {
                return None;
            }
            let name = d.name.as_deref().unwrap_or("(no DeviceName)");
            Some(format!(
                "{what}: Devices/Device[{i}] '{name}' has no {}",
                missing.join(" and no ")
            ))
        })
        .collect()
}

/// Each device of `vendor` that gives no release, and what it lacks.
pub fn gaps(vendor: &[VendorInfo]) -> Vec<String> {
    let mut out = Vec::new();
    for info in vendor {
        match info {
            VendorInfo::HpComponent(c) => {
                let what = format!("HP cpq_package {}", c.source);
                if c.devices.is_empty() {
                    out.push(format!(
                        "{what}: no <payload><Devices><Device> (a device <Target> GUID and <Version>){}",
                        match c.products.is_empty() {
                            true => String::new(),
                            false => format!(
                                "; its <products> name ROM families ({}), which say which systems, not which device",
                                c.products.join(", ")
                            ),
                        }
                    ));
                }
                out.extend(device_gaps(&what, &c.devices, c.version.as_deref()));
            }
            VendorInfo::HpeFwpkg(p) => {
                if p.devices.is_empty() {
                    out.push("HPE payload.json: no Devices.Device".to_owned());
                }
                let gaps = device_gaps("HPE payload.json", &p.devices, None);
                out.extend(gaps.into_iter().map(|g| {
                    g.replace("Devices/Device", "Devices.Device")
                        .replace(['<', '>'], "")
                }));
            }
            _ => {}
        }
    }
    out
}
