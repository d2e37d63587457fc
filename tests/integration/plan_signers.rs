//! `fwkit plan --policy` `[signers]` beyond minisign (issue 13): OpenPGP
//! fingerprints on a Dell-like `.BIN` signed by GnuPG (`.BIN.sign`, as
//! Dell ships them). The X.509 rules (Authenticode) are tested beside the
//! Authenticode fixtures (`authenticode::policy`). Also `signer` in the
//! verify report, the machine-usable identity the policy reads.

use crate::openpgp::Gpg;
use crate::plan_vendors::{dell_inventory, tar_gz, DELL_XML, PCI};
use crate::util::{dell_bin, fwkit, os, prng};
use serde_json::Value;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// `fwkit plan PKG --inventory inv.json --policy policy.toml --json ARGS`
/// with `policy` written first; exits `code`.
pub(crate) fn plan_with_policy(
    dir: &Path,
    pkg: &Path,
    policy: &str,
    args: &[&str],
    code: i32,
) -> Value {
    fs::write(dir.join("policy.toml"), policy).unwrap();
    let mut all = vec![
        os("plan"),
        pkg.as_os_str(),
        os("--inventory"),
        os("inv.json"),
        os("--policy"),
        os("policy.toml"),
        os("--json"),
    ];
    all.extend(args.iter().map(|a| os(a)));
    fwkit(dir, all).expect(code).json()
}

/// The package check named `rule`.
pub(crate) fn rule<'a>(doc: &'a Value, rule: &str) -> &'a Value {
    doc["packages"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == rule)
        .unwrap_or_else(|| panic!("no rule {rule} in {doc:#}"))
}

/// A fingerprint as people paste it: lower case, in groups of four.
fn spaced_lower(fpr: &str) -> String {
    fpr.to_ascii_lowercase()
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn openpgp_fingerprints_in_policy_signers() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let (fpr, other, pkg) = dell_signed_by_a(dir, &gpg);
    gpg.export(dir, &other, "else.gpg", &[]);
    let name = "Firmware_T3ST2_LN_25.5.9.0001_A00.BIN";

    // verify exposes the signer in a field of its own.
    let doc = fwkit(
        dir,
        [name, "--key", "vendor.gpg", "--json"]
            .iter()
            .fold(vec!["verify"], |mut v, a| {
                v.push(a);
                v
            }),
    )
    .expect(0)
    .json();
    let signer = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c.get("signer"))
        .expect("a check with a signer");
    assert_eq!(signer["kind"], "openpgp");
    assert_eq!(signer["fingerprint"], fpr.as_str());
    assert_eq!(signer["primary_fingerprint"], fpr.as_str());
    assert_eq!(signer["user_id"], "Dell-like <pgp@example.com>");
    assert_eq!(signer["whole_package"], true);

    // The fingerprint required, written as people paste it: exit 0.
    let policy = format!("[signers]\nopenpgp = [\"{}\"]\n", spaced_lower(&fpr));
    let doc = plan_with_policy(dir, &pkg, &policy, &["--key", "vendor.gpg"], 0);
    assert_eq!(rule(&doc, "policy signers")["outcome"], "passed");
    assert_eq!(
        doc["packages"][0]["signed_by"][0]["fingerprint"],
        fpr.as_str()
    );

    // Another fingerprint required: exit 1, the rule named, both sides said.
    let policy = format!("[signers]\nopenpgp = [\"{other}\"]\n");
    let doc = plan_with_policy(dir, &pkg, &policy, &["--key", "vendor.gpg"], 1);
    assert_eq!(doc["outcome"], "policy-violated");
    let check = rule(&doc, "policy signers");
    assert_eq!(check["outcome"], "failed");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("OpenPGP fingerprint {other}"))
            && detail.contains(&format!("OpenPGP key {fpr}")),
        "{detail}"
    );

    // Signed by the required key, but that key is not trusted (only the
    // other one is given): seen, never counted.
    let policy = format!("require-signature = true\n[signers]\nopenpgp = [\"{fpr}\"]\n");
    let doc = plan_with_policy(dir, &pkg, &policy, &["--key", "else.gpg"], 1);
    let check = rule(&doc, "policy signers");
    assert_eq!(check["outcome"], "failed");
    assert!(check["detail"]
        .as_str()
        .unwrap()
        .contains("found no verified signature"));
    assert_eq!(rule(&doc, "policy require-signature")["outcome"], "failed");

    // A 64-bit key id is refused: it does not name one key.
    let long_id = &fpr[24..];
    fs::write(
        dir.join("policy.toml"),
        format!("[signers]\nopenpgp = [\"{long_id}\"]\n"),
    )
    .unwrap();
    let run = fwkit(
        dir,
        [
            "plan",
            name,
            "--inventory",
            "inv.json",
            "--policy",
            "policy.toml",
        ],
    );
    run.expect(2);
    assert!(
        run.stderr.contains("is a key id, not a fingerprint") && run.stderr.contains("policy.toml"),
        "{}",
        run.stderr
    );
}

