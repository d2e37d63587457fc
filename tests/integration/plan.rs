//! `fwkit plan` (issue 13). LVFS cabinets are made at test time by `gcab`
//! from files the tests write: pseudo-random firmware, a metainfo file whose
//! `<provides>` names the device and whose `<requires>` names the version
//! the device must run first, and a gzip'd JCat file covering firmware and
//! metainfo (as in `cab.rs`), so every cabinet verifies. The story: a device
//! at 1.2.10 must pass 1.2.26 and 1.2.29 before 1.3.13.

use crate::util::{fwkit, os, prng, python3, require_tool, tool, write_file};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub(crate) const GUID: &str = "2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59";

/// Writes `firmware.metainfo.xml` and `firmware.jcat.json` for the
/// `firmware.bin` in the working directory: argv[1] the release version,
/// argv[2] the `<requires>` body, argv[3] the provided GUID.
const METAINFO: &str = r#"
import hashlib, json, sys
version, requires, guid = sys.argv[1], sys.argv[2], sys.argv[3]
fw = open("firmware.bin", "rb").read()
xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="firmware">
  <id>org.fwkit.Plan.firmware</id>
  <name>MP</name>
  <provides><firmware type="flashed">{guid}</firmware></provides>
  <requires>{requires}</requires>
  <releases>
    <release version="{version}" date="2026-02-03">
      <checksum type="sha256" filename="firmware.bin" target="content">{hashlib.sha256(fw).hexdigest()}</checksum>
      <size type="installed">{len(fw)}</size>
    </release>
  </releases>
