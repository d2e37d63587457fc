//! `fwkit plan --catalog CATALOG DIR --inventory INV.json` (issue 14): a
//! Dell-shaped catalogue written here (the element and attribute names of
//! formats/dell-catalog.md) and gzipped by the system `gzip`, pinned with
//! `--sha256`, over two Dell-like `.BIN`s (util::dell_bin over a GNU tar
//! payload, as plan_vendors builds them), each for another systemID.

use crate::plan_vendors::{dell_xml, tar_gz, PCI};
use crate::util::{dell_bin, fwkit, os, prng, require_tool, sha256_hex, tool, Run};
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// What one package (and the catalogue's entry for it) states.
struct Facts<'a> {
    path: &'a str,
    version: &'a str,
    system: &'a str,
}

const A: Facts = Facts {
    path: "FOLDER0001M/1/RAID_Firmware_T3STA_LN_25.5.9.0001_A00.BIN",
    version: "25.5.9.0001",
    system: "0A1B",
};
const B: Facts = Facts {
    path: "FOLDER0002M/1/RAID_Firmware_T3STB_LN_25.5.9.0002_A00.BIN",
    version: "25.5.9.0002",
    system: "0C2D",
};

/// The test RAID controller's package XML (see `plan_vendors::dell_xml`)
/// at `version`, for the one system `system`.
fn package_xml(version: &str, system: &str) -> String {
    dell_xml("T3ST", version, &[(system, "R750")])
}

fn component(index: usize, facts: &Facts, data: &[u8]) -> String {
    format!(
        r#"  <SoftwareComponent schemaVersion="3.0" packageID="PKG{index:04}" releaseID="REL{index:04}" path="{path}" dateTime="2026-11-02T10:00:00+00:00" releaseDate="November 02, 2026" vendorVersion="{version}" dellVersion="A00" packageType="LLXP" identifier="0b7e5a3c-1d2f-4e6a-9b8c-{index:012}" size="{size}" rebootRequired="true">
    <Name><Display lang="en"><![CDATA[Test RAID Firmware {index}]]></Display></Name>
    <ComponentType value="FRMW"><Display lang="en"><![CDATA[Firmware]]></Display></ComponentType>
    <SupportedDevices><Device componentID="25227" embedded="1"><Display lang="en"><![CDATA[Test RAID Mini]]></Display><PCIInfo deviceID="005D" vendorID="1000" subDeviceID="1F47" subVendorID="1028"/></Device></SupportedDevices>
    <SupportedSystems><Brand key="3" prefix="PE"><Display lang="en"><![CDATA[PowerEdge]]></Display><Model systemID="{system}" systemIDType="BIOS"><Display lang="en"><![CDATA[R750]]></Display></Model></Brand></SupportedSystems>
    <Cryptography><Hash algorithm="SHA256">{sha}</Hash></Cryptography>
  </SoftwareComponent>
"#,
        path = facts.path,
        version = facts.version,
        system = facts.system,
        size = data.len(),
        sha = sha256_hex(data),
    )
}

/// A mirror below a temporary directory: `mirror/` with the packages,
/// `Catalog.xml.gz` beside it, `inv.json` for systemID 0A1B with the RAID
/// controller at 25.5.6.0009.
struct Mirror {
    tmp: TempDir,
}

impl Mirror {
    fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// A `.BIN` whose package XML states `facts` (its payload carries it too).
    fn package(&self, facts: &Facts, seed: u64) -> Vec<u8> {
        let xml = package_xml(facts.version, facts.system);
        let build = self.root().join("build");
        fs::create_dir_all(&build).unwrap();
        let payload = tar_gz(
            &build,
            &[
                ("package.xml", xml.as_bytes()),
                ("payload/fw.rom", &prng(seed, 8192)),
            ],
        );
        dell_bin(&xml, &payload)
    }

    fn put(&self, rel: &str, data: &[u8]) {
        let path = self.root().join("mirror").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    /// Write and gzip the catalogue of `components`; its path.
    fn catalogue(&self, components: &[String]) -> PathBuf {
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Manifest baseLocation=\"downloads.example.com\" dateTime=\"2026-11-02T10:00:00+00:00\" identifier=\"fwkit-test\" releaseID=\"T1\" version=\"26.11.00\">\n",
        );
        components.iter().for_each(|c| xml.push_str(c));
        xml.push_str("</Manifest>\n");
        fs::write(self.root().join("Catalog.xml"), xml).unwrap();
        tool(
            self.root(),
            "gzip",
            &[os("-n"), os("-f"), os("Catalog.xml")],
        );
        self.root().join("Catalog.xml.gz")
    }