/// A Dell-like `.BIN` signed by GnuPG key A (`.BIN.sign`), with key A
/// exported to `vendor.gpg`, key B made too, and an inventory it applies
/// to: (A's fingerprint, B's, the package).
fn dell_signed_by_a(dir: &Path, gpg: &Gpg) -> (String, String, std::path::PathBuf) {
    let a = gpg.key(dir, "Dell-like <pgp@example.com>", "ed25519", &[]);
    let b = gpg.key(dir, "Someone Else <else@example.com>", "ed25519", &[]);
    gpg.export(dir, &a, "vendor.gpg", &[]);
    let payload = tar_gz(
        dir,
        &[
            ("package.xml", DELL_XML.as_bytes()),
            ("payload/fw.rom", &prng(0x5e, 8192)),
        ],
    );
    let name = "Firmware_T3ST2_LN_25.5.9.0001_A00.BIN";
    fs::write(dir.join(name), dell_bin(&DELL_XML, &payload)).unwrap();
    gpg.sign(dir, &a, name, &format!("{name}.sign"), &[]);
    fs::write(dir.join("inv.json"), dell_inventory("0639", PCI)).unwrap();
    (a, b, dir.join(name))
}

/// `[signers.vendor.NAME]` and `[signers.format.NAME]` (issue 13 point 5):
/// each section that applies must be met, a section that does not apply
/// is ignored, an unknown name is a usage error naming its line.
#[test]
fn signers_per_vendor_and_format() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let (a, b, pkg) = dell_signed_by_a(dir, &gpg);
    let key = ["--key", "vendor.gpg"];

    // Dell's section names A: passed, and the plan says which vendor.
    let policy = format!("[signers.vendor.dell]\nopenpgp = [\"{a}\"]\n");
    let doc = plan_with_policy(dir, &pkg, &policy, &key, 0);
    assert_eq!(doc["packages"][0]["vendors"], serde_json::json!(["dell"]));
    assert_eq!(doc["packages"][0]["format"], "dell-dup");
    let check = rule(&doc, "policy signers.vendor.dell");
    assert_eq!(check["outcome"], "passed");
    assert!(doc["packages"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["rule"] != "policy signers"));

    // Dell's section names B only: failed, the section named in rule and
    // detail, even though the top-level list (A) holds.
    let policy =
        format!("[signers]\nopenpgp = [\"{a}\"]\n[signers.vendor.dell]\nopenpgp = [\"{b}\"]\n");
    let doc = plan_with_policy(dir, &pkg, &policy, &key, 1);
    assert_eq!(doc["outcome"], "policy-violated");
    assert_eq!(rule(&doc, "policy signers")["outcome"], "passed");
    let check = rule(&doc, "policy signers.vendor.dell");
    assert_eq!(check["outcome"], "failed");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("[signers.vendor.dell] applies (the package's vendor is dell)")
            && detail.contains(&format!("OpenPGP fingerprint {b}"))
            && detail.contains(&format!("OpenPGP key {a}")),
        "{detail}"
    );

    // The format's section holds too; sections of other vendors and
    // formats (B required there) do not apply: ignored, exit 0.
    let policy = format!(
        "[signers.format.dell-dup]\nopenpgp = [\"{a}\"]\n[signers.format.cab]\nopenpgp = [\"{b}\"]\n[signers.vendor.hpe]\nopenpgp = [\"{b}\"]\n"
    );
    let doc = plan_with_policy(dir, &pkg, &policy, &key, 0);
    assert_eq!(
        rule(&doc, "policy signers.format.dell-dup")["outcome"],
        "passed"
    );
    let rules: Vec<&str> = doc["packages"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["rule"].as_str())
        .filter(|r| r.starts_with("policy"))
        .collect();
    assert_eq!(rules, ["policy signers.format.dell-dup"]);

    // A: signed, but not by a trusted key (only B's given): the section fails.
    gpg.export(dir, &b, "else.gpg", &[]);
    let policy = format!("[signers.vendor.dell]\nopenpgp = [\"{a}\"]\n");
    let doc = plan_with_policy(dir, &pkg, &policy, &["--key", "else.gpg"], 1);
    assert_eq!(
        rule(&doc, "policy signers.vendor.dell")["outcome"],
        "failed"
    );

    // Unknown vendor or format names, an empty or malformed section: exit
    // 2 naming the file, the section and its line.
    let bad = [
        (
            format!("[signers]\nopenpgp = [\"{a}\"]\n\n[signers.vendor.acme]\nopenpgp = [\"{a}\"]\n"),
            "signers.vendor.acme (line 4): unknown vendor 'acme'; fwkit's vendor names are dell, hpe",
        ),
        (
            format!("[signers.format.exe]\nopenpgp = [\"{a}\"]\n"),
            "signers.format.exe (line 1): unknown format 'exe'",
        ),
        (
            "[signers.vendor.dell]\n".to_owned(),
            "signers.vendor.dell (line 1): names no signer",
        ),
        (
            format!("[signers.vendor.dell]\nopenpgp = [\"{}\"]\n", &a[24..]),
            "signers.vendor.dell (line 1): openpgp: '",
        ),
        (
            format!("[signers.vendor.dell]\nopenpgp = [\"{a}\"]\n[signers.vendor.dell.format.cab]\nopenpgp = [\"{a}\"]\n"),
            "sections do not nest",
        ),
        (
            format!("[signers.vendor.dell]\nopenpgp = [\"{a}\"]\nkeys = []\n"),
            "unknown field `keys`",
        ),
    ];
    for (policy, want) in bad {
        fs::write(dir.join("policy.toml"), &policy).unwrap();
        let mut args = vec![
            os("plan"),
            pkg.as_os_str(),
            os("--inventory"),
            os("inv.json"),
        ];
        args.extend([os("--policy"), os("policy.toml")]);
        let run = fwkit(dir, args);
        run.expect(2);
        assert!(
            run.stderr.contains(want) && run.stderr.contains("policy.toml"),
            "{policy}: {}",
            run.stderr
        );
    }
}
