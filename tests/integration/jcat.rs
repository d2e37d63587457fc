//! JCat signatures checked (issue 11, point 4): JCat files made at test time
//! by `jcat-tool` (libjcat, Debian package `jcat`): `jcat-tool sign` with a
//! certificate and key from a test CA made by `openssl`, `jcat-tool
//! self-sign`, `jcat-tool import` of a `gpg --batch` detached signature;
//! cabinets by `gcab`. `openssl cms -verify` is the oracle that the PKCS#7
//! blobs are good. Every verify case also goes through `unpack`: nothing is
//! placed unless verified.

use crate::openpgp::Gpg;
use crate::util::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

/// A test PKI: a CA, a code-signing certificate it issued (with its key),
/// and an unrelated CA.
pub struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub other: PathBuf,
}

const OPENSSL_CNF: &str = "[req]\ndistinguished_name=dn\n[dn]\n\
[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n\
[leaf]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n\
subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
    tool(dir, "openssl", &args)
}

fn ca(dir: &Path, name: &str, subject: &str) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "30",
            "-subj",
            subject,
            "-config",
            "pki.cnf",
            "-extensions",
            "ca",
        ],
    );
}

/// Make the test PKI in `dir` with `openssl`; `None` (after a SKIP) without it.
pub fn pki(dir: &Path) -> Option<Pki> {
    if !require_tool("openssl") {
        return None;
    }
    fs::write(dir.join("pki.cnf"), OPENSSL_CNF).unwrap();
    ca(dir, "ca", "/CN=fwkit test CA");
    ca(dir, "other", "/CN=fwkit other CA");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "signer.key",
            "-out",
            "signer.csr",
            "-subj",
            "/CN=fwkit test signer",
            "-config",
            "pki.cnf",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "signer.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "signer.pem",
            "-days",
            "30",
            "-extfile",
            "pki.cnf",
            "-extensions",
            "leaf",
        ],
    );
    Some(Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("signer.pem"),
        key: dir.join("signer.key"),
        other: dir.join("other.pem"),
    })
}

/// `jcat-tool ARGS` in `dir`, with its own HOME (where `self-sign` keeps
/// its key); panics unless it succeeds.
fn jcat_tool(dir: &Path, args: &[&OsStr]) {
    let out = Command::new("jcat-tool")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("spawn jcat-tool");
    assert!(
        out.status.success(),
        "jcat-tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tools() -> bool {
    require_tool("jcat-tool") && require_tool("gcab") && require_tool("openssl")
}

/// `jcat-tool sign JCAT FILE CERT KEY` (`target`: `--target sha256`).
fn sign(dir: &Path, jcat: &str, file: &str, pki: &Pki, target: Option<&str>) {
    let mut args: Vec<&OsStr> = Vec::new();
    if let Some(t) = target {
        args.extend([os("--target"), os(t)]);
    }
    args.extend([os("sign"), os(jcat), os(file)]);
    args.extend([pki.cert.as_os_str(), pki.key.as_os_str()]);
    jcat_tool(dir, &args);
}

/// `jcat-tool --kind sha256 import JCAT FILE FILE.sha256`: the checksum
/// blob a `Target` signature signs.
fn import_sha256(dir: &Path, jcat: &str, file: &str) {
    let digest = sha256_hex(&fs::read(dir.join(file)).unwrap());
    fs::write(dir.join(format!("{file}.sha256")), digest).unwrap();
    let sum = format!("{file}.sha256");
    jcat_tool(
        dir,
        &[
            os("--kind"),
            os("sha256"),
            os("import"),
            os(jcat),
            os(file),
            os(&sum),
        ],
    );
}

/// The JSON of a JCat file.
fn jcat_json(path: &Path) -> Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The oracle: `openssl cms -verify` of the PKCS#7 blob (kind 3) of item
/// `id` with `target` over `content`, chained to `ca`.
fn openssl_verifies(
    dir: &Path,
    jcat: &Path,
    (id, target): (&str, Option<u64>),
    content: &Path,
    ca: &Path,
) {
    let doc = jcat_json(jcat);
    let item = doc["Items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Id"] == id)
        .unwrap();
    let blob = item["Blobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["Kind"] == 3 && b["Target"].as_u64() == target)
        .unwrap();
    fs::write(dir.join("blob.p7"), blob["Data"].as_str().unwrap()).unwrap();
    tool(
        dir,
        "openssl",
        &[
            os("cms"),
            os("-verify"),
            os("-binary"),
            os("-inform"),
            os("PEM"),
            os("-in"),
            os("blob.p7"),
            os("-content"),
            content.as_os_str(),
            os("-CAfile"),
            ca.as_os_str(),
            os("-purpose"),
            os("any"),
            os("-out"),
            os("/dev/null"),
        ],
    );
}

const METAINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<component type="firmware"><id>org.fwkit.Test.firmware</id>
<releases><release version="1.0.0"/></releases></component>
"#;

/// `dir/src` with `firmware.bin` and `firmware.metainfo.xml`.
fn payload(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("firmware.bin"), prng(0x7ca7, 70_000)).unwrap();
    fs::write(src.join("firmware.metainfo.xml"), METAINFO).unwrap();
    src
}

