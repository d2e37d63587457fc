//! Real-world chains nobody here made: Debian's signed GRUB against the
//! Debian Secure Boot CA that shim carries in its `.vendor_cert` section
//! (extracted with `objcopy`), and Debian's Microsoft-signed shim against
//! the UEFI CA 2011 certificate its own signature carries (extracted with
//! `sbattach --detach` and `openssl pkcs7 -print_certs`) plus the Microsoft
//! Time-Stamp PCA 2010 its RFC 3161 token carries (cut out with `openssl
//! asn1parse -strparse`; openssl's PKCS#7 reader refuses the token's
//! attribute certificate).

use super::{detail, have, signatures, verify, GRUB_SIGNED, SHIM_SIGNED};
use crate::util::{os, tool};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// shim's `cert_table` (shim.c): four little-endian u32s, the authorized
/// certificate's size and the deauthorized list's size, then their offsets
/// from the start of the section; the authorized one is Debian's CA (DER).
fn debian_ca(dir: &Path) -> PathBuf {
    let section = dir.join("vendor_cert.bin");
    tool(
        dir,
        "objcopy",
        &[
            os("-O"),
            os("binary"),
            os("--only-section=.vendor_cert"),
            os(SHIM_SIGNED),
            section.as_os_str(),
        ],
    );
    let d = fs::read(&section).unwrap();
    let size = u32::from_le_bytes(d[0..4].try_into().unwrap()) as usize;
    let offset = u32::from_le_bytes(d[8..12].try_into().unwrap()) as usize;
    let der = dir.join("debian-ca.der");
    fs::write(&der, &d[offset..offset + size]).unwrap();
    der
}