    /// `fwkit plan --catalog CAT mirror --inventory inv.json [--sha256 PIN] ARGS`.
    fn plan(&self, catalogue: &Path, pin: bool, args: &[&str]) -> Run {
        let sha = sha256_hex(&fs::read(catalogue).unwrap());
        let mut all: Vec<&OsStr> = vec![
            os("plan"),
            os("--catalog"),
            catalogue.as_os_str(),
            os("mirror"),
            os("--inventory"),
            os("inv.json"),
        ];
        if pin {
            all.extend([os("--sha256"), os(&sha)]);
        }
        all.extend(args.iter().map(|a| os(a)));
        fwkit(self.root(), all)
    }
}

/// Both packages in the mirror, the catalogue stating what each package
/// XML states; `None` (skipped) without GNU tar and gzip.
fn mirror() -> Option<(Mirror, PathBuf)> {
    if !require_tool("tar") || !require_tool("gzip") {
        return None;
    }
    let m = Mirror {
        tmp: TempDir::new().unwrap(),
    };
    let inv = format!(
        r#"{{"system": {{"vendor": "Dell Inc.", "dell_system_id": "0A1B"}},
  "devices": [{{"name": "RAID", {PCI}, "version": "25.5.6.0009"}}]}}"#
    );
    fs::write(m.root().join("inv.json"), inv).unwrap();
    let mut components = Vec::new();
    for (i, facts) in [A, B].iter().enumerate() {
        let data = m.package(facts, 0x5eed + i as u64);
        m.put(facts.path, &data);
        components.push(component(i, facts, &data));
    }
    let cat = m.catalogue(&components);
    Some((m, cat))
}

/// The plan's package whose path ends with `rel`.
fn package<'a>(doc: &'a Value, rel: &str) -> &'a Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str().unwrap().ends_with(rel))
        .unwrap_or_else(|| panic!("no package {rel} in {doc:#}"))
}

/// The package's check named `rule`.
fn rule<'a>(package: &'a Value, rule: &str) -> Option<&'a Value> {
    package["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == rule)
}

fn steps(doc: &Value) -> Vec<String> {
    doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["steps"].as_array().unwrap().iter())
        .map(|s| format!("{} {}", s["to"], s["package"]))
        .collect()
}

#[test]
fn the_entry_for_this_system_is_planned_the_other_is_not_applicable() {
    let Some((m, cat)) = mirror() else { return };
    let doc = m
        .plan(&cat, true, &["--json", "--junit", "plan.xml"])
        .expect(0)
        .json();
    assert_eq!(doc["applicable"], true, "{doc:#}");
    assert_eq!(doc["outcome"], "plan-found");
    assert_eq!(doc["catalogue"]["entries"], 2);
    assert_eq!(doc["catalogue"]["verified"], 2);
    let steps = steps(&doc);
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(
        steps[0].contains("25.5.9.0001") && steps[0].contains(A.path),
        "{steps:?}"
    );
    let a = package(&doc, A.path);
    assert_eq!(a["verified"], true);
    assert_eq!(a["releases"][0]["version"], A.version);
    assert_eq!(rule(a, "verify").unwrap()["outcome"], "passed");
    let b = package(&doc, B.path);
    assert_eq!(b["verified"], true);
    let na = rule(b, "applicable").expect("B is reported not applicable");
    assert_eq!(na["outcome"], "not-evaluated");
    let detail = na["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("not applicable") && detail.contains("0C2D") && detail.contains("0A1B"),
        "{detail}"
    );
    // The catalogue's pin is the first package's rule.
    let head = &doc["packages"][0];
    assert!(head["path"].as_str().unwrap().ends_with("Catalog.xml.gz"));
    assert_eq!(head["checks"][0]["outcome"], "passed", "{head:#}");
    let junit = fs::read_to_string(m.root().join("plan.xml")).unwrap();
    assert!(junit.contains("not applicable"), "{junit}");
    // Text: the step, and B's reason.
    let text = m.plan(&cat, true, &[]).expect(0).stdout.clone();
    assert!(
        text.contains("plan: plan-found") && text.contains("not applicable"),
        "{text}"
    );
}

#[test]
fn a_flipped_byte_leaves_its_entry_not_verified_and_never_planned() {
    let Some((m, cat)) = mirror() else { return };
    let path = m.root().join("mirror").join(A.path);
    let mut data = fs::read(&path).unwrap();
    let at = data.len() - 100;
    data[at] ^= 0x01;
    fs::write(&path, data).unwrap();
    let doc = m.plan(&cat, true, &["--json"]).expect(1).json();
    assert_eq!(doc["applicable"], false);
    assert!(steps(&doc).is_empty(), "{doc:#}");
    let a = package(&doc, A.path);
    assert_eq!(a["verified"], false);
    let verify = rule(a, "verify").unwrap();
    assert_eq!(verify["outcome"], "failed", "{a:#}");
    assert!(rule(a, "applicable").is_none());
    // B is still read, and still not for this system.
    assert_eq!(
        rule(package(&doc, B.path), "applicable").unwrap()["outcome"],
        "not-evaluated"
    );
}

