//! `fwkit plan` on vendor packages (issue 13): a Dell `.BIN` whose package
//! XML names `SupportedSystems` (`systemID`) and `SupportedDevices`
//! (`componentID`, `PCIInfo`), and an HP-like `.scexe` whose `cpq_package`
//! XML names `products` (ROM families) and a device `Target`. Both are
//! built here: the payload a gzip tar made by GNU tar, the stubs from
//! `util::dell_bin` and `util::scexe` (our own shell text), and signed with
//! `fwkit sign` so that they verify (`--key k.pub`), as `plan` demands.

use crate::util::{dell_bin, fwkit, os, prng, require_tool, scexe, tool, write_file};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A gzip tar of `files` (name, bytes) made by GNU tar in `dir`.
pub(crate) fn tar_gz(dir: &Path, files: &[(&str, &[u8])]) -> Vec<u8> {
    let src = dir.join("payload-src");
    let _ = fs::remove_dir_all(&src);
    for (name, data) in files {
        write_file(&src.join(name), data, 0o644);
    }
    let out = dir.join("payload.tar.gz");
    let mut args = vec![
        os("--format=ustar"),
        os("-czf"),
        out.as_os_str(),
        os("-C"),
        src.as_os_str(),
    ];
    args.extend(files.iter().map(|(n, _)| os(n)));
    tool(dir, "tar", &args);
    fs::read(out).unwrap()
}

/// Write `bytes` to `dir/name`, sign it with `k.key` (made once).
pub(crate) fn signed(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    if !dir.join("k.key").exists() {
        fwkit(dir, ["keygen", "-o", "k", "--no-password"]).expect(0);
    }
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    fwkit(dir, ["sign", name, "--key", "k.key"]).expect(0);
    path
}

/// `fwkit plan PKG --inventory inv.json --key k.pub --json` with `inventory`
/// written first; exits `code`.
fn plan(dir: &Path, pkg: &Path, inventory: &str, code: i32) -> Value {
    let inv = dir.join("inv.json");
    fs::write(&inv, inventory).unwrap();
    let args = [
        os("plan"),
        pkg.as_os_str(),
        os("--inventory"),
        inv.as_os_str(),
        os("--key"),
        os("k.pub"),
        os("--json"),
    ];
    fwkit(dir, args).expect(code).json()
}

/// The package check whose rule ends with `suffix`.
fn check(doc: &Value, suffix: &str) -> Value {
    doc["packages"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no rule ending {suffix} in {doc:#}"))
        .clone()
}

/// A Dell package XML for the test RAID controller (componentID 25227,
/// PCI 1000:005d subsystem 1028:1f47): `vendorVersion` and the
/// PowerEdge models (systemID, name) it supports.
pub(crate) fn dell_xml(package: &str, version: &str, models: &[(&str, &str)]) -> String {
    let models: String = models
        .iter()
        .map(|(id, name)| {
            format!(
                r#"
      <Model systemID="{id}" systemIDType="BIOS"><Display lang="en"><![CDATA[{name}]]></Display></Model>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<SoftwareComponent schemaVersion="2.4" packageID="{package}" releaseID="{package}" vendorVersion="{version}" dellVersion="A00" packageType="LWXP">
  <Name><Display lang="en"><![CDATA[fwkit test RAID controller firmware]]></Display></Name>
  <ComponentType value="FRMW"><Display lang="en"><![CDATA[Firmware]]></Display></ComponentType>
  <SupportedDevices>
    <Device componentID="25227" embedded="1">
      <Display lang="en"><![CDATA[Test RAID Mini]]></Display>
      <PCIInfo deviceID="005D" vendorID="1000" subDeviceID="1F47" subVendorID="1028"/>
    </Device>
  </SupportedDevices>
  <SupportedSystems>
    <Brand key="3" prefix="PE">
      <Display lang="en"><![CDATA[PowerEdge]]></Display>{models}
    </Brand>
  </SupportedSystems>
</SoftwareComponent>
"#
    )
}

/// The package XML most plan tests use: version 25.5.9.0001, for the
/// R730 and R730xd.
pub(crate) static DELL_XML: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    dell_xml(
        "T3ST2",
        "25.5.9.0001",
        &[("0639", "R730"), ("063A", "R730xd")],
    )
});

/// An inventory with Dell systemID `system` and one controller at
/// 25.5.6.0009 identified by `ids` (JSON members of the device).
pub(crate) fn dell_inventory(system: &str, ids: &str) -> String {
    format!(
        r#"{{"system": {{"vendor": "Dell Inc.", "dell_system_id": "{system}"}},
  "devices": [{{"name": "RAID", {ids}, "version": "25.5.6.0009"}}]}}"#
    )
}

