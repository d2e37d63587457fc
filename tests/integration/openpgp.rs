//! OpenPGP signatures: keys and signatures made by GnuPG (`gpg --batch`)
//! at test time in a temporary GNUPGHOME, `gpgv` as the oracle; Dell-like
//! `.BIN` + `.BIN.sign`, armored `.asc` and binary `.sig` beside bare
//! images, and makeself 2.4.5 `--sign` archives.

use crate::util::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// A GnuPG home in a temporary directory.
pub struct Gpg {
    pub home: PathBuf,
}

impl Gpg {
    /// `None` (after a visible SKIP) without gpg and gpgv.
    pub fn new(dir: &Path) -> Option<Gpg> {
        if !require_tool("gpg") || !require_tool("gpgv") {
            return None;
        }
        let home = dir.join("gnupg");
        fs::create_dir(&home).unwrap();
        let mut perms = fs::metadata(&home).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        fs::set_permissions(&home, perms).unwrap();
        Some(Gpg { home })
    }

    fn command(&self, program: &str, dir: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("GNUPGHOME", &self.home)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"))
    }

    /// `gpg --batch ARGS` in `dir`; panics unless it succeeds.
    #[track_caller]
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        let mut all = vec!["--batch", "--yes", "--pinentry-mode", "loopback"];
        all.extend_from_slice(args);
        let out = self.command("gpg", dir, &all);
        assert!(
            out.status.success(),
            "gpg {args:?} failed\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A new key without passphrase: `gpg --quick-gen-key UID ALGO sign EXPIRE`,
    /// with `extra` options first; returns its fingerprint.
    pub fn key(&self, dir: &Path, uid: &str, algo: &str, extra: &[&str]) -> String {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            algo,
            "sign",
            "never",
        ]);
        self.run(dir, &args);
        self.fingerprint(dir, uid)
    }

    pub fn fingerprint(&self, dir: &Path, uid: &str) -> String {
        let out = self.run(dir, &["--with-colons", "--list-keys", uid]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_owned())
            .expect("a fingerprint line")
    }

    /// Export the public key of `uid` to `file` (binary, or armored with `--armor` in `extra`).
    pub fn export(&self, dir: &Path, uid: &str, file: &str, extra: &[&str]) {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--output", file, "--export", uid]);
        self.run(dir, &args);
    }

    /// `gpg -u UID --detach-sign` of `data` into `sig`, `extra` options first.
    pub fn sign(&self, dir: &Path, uid: &str, data: &str, sig: &str, extra: &[&str]) {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "--passphrase",
            "",
            "-u",
            uid,
            "--output",
            sig,
            "--detach-sign",
            data,
        ]);
        self.run(dir, &args);
    }

    /// `gpgv --status-fd 1 --keyring KEYRING SIG DATA`: (success, status lines).
    pub fn gpgv(&self, dir: &Path, keyring: &str, sig: &str, data: &str) -> (bool, String) {
        let keyring = format!("./{keyring}");
        let out = self.command(
            "gpgv",
            dir,
            &["--status-fd", "1", "--keyring", &keyring, sig, data],
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        // The agent this home started; ignore failure (it may not run).
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", &self.home)
            .output();
    }
}

/// `fwkit verify PKG --json ARGS…` in `dir`, expecting `code`.
#[track_caller]
pub fn verify_with(dir: &Path, pkg: &str, args: &[&str], code: i32) -> serde_json::Value {
    let mut all = vec!["verify", pkg, "--json"];
    all.extend_from_slice(args);
    fwkit(dir, &all).expect(code).json()
}

/// The signature checks of a report that are not the package policy.
fn signature_checks(doc: &serde_json::Value) -> Vec<&serde_json::Value> {
    checks(doc)
        .iter()
        .filter(|c| c["kind"] == "signature" && c["covers"] != "package")
        .collect()
}

