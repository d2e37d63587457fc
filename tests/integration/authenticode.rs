//! Authenticode (issue 11, point 2): PE images signed by `osslsigncode`
//! with a test PKI made by `openssl ca` at test time (a root CA, a
//! code-signing leaf, an expired leaf, a leaf without the code-signing
//! EKU, a time-stamping authority for osslsigncode's built-in RFC 3161
//! stamps), checked against `osslsigncode verify` and `sbverify`; the image
//! digest is also recomputed here from the PE headers. Real-world chains:
//! Debian's signed GRUB against the Debian Secure Boot CA that shim embeds
//! in `.vendor_cert`, and Debian's Microsoft-signed shim against the UEFI
//! CA 2011 certificate its own signature carries.

use crate::util::{checks, fwkit, le16, le32, os, require_file, require_tool, tool};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const GRUB: &str = "/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi";
const GRUB_SIGNED: &str = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
const SHIM_SIGNED: &str = "/usr/lib/shim/shimx64.efi.signed";

const CA_CONFIG: &str = "[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[noeku]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
[tsa]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
";

/// 2020-06-01T00:00:00Z, inside the expired leaf's validity (2020).
const IN_2020: u64 = 1_590_969_600;
/// 2025-11-24T16:00:00Z.
const IN_2025: u64 = 1_764_000_000;

fn have(tools: &[&str], files: &[&str]) -> bool {
    tools.iter().all(|t| require_tool(t)) && files.iter().all(|f| require_file(Path::new(f)))
}

fn run_openssl(dir: &Path, args: &[&str]) {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| os(a)).collect();
    tool(dir, "openssl", &args);
}

/// A CA directory `name` with a self-signed root valid 2019-2039.
fn make_ca(dir: &Path, name: &str, subject: &str) -> PathBuf {
    let ca = dir.join(name);
    fs::create_dir_all(&ca).unwrap();
    fs::write(ca.join("ca.cnf"), CA_CONFIG).unwrap();
    fs::write(ca.join("index.txt"), "").unwrap();
    fs::write(ca.join("serial"), "1000\n").unwrap();
    request(&ca, "ca", subject);
    run_openssl(
        &ca,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            "ca.key",
            "-in",
            "ca.csr",
            "-out",
            "ca.pem",
            "-extensions",
            "v3_ca",
            "-startdate",
            "20190101000000Z",
            "-enddate",
            "20390101000000Z",
            "-notext",
        ],
    );
    ca
}

fn request(dir: &Path, name: &str, subject: &str) {
    let key = format!("{name}.key");
    run_openssl(dir, &["genrsa", "-out", &key, "2048"]);
    let subj = format!("/CN={subject}");
    let csr = format!("{name}.csr");
    run_openssl(
        dir,
        &["req", "-new", "-key", &key, "-subj", &subj, "-out", &csr],
    );
}

/// Certificate `name` issued by the CA in `ca` with the config section
/// `profile`, valid `from..until` (openssl `YYYYMMDDhhmmssZ`).
fn issue(ca: &Path, name: &str, (subject, profile): (&str, &str), (from, until): (&str, &str)) {
    request(ca, name, subject);
    let (csr, pem) = (format!("{name}.csr"), format!("{name}.pem"));
    run_openssl(
        ca,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-in",
            &csr,
            "-out",
            &pem,
            "-extensions",
            profile,
            "-startdate",
            from,
            "-enddate",
            until,
            "-notext",
        ],
    );
}