/// `gcab --create pkg.cab` of the three LVFS files in `src`.
fn cab(dir: &Path) -> PathBuf {
    let names = ["firmware.bin", "firmware.metainfo.xml", "firmware.jcat"];
    let mut args = vec![os("--create"), os("../pkg.cab")];
    args.extend(names.iter().map(|n| os(n)));
    tool(&dir.join("src"), "gcab", &args);
    dir.join("pkg.cab")
}

/// `verify --json PKG --require-signature --key KEY…`, expecting `code`;
/// then `unpack` with the same flags: placed only when `code` is 0.
pub fn verify_and_unpack(dir: &Path, pkg: &Path, keys: &[&Path], code: i32) -> Value {
    let mut args: Vec<&OsStr> = vec![pkg.as_os_str(), os("--require-signature")];
    for k in keys {
        args.extend([os("--key"), k.as_os_str()]);
    }
    let mut verify = vec![os("verify"), os("--json")];
    verify.extend(&args);
    let doc = fwkit(dir, &verify).expect(code).json();
    let out = dir.join("out");
    let mut unpack = vec![os("unpack"), os("-o"), out.as_os_str(), os("--quiet")];
    unpack.extend(&args);
    let run = fwkit(dir, &unpack);
    if doc["format"] == "raw" {
        // A bare image is never unpacked, verified or not.
        run.expect(2);
        assert_not_unpacked(&out);
    } else if code == 0 {
        run.expect(0);
        assert!(out.is_dir(), "nothing placed");
        fs::remove_dir_all(&out).unwrap();
    } else {
        run.expect(1);
        assert_not_unpacked(&out);
    }
    doc
}

fn details(doc: &Value) -> String {
    format!("{:#}", doc["checks"])
}

fn signatures<'a>(doc: &'a Value, outcome: &str, covers: &str) -> Vec<&'a Value> {
    checks_with(doc, "signature", None, outcome)
        .into_iter()
        .filter(|c| c["covers"].as_str().unwrap().contains(covers))
        .collect()
}

/// A cabinet whose two files `jcat-tool sign` signed with a certificate of
/// the test CA.
fn signed_cab(tmp: &Path, pki: &Pki) -> PathBuf {
    let src = payload(tmp);
    sign(&src, "firmware.jcat", "firmware.bin", pki, None);
    sign(&src, "firmware.jcat", "firmware.metainfo.xml", pki, None);
    openssl_verifies(
        &src,
        &src.join("firmware.jcat"),
        ("firmware.bin", None),
        &src.join("firmware.bin"),
        &pki.ca,
    );
    cab(tmp)
}

