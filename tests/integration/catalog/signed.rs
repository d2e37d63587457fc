//! A Dell-style catalogue signed the way Dell signs `Catalog.gz`: an armored
//! detached OpenPGP signature beside it (`Catalog.xml.gz.sign`), made by
//! `gpg --batch` at test time; checked with `--key` before any entry, and
//! never counted without a trusted key or a `--sha256` pin.

use super::{good_mirror, lines, verified};
use crate::openpgp::Gpg;
use crate::util::{fwkit, Run};
use std::fs;
use std::path::Path;

fn bare(root: &Path, cat: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "verify",
        "--catalog",
        cat.to_str().unwrap(),
        "mirror",
        "--json",
    ];
    args.extend_from_slice(extra);
    fwkit(root, args)
}

#[test]
fn a_gpg_signed_catalogue_counts_only_with_its_signer_key() {
    let Some((m, pkgs, components)) = good_mirror() else {
        return;
    };
    let root = m.root();
    let Some(gpg) = Gpg::new(root) else { return };
    let cat = m.catalogue(&components);
    let vendor = gpg.key(root, "Vendor <firmware@example.com>", "rsa3072", &[]);
    let other = gpg.key(root, "Someone Else <else@example.com>", "ed25519", &[]);
    gpg.export(root, &vendor, "vendor.asc", &["--armor"]);
    gpg.export(root, &vendor, "vendor.gpg", &[]);
    gpg.export(root, &other, "other.gpg", &[]);
    gpg.sign(
        root,
        &vendor,
        "Catalog.xml.gz",
        "Catalog.xml.gz.sign",
        &["--armor"],
    );
    // Dell ships a .sign beside each package too: signed by the same key.
    let bin = format!("mirror/{}", pkgs[0].0);
    let bin_sign = format!("{bin}.sign");
    gpg.sign(root, &vendor, &bin, &bin_sign, &["--armor"]);
    let gpgv = |keyring| {
        gpg.gpgv(root, keyring, "Catalog.xml.gz.sign", "Catalog.xml.gz")
            .0
    };
    assert!(gpgv("vendor.gpg"), "gpgv accepts the signature");

    // Good: the vendor's key, given by content (an armored .asc).
    let run = bare(root, &cat, &["--key", "vendor.asc"]);
    run.expect(0);
    let (entries, summary) = lines(&run);
    assert_eq!(entries.len(), pkgs.len());
    assert_eq!(summary["verified"], pkgs.len());
    let trust = &summary["checks"][0];
    assert_eq!(trust["kind"], "signature", "{summary}");
    assert_eq!(trust["outcome"], "passed", "{summary}");
    let detail = trust["detail"].as_str().unwrap();
    assert!(
        detail.contains("good OpenPGP catalogue signature"),
        "{detail}"
    );
    assert!(detail.contains(&vendor), "names the signer's key: {detail}");
    // The package's own .sign was checked with the same key.
    let pkg_sig = entries[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "signature" && c["outcome"] == "passed");
    assert!(pkg_sig.is_some(), "the .BIN.sign checked: {}", entries[0]);

    // A package .sign by another key fails that package, not the others.
    gpg.sign(root, &other, &bin, &bin_sign, &["--armor"]);
    let run = bare(root, &cat, &["--key", "vendor.asc"]);
    run.expect(1);
    let (entries, summary) = lines(&run);
    assert_eq!(summary["checks"][0]["outcome"], "passed", "{summary}");
    assert!(!verified(&entries[0]), "{}", entries[0]);
    assert_eq!(summary["verified"], pkgs.len() - 1);
    gpg.sign(root, &vendor, &bin, &bin_sign, &["--armor"]);

    // Signed, but no key given: not verified, and says what would count.
    let run = bare(root, &cat, &[]);
    run.expect(1);
    let (_, summary) = lines(&run);
    let trust = &summary["checks"][0];
    assert_eq!(trust["outcome"], "not-run", "{summary}");
    let detail = trust["detail"].as_str().unwrap();
    assert!(detail.contains("no OpenPGP key was given"), "{detail}");
    assert!(
        detail.contains("--sha256") && detail.contains("--key"),
        "{detail}"
    );

    // The wrong key: not counted (fail closed), every entry still reported.
    let run = bare(root, &cat, &["--key", "other.gpg"]);
    run.expect(1);
    let (entries, summary) = lines(&run);
    assert_eq!(entries.len(), pkgs.len());
    let trust = &summary["checks"][0];
    assert_eq!(trust["outcome"], "not-run", "{summary}");
    let detail = trust["detail"].as_str().unwrap();
    assert!(detail.contains("not made by a trusted key"), "{detail}");
    assert!(summary["verdict"]["reasons"]
        .to_string()
        .contains("catalogue"));

    // One flipped byte of the signed file (the gzip header's mtime, so the
    // catalogue still reads): the signature is bad, and gpgv agrees.
    let mut bytes = fs::read(&cat).unwrap();
    bytes[4] ^= 0x01;
    fs::write(&cat, &bytes).unwrap();
    assert!(!gpgv("vendor.gpg"), "gpgv refuses it too");
    let run = bare(root, &cat, &["--key", "vendor.asc"]);
    run.expect(1);
    let (_, summary) = lines(&run);
    let trust = &summary["checks"][0];
    assert_eq!(trust["outcome"], "failed", "{summary}");
    let detail = trust["detail"].as_str().unwrap();
    assert!(
        detail.contains("bad OpenPGP catalogue signature"),
        "{detail}"
    );
}