/// The test PKI: `ca/` holds the root, `leaf`, `expired`, `noeku`, `tsa`
/// (with `tsa-chain.pem`); `other/` a second, unrelated root.
fn pki(dir: &Path) -> PathBuf {
    let ca = make_ca(dir, "ca", "Test Root CA");
    issue(
        &ca,
        "leaf",
        ("Test Code Signer", "leaf"),
        ("20190101000000Z", "20390101000000Z"),
    );
    issue(
        &ca,
        "expired",
        ("Expired Code Signer", "leaf"),
        ("20200101000000Z", "20210101000000Z"),
    );
    issue(
        &ca,
        "noeku",
        ("No EKU Signer", "noeku"),
        ("20190101000000Z", "20390101000000Z"),
    );
    issue(
        &ca,
        "tsa",
        ("Test TSA", "tsa"),
        ("20190101000000Z", "20390101000000Z"),
    );
    let chain = [
        fs::read(ca.join("tsa.pem")).unwrap(),
        fs::read(ca.join("ca.pem")).unwrap(),
    ]
    .concat();
    fs::write(ca.join("tsa-chain.pem"), chain).unwrap();
    make_ca(dir, "other", "Some Other Root CA");
    ca
}

/// Debian's GRUB EFI image with a zip appended, like an HPE `cp*.exe`.
fn pe_with_zip(dir: &Path) -> (PathBuf, Vec<u8>) {
    let src = dir.join("payload");
    fs::create_dir_all(src.join("fw")).unwrap();
    let image = crate::util::prng(7, 50_000);
    fs::write(src.join("fw/image.bin"), &image).unwrap();
    fs::write(src.join("cp000001.xml"), "<cpq_package version=\"2.0\"/>\n").unwrap();
    tool(
        &src,
        "zip",
        &[os("-q"), os("-r"), os("-X"), os("../payload.zip"), os(".")],
    );
    let data = [
        fs::read(GRUB).unwrap(),
        fs::read(dir.join("payload.zip")).unwrap(),
    ]
    .concat();
    let pkg = dir.join("cp000001.exe");
    fs::write(&pkg, &data).unwrap();
    (pkg, image)
}

/// How a fixture is signed.
struct Sign<'a> {
    signer: &'a str,
    digest: &'a str,
    /// The built-in time stamp's time, if any.
    stamp: Option<u64>,
}