#[test]
fn pkcs7_blobs_chained_to_the_given_ca_verify() {
    let tmp = TempDir::new().unwrap();
    let Some(pki) = tools().then(|| pki(tmp.path())).flatten() else {
        return;
    };
    let pkg = signed_cab(tmp.path(), &pki);
    let doc = verify_and_unpack(tmp.path(), &pkg, &[&pki.ca], 0);
    let passed = signatures(&doc, "passed", "pkcs7 blob");
    assert_eq!(passed.len(), 2, "{}", details(&doc));
    let detail = passed[0]["detail"].as_str().unwrap();
    assert!(detail.contains("CN=fwkit test signer"), "{detail}");
    assert!(
        detail.contains("chain CN=fwkit test signer -> CN=fwkit test CA"),
        "{detail}"
    );
    // fwupd's default for payloads, said in the report.
    assert!(
        detail.contains("certificate validity periods not checked"),
        "{detail}"
    );
    // --at judges the certificates: a date after they expire fails.
    let late = fwkit(
        tmp.path(),
        [
            os("verify"),
            os("--json"),
            pkg.as_os_str(),
            os("--key"),
            pki.ca.as_os_str(),
            os("--at"),
            os("2099-01-01"),
        ],
    )
    .expect(1)
    .json();
    assert_eq!(
        signatures(&late, "failed", "pkcs7 blob").len(),
        2,
        "{}",
        details(&late)
    );
}

#[test]
fn pkcs7_blobs_from_another_ca_are_info_and_not_enough() {
    let tmp = TempDir::new().unwrap();
    let Some(pki) = tools().then(|| pki(tmp.path())).flatten() else {
        return;
    };
    let pkg = signed_cab(tmp.path(), &pki);
    let doc = verify_and_unpack(tmp.path(), &pkg, &[&pki.other], 1);
    let info = signatures(&doc, "info", "pkcs7 blob");
    assert_eq!(info.len(), 2, "{}", details(&doc));
    assert!(info[0]["detail"]
        .as_str()
        .unwrap()
        .contains("CN=fwkit test signer"));
    assert!(info[0]["detail"].as_str().unwrap().contains("not counted"));
    assert_eq!(signatures(&doc, "failed", "package").len(), 1);
}

#[test]
fn pkcs7_blob_over_a_changed_payload_fails() {
    let tmp = TempDir::new().unwrap();
    let Some(pki) = tools().then(|| pki(tmp.path())).flatten() else {
        return;
    };
    let src = payload(tmp.path());
    sign(&src, "firmware.jcat", "firmware.bin", &pki, None);
    sign(&src, "firmware.jcat", "firmware.metainfo.xml", &pki, None);
    let mut fw = fs::read(src.join("firmware.bin")).unwrap();
    fw[1234] ^= 0x01;
    fs::write(src.join("firmware.bin"), &fw).unwrap();
    let pkg = cab(tmp.path());
    let doc = verify_and_unpack(tmp.path(), &pkg, &[&pki.ca], 1);
    let failed = signatures(&doc, "failed", "member firmware.bin");
    assert_eq!(failed.len(), 1, "{}", details(&doc));
    assert!(failed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("messageDigest signed attribute does not match"));
}

#[test]
fn pkcs7_blob_over_the_target_checksum_text() {
    let tmp = TempDir::new().unwrap();
    let Some(pki) = tools().then(|| pki(tmp.path())).flatten() else {
        return;
    };
    let src = payload(tmp.path());
    for file in ["firmware.bin", "firmware.metainfo.xml"] {
        import_sha256(&src, "firmware.jcat", file);
        sign(&src, "firmware.jcat", file, &pki, Some("sha256"));
    }
    // The oracle: the blob signs the hex text, not the file.
    openssl_verifies(
        &src,
        &src.join("firmware.jcat"),
        ("firmware.bin", Some(1)),
        &src.join("firmware.bin.sha256"),
        &pki.ca,
    );
    fs::remove_file(src.join("firmware.bin.sha256")).unwrap();
    fs::remove_file(src.join("firmware.metainfo.xml.sha256")).unwrap();
    let pkg = cab(tmp.path());
    let doc = verify_and_unpack(tmp.path(), &pkg, &[&pki.ca], 0);
    let passed = signatures(&doc, "passed", "pkcs7 blob");
    assert_eq!(passed.len(), 2, "{}", details(&doc));
    assert!(passed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("over the item's sha256 checksum text, which is the file's digest"));

    // The same .jcat beside a changed bare image: the checksum fails, and
    // the signature over its text does not cover the file.
    let image = tmp.path().join("firmware.bin");
    let mut fw = fs::read(src.join("firmware.bin")).unwrap();
    fw[7] ^= 0x80;
    fs::write(&image, &fw).unwrap();
    fs::copy(
        src.join("firmware.jcat"),
        tmp.path().join("firmware.bin.jcat"),
    )
    .unwrap();
    let doc = verify_and_unpack(tmp.path(), &image, &[&pki.ca], 1);
    assert_check(&doc, "digest", Some("sha256"), "failed");
    assert_eq!(
        signatures(&doc, "failed", "package").len(),
        1,
        "{}",
        details(&doc)
    );
}

