//! `--recursive`: packages inside packages, each layer verified.
//!
//! Fixtures: an inner self-extractor made by `fwkit pack`, wrapped in a zip by
//! Info-ZIP, optionally behind Debian's grub EFI image (a real PE), and a
//! tarball inside a makeself archive made by Debian's makeself.

use crate::util::{
    fwkit, makeself_archive, os, prng, require_file, require_tool, tool, write_file, Makeself,
};
use std::fs;
use std::path::Path;
use tempfile::TempDir;

const GRUB: &str = "/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi";

/// `inner.scexe` (made by fwkit pack) inside `outer.zip`; returns the zip path
/// and the inner image's bytes.
fn scexe_in_zip(dir: &Path, damage: bool) -> (std::path::PathBuf, Vec<u8>) {
    let image = prng(7, 50_000);
    write_file(&dir.join("inner/fw.bin"), &image, 0o644);
    fwkit(
        dir,
        [
            "pack",
            "inner",
            "-o",
            "wrap/inner.scexe",
            "--format",
            "scexe",
            "--name",
            "inner",
        ],
    )
    .expect(0);
    if damage {
        // One byte near the end of the payload (past the stub).
        let path = dir.join("wrap/inner.scexe");
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes.len() - 200;
        bytes[at] ^= 0x40;
        fs::write(&path, bytes).unwrap();
    }
    tool(
        &dir.join("wrap"),
        "zip",
        &[os("-q"), os("../outer.zip"), os("inner.scexe")],
    );
    (dir.join("outer.zip"), image)
}

#[test]
fn a_self_extractor_in_a_zip_is_unpacked_and_verified() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    fs::create_dir_all(tmp.path().join("wrap")).unwrap();
    let (zip, image) = scexe_in_zip(tmp.path(), false);
    let run = fwkit(
        tmp.path(),
        [
            os("unpack"),
            zip.as_os_str(),
            os("-o"),
            os("out"),
            os("--recursive"),
            os("--json"),
        ],
    );
    run.expect(0);
    let doc = run.json();
    let nested = doc["nested"].as_array().unwrap();
    assert_eq!(nested.len(), 1, "{doc:#}");
    assert_eq!(nested[0]["member"], "inner.scexe");
    assert_eq!(nested[0]["report"]["verdict"]["status"], "verified");
    let unpacked = tmp.path().join("out/inner.scexe.unpacked/fw.bin");
    assert_eq!(fs::read(unpacked).unwrap(), image);
    // Without --recursive the inner package stays closed.
    let run = fwkit(
        tmp.path(),
        [os("unpack"), zip.as_os_str(), os("-o"), os("flat")],
    );
    run.expect(0);
    assert!(!tmp.path().join("flat/inner.scexe.unpacked").exists());
}

#[test]
fn a_damaged_inner_package_stops_the_whole_unpack() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    fs::create_dir_all(tmp.path().join("wrap")).unwrap();
    let (zip, _) = scexe_in_zip(tmp.path(), true);
    // The zip itself is intact: alone it verifies.
    fwkit(tmp.path(), [os("verify"), zip.as_os_str()]).expect(0);
    let run = fwkit(
        tmp.path(),
        [
            os("unpack"),
            zip.as_os_str(),
            os("-o"),
            os("out"),
            os("--recursive"),
        ],
    );
    run.expect(1);
    assert!(run.stdout.contains("nested packages"), "{}", run.stdout);
    assert!(!tmp.path().join("out").exists());
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".fwkit-"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
    // inspect --recursive shows the inner failure without writing anything.
    let run = fwkit(
        tmp.path(),
        [
            os("inspect"),
            zip.as_os_str(),
            os("--recursive"),
            os("--json"),
        ],
    );
    run.expect(0);
    let doc = run.json();
    assert_eq!(
        doc["nested"][0]["report"]["verdict"]["status"],
        "not-verified"
    );
    assert!(doc["unpacked"].is_null());
}

#[test]
fn three_layers_pe_zip_scexe_within_the_depth_limit() {
    if !require_tool("zip") || !require_file(Path::new(GRUB)) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    fs::create_dir_all(tmp.path().join("wrap")).unwrap();
    let (zip, image) = scexe_in_zip(tmp.path(), false);
    // The PE's zip holds the outer zip, which holds the scexe.
    fs::create_dir_all(tmp.path().join("wrap2")).unwrap();
    fs::copy(&zip, tmp.path().join("wrap2/outer.zip")).unwrap();
    tool(
        &tmp.path().join("wrap2"),
        "zip",
        &[os("-q"), os("../middle.zip"), os("outer.zip")],
    );
    let mut cp = fs::read(GRUB).unwrap();
    cp.extend(fs::read(tmp.path().join("middle.zip")).unwrap());
    write_file(&tmp.path().join("cp000001.exe"), &cp, 0o644);
    let run = fwkit(
        tmp.path(),
        [
            "unpack",
            "cp000001.exe",
            "-o",
            "deep",
            "--recursive",
            "--json",
        ],
    );
    run.expect(0);
    let found = tmp
        .path()
        .join("deep/outer.zip.unpacked/inner.scexe.unpacked/fw.bin");
    assert_eq!(fs::read(found).unwrap(), image);
    // Depth 1 opens only the first level.
    let run = fwkit(
        tmp.path(),
        ["unpack", "cp000001.exe", "-o", "shallow", "--recursive=1"],
    );
    run.expect(0);
    assert!(tmp
        .path()
        .join("shallow/outer.zip.unpacked/inner.scexe")
        .exists());
    assert!(!tmp
        .path()
        .join("shallow/outer.zip.unpacked/inner.scexe.unpacked")
        .exists());
}