fn sign(ca: &Path, input: &Path, out: &Path, how: &Sign<'_>) {
    let cert = ca.join(format!("{}.pem", how.signer));
    let key = ca.join(format!("{}.key", how.signer));
    let mut args = vec![
        os("sign").to_owned(),
        os("-certs").into(),
        cert.into(),
        os("-key").into(),
        key.into(),
        os("-h").into(),
        os(how.digest).into(),
    ];
    if let Some(time) = how.stamp {
        args.extend([
            os("-TSA-certs").into(),
            ca.join("tsa-chain.pem").into(),
            os("-TSA-key").into(),
            ca.join("tsa.key").into(),
            os("-TSA-time").into(),
            time.to_string().into(),
        ]);
    }
    args.extend([
        os("-in").into(),
        input.into(),
        os("-out").into(),
        out.into(),
    ]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    tool(ca, "osslsigncode", &refs);
}

/// `fwkit verify PKG --json ARGS`, expecting `code`.
#[track_caller]
fn verify(dir: &Path, pkg: &Path, args: &[&std::ffi::OsStr], code: i32) -> Value {
    let mut all = vec![os("verify"), pkg.as_os_str(), os("--json")];
    all.extend_from_slice(args);
    fwkit(dir, all).expect(code).json()
}

/// The Authenticode signature checks of a report.
fn signatures(doc: &Value) -> Vec<&Value> {
    checks(doc)
        .iter()
        .filter(|c| {
            c["covers"]
                .as_str()
                .unwrap_or("")
                .contains("(Authenticode signature")
        })
        .collect()
}

fn detail(check: &Value) -> &str {
    check["detail"].as_str().unwrap_or("")
}

/// `fwkit unpack PKG -o OUT ARGS`: exit `code`; the tree is placed only on 0.
#[track_caller]
fn unpack(dir: &Path, pkg: &Path, args: &[&std::ffi::OsStr], code: i32) -> PathBuf {
    let out = dir.join(format!(
        "out-{}",
        pkg.file_name().unwrap().to_string_lossy()
    ));
    let mut all = vec![os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()];
    all.extend_from_slice(args);
    fwkit(dir, all).expect(code);
    if code != 0 {
        crate::util::assert_not_unpacked(&out);
    }
    out
}

/// `osslsigncode verify` against the test CA (for the signer and the TSA).
fn osslsigncode_accepts(ca: &Path, pkg: &Path) -> bool {
    std::process::Command::new("osslsigncode")
        .args([os("verify"), os("-CAfile"), ca.join("ca.pem").as_os_str()])
        .args([
            os("-TSA-CAfile"),
            ca.join("ca.pem").as_os_str(),
            os("-in"),
            pkg.as_os_str(),
        ])
        .output()
        .unwrap()
        .status
        .success()
}

/// `sbverify --cert CA PKG` (checks the digest and chain, not validity dates).
fn sbverify_accepts(cert: &Path, pkg: &Path) -> bool {
    std::process::Command::new("sbverify")
        .args([os("--cert"), cert.as_os_str(), pkg.as_os_str()])
        .output()
        .unwrap()
        .status
        .success()
}

/// The certificate table's place, the checksum offset and the table's
/// directory entry, read from the headers here (PE/COFF specification).
fn pe_fields(d: &[u8]) -> ((usize, usize), usize, usize) {
    let optional = le32(d, 0x3c) as usize + 24;
    let directories = match le16(d, optional) {
        0x20b => optional + 112,
        _ => optional + 96,
    };
    let entry = directories + 32;
    let table = (le32(d, entry) as usize, le32(d, entry + 4) as usize);
    (table, optional + 64, entry)
}

/// The Authenticode SHA-256 image digest, computed here.
fn image_digest(d: &[u8]) -> String {
    let ((start, _), checksum, entry) = pe_fields(d);
    let mut h = Sha256::new();
    h.update(&d[..checksum]);
    h.update(&d[checksum + 4..entry]);
    h.update(&d[entry + 8..start]);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn fixture(tmp: &Path, how: &Sign<'_>) -> (PathBuf, PathBuf, Vec<u8>) {
    let ca = pki(tmp);
    let (unsigned, image) = pe_with_zip(tmp);
    let pkg = tmp.join(format!("cp-{}-{}.exe", how.signer, how.digest));
    sign(&ca, &unsigned, &pkg, how);
    (ca, pkg, image)
}

const GOOD: Sign<'static> = Sign {
    signer: "leaf",
    digest: "sha256",
    stamp: Some(IN_2025),
};

/// A good signature with an RFC 3161 stamp: verified, the report names the
/// signer, issuer, serial, digest, stamped time and what it covers; the
/// image digest is the one computed here; the oracles agree; unpack places
/// the tree; without an anchor the signature is only reported.
#[test]
fn good_signature_verifies_and_unpacks() {
    if !have(&["openssl", "osslsigncode", "sbverify", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (ca, pkg, image) = fixture(tmp.path(), &GOOD);
    assert!(osslsigncode_accepts(&ca, &pkg));
    assert!(sbverify_accepts(&ca.join("ca.pem"), &pkg));
    let anchor = ca.join("ca.pem");
    let key = [os("--key"), anchor.as_os_str(), os("--require-signature")];
    let doc = verify(tmp.path(), &pkg, &key, 0);
    let found = signatures(&doc);
    assert_eq!(found.len(), 1, "{found:#?}");
    let check = found[0];
    assert_eq!(check["outcome"], "passed", "{check:#}");
    assert_eq!(check["algorithm"], "sha256");
    let data = fs::read(&pkg).unwrap();
    assert_eq!(check["computed"], image_digest(&data).as_str());
    assert_eq!(check["computed"], check["expected"]);
    let ((table, _), _, _) = pe_fields(&data);
    assert_eq!(check["range"], serde_json::json!([0, table]));
    assert!(check["covers"].as_str().unwrap().starts_with(
        "whole file except checksum field, security directory entry, certificate table"
    ));
    for fact in [
        "signer CN=Test Code Signer",
        "issuer CN=Test Root CA",
        "serial ",
        "digest SHA-256",
        "signed at 2025-11-24T16:00:00Z (RFC 3161 time stamp by CN=Test TSA, verified)",
        "judged at 2025-11-24T16:00:00Z (signing time",
        "revocation not checked",
        "chain CN=Test Code Signer -> CN=Test Root CA",
    ] {
        assert!(
            detail(check).contains(fact),
            "{fact:?} not in {}",
            detail(check)
        );
    }
    let out = unpack(tmp.path(), &pkg, &key, 0);
    assert_eq!(fs::read(out.join("fw/image.bin")).unwrap(), image);
    // No anchor: reported, not checked, and not enough for --require-signature.
    let doc = verify(tmp.path(), &pkg, &[], 0);
    assert!(signatures(&doc).is_empty());
    assert!(checks(&doc).iter().any(|c| c["outcome"] == "info"
        && detail(c).contains("Authenticode signature present, not checked")));
    verify(tmp.path(), &pkg, &[os("--require-signature")], 1);
}

/// One byte changed after signing, in a section, in the appended zip and
/// in the certificate table; and bytes appended after the table: never
/// verified, never unpacked, and osslsigncode agrees.
#[test]
fn tampered_images_fail() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (ca, pkg, _) = fixture(tmp.path(), &GOOD);
    let data = fs::read(&pkg).unwrap();
    let ((table, size), _, _) = pe_fields(&data);
    let zip_at = fs::metadata(GRUB).unwrap().len() as usize;
    let anchor = ca.join("ca.pem");
    let key = [os("--key"), anchor.as_os_str()];
    // In the table: a byte of the signed image digest (SpcIndirectDataContent).
    let signed: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&image_digest(&data)[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let in_table = table + crate::util::find(&data[table..table + size], &signed).unwrap() + 5;
    for (name, at) in [
        ("section", 0x2000),
        ("zip", zip_at + 40),
        ("table", in_table),
    ] {
        let mut bad = data.clone();
        bad[at] ^= 0x01;
        let path = tmp.path().join(format!("flipped-{name}.exe"));
        fs::write(&path, &bad).unwrap();
        assert!(
            !osslsigncode_accepts(&ca, &path),
            "osslsigncode accepted {name}"
        );
        let doc = verify(tmp.path(), &path, &key, 1);
        let found = signatures(&doc);
        let outcomes: Vec<&Value> = found.iter().map(|c| &c["outcome"]).collect();
        assert!(
            !outcomes.contains(&&Value::from("passed")),
            "{name}: {found:#?}"
        );
        if name != "table" {
            assert!(
                detail(found[0]).contains("image digest does not match"),
                "{found:#?}"
            );
        }
        unpack(tmp.path(), &path, &key, 1);
    }
    let mut longer = data.clone();
    longer.extend_from_slice(b"appended after signing");
    let path = tmp.path().join("appended.exe");
    fs::write(&path, &longer).unwrap();
    let doc = verify(tmp.path(), &path, &key, 1);
    assert!(doc["verdict"]["reasons"]
        .to_string()
        .contains("follow the certificate table"));
    unpack(tmp.path(), &path, &key, 1);
}

/// A CA the signer does not chain to: the signature is reported (info)
/// and not counted, so verify and unpack fail.
#[test]
fn wrong_anchor_is_not_counted() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (_, pkg, _) = fixture(tmp.path(), &GOOD);
    let other = tmp.path().join("other/ca.pem");
    let key = [os("--key"), other.as_os_str()];
    let doc = verify(tmp.path(), &pkg, &key, 1);
    let found = signatures(&doc);
    assert_eq!(found[0]["outcome"], "info", "{found:#?}");
    assert!(detail(found[0]).contains("not a trusted anchor; not counted"));
    assert!(detail(found[0]).contains("signer CN=Test Code Signer"));
    assert!(doc["verdict"]["reasons"]
        .to_string()
        .contains("no valid signature"));
    unpack(tmp.path(), &pkg, &key, 1);
}

/// An expired signer: with a verified stamp from its lifetime it verifies
/// (judged at the signing time) unless `--at now`; without a stamp it is
/// judged now and fails, unless `--at` names a date in its lifetime.
#[test]
fn expired_signer_with_and_without_a_time_stamp() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let ca = pki(tmp.path());
    let (unsigned, _) = pe_with_zip(tmp.path());
    let stamped = tmp.path().join("expired-stamped.exe");
    let how = Sign {
        signer: "expired",
        digest: "sha256",
        stamp: Some(IN_2020),
    };
    sign(&ca, &unsigned, &stamped, &how);
    let bare = tmp.path().join("expired-bare.exe");
    sign(&ca, &unsigned, &bare, &Sign { stamp: None, ..how });
    assert!(osslsigncode_accepts(&ca, &stamped));
    assert!(!osslsigncode_accepts(&ca, &bare));
    let anchor = ca.join("ca.pem");
    let key = [os("--key"), anchor.as_os_str()];
    let doc = verify(tmp.path(), &stamped, &key, 0);
    assert!(detail(signatures(&doc)[0]).contains("judged at 2020-06-01T00:00:00Z (signing time"));
    unpack(tmp.path(), &stamped, &key, 0);
    let now = [os("--key"), anchor.as_os_str(), os("--at"), os("now")];
    let doc = verify(tmp.path(), &stamped, &now, 1);
    assert!(detail(signatures(&doc)[0]).contains("(now)"));
    let doc = verify(tmp.path(), &bare, &key, 1);
    let check = signatures(&doc)[0];
    assert_eq!(check["outcome"], "failed");
    assert!(
        detail(check).contains("not verified; certificates judged at"),
        "{check:#}"
    );
    assert!(detail(check).contains("(now)"), "{check:#}");
    assert!(
        detail(check).contains("valid from 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z, not at")
    );
    unpack(tmp.path(), &bare, &key, 1);
    let at = [
        os("--key"),
        anchor.as_os_str(),
        os("--at"),
        os("2020-07-01"),
    ];
    let doc = verify(tmp.path(), &bare, &at, 0);
    assert!(detail(signatures(&doc)[0]).contains("judged at 2020-07-01T00:00:00Z (--at)"));
}

/// A signer certificate without the code-signing EKU fails.
#[test]
fn signer_without_code_signing_eku_fails() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let how = Sign {
        signer: "noeku",
        ..GOOD
    };
    let (ca, pkg, _) = fixture(tmp.path(), &how);
    let anchor = ca.join("ca.pem");
    let key = [os("--key"), anchor.as_os_str()];
    let doc = verify(tmp.path(), &pkg, &key, 1);
    let check = signatures(&doc)[0];
    assert_eq!(check["outcome"], "failed");
    assert!(detail(check).contains("lacks the extended key usage 1.3.6.1.5.5.7.3.3 (code signing)"));
    unpack(tmp.path(), &pkg, &key, 1);
}

/// A SHA-1 image digest is refused (not-run) unless --allow-legacy-crypto.
#[test]
fn sha1_digest_needs_allow_legacy_crypto() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let how = Sign {
        digest: "sha1",
        ..GOOD
    };
    let (ca, pkg, _) = fixture(tmp.path(), &how);
    let anchor = ca.join("ca.pem");
    let key = [os("--key"), anchor.as_os_str()];
    let doc = verify(tmp.path(), &pkg, &key, 1);
    let check = signatures(&doc)[0];
    assert_eq!(check["outcome"], "not-run");
    assert!(detail(check).contains("SHA-1 image digest refused"));
    unpack(tmp.path(), &pkg, &key, 1);
    let legacy = [os("--key"), anchor.as_os_str(), os("--allow-legacy-crypto")];
    let doc = verify(tmp.path(), &pkg, &legacy, 0);
    assert_eq!(signatures(&doc)[0]["algorithm"], "sha1");
    unpack(tmp.path(), &pkg, &legacy, 0);
}

mod options;
mod policy;
mod real;
