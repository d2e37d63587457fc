//! `fwkit plan --inventory-from-redfish` (issue 13): a Redfish
//! `UpdateService/FirmwareInventory` collection read with `$expand`, as
//! DMTF's `SoftwareInventoryCollection` / `SoftwareInventory` schemas shape
//! it (with an HPE iLO member's `Oem.Hpe.Targets` and Dell iDRAC member ids
//! `Installed-<componentID>-<version>`), written here; the inventory it
//! prints plans an HP-like `.scexe` and a Dell-like `.BIN` built as in
//! `plan_vendors`.

use crate::plan_vendors::{cpq_xml, signed, tar_gz, DELL_XML, TARGET};
use crate::util::{dell_bin, fwkit, prng, require_tool, scexe};
use serde_json::Value;
use std::fs;
use tempfile::TempDir;

const BMC_GUID: &str = "5F0C9B5E-1D2A-4C3B-8E7F-0A1B2C3D4E5F";

fn collection() -> String {
    format!(
        r##"{{
  "@odata.type": "#SoftwareInventoryCollection.SoftwareInventoryCollection",
  "@odata.id": "/redfish/v1/UpdateService/FirmwareInventory",
  "Name": "Firmware Inventory Collection",
  "Members@odata.count": 5,
  "Members": [
    {{"@odata.type": "#SoftwareInventory.v1_10_0.SoftwareInventory",
      "@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/3",
      "Id": "3", "Name": "System ROM", "Version": "2.00", "Updateable": true,
      "Status": {{"State": "Enabled", "Health": "OK"}},
      "RelatedItem": [{{"@odata.id": "/redfish/v1/Systems/1"}}],
      "Oem": {{"Hpe": {{"DeviceContext": "System Board", "Targets": ["{}"]}}}}}},
    {{"@odata.type": "#SoftwareInventory.v1_10_0.SoftwareInventory",
      "@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/Installed-25227-25.5.6.0009__RAID.Integrated.1-1",
      "Id": "Installed-25227-25.5.6.0009__RAID.Integrated.1-1", "Name": "PERC H730P Mini",
      "Version": "25.5.6.0009", "SoftwareId": "25227", "Updateable": true,
      "RelatedItem": [{{"@odata.id": "/redfish/v1/Systems/System.Embedded.1/Storage/RAID.Integrated.1-1"}}],
      "Oem": {{"Dell": {{"DellSoftwareInventory": {{"ComponentID": "25227"}}}}}}}},
    {{"@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/Previous-25227-25.5.5.0005__RAID.Integrated.1-1",
      "Id": "Previous-25227-25.5.5.0005__RAID.Integrated.1-1", "Name": "PERC H730P Mini",
      "Version": "25.5.5.0005", "SoftwareId": "25227"}},
    {{"@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/BMC",
      "Id": "BMC", "Name": "BMC", "Version": "1.45.455b66", "SoftwareId": "{BMC_GUID}"}},
    {{"@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/Spare", "Id": "Spare", "Name": "Empty slot"}}
  ]
}}"##,
        TARGET.to_ascii_uppercase()
    )
}

/// `fwkit plan --inventory-from-redfish FILE` with `json` written first.
fn convert(dir: &std::path::Path, json: &str) -> crate::util::Run {
    fs::write(dir.join("redfish.json"), json).unwrap();
    fwkit(dir, ["plan", "--inventory-from-redfish", "redfish.json"])
}

#[test]
fn inventory_from_a_redfish_firmware_inventory() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let run = convert(dir, &collection());
    run.expect(0);
    let mut inv: Value = serde_json::from_str(&run.stdout).unwrap();
    let devices = inv["devices"].as_array().unwrap();
    let names: Vec<&str> = devices
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    // The rollback image and the member without a version are left out.
    assert_eq!(names, ["System ROM", "PERC H730P Mini", "BMC"]);
    assert_eq!(devices[0]["guids"][0], TARGET);
    assert_eq!(devices[0]["version"], "2.00");
    assert_eq!(devices[1]["dell_component_id"], "25227");
    assert_eq!(devices[1]["guids"].as_array().unwrap().len(), 0);
    assert_eq!(devices[1]["version"], "25.5.6.0009");
    assert_eq!(devices[2]["guids"][0], BMC_GUID.to_ascii_lowercase());

    // What it prints plans an HP component by its Target GUID…
    let xml = cpq_xml("");
    let payload = tar_gz(
        dir,
        &[
            ("CP000042.xml", xml.as_bytes()),
            ("rom.bin", &prng(0x42, 8192)),
        ],
    );
    signed(dir, "CP000042.scexe", &scexe(&payload));
    fs::write(dir.join("inv.json"), &run.stdout).unwrap();
    let plan = |pkg: &str, code: i32| {
        fwkit(
            dir,
            [
                "plan",
                pkg,
                "--inventory",
                "inv.json",
                "--key",
                "k.pub",
                "--json",
            ],
        )
        .expect(code)
        .json()
    };
    let doc = plan("CP000042.scexe", 0);
    let rom = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "System ROM")
        .unwrap()
        .clone();
    assert_eq!(rom["steps"][0]["from"], "2.00");
    assert_eq!(rom["steps"][0]["to"], "2.10");

    // …and a Dell package by the iDRAC component id, once the system's
    // systemID (not in the collection) is added by hand.
    let payload = tar_gz(
        dir,
        &[
            ("package.xml", DELL_XML.as_bytes()),
            ("payload/fw.rom", &prng(7, 4096)),
        ],
    );
    signed(dir, "Firmware_T3ST2.BIN", &dell_bin(&DELL_XML, &payload));
    let doc = plan("Firmware_T3ST2.BIN", 1);
    assert!(
        doc["packages"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["rule"].as_str().unwrap().ends_with("dell-system")
                && c["outcome"] == "not-run")
    );
    inv["system"]["dell_system_id"] = "0639".into();
    fs::write(dir.join("inv.json"), inv.to_string()).unwrap();
    let doc = plan("Firmware_T3ST2.BIN", 0);
    let raid = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "PERC H730P Mini")
        .unwrap()
        .clone();
    assert_eq!(raid["steps"][0]["to"], "25.5.9.0001");
}

#[test]
fn redfish_collections_that_cannot_be_read_exit_2() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let links =
        r#"{"Members": [{"@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/BMC"}]}"#;
    for (json, want) in [
        (links, "only a link (@odata.id)"),
        (r#"{"Name": "x"}"#, "no `Members` array"),
        (r#"{"Members": ["BMC"]}"#, "Members[0] is not an object"),
        (
            r#"{"Members": [{"Id": "1", "Name": "X", "Version": "1", "SoftwareId": "1", "#,
            "EOF",
        ),
    ] {
        let run = convert(dir, json);
        run.expect(2);
        assert!(
            run.stderr.contains(want) && run.stderr.contains("redfish.json"),
            "{want}: {}",
            run.stderr
        );
    }
}