fn flip(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

const DELL_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SoftwareComponent schemaVersion="2.4" packageID="PGP01" releaseID="PGP01" vendorVersion="1.2.3" dellVersion="A00" packageType="LWXP">
  <Name><Display lang="en"><![CDATA[fwkit OpenPGP test package]]></Display></Name>
</SoftwareComponent>
"#;

fn dell_package(dir: &Path, name: &str) {
    let mut tar = Tar::new();
    tar.file("package.xml", 0o644, DELL_XML.as_bytes()).file(
        "payload/firmware.bin",
        0o644,
        &prng(0x96, 200 << 10),
    );
    fs::write(
        dir.join(name),
        dell_bin(DELL_XML, &gzip_stored(&tar.finish())),
    )
    .unwrap();
}

#[test]
fn dell_bin_with_an_rsa_3072_sign_file() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let fpr = gpg.key(dir, "Dell-like RSA <rsa@example.com>", "rsa3072", &[]);
    gpg.export(dir, &fpr, "rsa.gpg", &[]);
    let pkg = "Firmware_PGP01_LN_1.2.3_A00.BIN";
    dell_package(dir, pkg);
    let sign = format!("{pkg}.sign");
    gpg.sign(dir, &fpr, pkg, &sign, &[]);

    assert!(gpg.gpgv(dir, "rsa.gpg", &sign, pkg).0, "gpgv accepts it");
    let doc = verify_with(dir, pkg, &["--key", "rsa.gpg", "--require-signature"], 0);
    assert_eq!(doc["format"], "dell-dup");
    let sigs = signature_checks(&doc);
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    assert_eq!(sigs[0]["outcome"], "passed");
    let size = fs::metadata(dir.join(pkg)).unwrap().len();
    assert_eq!(sigs[0]["range"], serde_json::json!([0, size]));
    let detail = sigs[0]["detail"].as_str().unwrap();
    for part in [
        "Dell-like RSA <rsa@example.com>",
        fpr.as_str(),
        "created 20",
        "revocation checked against the keyring given only; no online revocation",
    ] {
        assert!(detail.contains(part), "{part:?} in {detail}");
    }
    assert!(sigs[0]["covers"]
        .as_str()
        .unwrap()
        .starts_with("whole file"));
    // Unpack: verified, so placed.
    fwkit(dir, ["unpack", pkg, "-o", "out", "--key", "rsa.gpg"]).expect(0);
    assert!(dir.join("out/payload/firmware.bin").is_file());

    // One byte flipped in the payload: both say no; nothing is placed.
    let size = usize::try_from(size).unwrap();
    flip(&dir.join(pkg), size - 1000);
    assert!(!gpg.gpgv(dir, "rsa.gpg", &sign, pkg).0, "gpgv refuses it");
    let doc = verify_with(dir, pkg, &["--key", "rsa.gpg"], 1);
    assert_eq!(signature_checks(&doc)[0]["outcome"], "failed");
    refused_unpack_with(dir, pkg, &["--key", "rsa.gpg"]);
}

/// `fwkit unpack PKG -o refused ARGS…` fails and places nothing.
#[track_caller]
fn refused_unpack_with(dir: &Path, pkg: &str, args: &[&str]) {
    let mut all = vec!["unpack", pkg, "-o", "refused"];
    all.extend_from_slice(args);
    let run = fwkit(dir, &all);
    assert_ne!(run.code, 0, "{run:?}");
    assert_not_unpacked(&dir.join("refused"));
}

#[test]
fn ed25519_armored_asc_and_binary_sig_beside_bare_images() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let fpr = gpg.key(dir, "Ed <ed@example.com>", "ed25519", &[]);
    gpg.export(dir, &fpr, "ed.asc", &["--armor"]);
    gpg.export(dir, &fpr, "ed.gpg", &[]);
    for (image, sig, extra) in [
        ("a.bin", "a.bin.asc", &["--armor"][..]),
        ("b.bin", "b.bin.sig", &[][..]),
    ] {
        fs::write(dir.join(image), prng(image.len() as u64, 300_000)).unwrap();
        gpg.sign(dir, &fpr, image, sig, extra);
        assert!(gpg.gpgv(dir, "ed.gpg", sig, image).0);
        for key in ["ed.asc", "ed.gpg"] {
            let doc = verify_with(dir, image, &["--key", key, "--require-signature"], 0);
            assert_eq!(doc["format"], "raw");
            let sigs = signature_checks(&doc);
            assert_eq!(sigs[0]["outcome"], "passed", "{sigs:?}");
            assert!(sigs[0]["detail"].as_str().unwrap().contains(&fpr));
        }
        // A bare image is never unpacked, even when verified.
        let run = fwkit(dir, ["unpack", image, "-o", "out", "--key", "ed.asc"]);
        run.expect(2);
        assert!(run.stderr.contains("nothing to unpack"), "{}", run.stderr);
        assert_not_unpacked(&dir.join("out"));

        flip(&dir.join(image), 7);
        assert!(!gpg.gpgv(dir, "ed.gpg", sig, image).0);
        let doc = verify_with(dir, image, &["--key", "ed.asc"], 1);
        assert_eq!(signature_checks(&doc)[0]["outcome"], "failed");
    }
}