#[test]
fn a_catalogue_that_disagrees_with_the_package_fails_naming_both() {
    let Some((m, _)) = mirror() else { return };
    // The catalogue says A is for 0A1B at 25.5.9.0001; the package says
    // 0C2D at 25.5.9.0003.
    let other = Facts {
        path: A.path,
        version: "25.5.9.0003",
        system: "0C2D",
    };
    let data = m.package(&other, 0x5eed);
    m.put(A.path, &data);
    let cat = m.catalogue(&[component(0, &A, &data)]);
    let doc = m.plan(&cat, true, &["--json"]).expect(1).json();
    assert_eq!(doc["applicable"], false);
    assert!(steps(&doc).is_empty(), "{doc:#}");
    let a = package(&doc, A.path);
    assert_eq!(a["verified"], true, "the file itself verifies: {a:#}");
    let details: Vec<&str> = a["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"] == "catalogue agrees" && c["outcome"] == "failed")
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("systemID") && d.contains("0A1B") && d.contains("0C2D")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("25.5.9.0001") && d.contains("25.5.9.0003")),
        "{details:?}"
    );
}

#[test]
fn an_unpinned_catalogue_leaves_nothing_applicable() {
    let Some((m, cat)) = mirror() else { return };
    let doc = m.plan(&cat, false, &["--json"]).expect(1).json();
    assert_eq!(doc["applicable"], false);
    assert!(steps(&doc).is_empty(), "{doc:#}");
    assert!(
        doc["packages"][0]["checks"][0]["outcome"] != "passed",
        "{doc:#}"
    );
    let a = package(&doc, A.path);
    assert_eq!(a["verified"], false);
    assert_eq!(rule(a, "catalogue").unwrap()["outcome"], "failed");
}

/// The catalogue's caps are plan's flags too, and the limit message names
/// the flag that raises it.
#[test]
fn the_catalogue_entry_cap_is_a_plan_flag() {
    let Some((m, cat)) = mirror() else { return };
    let run = m.plan(&cat, true, &["--max-catalog-entries", "1"]);
    run.expect(2);
    assert!(
        run.stderr.contains("--max-catalog-entries"),
        "{}",
        run.stderr
    );
    m.plan(&cat, true, &["--max-catalog-entries", "2"])
        .expect(0);
}

/// LVFS metadata naming one release, `version`, of `cab` (its location,
/// SHA-256 and size), gzipped; its path.
fn lvfs_metadata(root: &Path, cab: &Path, version: &str) -> PathBuf {
    let data = fs::read(cab).unwrap();
    let name = cab.file_name().unwrap().to_str().unwrap();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<components origin="lvfs" version="0.9">
  <component type="firmware">
    <id>org.fwkit.Plan.firmware</id>
    <name>MP</name>
    <releases>
      <release version="{version}" timestamp="1764547200">
        <location>https://fwupd.org/downloads/{name}</location>
        <checksum type="sha256" filename="{name}" target="container">{sha}</checksum>
        <size type="download">{size}</size>
      </release>
    </releases>
  </component>
</components>
"#,
        sha = sha256_hex(&data),
        size = data.len()
    );
    fs::write(root.join("firmware.xml"), xml).unwrap();
    tool(root, "gzip", &[os("-n"), os("-f"), os("firmware.xml")]);
    root.join("firmware.xml.gz")
}

#[test]
fn lvfs_metadata_plans_its_cabinets_by_their_own_guids_and_must_agree_on_the_version() {
    if !crate::plan::tools() {
        return;
    }
    let m = Mirror {
        tmp: TempDir::new().unwrap(),
    };
    let root = m.root();
    let cab = crate::plan::cabinet(
        root,
        &root.join("mirror"),
        "mp-1.2.26",
        "1.2.26",
        &crate::plan::ge("1.2.10"),
    );
    let inv = format!(
        r#"{{"devices": [{{"name": "MP", "guids": ["{}"], "version": "1.2.10"}}]}}"#,
        crate::plan::GUID
    );
    fs::write(root.join("inv.json"), inv).unwrap();
    let meta = lvfs_metadata(root, &cab, "1.2.26");
    let doc = m.plan(&meta, true, &["--json"]).expect(0).json();
    assert_eq!(doc["catalogue"]["kind"], "lvfs");
    assert_eq!(steps(&doc).len(), 1, "{doc:#}");
    assert!(steps(&doc)[0].contains("1.2.26"), "{doc:#}");
    // The metadata says 1.2.27 of the same cabinet: it disagrees.
    let meta = lvfs_metadata(root, &cab, "1.2.27");
    let doc = m.plan(&meta, true, &["--json"]).expect(1).json();
    assert!(steps(&doc).is_empty(), "{doc:#}");
    let agrees = rule(package(&doc, "mp-1.2.26.cab"), "catalogue agrees").expect("a disagreement");
    assert_eq!(agrees["outcome"], "failed");
    let detail = agrees["detail"].as_str().unwrap();
    assert!(
        detail.contains("1.2.27") && detail.contains("1.2.26"),
        "{detail}"
    );
}