pub(crate) const PCI: &str = r#""pci": {"vendor": "0x1000", "device": "005d", "subsystem_vendor": "1028", "subsystem_device": "1f47"}"#;

#[test]
fn dell_bin_systems_and_devices_are_evaluated() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let payload = tar_gz(
        dir,
        &[
            ("package.xml", DELL_XML.as_bytes()),
            ("payload/fw.rom", &prng(0xde12, 8192)),
        ],
    );
    let pkg = signed(
        dir,
        "Firmware_T3ST2_LN_25.5.9.0001_A00.BIN",
        &dell_bin(&DELL_XML, &payload),
    );
    // The facts are read.
    let doc = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    let dell = doc["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "dell-package")
        .unwrap()
        .clone();
    assert_eq!(dell["systems"][1]["system_id"], "063A");
    assert_eq!(dell["systems"][1]["model"], "R730xd");
    assert_eq!(dell["devices"][0]["component_id"], "25227");
    assert_eq!(dell["devices"][0]["pci"]["subsystem_device"], "1F47");

    // The system and the controller match: one step, exit 0.
    let doc = plan(dir, &pkg, &dell_inventory("0639", PCI), 0);
    assert_eq!(doc["devices"][0]["steps"][0]["to"], "25.5.9.0001");
    assert_eq!(check(&doc, "dell-system")["outcome"], "passed");
    let device = check(&doc, "device 25.5.9.0001");
    assert!(device["detail"].as_str().unwrap().contains("PCI 1000:005D"));

    // Another systemID: not applicable, naming both sides.
    let doc = plan(dir, &pkg, &dell_inventory("0A2B", PCI), 1);
    assert_eq!(doc["outcome"], "not-applicable");
    let system = check(&doc, "dell-system");
    assert_eq!(system["outcome"], "failed");
    let detail = system["detail"].as_str().unwrap();
    assert!(
        detail.contains("0639, 063A") && detail.contains("0A2B"),
        "{detail}"
    );
    assert!(doc["devices"][0]["steps"].as_array().unwrap().is_empty());

    // No systemID in the inventory: the rule cannot run, so no plan.
    let no_system =
        format!(r#"{{"devices": [{{"name": "RAID", {PCI}, "version": "25.5.6.0009"}}]}}"#);
    let doc = plan(dir, &pkg, &no_system, 1);
    assert_eq!(check(&doc, "dell-system")["outcome"], "not-run");

    // Another subsystem: the package is for no device of the inventory.
    let other = PCI.replace("1f47", "1f48");
    let doc = plan(dir, &pkg, &dell_inventory("0639", &other), 1);
    assert_eq!(doc["outcome"], "not-applicable");
    let device = check(&doc, "device 25.5.9.0001");
    assert_eq!(device["outcome"], "failed");
    let detail = device["detail"].as_str().unwrap();
    assert!(
        detail.contains("PCI 1000:005D subsystem 1028:1F47"),
        "{detail}"
    );
    assert!(detail.contains("componentID 25227"), "{detail}");

    // Vendor and device ids only: whether it is this card cannot be told.
    let partial = r#""pci": {"vendor": "1000", "device": "5d"}"#;
    let doc = plan(dir, &pkg, &dell_inventory("0639", partial), 1);
    assert_eq!(check(&doc, "device 25.5.9.0001")["outcome"], "not-run");

    // A device known by its Dell component id.
    let by_component = r#""dell_component_id": "25227""#;
    let doc = plan(dir, &pkg, &dell_inventory("0639", by_component), 0);
    assert_eq!(doc["devices"][0]["steps"][0]["to"], "25.5.9.0001");
}

pub(crate) const TARGET: &str = "8c3a4f2e-5b1d-4e6f-9a0b-1c2d3e4f5a6b";

pub(crate) fn cpq_xml(products: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpq_package version="2.0"><filename>CP000042.scexe</filename>
<version value="2.10" revision="A" type_of_change="0"/>
<name><name_xlate lang="en">fwkit test system ROM</name_xlate></name>
<release_date year="2026" month="3" day="9"/>
<products>{products}</products>
<payload><Devices><Device><DeviceName>System ROM</DeviceName><Target>{TARGET}</Target><Version>2.10</Version>
<FirmwareImages><FileName>rom.bin</FileName></FirmwareImages></Device></Devices></payload>
</cpq_package>
"#
    )
}