#[test]
fn a_tarball_inside_makeself_and_a_lone_gzip_file() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    write_file(&dir.join("t/img.bin"), &prng(9, 30_000), 0o644);
    fs::create_dir_all(dir.join("src")).unwrap();
    tool(
        dir,
        "tar",
        &[
            os("-czf"),
            os("src/images.tar.gz"),
            os("-C"),
            os("t"),
            os("img.bin"),
        ],
    );
    // A gzip that is not a tar is data, not a package.
    let blob = dir.join("src/raw.bin.gz");
    let gz = std::process::Command::new("gzip")
        .arg("-c")
        .arg(dir.join("t/img.bin"))
        .output()
        .unwrap()
        .stdout;
    write_file(&blob, &gz, 0o644);
    write_file(&dir.join("src/setup.sh"), b"#!/bin/sh\n", 0o755);
    let how = Makeself {
        label: "nested",
        ..Makeself::default()
    };
    if makeself_archive(&dir.join("src"), &dir.join("pkg.run"), how).is_none() {
        return;
    }
    let run = fwkit(
        dir,
        ["unpack", "pkg.run", "-o", "out", "--recursive", "--json"],
    );
    run.expect(0);
    let doc = run.json();
    let members: Vec<&str> = doc["nested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["member"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec!["images.tar.gz"], "{doc:#}");
    assert!(dir.join("out/images.tar.gz.unpacked/img.bin").exists());
    assert!(!dir.join("out/raw.bin.gz.unpacked").exists());
}

/// A 42.zip in small: `outer.zip` (Info-ZIP) holds four zips, each holding
/// 1 MiB of zeros. The limits are one budget for every layer, so nesting
/// cannot multiply them: with `--max-size 3M` the first two inner zips fit
/// (2 MiB plus the outer zip's 5 KB of members), the last two find the
/// budget spent, and nothing is placed; with 5M everything fits.
#[test]
fn nested_packages_share_one_budget_of_limits() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    write_file(&dir.join("zeros/zeros.bin"), &vec![0u8; 1 << 20], 0o644);
    fs::create_dir_all(dir.join("wrap")).unwrap();
    for i in 0..4 {
        let inner = format!("../wrap/inner{i}.zip");
        tool(
            &dir.join("zeros"),
            "zip",
            &[os("-q"), os(&inner), os("zeros.bin")],
        );
    }
    let names = ["inner0.zip", "inner1.zip", "inner2.zip", "inner3.zip"];
    let mut args = vec![os("-q"), os("../outer.zip")];
    args.extend(names.iter().map(|n| os(n)));
    tool(&dir.join("wrap"), "zip", &args);

    let run = fwkit(
        dir,
        [
            "unpack",
            "outer.zip",
            "-o",
            "tight",
            "--recursive",
            "--max-size",
            "3M",
            "--json",
        ],
    );
    let doc = run.expect(1).json();
    assert!(!dir.join("tight").exists(), "placed despite the limit");
    let limited: Vec<&serde_json::Value> = doc["nested"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["report"]["checks"].as_array().unwrap())
        .filter(|c| c["kind"] == "limit" && c["outcome"] == "failed")
        .collect();
    let verified: Vec<bool> = doc["nested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["report"]["verdict"]["status"] == "verified")
        .collect();
    assert_eq!(verified, [true, true, false, false], "{doc:#}");
    assert_eq!(
        limited.len(),
        2,
        "the last two hit the shared budget: {doc:#}"
    );
    fwkit(
        dir,
        [
            "unpack",
            "outer.zip",
            "-o",
            "roomy",
            "--recursive",
            "--max-size",
            "5M",
        ],
    )
    .expect(0);
    for name in names {
        let unpacked = dir.join(format!("roomy/{name}.unpacked/zeros.bin"));
        assert_eq!(fs::metadata(unpacked).unwrap().len(), 1 << 20);
    }
}

#[test]
fn recursion_deeper_than_eight_levels_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let sample = crate::util::samples().join("tar/puf-update.tar.gz");
    for command in ["unpack", "inspect"] {
        let mut args = vec![os(command), sample.as_os_str(), os("--recursive=9")];
        if command == "unpack" {
            args.extend([os("-o"), os("out")]);
        }
        let run = fwkit(tmp.path(), &args);
        run.expect(2);
        assert!(run.stderr.contains("0..=8"), "{}", run.stderr);
    }
    assert!(!tmp.path().join("out").exists());
}