#[test]
fn an_untrusted_signer_is_reported_never_counted() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let signer = gpg.key(dir, "Stranger <stranger@example.com>", "ed25519", &[]);
    let trusted = gpg.key(dir, "Trusted <trusted@example.com>", "ed25519", &[]);
    gpg.export(dir, &trusted, "trusted.asc", &["--armor"]);
    let pkg = "fw.BIN";
    dell_package(dir, pkg);
    gpg.sign(dir, &signer, pkg, "fw.BIN.sign", &[]);

    let doc = verify_with(
        dir,
        pkg,
        &["--key", "trusted.asc", "--require-signature"],
        1,
    );
    let sigs = signature_checks(&doc);
    assert_eq!(sigs[0]["outcome"], "info");
    let detail = sigs[0]["detail"].as_str().unwrap();
    assert!(detail.contains(&signer), "{detail}");
    assert!(detail.contains("not counted"), "{detail}");
    assert!(
        checks_with(&doc, "signature", None, "failed")
            .iter()
            .any(|c| c["covers"] == "package"),
        "the policy fails"
    );
    refused_unpack_with(dir, pkg, &["--key", "trusted.asc", "--require-signature"]);
    // --no-verify never skips --require-signature.
    refused_unpack_with(
        dir,
        pkg,
        &["--key", "trusted.asc", "--require-signature", "--no-verify"],
    );
    // Without it, --no-verify places the tree despite the failed policy
    // (and the report still names the failed check).
    let args = [
        "unpack",
        pkg,
        "-o",
        "anyway",
        "--key",
        "trusted.asc",
        "--no-verify",
    ];
    let run = fwkit(dir, args);
    assert!(run.stdout.contains("no valid signature"), "{run:?}");
    assert!(dir.join("anyway/payload/firmware.bin").is_file());
    // Without keys at all the signature is only reported.
    let doc = verify_with(dir, pkg, &[], 0);
    assert_eq!(signature_checks(&doc)[0]["outcome"], "info");
}

#[test]
fn an_expired_key_fails_with_the_reason() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    // Made and used in 2020, valid for one day.
    let then = ["--faked-system-time", "20200101T000000!"];
    gpg.run(
        dir,
        &[
            then[0],
            then[1],
            "--passphrase",
            "",
            "--quick-gen-key",
            "Old <old@example.com>",
            "ed25519",
            "sign",
            "1d",
        ],
    );
    let fpr = gpg.fingerprint(dir, "old@example.com");
    gpg.export(dir, &fpr, "old.gpg", &[]);
    fs::write(dir.join("img.bin"), prng(3, 50_000)).unwrap();
    gpg.sign(dir, &fpr, "img.bin", "img.bin.sig", &then);

    // gpgv: a good signature by an expired key (EXPKEYSIG).
    let (_, status) = gpg.gpgv(dir, "old.gpg", "img.bin.sig", "img.bin");
    assert!(status.contains("EXPKEYSIG"), "{status}");
    let doc = verify_with(dir, "img.bin", &["--key", "old.gpg"], 1);
    let sigs = signature_checks(&doc);
    assert_eq!(sigs[0]["outcome"], "failed");
    let detail = sigs[0]["detail"].as_str().unwrap();
    assert!(detail.contains("expired at 2020-01-02"), "{detail}");
}

#[test]
fn a_revoked_key_fails_with_the_reason() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let fpr = gpg.key(dir, "Revoked <revoked@example.com>", "ed25519", &[]);
    dell_package(dir, "r.BIN");
    gpg.sign(dir, &fpr, "r.BIN", "r.BIN.sign", &[]);
    gpg.export(dir, &fpr, "before.gpg", &[]);
    verify_with(dir, "r.BIN", &["--key", "before.gpg"], 0);

    // Import the revocation certificate gpg stored when it made the key
    // (its armor line is prefixed with ':' so it is not imported by accident).
    let rev = gpg.home.join(format!("openpgp-revocs.d/{fpr}.rev"));
    let text = fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    fs::write(dir.join("revoke.asc"), text).unwrap();
    gpg.run(dir, &["--import", "revoke.asc"]);
    gpg.export(dir, &fpr, "after.gpg", &[]);

    let (_, status) = gpg.gpgv(dir, "after.gpg", "r.BIN.sign", "r.BIN");
    assert!(status.contains("REVKEYSIG"), "{status}");
    let doc = verify_with(dir, "r.BIN", &["--key", "after.gpg"], 1);
    let sigs = signature_checks(&doc);
    assert_eq!(sigs[0]["outcome"], "failed");
    let detail = sigs[0]["detail"].as_str().unwrap();
    assert!(detail.contains("the key is revoked"), "{detail}");
    assert!(detail.contains("no online revocation"), "{detail}");
    refused_unpack_with(dir, "r.BIN", &["--key", "after.gpg"]);
}