fn hp_inventory(system: &str) -> String {
    format!(
        r#"{{"system": {{{system}}}, "devices": [{{"name": "System ROM", "guids": ["{}"], "version": "2.00"}}]}}"#,
        TARGET.to_ascii_uppercase()
    )
}

#[test]
fn hp_scexe_rom_family_is_evaluated() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let build = |name: &str, products: &str| {
        let xml = cpq_xml(products);
        let payload = tar_gz(
            dir,
            &[
                ("CP000042.xml", xml.as_bytes()),
                ("rom.bin", &prng(0x42, 8192)),
            ],
        );
        signed(dir, name, &scexe(&payload))
    };
    let pkg = build(
        "CP000042.scexe",
        r#"<product rom="U30"/><product rom="U32"/>"#,
    );

    let doc = plan(dir, &pkg, &hp_inventory(r#""hp_rom_family": "u32""#), 0);
    assert_eq!(doc["devices"][0]["steps"][0]["to"], "2.10");
    assert_eq!(check(&doc, "rom-family")["outcome"], "passed");

    let doc = plan(dir, &pkg, &hp_inventory(r#""hp_rom_family": "P62""#), 1);
    assert_eq!(doc["outcome"], "not-applicable");
    let rule = check(&doc, "rom-family");
    assert_eq!(rule["outcome"], "failed");
    let detail = rule["detail"].as_str().unwrap();
    assert!(
        detail.contains("U30, U32") && detail.contains("P62"),
        "{detail}"
    );

    let doc = plan(dir, &pkg, &hp_inventory(""), 1);
    assert_eq!(check(&doc, "rom-family")["outcome"], "not-run");

    // A product fwkit cannot evaluate is reported, and with no ROM family
    // to go by it fails closed.
    let odd = build("CP000043.scexe", r#"<product name="ProLiant Test"/>"#);
    let doc = plan(dir, &odd, &hp_inventory(r#""hp_rom_family": "U30""#), 1);
    let rule = check(&doc, "not-evaluated");
    assert_eq!(rule["outcome"], "not-run");
    assert!(rule["detail"].as_str().unwrap().contains("ProLiant Test"));
}

/// An HP component whose device has no `Target` GUID gives no release,
/// and the check says exactly that (HP metadata has no PCI ids to fall
/// back on); a second device with a Target still plans, the first one
/// reported as left out.
#[test]
fn hp_devices_without_a_target_say_what_is_missing() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let no_target = "<Device><DeviceName>Smart Array</DeviceName><Version>7.00</Version></Device>";
    let build = |name: &str, devices: &str| {
        let xml = cpq_xml("").replace(
            "<payload><Devices>",
            &format!("<payload><Devices>{devices}"),
        );
        let payload = tar_gz(
            dir,
            &[
                ("CP000050.xml", xml.as_bytes()),
                ("rom.bin", &prng(0x50, 4096)),
            ],
        );
        signed(dir, name, &scexe(&payload))
    };
    // Only the device without a Target (the System ROM one removed).
    let xml_only = |pkg: &str| {
        let xml = cpq_xml("");
        let start = xml.find("<Device>").unwrap();
        let end = xml.find("</Devices>").unwrap();
        let only = format!("{}{no_target}{}", &xml[..start], &xml[end..]);
        let payload = tar_gz(
            dir,
            &[
                ("CP000051.xml", only.as_bytes()),
                ("rom.bin", &prng(0x51, 4096)),
            ],
        );
        signed(dir, pkg, &scexe(&payload))
    };
    let alone = xml_only("CP000051.scexe");
    let doc = plan(dir, &alone, &hp_inventory(""), 1);
    let rule = check(&doc, "releases");
    assert_eq!(rule["outcome"], "failed");
    let detail = rule["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "HP cpq_package CP000051.xml: Devices/Device[0] 'Smart Array' has no <Target> GUID"
        ) && detail.contains("matched by Target GUID only"),
        "{detail}"
    );

    let both = build("CP000050.scexe", no_target);
    let doc = plan(dir, &both, &hp_inventory(""), 0);
    assert_eq!(doc["devices"][0]["steps"][0]["to"], "2.10");
    let rule = check(&doc, "releases");
    assert_eq!(rule["outcome"], "not-evaluated");
    assert!(rule["detail"]
        .as_str()
        .unwrap()
        .contains("devices left out of the plan: HP cpq_package CP000050.xml: Devices/Device[0] 'Smart Array' has no <Target> GUID"));
}
