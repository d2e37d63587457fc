//! How anchors and times reach the Authenticode check: certificates in a
//! `--keyring` directory, minisign keys beside them, and `--at` values.

use super::{fixture, have, signatures, verify, GOOD, GRUB};
use crate::util::{fwkit, os};
use std::fs;
use tempfile::TempDir;

/// A keyring directory holding the CA as `.crt` (PEM) and a minisign key:
/// the certificate is an anchor, the key stays a minisign key.
#[test]
fn keyring_directory_certificates_are_anchors() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (ca, pkg, _) = fixture(tmp.path(), &GOOD);
    let ring = tmp.path().join("ring");
    fs::create_dir(&ring).unwrap();
    fs::copy(ca.join("ca.pem"), ring.join("vendor-ca.crt")).unwrap();
    fwkit(
        tmp.path(),
        [
            os("keygen"),
            os("-o"),
            ring.join("release").as_os_str(),
            os("--no-password"),
        ],
    )
    .expect(0);
    fs::remove_file(ring.join("release.key")).unwrap();
    let doc = verify(tmp.path(), &pkg, &[os("--keyring"), ring.as_os_str()], 0);
    assert_eq!(signatures(&doc)[0]["outcome"], "passed");
    // Only a minisign key: the Authenticode signature is not checked.
    fs::remove_file(ring.join("vendor-ca.crt")).unwrap();
    let doc = verify(tmp.path(), &pkg, &[os("--keyring"), ring.as_os_str()], 1);
    assert!(signatures(&doc).is_empty());
}

/// `--at` takes now, signing-time or a date; anything else is a usage error.
#[test]
fn at_values() {
    if !have(&["openssl", "osslsigncode", "zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (ca, pkg, _) = fixture(tmp.path(), &GOOD);
    let anchor = ca.join("ca.pem");
    for bad in ["yesterday", "2026-13-01", "26-01-01"] {
        fwkit(
            tmp.path(),
            [
                os("verify"),
                pkg.as_os_str(),
                os("--key"),
                anchor.as_os_str(),
                os("--at"),
                os(bad),
            ],
        )
        .expect(2);
    }
    // Before the CA's validity (2019-2039): no certificate is valid then.
    let early = [
        os("--key"),
        anchor.as_os_str(),
        os("--at"),
        os("2018-12-31"),
    ];
    let doc = verify(tmp.path(), &pkg, &early, 1);
    let check = signatures(&doc)[0];
    assert_eq!(check["outcome"], "failed");
    assert!(super::detail(check).contains("not at 2018-12-31T00:00:00Z"));
    let stamped = [
        os("--key"),
        anchor.as_os_str(),
        os("--at"),
        os("signing-time"),
    ];
    verify(tmp.path(), &pkg, &stamped, 0);
}