#[test]
fn a_sha1_signature_needs_allow_legacy_crypto() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let fpr = gpg.key(dir, "Legacy <legacy@example.com>", "rsa3072", &[]);
    gpg.export(dir, &fpr, "k.gpg", &[]);
    dell_package(dir, "l.BIN");
    gpg.sign(dir, &fpr, "l.BIN", "l.BIN.sign", &["--digest-algo", "SHA1"]);
    let (good, status) = gpg.gpgv(dir, "k.gpg", "l.BIN.sign", "l.BIN");
    assert!(good && status.contains("GOODSIG"), "{status}");

    let doc = verify_with(dir, "l.BIN", &["--key", "k.gpg"], 1);
    let sigs = signature_checks(&doc);
    assert_eq!(sigs[0]["outcome"], "not-run");
    assert!(sigs[0]["detail"]
        .as_str()
        .unwrap()
        .contains("--allow-legacy-crypto"));
    refused_unpack_with(dir, "l.BIN", &["--key", "k.gpg"]);

    let doc = verify_with(
        dir,
        "l.BIN",
        &["--key", "k.gpg", "--allow-legacy-crypto"],
        0,
    );
    let sigs = signature_checks(&doc);
    assert_eq!(sigs[0]["outcome"], "passed");
    let detail = sigs[0]["detail"].as_str().unwrap();
    assert!(detail.contains("legacy crypto (SHA-1 digest)"), "{detail}");
    fwkit(
        dir,
        [
            "unpack",
            "l.BIN",
            "-o",
            "out",
            "--key",
            "k.gpg",
            "--allow-legacy-crypto",
        ],
    )
    .expect(0);
}

