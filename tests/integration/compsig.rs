//! HPE `.compsig` files beside a package (issue 11, point 6). HPE's own
//! compsig format is not public: a file that is not DER CMS SignedData is
//! reported "opaque HPE format, not checked" (not run, never verified);
//! one that is (made here by `openssl cms -sign -binary -outform DER`,
//! checked by `openssl cms -verify` as the oracle) is checked like a JCat
//! PKCS#7 blob, over the package or over its 33,554,432-byte part.

use crate::jcat::{pki, verify_and_unpack, Pki};
use crate::util::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const PART: usize = 33_554_432;

fn openssl(dir: &Path, args: &[&OsStr]) {
    tool(dir, "openssl", args);
}

/// `openssl cms -sign -binary -outform DER` of `data` into `out`, checked
/// by `openssl cms -verify`.
fn compsig(dir: &Path, data: &Path, out: &str, pki: &Pki) {
    openssl(
        dir,
        &[
            os("cms"),
            os("-sign"),
            os("-binary"),
            os("-outform"),
            os("DER"),
            os("-in"),
            data.as_os_str(),
            os("-signer"),
            pki.cert.as_os_str(),
            os("-inkey"),
            pki.key.as_os_str(),
            os("-out"),
            os(out),
        ],
    );
    openssl(
        dir,
        &[
            os("cms"),
            os("-verify"),
            os("-binary"),
            os("-inform"),
            os("DER"),
            os("-in"),
            os(out),
            os("-content"),
            data.as_os_str(),
            os("-CAfile"),
            pki.ca.as_os_str(),
            os("-purpose"),
            os("any"),
            os("-out"),
            os("/dev/null"),
        ],
    );
}

/// `gcab --create cp012345.cab firmware.bin`: a package to sign.
fn package(dir: &Path) -> Option<PathBuf> {
    if !require_tool("gcab") {
        return None;
    }
    let src = dir.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("firmware.bin"), prng(0xc0c5, 60_000)).unwrap();
    tool(
        &src,
        "gcab",
        &[os("--create"), os("../cp012345.cab"), os("firmware.bin")],
    );
    Some(dir.join("cp012345.cab"))
}

fn compsig_checks<'a>(doc: &'a Value, outcome: &str) -> Vec<&'a Value> {
    checks(doc)
        .iter()
        .filter(|c| c["outcome"] == outcome)
        .filter(|c| c["covers"].as_str().unwrap().contains("compsig"))
        .collect()
}

#[test]
fn cms_compsig_verifies_against_its_anchor() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let (Some(pki), Some(pkg)) = (pki(dir), package(dir)) else {
        return;
    };
    compsig(dir, &pkg, "cp012345.compsig", &pki);
    let doc = verify_and_unpack(dir, &pkg, &[&pki.ca], 0);
    let passed = compsig_checks(&doc, "passed");
    assert_eq!(passed.len(), 2, "{:#}", doc["checks"]); // pairing + signature
    assert!(passed.iter().any(|c| c["detail"]
        .as_str()
        .unwrap()
        .contains("chain CN=fwkit test signer")));
    let doc = verify_and_unpack(dir, &pkg, &[&pki.other], 1);
    assert_eq!(compsig_checks(&doc, "info").len(), 1, "{:#}", doc["checks"]);
}

#[test]
fn opaque_compsig_is_not_run_and_never_verifies() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let (Some(pki), Some(pkg)) = (pki(dir), package(dir)) else {
        return;
    };
    // A real signature, but not CMS: a bare RSA signature of the package.
    openssl(
        dir,
        &[
            os("dgst"),
            os("-sha256"),
            os("-sign"),
            pki.key.as_os_str(),
            os("-out"),
            os("cp012345.compsig"),
            pkg.as_os_str(),
        ],
    );
    let doc = verify_and_unpack(dir, &pkg, &[&pki.ca], 1);
    let not_run = compsig_checks(&doc, "not-run");
    assert_eq!(not_run.len(), 1, "{:#}", doc["checks"]);
    assert!(not_run[0]["detail"]
        .as_str()
        .unwrap()
        .contains("opaque HPE format, not checked"));
    // With --require-signature and nothing else: exit 1.
    verify_and_unpack(dir, &pkg, &[], 1);
}

#[test]
fn compsig_parts_must_match_the_package_size() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let (Some(pki), Some(pkg)) = (pki(dir), package(dir)) else {
        return;
    };
    // A component up to 32 MiB is signed whole: a part file is wrong.
    compsig(dir, &pkg, "cp012345_part1.compsig", &pki);
    let doc = verify_and_unpack(dir, &pkg, &[&pki.ca], 1);
    let failed = checks_with(&doc, "structure", None, "failed");
    assert_eq!(failed.len(), 1, "{:#}", doc["checks"]);
    assert!(failed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("signed whole"));

    // Over 32 MiB: one compsig per 33,554,432-byte part.
    let big = dir.join("big.bin");
    let data = prng(0xb16, PART + 100);
    fs::write(&big, &data).unwrap();
    fs::write(dir.join("p1"), &data[..PART]).unwrap();
    fs::write(dir.join("p2"), &data[PART..]).unwrap();
    compsig(dir, &dir.join("p1"), "big_part1.compsig", &pki);
    let doc = verify_and_unpack(dir, &big, &[&pki.ca], 1);
    let failed = checks_with(&doc, "structure", None, "failed");
    assert_eq!(failed.len(), 1, "{:#}", doc["checks"]);
    assert!(failed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("has 2 part(s)"));
    assert_eq!(
        compsig_checks(&doc, "passed").len(),
        1,
        "{:#}",
        doc["checks"]
    );
    compsig(dir, &dir.join("p2"), "big_part2.compsig", &pki);
    let doc = verify_and_unpack(dir, &big, &[&pki.ca], 0);
    assert_eq!(
        compsig_checks(&doc, "passed").len(),
        3,
        "{:#}",
        doc["checks"]
    );
    // A signature over the wrong part fails.
    fs::copy(dir.join("big_part1.compsig"), dir.join("big_part2.compsig")).unwrap();
    let doc = verify_and_unpack(dir, &big, &[&pki.ca], 1);
    assert_eq!(
        compsig_checks(&doc, "failed").len(),
        1,
        "{:#}",
        doc["checks"]
    );
}