</component>
"""
open("firmware.metainfo.xml", "w").write(xml)
items = [
    {"Id": "firmware.bin", "Blobs": [{"Kind": 1, "Flags": 1, "Data": hashlib.sha256(fw).hexdigest()}]},
    {"Id": "firmware.metainfo.xml",
     "Blobs": [{"Kind": 1, "Flags": 1, "Data": hashlib.sha256(xml.encode()).hexdigest()}]},
]
json.dump({"JcatVersionMajor": 0, "JcatVersionMinor": 1, "Items": items},
          open("firmware.jcat.json", "w"))
"#;

pub(crate) fn tools() -> bool {
    require_tool("gcab") && require_tool("gzip") && require_tool("python3")
}

/// An LVFS cabinet `out/NAME.cab` for `version` with `requires` (the body
/// of `<requires>`), built in a scratch directory under `work`.
pub(crate) fn cabinet(
    work: &Path,
    out: &Path,
    name: &str,
    version: &str,
    requires: &str,
) -> PathBuf {
    let src = work.join(format!("src-{name}"));
    write_file(
        &src.join("firmware.bin"),
        &prng(version.len() as u64 + 7, 4096),
        0o644,
    );
    python3(&src, METAINFO, &[os(version), os(requires), os(GUID)]);
    let jcat = tool(
        &src,
        "gzip",
        &[os("-n"), os("-9"), os("-c"), os("firmware.jcat.json")],
    );
    fs::write(src.join("firmware.jcat"), jcat).unwrap();
    fs::remove_file(src.join("firmware.jcat.json")).unwrap();
    fs::create_dir_all(out).unwrap();
    let cab = out.join(format!("{name}.cab"));
    let names = ["firmware.bin", "firmware.metainfo.xml", "firmware.jcat"];
    let mut args = vec![os("--create"), cab.as_os_str()];
    args.extend(names.iter().map(|n| os(n)));
    tool(&src, "gcab", &args);
    cab
}

pub(crate) fn ge(version: &str) -> String {
    format!(r#"<firmware compare="ge" version="{version}"/>"#)
}

/// The three cabinets of the story in `dir/cabs`, unless `skip` names one.
fn story(tmp: &Path, skip: Option<&str>) -> PathBuf {
    let cabs = tmp.join("cabs");
    for (version, needs) in [
        ("1.2.26", "1.2.10"),
        ("1.2.29", "1.2.26"),
        ("1.3.13", "1.2.29"),
    ] {
        if Some(version) != skip {
            cabinet(tmp, &cabs, &format!("mp-{version}"), version, &ge(needs));
        }
    }
    cabs
}

/// The minimal inventory of the issue, the device at `version`.
fn inventory(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join("inventory.json");
    let text = format!(
        r#"{{"devices": [{{"name": "MP", "guids": ["{GUID}"], "version": "{version}"}}]}}"#
    );
    fs::write(&path, text).unwrap();
    path
}

fn plan_json(dir: &Path, args: &[&std::ffi::OsStr], code: i32) -> Value {
    let mut all = vec![os("plan")];
    all.extend_from_slice(args);
    all.push(os("--json"));
    fwkit(dir, all).expect(code).json()
}

fn step_versions(doc: &Value) -> Vec<String> {
    doc["devices"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["to"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn lvfs_chain_is_planned_in_order() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = story(tmp.path(), None);
    let inv = inventory(tmp.path(), "1.2.10");
    let doc = plan_json(
        tmp.path(),
        &[cabs.as_os_str(), os("--inventory"), inv.as_os_str()],
        0,
    );
    assert_eq!(doc["command"], "plan");
    assert_eq!(doc["outcome"], "plan-found");
    assert_eq!(doc["devices"][0]["version_format"], "triplet");
    assert_eq!(step_versions(&doc), ["1.2.26", "1.2.29", "1.3.13"]);
    let froms: Vec<&str> = doc["devices"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["from"].as_str().unwrap())
        .collect();
    assert_eq!(froms, ["1.2.10", "1.2.26", "1.2.29"]);
    for p in doc["packages"].as_array().unwrap() {
        assert_eq!(p["verified"], true, "{p}");
    }
    // The text lists the same steps in the same order.
    let run = fwkit(
        tmp.path(),
        [
            os("plan"),
            cabs.as_os_str(),
            os("--inventory"),
            inv.as_os_str(),
        ],
    );
    run.expect(0);
    let a = run.stdout.find("-> 1.2.26").unwrap();
    let b = run.stdout.find("-> 1.2.29").unwrap();
    let c = run.stdout.find("-> 1.3.13").unwrap();
    assert!(a < b && b < c, "{}", run.stdout);
}

#[test]
fn missing_step_is_named() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = story(tmp.path(), Some("1.2.26"));
    let inv = inventory(tmp.path(), "1.2.10");
    let doc = plan_json(
        tmp.path(),
        &[cabs.as_os_str(), os("--inventory"), inv.as_os_str()],
        1,
    );
    assert_eq!(doc["outcome"], "no-path");
    assert_eq!(doc["devices"][0]["outcome"], "no-path");
    let why = doc["devices"][0]["detail"].as_str().unwrap();
    assert!(
        why.contains(">= 1.2.26") && why.contains("missing step"),
        "{why}"
    );
    assert!(step_versions(&doc).is_empty());
}

#[test]
fn downgrade_and_reinstall_are_refused_without_flags() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = tmp.path().join("cabs");
    cabinet(tmp.path(), &cabs, "old", "1.2.26", &ge("1.0.0"));
    let inv = inventory(tmp.path(), "1.2.29");
    let args = [cabs.as_os_str(), os("--inventory"), inv.as_os_str()];
    let doc = plan_json(tmp.path(), &args, 1);
    assert_eq!(doc["devices"][0]["outcome"], "refused");
    assert!(doc["devices"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("--allow-downgrade"));
    let mut allowed = args.to_vec();
    allowed.push(os("--allow-downgrade"));
    let doc = plan_json(tmp.path(), &allowed, 0);
    assert_eq!(step_versions(&doc), ["1.2.26"]);
    // The same version: a reinstall.
    let inv = inventory(tmp.path(), "1.2.26");
    let args = [cabs.as_os_str(), os("--inventory"), inv.as_os_str()];
    plan_json(tmp.path(), &args, 1);
    let mut again = args.to_vec();
    again.push(os("--allow-reinstall"));
    assert_eq!(step_versions(&plan_json(tmp.path(), &again, 0)), ["1.2.26"]);
}

#[test]
fn a_package_that_does_not_verify_is_never_applicable() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = story(tmp.path(), None);
    // Flip one byte of the firmware inside the 1.2.26 cabinet (stored, not
    // compressed: gcab without --zip), so its checksums fail.
    let bad = cabs.join("mp-1.2.26.cab");
    let mut bytes = fs::read(&bad).unwrap();
    let fw = prng("1.2.26".len() as u64 + 7, 4096);
    let at = crate::util::find(&bytes, &fw[..64]).expect("firmware stored in the cabinet");
    bytes[at + 100] ^= 0xff;
    fs::write(&bad, bytes).unwrap();
    let inv = inventory(tmp.path(), "1.2.10");
    let doc = plan_json(
        tmp.path(),
        &[cabs.as_os_str(), os("--inventory"), inv.as_os_str()],
        1,
    );
    assert_eq!(doc["outcome"], "not-verified");
    let bad_pkg = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str().unwrap().ends_with("mp-1.2.26.cab"))
        .unwrap();
    assert_eq!(bad_pkg["verified"], false);
    assert_eq!(bad_pkg["checks"][0]["rule"], "verify");
    assert_eq!(bad_pkg["checks"][0]["outcome"], "failed");
    // Without it the chain cannot start.
    assert_eq!(doc["devices"][0]["outcome"], "no-path");
}

#[test]
fn requirements_on_the_system_are_checked() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = tmp.path().join("cabs");
    let hwid = "6de5d951-d755-576b-bd09-c5cf66b27234";
    let requires = format!(
        r#"{}<hardware>11111111-2222-3333-4444-555555555555|{hwid}</hardware><id compare="ge" version="1.5.0">org.freedesktop.fwupd</id>"#,
        ge("1.2.10")
    );
    cabinet(tmp.path(), &cabs, "hw", "1.2.26", &requires);
    // No hwids in the inventory: the hardware rule cannot run: exit 1.
    let inv = inventory(tmp.path(), "1.2.10");
    let args = [cabs.as_os_str(), os("--inventory"), inv.as_os_str()];
    let doc = plan_json(tmp.path(), &args, 1);
    let checks = doc["packages"][0]["checks"].as_array().unwrap();
    let rule = |name: &str| {
        checks
            .iter()
            .find(|c| c["rule"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    assert_eq!(rule("hardware")["outcome"], "not-run");
    assert_eq!(rule("not-evaluated")["outcome"], "not-evaluated");
    // The system's HWID is one of the alternatives: the plan holds.
    let text = format!(
        r#"{{"system": {{"hwids": ["{hwid}"]}}, "devices": [{{"name": "MP", "guids": ["{GUID}"], "version": "1.2.10"}}]}}"#
    );
    fs::write(&inv, text).unwrap();
    let junit = tmp.path().join("plan.xml");
    let mut with_junit = args.to_vec();
    with_junit.extend([os("--junit"), junit.as_os_str()]);
    let doc = plan_json(tmp.path(), &with_junit, 0);
    assert_eq!(step_versions(&doc), ["1.2.26"]);
    let xml = fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites name=\"fwkit plan\""), "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("name=\"verify\""), "{xml}");
    assert!(
        xml.contains("<skipped message=\"&lt;id&gt;org.freedesktop.fwupd"),
        "{xml}"
    );
    // Another system: not applicable.
    let other = format!(
        r#"{{"system": {{"hwids": ["99999999-2222-3333-4444-555555555555"]}}, "devices": [{{"name": "MP", "guids": ["{GUID}"], "version": "1.2.10"}}]}}"#
    );
    fs::write(&inv, other).unwrap();
    let doc = plan_json(tmp.path(), &with_junit, 1);
    // The JUnit report of the earlier run is replaced whole (written beside
    // it, then renamed), and nothing is left beside it.
    let xml = fs::read_to_string(&junit).unwrap();
    assert!(!xml.contains("failures=\"0\""), "{xml}");
    let strays: Vec<_> = fs::read_dir(junit.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".fwkit-"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
    // A report path that is a link is written through, the link kept.
    let real = tmp.path().join("real.xml");
    fs::write(&real, "").unwrap();
    let link = tmp.path().join("link.xml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut through_link = args.to_vec();
    through_link.extend([os("--junit"), link.as_os_str()]);
    plan_json(tmp.path(), &through_link, 1);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&real).unwrap().contains("<testsuites"));
    let checks = doc["packages"][0]["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .any(|c| c["rule"].as_str().unwrap().ends_with("hardware") && c["outcome"] == "failed"));
}

#[test]
fn a_package_for_another_device_is_not_applicable() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = story(tmp.path(), Some("1.2.29"));
    let inv = tmp.path().join("other.json");
    fs::write(&inv, r#"{"devices": [{"name": "NIC", "guids": ["00000000-0000-4000-8000-000000000001"], "version": "1.0"}]}"#).unwrap();
    let doc = plan_json(
        tmp.path(),
        &[cabs.as_os_str(), os("--inventory"), inv.as_os_str()],
        1,
    );
    assert_eq!(doc["outcome"], "not-applicable");
    assert!(doc["devices"].as_array().unwrap().is_empty());
    let checks = doc["packages"][0]["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .any(|c| c["outcome"] == "failed" && c["detail"].as_str().unwrap().contains(GUID)));
}

/// `fwkit plan` with `inventory` (bytes) must exit 2, quickly, with an
/// error on stderr containing `want`.
#[track_caller]
fn refused_inventory(inventory: &[u8], want: &str) {
    let tmp = TempDir::new().unwrap();
    let pkg = tmp.path().join("pkg.bin");
    fs::write(&pkg, b"not read: the inventory fails first").unwrap();
    let inv = tmp.path().join("inv.json");
    fs::write(&inv, inventory).unwrap();
    let started = std::time::Instant::now();
    let run = fwkit(
        tmp.path(),
        [
            os("plan"),
            pkg.as_os_str(),
            os("--inventory"),
            inv.as_os_str(),
        ],
    );
    run.expect(2);
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
    assert!(
        run.stderr.contains(want),
        "wanted {want:?} in:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("inv.json"), "{}", run.stderr);
}

#[test]
fn hostile_inventories_exit_2_with_the_line_and_field() {
    refused_inventory(b"{\"devices\": [\n  {\"name\": \"MP\", \"version\": \"1\", \"colour\": 1}]}", "unknown field `colour`, expected one of `name`, `guids`, `pci`, `dell_component_id`, `version`, `version_format` at line 2");
    refused_inventory(
        b"{\"devices\": [{\"name\": \"MP\"}]}",
        "missing field `version`",
    );
    refused_inventory(
        b"{\"devices\": [{\"name\": \"MP\", \"version\": 3}]}",
        "invalid type",
    );
    refused_inventory(
        b"{\"devices\": [{\"name\": \"MP\", \"guids\": [\"nope\"], \"version\": \"1\"}]}",
        "devices[0] (MP): field `guids`: 'nope' is not a GUID",
    );
    refused_inventory(
        b"{\"devices\": [{\"name\": \"MP\", \"version\": \"1\", \"version_format\": \"semver\"}]}",
        "field `version_format`",
    );
    // Deep nesting: refused at the first bracket the schema does not
    // allow, and serde_json's recursion limit where it would.
    let deep = format!(
        "{{\"devices\": [{}{}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    refused_inventory(deep.as_bytes(), "at line 1 column 14");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    refused_inventory(deep.as_bytes(), "inv.json");
    // Invalid UTF-8 inside a string.
    refused_inventory(
        b"{\"devices\": [{\"name\": \"M\xff\xfeP\", \"version\": \"1\"}]}",
        "line 1",
    );
    // Huge: refused by size before parsing.
    let huge = format!(
        "{{\"devices\": [], \"system\": {{\"model\": \"{}\"}}}}",
        "x".repeat(5 << 20)
    );
    refused_inventory(huge.as_bytes(), "larger than");
    refused_inventory(b"", "EOF");
}

#[test]
fn regex_bombs_in_requirements_do_not_hang() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = tmp.path().join("cabs");
    // A catastrophic-backtracking pattern against a long version: the regex
    // crate matches it in linear time; a pattern past the cap is not run.
    let other = "00000000-0000-4000-8000-0000000000aa";
    let bomb = format!(
        r#"<firmware compare="regex" version="^(a+)+$">{other}</firmware><firmware compare="regex" version="{}">{other}</firmware>"#,
        "a".repeat(300)
    );
    cabinet(tmp.path(), &cabs, "bomb", "1.2.26", &bomb);
    let inv = tmp.path().join("inv.json");
    let long = format!("{}b", "a".repeat(50_000));
    let text = format!(
        r#"{{"devices": [{{"name": "MP", "guids": ["{GUID}"], "version": "1.2.10"}}, {{"name": "EC", "guids": ["{other}"], "version": "{long}"}}]}}"#
    );
    fs::write(&inv, text).unwrap();
    let started = std::time::Instant::now();
    let doc = plan_json(
        tmp.path(),
        &[cabs.as_os_str(), os("--inventory"), inv.as_os_str()],
        1,
    );
    assert!(started.elapsed().as_secs() < 20);
    let checks = doc["packages"][0]["checks"].as_array().unwrap();
    let outcomes: Vec<&str> = checks
        .iter()
        .filter(|c| c["rule"].as_str().unwrap().contains("firmware"))
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "not-run"], "{checks:?}");
    assert!(checks
        .iter()
        .any(|c| c["detail"].as_str().unwrap().contains("longer than 256")));
}

#[test]
fn inventory_from_fwupd_devices() {
    let tmp = TempDir::new().unwrap();
    let devices = tmp.path().join("devices.json");
    let fwupd = format!(
        r#"{{"Devices": [
          {{"Name": "MP", "DeviceId": "x", "Guid": ["{GUID}"], "Version": "1.2.10", "VersionFormat": "triplet", "Plugin": "uefi_capsule"}},
          {{"Name": "No version", "Guid": []}}
        ]}}"#
    );
    fs::write(&devices, fwupd).unwrap();
    let run = fwkit(
        tmp.path(),
        [
            os("plan"),
            os("--inventory-from-fwupd"),
            devices.as_os_str(),
        ],
    );
    run.expect(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["devices"].as_array().unwrap().len(), 1);
    assert_eq!(doc["devices"][0]["guids"][0], GUID);
    assert_eq!(doc["devices"][0]["version_format"], "triplet");
    // What it prints is an inventory plan accepts.
    let inv = tmp.path().join("inv.json");
    fs::write(&inv, &run.stdout).unwrap();
    let pkg = tmp.path().join("empty");
    fs::create_dir(&pkg).unwrap();
    let run = fwkit(
        tmp.path(),
        [
            os("plan"),
            pkg.as_os_str(),
            os("--inventory"),
            inv.as_os_str(),
        ],
    );
    run.expect(2);
    assert!(run.stderr.contains("no package to plan"), "{}", run.stderr);
}

/// `fwkit pack SRC -o OUT --format FORMAT --version VERSION --sign k.key
/// --provides GUID --requires 'ge NEEDS'` in `dir`.
fn signed_set(dir: &Path, format: &str, out: &str, version: &str, needs: &str) -> PathBuf {
    let src = dir.join(format!("src-{version}"));
    write_file(
        &src.join("mp.bin"),
        &prng(version.len() as u64 + 99, 2048),
        0o644,
    );
    let requires = format!("ge {needs}");
    fwkit(
        dir,
        [
            "pack",
            src.to_str().unwrap(),
            "-o",
            out,
            "--format",
            format,
            "--name",
            "MP",
            "--version",
            version,
            "--sign",
            "k.key",
            "--provides",
            GUID,
            "--requires",
            &requires,
        ],
    )
    .expect(0);
    dir.join(out)
}

#[test]
fn signed_fwkit_sets_carry_their_own_path() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    fwkit(dir, ["keygen", "-o", "k", "--no-password"]).expect(0);
    let sets = dir.join("sets");
    fs::create_dir(&sets).unwrap();
    for (version, needs) in [
        ("E.02.26", "E.02.10"),
        ("E.02.29", "E.02.26"),
        ("E.03.13", "E.02.29"),
    ] {
        signed_set(dir, "set", &format!("sets/mp-{version}"), version, needs);
    }
    let inv = inventory(dir, "E.02.10");
    let args = [
        sets.as_os_str(),
        os("--inventory"),
        inv.as_os_str(),
        os("--key"),
        os("k.pub"),
        os("--require-signature"),
    ];
    let doc = plan_json(dir, &args, 0);
    assert_eq!(step_versions(&doc), ["E.02.26", "E.02.29", "E.03.13"]);
    assert_eq!(doc["devices"][0]["version_format"], "plain");
    // The provides and requires are under the manifest's signature: another
    // key, and the plan refuses every package.
    fwkit(dir, ["keygen", "-o", "other", "--no-password"]).expect(0);
    let other = [
        sets.as_os_str(),
        os("--inventory"),
        inv.as_os_str(),
        os("--key"),
        os("other.pub"),
    ];
    let doc = plan_json(dir, &other, 1);
    assert_eq!(doc["outcome"], "not-verified");
    // Without E.02.26: no path, and the missing step is named.
    fs::remove_dir_all(sets.join("mp-E.02.26")).unwrap();
    let doc = plan_json(dir, &args, 1);
    assert_eq!(doc["devices"][0]["outcome"], "no-path");
    let why = doc["devices"][0]["detail"].as_str().unwrap();
    assert!(why.contains("no package provides >= E.02.26"), "{why}");
    // An unsigned requirement cannot be added: a bad --requires is a usage error.
    let src = dir.join("src-E.02.26");
    let run = fwkit(
        dir,
        [
            "pack",
            src.to_str().unwrap(),
            "-o",
            "x.zip",
            "--format",
            "zip",
            "--requires",
            "newer 1",
        ],
    );
    run.expect(2);
    assert!(run.stderr.contains("requires 'newer 1'"), "{}", run.stderr);
}

/// An HPE-style `.fwpkg` (made by `fwkit pack --format fwpkg`): its
/// `payload.json` `Devices.Device[].Target` and `Version` are the release.
#[test]
fn hpe_fwpkg_targets_are_read() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let src = dir.join("ilo");
    write_file(&src.join("ilo5_278.bin"), &prng(5, 4096), 0o644);
    let target = "4764a662-b342-4fc7-9ce9-258c5d99e815";
    fwkit(
        dir,
        [
            "pack",
            "ilo",
            "-o",
            "ilo5.fwpkg",
            "--format",
            "fwpkg",
            "--device",
            "iLO 5",
            "--target",
            target,
            "--version",
            "2.78",
        ],
    )
    .expect(0);
    let inv = dir.join("inv.json");
    let text = format!(
        r#"{{"devices": [{{"name": "iLO 5", "guids": ["{}"], "version": "2.72"}}]}}"#,
        target.to_ascii_uppercase()
    );
    fs::write(&inv, text).unwrap();
    let doc = plan_json(
        dir,
        &[os("ilo5.fwpkg"), os("--inventory"), inv.as_os_str()],
        0,
    );
    assert_eq!(step_versions(&doc), ["2.78"]);
    assert_eq!(doc["devices"][0]["version_format"], "pair");
    assert_eq!(doc["packages"][0]["releases"][0]["source"], "hpe");
    // Already at 2.78: a reinstall, refused without the flag.
    fs::write(
        &inv,
        format!(
            r#"{{"devices": [{{"name": "iLO 5", "guids": ["{target}"], "version": "2.78"}}]}}"#
        ),
    )
    .unwrap();
    let doc = plan_json(
        dir,
        &[os("ilo5.fwpkg"), os("--inventory"), inv.as_os_str()],
        1,
    );
    assert_eq!(doc["outcome"], "refused");
}

/// `fwkit plan SETS --inventory INV --key k.pub --policy POLICY --json`
/// with `policy` written to a file first.
fn with_policy(dir: &Path, sets: &Path, inv: &Path, policy: &str, code: i32) -> Value {
    let path = dir.join("policy.toml");
    fs::write(&path, policy).unwrap();
    let args = [
        sets.as_os_str(),
        os("--inventory"),
        inv.as_os_str(),
        os("--key"),
        os("k.pub"),
        os("--policy"),
        path.as_os_str(),
    ];
    plan_json(dir, &args, code)
}

/// The outcome of every check named `rule`, across packages and the plan.
fn policy_outcomes(doc: &Value, rule: &str) -> Vec<String> {
    let packages = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["checks"].as_array().unwrap());
    packages
        .chain(doc["policy"].as_array().unwrap())
        .filter(|c| c["rule"] == rule)
        .map(|c| c["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn policy_rules_are_named_checks() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    fwkit(dir, ["keygen", "-o", "k", "--no-password"]).expect(0);
    let sets = dir.join("sets");
    fs::create_dir(&sets).unwrap();
    signed_set(dir, "set", "sets/mp-E.02.26", "E.02.26", "E.02.10");
    let inv = inventory(dir, "E.02.10");
    let doc = with_policy(dir, &sets, &inv, "require-signature = true\n", 0);
    assert_eq!(
        policy_outcomes(&doc, "policy require-signature"),
        ["passed"]
    );
    let key_id = doc["packages"][0]["signers"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let good = format!(
        "require-signature = true\nforbid-downgrade = true\nallowed-formats = [\"set\"]\n[signers]\nminisign = [\"{key_id}\"]\n[minimum-versions]\nMP = \"E.02.26\"\n"
    );
    let doc = with_policy(dir, &sets, &inv, &good, 0);
    for rule in [
        "policy signers",
        "policy allowed-formats",
        "policy minimum-versions",
    ] {
        assert_eq!(policy_outcomes(&doc, rule), ["passed"], "{rule}");
    }
    // Each rule violated on its own: exit 1, the rule named.
    let cases = [
        (
            "[signers]\nminisign = [\"0123456789ABCDEF\"]\n",
            "policy signers",
        ),
        ("allowed-formats = [\"cab\"]\n", "policy allowed-formats"),
        (
            &*format!("[minimum-versions]\n\"{GUID}\" = \"E.03.13\"\n"),
            "policy minimum-versions",
        ),
    ];
    for (policy, rule) in cases {
        let doc = with_policy(dir, &sets, &inv, policy, 1);
        assert_eq!(doc["outcome"], "policy-violated", "{policy}");
        assert_eq!(policy_outcomes(&doc, rule), ["failed"], "{policy}");
    }
    // forbid-downgrade wins over --allow-downgrade.
    let path = dir.join("policy.toml");
    fs::write(&path, "forbid-downgrade = true\n").unwrap();
    let high = inventory(dir, "E.02.29");
    let args = [
        sets.as_os_str(),
        os("--inventory"),
        high.as_os_str(),
        os("--allow-downgrade"),
        os("--policy"),
        path.as_os_str(),
    ];
    let doc = plan_json(dir, &args, 1);
    assert_eq!(policy_outcomes(&doc, "policy forbid-downgrade"), ["failed"]);
    assert_eq!(doc["devices"][0]["outcome"], "refused");
}

#[test]
fn hostile_policies_exit_2() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let inv = inventory(dir, "1.2.10");
    let pkg = dir.join("pkg.bin");
    fs::write(&pkg, b"never read").unwrap();
    let cases: [(Vec<u8>, &str); 6] = [
        (b"require-signature = true\ncolour = 1\n".to_vec(), "line 2"),
        (b"require-signature = \"yes\"\n".to_vec(), "invalid type"),
        (
            b"[signers]\nminisign = [\"RWQ\"]\n".to_vec(),
            "not a key id of 16 hex digits",
        ),
        (
            b"require-signature = true # \xff\xfe\n".to_vec(),
            "not UTF-8 at byte",
        ),
        (
            format!("x = {}{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes(),
            "nested deeper than 16",
        ),
        (
            format!("# {}\n", "x".repeat(70_000)).into_bytes(),
            "larger than",
        ),
    ];
    for (policy, want) in cases {
        let path = dir.join("policy.toml");
        fs::write(&path, &policy).unwrap();
        let run = fwkit(
            dir,
            [
                pkg.as_os_str(),
                os("--inventory"),
                inv.as_os_str(),
                os("--policy"),
                path.as_os_str(),
            ]
            .iter()
            .copied()
            .fold(vec![os("plan")], |mut v, a| {
                v.push(a);
                v
            }),
        );
        run.expect(2);
        assert!(
            run.stderr.contains(want) && run.stderr.contains("policy.toml"),
            "wanted {want:?}:\n{}",
            run.stderr
        );
    }
}

/// A plan of many packages (a mirror's worth) prints a bounded text: the
/// failed ones (at most 20, then a count), the passed ones counted; --json
/// keeps every package.
#[test]
fn plan_text_of_many_packages_fits_a_screen() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let cabs = tmp.path().join("cabs");
    for n in 11..36 {
        cabinet(
            tmp.path(),
            &cabs,
            &format!("v{n}"),
            &format!("1.2.{n}"),
            &ge("1.2.10"),
        );
    }
    // 22 damaged copies: their failures are listed 20 at most.
    for n in 0..22 {
        let mut bytes = fs::read(cabs.join("v11.cab")).unwrap();
        let at = bytes.len() - 10;
        bytes[at] ^= 0x55;
        fs::write(cabs.join(format!("bad{n:02}.cab")), bytes).unwrap();
    }
    let inv = inventory(tmp.path(), "1.2.10");
    let args = [
        os("plan"),
        cabs.as_os_str(),
        os("--inventory"),
        inv.as_os_str(),
    ];
    let run = fwkit(tmp.path(), args);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let text = &run.stdout;
    let fail_lines = text.lines().filter(|l| l.starts_with("FAIL ")).count();
    assert_eq!(fail_lines, 21, "20 failed packages and one count: {text}");
    assert!(
        text.contains("FAIL and 2 more package(s) (see --json)"),
        "{text}"
    );
    assert!(text.contains("ok   25 package(s)"), "{text}");
    assert!(text.lines().count() < 120, "{text}");
    let doc = plan_json(tmp.path(), &args[1..], 1);
    assert_eq!(doc["packages"].as_array().unwrap().len(), 47);
}