/// makeself 2.4.5 `--sign PASSPHRASE` runs `gpg --detach-sig` over the
/// compressed payload with the home's default key and stores it base64 in
/// `SIGNATURE=`. fwkit checks it over the payload; the stub, which runs
/// code, is covered by no signature, so the package as a whole is not
/// verified by it.
#[test]
fn a_makeself_sign_archive() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    if !require_tool("makeself") || !require_tool("base64") {
        return;
    }
    let fpr = gpg.key(dir, "Maker <maker@example.com>", "ed25519", &[]);
    gpg.export(dir, &fpr, "maker.gpg", &[]);
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("fw.bin"), prng(5, 40_000)).unwrap();
    fs::write(src.join("setup.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    let out = Command::new("makeself")
        .args([
            "--quiet",
            "--sign",
            "",
            "src",
            "signed.run",
            "label",
            "./setup.sh",
        ])
        .current_dir(dir)
        .env("GNUPGHOME", &gpg.home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let doc = verify_with(dir, "signed.run", &["--key", "maker.gpg"], 1);
    let sigs = signature_checks(&doc);
    let payload = sigs
        .iter()
        .find(|c| c["covers"].as_str().unwrap().contains("SIGNATURE="))
        .expect("the SIGNATURE= check");
    assert_eq!(payload["outcome"], "passed", "{payload}");
    assert!(payload["detail"].as_str().unwrap().contains(&fpr));
    let policy = checks(&doc)
        .iter()
        .find(|c| c["covers"] == "package")
        .unwrap();
    assert!(policy["detail"].as_str().unwrap().contains("stub"));
    refused_unpack_with(dir, "signed.run", &["--key", "maker.gpg"]);

    // gpgv over the same bytes agrees.
    let (start, end) = (
        payload["range"][0].as_u64().unwrap() as usize,
        payload["range"][1].as_u64().unwrap() as usize,
    );
    let bytes = fs::read(dir.join("signed.run")).unwrap();
    fs::write(dir.join("payload.bin"), &bytes[start..end]).unwrap();
    let text = String::from_utf8_lossy(&bytes[..start]).into_owned();
    let b64 = text
        .lines()
        .find_map(|l| l.strip_prefix("SIGNATURE=\""))
        .unwrap()
        .trim_end_matches('"');
    fs::write(dir.join("sig.b64"), b64).unwrap();
    let sig = tool(dir, "base64", &[os("-d"), os("sig.b64")]);
    fs::write(dir.join("payload.sig"), sig).unwrap();
    assert!(gpg.gpgv(dir, "maker.gpg", "payload.sig", "payload.bin").0);

    // A flipped payload byte: the signature fails.
    flip(&dir.join("signed.run"), end - 10);
    let doc = verify_with(dir, "signed.run", &["--key", "maker.gpg"], 1);
    assert!(signature_checks(&doc)
        .iter()
        .any(|c| c["outcome"] == "failed"));
}

#[test]
fn keys_are_detected_by_content_and_bad_ones_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let fpr = gpg.key(dir, "Ring <ring@example.com>", "ed25519", &[]);
    fs::create_dir(dir.join("ring")).unwrap();
    // Extensions that say nothing true about the content.
    gpg.export(dir, &fpr, "ring/vendor.pub", &["--armor"]);
    fs::write(dir.join("img.bin"), prng(9, 10_000)).unwrap();
    gpg.sign(dir, &fpr, "img.bin", "img.bin.asc", &["--armor"]);
    verify_with(
        dir,
        "img.bin",
        &["--keyring", "ring", "--require-signature"],
        0,
    );

    if require_tool("openssl") {
        let cert = [
            "req",
            "-x509",
            "-newkey",
            "ed25519",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ring/ca.crt",
            "-subj",
            "/CN=fwkit test CA",
            "-days",
            "2",
        ];
        tool(dir, "openssl", &cert.map(os));
        tool(
            dir,
            "openssl",
            &[
                "x509",
                "-in",
                "ring/ca.crt",
                "-outform",
                "DER",
                "-out",
                "ring/ca.der",
            ]
            .map(os),
        );
        // X.509 anchors load beside the OpenPGP key; the verdict is unchanged.
        verify_with(
            dir,
            "img.bin",
            &["--keyring", "ring", "--require-signature"],
            0,
        );
    }
    fs::write(dir.join("junk.pub"), b"not a key at all\n").unwrap();
    let run = fwkit(dir, ["verify", "img.bin", "--key", "junk.pub"]);
    run.expect(2);
    assert!(run.stderr.contains("junk.pub"), "{}", run.stderr);
}

/// Every truncation and every one-bit flip of a real signature file, and
/// every truncation of a real key: fwkit answers (exit 1 or 2, or 0 for a
/// flip that leaves the signed content alone), never panics, and a damaged
/// signature never verifies unless gpgv accepts it too.
#[test]
fn damaged_signatures_and_keys_never_panic_or_verify() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(gpg) = Gpg::new(dir) else { return };
    let fpr = gpg.key(dir, "Fuzz <fuzz@example.com>", "ed25519", &[]);
    gpg.export(dir, &fpr, "k.gpg", &[]);
    fs::write(dir.join("img.bin"), prng(11, 4096)).unwrap();
    gpg.sign(dir, &fpr, "img.bin", "good.sig", &[]);
    let good = fs::read(dir.join("good.sig")).unwrap();
    let key = fs::read(dir.join("k.gpg")).unwrap();
    let mut cases: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    for at in 0..good.len() {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        cases.push(bytes);
    }
    for bytes in cases {
        fs::write(dir.join("img.bin.sig"), &bytes).unwrap();
        let run = fwkit(dir, ["verify", "img.bin", "--key", "k.gpg"]);
        assert!(matches!(run.code, 0..=2), "{run:?}");
        if run.code == 0 {
            let (ok, _) = gpg.gpgv(dir, "k.gpg", "img.bin.sig", "img.bin");
            assert!(
                ok,
                "fwkit accepted a damaged signature gpgv refuses: {bytes:02x?}"
            );
        }
    }
    fs::write(dir.join("img.bin.sig"), &good).unwrap();
    for n in (0..key.len()).step_by(7) {
        fs::write(dir.join("cut.gpg"), &key[..n]).unwrap();
        let run = fwkit(dir, ["verify", "img.bin", "--key", "cut.gpg"]);
        assert!(matches!(run.code, 1 | 2), "{run:?}");
    }
}
