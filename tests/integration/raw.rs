//! Bare images (format `raw`): a file that is no container verifies when
//! it has integrity data (a detached signature beside it, or `--sha256`),
//! is refused with the options named when it has none, and is never
//! unpacked. minisign is the oracle for `fwkit sign`'s signature.

use crate::util::*;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

fn image(dir: &Path) -> &'static str {
    fs::write(dir.join("PUF21000.bin"), prng(0x2100, 700_000)).unwrap();
    "PUF21000.bin"
}

#[test]
fn fwkit_sign_then_verify_a_bare_image() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let img = image(dir);
    fwkit(dir, ["keygen", "-o", "k", "--no-password"]).expect(0);
    fwkit(dir, ["sign", img, "--key", "k.key"]).expect(0);
    assert!(dir.join("PUF21000.bin.minisig").is_file());

    let doc = fwkit(
        dir,
        [
            "verify",
            img,
            "--key",
            "k.pub",
            "--require-signature",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(doc["format"], "raw");
    assert_eq!(doc["verified"], true);
    assert!(uncovered(&doc).is_empty());
    if require_tool("minisign") {
        tool(dir, "minisign", &["-V", "-p", "k.pub", "-m", img].map(os));
    }
    // Unpack is refused, verified or not.
    let run = fwkit(dir, ["unpack", img, "-o", "out", "--key", "k.pub"]);
    run.expect(2);
    assert!(run.stderr.contains("nothing to unpack"), "{}", run.stderr);
    assert_not_unpacked(&dir.join("out"));

    // One byte flipped: fwkit and minisign both refuse it.
    let mut bytes = fs::read(dir.join(img)).unwrap();
    bytes[123_456] ^= 0x40;
    fs::write(dir.join(img), bytes).unwrap();
    fwkit(dir, ["verify", img, "--key", "k.pub"]).expect(1);
    if require_tool("minisign") {
        let out = std::process::Command::new("minisign")
            .args(["-V", "-p", "k.pub", "-m", img])
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "minisign refuses it too");
    }
}

#[test]
fn a_bare_image_with_sha256() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let img = image(dir);
    let sha = sha256_hex(&fs::read(dir.join(img)).unwrap());
    let doc = fwkit(dir, ["verify", img, "--sha256", &sha, "--json"])
        .expect(0)
        .json();
    assert_eq!(doc["format"], "raw");
    assert_check(&doc, "external", Some("sha256"), "passed");
    let wrong = format!("{}0", &sha[..63]);
    let wrong = if wrong == sha {
        format!("{}1", &sha[..63])
    } else {
        wrong
    };
    fwkit(dir, ["verify", img, "--sha256", &wrong]).expect(1);
    // --sha256 does not make a bare image unpackable.
    let run = fwkit(dir, ["unpack", img, "-o", "out", "--sha256", &sha]);
    run.expect(2);
    assert_not_unpacked(&dir.join("out"));
}

#[test]
fn a_bare_image_without_integrity_data_names_the_options() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let img = image(dir);
    for command in ["verify", "inspect"] {
        let run = fwkit(dir, [command, img]);
        run.expect(2);
        for option in ["--sha256", "--key", "PKG.sign", "PKG.minisig"] {
            assert!(run.stderr.contains(option), "{option} in {}", run.stderr);
        }
    }
    let run = fwkit(dir, ["unpack", img, "-o", "out"]);
    run.expect(2);
    assert_not_unpacked(&dir.join("out"));
}