#[test]
fn self_signed_blob_is_untrusted() {
    let tmp = TempDir::new().unwrap();
    let Some(pki) = tools().then(|| pki(tmp.path())).flatten() else {
        return;
    };
    let src = payload(tmp.path());
    for file in ["firmware.bin", "firmware.metainfo.xml"] {
        jcat_tool(&src, &[os("self-sign"), os("firmware.jcat"), os(file)]);
    }
    let pkg = cab(tmp.path());
    let doc = verify_and_unpack(tmp.path(), &pkg, &[&pki.ca], 1);
    let info = signatures(&doc, "info", "pkcs7 blob");
    assert_eq!(info.len(), 2, "{}", details(&doc));
    assert!(info[0]["detail"].as_str().unwrap().contains("not counted"));
    assert!(signatures(&doc, "passed", "pkcs7").is_empty());
}

#[test]
fn jcat_beside_a_bare_image() {
    let tmp = TempDir::new().unwrap();
    let Some(pki) = tools().then(|| pki(tmp.path())).flatten() else {
        return;
    };
    let dir = tmp.path();
    fs::write(dir.join("firmware.bin"), prng(0xbe51de, 50_000)).unwrap();
    sign(dir, "firmware.bin.jcat", "firmware.bin", &pki, None);
    let image = dir.join("firmware.bin");
    let doc = verify_and_unpack(dir, &image, &[&pki.ca], 0);
    assert_eq!(doc["format"], "raw");
    assert_eq!(
        signatures(&doc, "passed", "whole file (JCat").len(),
        1,
        "{}",
        details(&doc)
    );
    verify_and_unpack(dir, &image, &[&pki.other], 1);
    let mut fw = fs::read(&image).unwrap();
    fw[49_999] ^= 0x04;
    fs::write(&image, &fw).unwrap();
    let doc = verify_and_unpack(dir, &image, &[&pki.ca], 1);
    assert_eq!(
        signatures(&doc, "failed", "whole file (JCat").len(),
        1,
        "{}",
        details(&doc)
    );
}

#[test]
fn gpg_blob_by_a_trusted_and_an_untrusted_key() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    if !require_tool("jcat-tool") {
        return;
    }
    let Some(gpg) = Gpg::new(dir) else { return };
    let trusted = gpg.key(dir, "fwkit trusted <t@example.org>", "ed25519", &[]);
    let other = gpg.key(dir, "fwkit other <o@example.org>", "ed25519", &[]);
    gpg.export(dir, &trusted, "trusted.asc", &["--armor"]);
    gpg.export(dir, &other, "other.asc", &["--armor"]);
    fs::write(dir.join("firmware.bin"), prng(0x6e6, 40_000)).unwrap();
    gpg.sign(dir, &trusted, "firmware.bin", "fw.asc", &["--armor"]);
    jcat_tool(
        dir,
        &[
            os("--kind"),
            os("gpg"),
            os("import"),
            os("firmware.bin.jcat"),
            os("firmware.bin"),
            os("fw.asc"),
        ],
    );
    fs::remove_file(dir.join("fw.asc")).unwrap();
    let image = dir.join("firmware.bin");
    let doc = verify_and_unpack(dir, &image, &[&dir.join("trusted.asc")], 0);
    let passed = signatures(&doc, "passed", "gpg blob");
    assert_eq!(passed.len(), 1, "{}", details(&doc));
    assert!(passed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("fwkit trusted"));
    let doc = verify_and_unpack(dir, &image, &[&dir.join("other.asc")], 1);
    let info = signatures(&doc, "info", "gpg blob");
    assert_eq!(info.len(), 1, "{}", details(&doc));
    assert!(info[0]["detail"].as_str().unwrap().contains("not counted"));
}