fn subject(dir: &Path, cert: &Path, form: &str) -> String {
    let out = tool(
        dir,
        "openssl",
        &[
            os("x509"),
            os("-inform"),
            os(form),
            os("-in"),
            cert.as_os_str(),
            os("-noout"),
            os("-subject"),
        ],
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn debian_grub_verifies_against_the_ca_in_shim() {
    if !have(
        &["objcopy", "openssl", "sbverify"],
        &[GRUB_SIGNED, SHIM_SIGNED],
    ) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let der = debian_ca(tmp.path());
    assert!(subject(tmp.path(), &der, "der").contains("Debian Secure Boot CA"));
    let pem = tmp.path().join("debian-ca.pem");
    tool(
        tmp.path(),
        "openssl",
        &[
            os("x509"),
            os("-inform"),
            os("der"),
            os("-in"),
            der.as_os_str(),
            os("-out"),
            pem.as_os_str(),
        ],
    );
    assert!(super::sbverify_accepts(&pem, Path::new(GRUB_SIGNED)));
    let pkg = Path::new(GRUB_SIGNED);
    for key in [&der, &pem] {
        let doc = verify(tmp.path(), pkg, &[os("--key"), key.as_os_str()], 0);
        let check = signatures(&doc)[0];
        assert_eq!(check["outcome"], "passed", "{check:#}");
        assert!(
            detail(check).contains("-> CN=Debian Secure Boot CA"),
            "{check:#}"
        );
        assert!(detail(check).contains("revocation not checked"));
    }
    // The Debian CA does not vouch for Microsoft's signature on shim.
    let doc = verify(
        tmp.path(),
        Path::new(SHIM_SIGNED),
        &[os("--key"), der.as_os_str()],
        1,
    );
    assert!(signatures(&doc).iter().all(|c| c["outcome"] == "info"));
}

/// The shim's certificates, by subject: from its signature and its first
/// signature's RFC 3161 token.
fn shim_anchors(dir: &Path) -> (PathBuf, PathBuf) {
    let p7 = dir.join("shim.p7");
    tool(
        dir,
        "sbattach",
        &[os("--detach"), p7.as_os_str(), os(SHIM_SIGNED)],
    );
    let certs = tool(
        dir,
        "openssl",
        &[
            os("pkcs7"),
            os("-inform"),
            os("der"),
            os("-in"),
            p7.as_os_str(),
            os("-print_certs"),
        ],
    );
    let text = String::from_utf8(certs).unwrap();
    let uefi = text
        .split("subject=")
        .find(|block| {
            block
                .lines()
                .next()
                .is_some_and(|l| l.ends_with("UEFI CA 2011"))
        })
        .expect("UEFI CA 2011 in shim's signature");
    let uefi_pem = dir.join("uefi-ca-2011.pem");
    let begin = uefi.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = uefi.find("-----END CERTIFICATE-----").unwrap() + 25;
    fs::write(&uefi_pem, &uefi[begin..end]).unwrap();
    (uefi_pem, time_stamp_pca(dir, &p7))
}

/// The Time-Stamp PCA certificate inside the first RFC 3161 token.
fn time_stamp_pca(dir: &Path, p7: &Path) -> PathBuf {
    let asn1 = |args: &[&std::ffi::OsStr]| -> String {
        let mut all = vec![os("asn1parse"), os("-inform"), os("der"), os("-in")];
        all.extend_from_slice(args);
        String::from_utf8(tool(dir, "openssl", &all)).unwrap()
    };
    let listing = asn1(&[p7.as_os_str(), os("-i")]);
    // The token is the SEQUENCE after the 1.3.6.1.4.1.311.3.3.1 OID's SET.
    let lines: Vec<&str> = listing.lines().collect();
    let oid = lines
        .iter()
        .position(|l| l.contains(":1.3.6.1.4.1.311.3.3.1"))
        .unwrap();
    let offset = |line: &str| line.split(':').next().unwrap().trim().to_owned();
    let token_at = offset(lines[oid + 2]);
    let token = dir.join("token.der");
    asn1(&[
        p7.as_os_str(),
        os("-strparse"),
        os(&token_at),
        os("-noout"),
        os("-out"),
        token.as_os_str(),
    ]);
    let listing = asn1(&[token.as_os_str(), os("-i")]);
    for line in listing
        .lines()
        .filter(|l| l.contains("d=4") && l.contains("SEQUENCE"))
    {
        let at = offset(line);
        let cert = dir.join(format!("token-{at}.der"));
        asn1(&[
            token.as_os_str(),
            os("-strparse"),
            os(&at),
            os("-noout"),
            os("-out"),
            cert.as_os_str(),
        ]);
        let ok = std::process::Command::new("openssl")
            .args([
                os("x509"),
                os("-inform"),
                os("der"),
                os("-in"),
                cert.as_os_str(),
                os("-noout"),
                os("-subject"),
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&ok.stdout).contains("Time-Stamp PCA 2010") {
            return cert;
        }
    }
    panic!("no Time-Stamp PCA 2010 certificate in shim's time-stamp token");
}

/// Microsoft's UEFI CA 2011 and its signer expired in 2026: judged now the
/// signature fails; with the stamping CA trusted too, the RFC 3161 stamp
/// verifies and the certificates are judged at its time (May 2026);
/// `--at signing-time` without a trusted stamp has no time to use.
#[test]
fn microsoft_signed_shim_at_signing_time_and_now() {
    if !have(&["openssl", "sbattach"], &[SHIM_SIGNED]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let pkg = Path::new(SHIM_SIGNED);
    let (uefi, pca) = shim_anchors(tmp.path());
    let ms = |c: &serde_json::Value| detail(c).contains("UEFI Driver Publisher");
    let only_uefi = [os("--key"), uefi.as_os_str()];
    let doc = verify(tmp.path(), pkg, &only_uefi, 1);
    let check = *signatures(&doc).iter().find(|c| ms(c)).unwrap();
    assert_eq!(check["outcome"], "failed", "{check:#}");
    assert!(detail(check).contains("(now)"));
    assert!(detail(check).contains("time stamp not verified"));
    let mut at = only_uefi.to_vec();
    at.extend([os("--at"), os("signing-time")]);
    let doc = verify(tmp.path(), pkg, &at, 1);
    let check = *signatures(&doc).iter().find(|c| ms(c)).unwrap();
    assert_eq!(check["outcome"], "not-run", "{check:#}");
    assert!(detail(check).contains("--at signing-time: the signature carries no time stamp"));
    let both = [os("--key"), uefi.as_os_str(), os("--key"), pca.as_os_str()];
    for extra in [&[][..], &[os("--at"), os("signing-time")][..]] {
        let mut args = both.to_vec();
        args.extend_from_slice(extra);
        let doc = verify(tmp.path(), pkg, &args, 0);
        let check = *signatures(&doc).iter().find(|c| ms(c)).unwrap();
        assert_eq!(check["outcome"], "passed", "{check:#}");
        assert!(detail(check).contains("RFC 3161 time stamp by CN=Microsoft Time-Stamp Service"));
        assert!(detail(check).contains("judged at 2026-05-13T10:06:13Z (signing time"));
    }
    let mut now = both.to_vec();
    now.extend([os("--at"), os("now")]);
    let doc = verify(tmp.path(), pkg, &now, 1);
    let check = *signatures(&doc).iter().find(|c| ms(c)).unwrap();
    assert!(
        detail(check).contains("to 2026-06-26T19:35:19Z, not at"),
        "{check:#}"
    );
}
