//! `fwkit plan --policy` `[signers]` `x509-sha256` and `x509-subject` on an
//! HP-like `cp*.exe` (Debian's GRUB EFI image + a zip with a
//! `cpq_package` XML naming a device Target) signed by `osslsigncode`
//! with the test PKI of `authenticode.rs`.

use super::{have, pki, sign, GOOD, GRUB};
use crate::plan_signers::{plan_with_policy, rule};
use crate::util::{os, tool};
use std::fs;
use tempfile::TempDir;

const TARGET: &str = "5d0f6a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6";

#[test]
fn x509_signers_in_policy() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let ca = pki(dir);
    let src = dir.join("payload");
    fs::create_dir_all(&src).unwrap();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpq_package version="2.0"><filename>cp000077.exe</filename>
<version value="1.40" revision="A" type_of_change="0"/>
<name><name_xlate lang="en">fwkit test NIC firmware</name_xlate></name>
<payload><Devices><Device><DeviceName>Test NIC</DeviceName><Target>{TARGET}</Target><Version>1.40</Version>
<FirmwareImages><FileName>nic.bin</FileName></FirmwareImages></Device></Devices></payload>
</cpq_package>
"#
    );
    fs::write(src.join("cp000077.xml"), xml).unwrap();
    fs::write(src.join("nic.bin"), crate::util::prng(77, 20_000)).unwrap();
    tool(
        &src,
        "zip",
        &[
            os("-q"),
            os("-X"),
            os("../payload.zip"),
            os("cp000077.xml"),
            os("nic.bin"),
        ],
    );
    let unsigned = dir.join("unsigned.exe");
    let data = [
        fs::read(GRUB).unwrap(),
        fs::read(dir.join("payload.zip")).unwrap(),
    ]
    .concat();
    fs::write(&unsigned, data).unwrap();
    let pkg = dir.join("cp000077.exe");
    sign(&ca, &unsigned, &pkg, &GOOD);
    fs::write(
        dir.join("inv.json"),
        format!(
            r#"{{"devices": [{{"name": "Test NIC", "guids": ["{TARGET}"], "version": "1.30"}}]}}"#
        ),
    )
    .unwrap();
    // The leaf's SHA-256 as openssl prints it (colons, upper case).
    let leaf = ca.join("leaf.pem");
    let out = tool(
        dir,
        "openssl",
        &[
            os("x509"),
            os("-in"),
            leaf.as_os_str(),
            os("-noout"),
            os("-fingerprint"),
            os("-sha256"),
        ],
    );
    let out = String::from_utf8(out).unwrap();
    let colons = out.trim().split_once('=').unwrap().1.to_owned();
    let anchor = ca.join("ca.pem");
    let key = ["--key", anchor.to_str().unwrap()];

    let doc = plan_with_policy(
        dir,
        &pkg,
        &format!("[signers]\nx509-sha256 = [\"{colons}\"]\n"),
        &key,
        0,
    );
    assert_eq!(rule(&doc, "policy signers")["outcome"], "passed");
    let signer = &doc["packages"][0]["signed_by"][0];
    assert_eq!(signer["kind"], "x509");
    assert_eq!(signer["subject"], "CN=Test Code Signer");
    assert_eq!(signer["issuer"], "CN=Test Root CA");
    assert_eq!(
        signer["sha256"].as_str().unwrap(),
        colons.replace(':', "").to_ascii_lowercase()
    );
    assert_eq!(doc["devices"][0]["steps"][0]["to"], "1.40");

    // The subject, spelt loosely: exit 0.
    let doc = plan_with_policy(
        dir,
        &pkg,
        "[signers]\nx509-subject = [\"cn = Test Code Signer\"]\n",
        &key,
        0,
    );
    assert_eq!(rule(&doc, "policy signers")["outcome"], "passed");

    // Another subject (the CA's, a prefix-like one) or another certificate:
    // exit 1, the rule named, what was required and found said.
    for policy in [
        "[signers]\nx509-subject = [\"CN=Test Root CA\"]\n".to_owned(),
        "[signers]\nx509-subject = [\"CN=Test Code Signer,O=Other\"]\n".to_owned(),
        format!("[signers]\nx509-sha256 = [\"{}\"]\n", "ab".repeat(32)),
    ] {
        let doc = plan_with_policy(dir, &pkg, &policy, &key, 1);
        assert_eq!(doc["outcome"], "policy-violated", "{policy}");
        let check = rule(&doc, "policy signers");
        assert_eq!(check["outcome"], "failed", "{policy}");
        let detail = check["detail"].as_str().unwrap();
        assert!(
            detail.contains("X.509 certificate \"CN=Test Code Signer\"")
                && detail.contains("required"),
            "{detail}"
        );
    }

    // Per vendor and per format (issue 13 point 5): an HP cp*.exe is of
    // vendor hpe and format pe; both sections hold with the leaf's
    // SHA-256, a Dell section requiring another certificate is ignored.
    let policy = format!(
        "[signers.vendor.hpe]\nx509-sha256 = [\"{colons}\"]\n[signers.format.pe]\nx509-subject = [\"CN=Test Code Signer\"]\n[signers.vendor.dell]\nx509-sha256 = [\"{}\"]\n",
        "ab".repeat(32)
    );
    let doc = plan_with_policy(dir, &pkg, &policy, &key, 0);
    assert_eq!(doc["packages"][0]["vendors"], serde_json::json!(["hpe"]));
    assert_eq!(rule(&doc, "policy signers.vendor.hpe")["outcome"], "passed");
    assert_eq!(rule(&doc, "policy signers.format.pe")["outcome"], "passed");
    // The hpe section requires another certificate: exit 1, that section named.
    let policy = format!(
        "[signers.vendor.hpe]\nx509-sha256 = [\"{}\"]\n",
        "ab".repeat(32)
    );
    let doc = plan_with_policy(dir, &pkg, &policy, &key, 1);
    let check = rule(&doc, "policy signers.vendor.hpe");
    assert_eq!(check["outcome"], "failed");
    assert!(check["detail"]
        .as_str()
        .unwrap()
        .contains("[signers.vendor.hpe] applies"));

    // The signer's certificate chains to no given anchor (another root):
    // not verified, and the subject rule is not met by a signer only seen.
    let other = dir.join("other/ca.pem");
    let doc = plan_with_policy(
        dir,
        &pkg,
        "[signers]\nx509-subject = [\"CN=Test Code Signer\"]\n",
        &["--key", other.to_str().unwrap()],
        1,
    );
    let check = rule(&doc, "policy signers");
    assert_eq!(check["outcome"], "failed");
    assert!(check["detail"]
        .as_str()
        .unwrap()
        .contains("found no verified signature"));
}
