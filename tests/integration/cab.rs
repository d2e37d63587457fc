//! LVFS-style cabinets (`formats/cab.md`). Cabinets are made at test time by
//! `gcab` (GNOME's cabinet tool) from files the tests write: pseudo-random
//! "firmware", a metainfo file and a JCat file written by Python's `json`
//! and compressed by the system `gzip`. They must verify and unpack byte for
//! byte; a wrong metainfo checksum, installed size or JCat checksum must fail
//! verification; signatures are reported, not checked; damaged data and
//! truncation must be refused with nothing written. Names that escape are in
//! the table of `hostile.rs`, patched into gcab's file table.

use crate::util::{
    assert_check, assert_no_staging, assert_not_unpacked, assert_same_tree, checks_with, find,
    fwkit, member_paths, os, prng, python3, require_tool, samples, sha256_hex, tool, verify_json,
    write_file,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

type Tree = BTreeMap<String, (Vec<u8>, u32)>;

fn tools() -> bool {
    require_tool("gcab") && require_tool("gzip") && require_tool("python3")
}

/// Writes `firmware.metainfo.xml` and `firmware.jcat.json` for the
/// `firmware.bin` in the working directory. `sys.argv[1]` is a JSON object of
/// overrides: `sha1`, `sha256` (metainfo content checksums), `size`
/// (installed size), `jcat_sha256`, and `extra` (more blobs for the
/// firmware's JCat item).
const LVFS_FILES: &str = r#"
import hashlib, json, sys
o = json.loads(sys.argv[1])
fw = open("firmware.bin", "rb").read()
sha1 = o.get("sha1", hashlib.sha1(fw).hexdigest())
sha256 = o.get("sha256", hashlib.sha256(fw).hexdigest())
size = o.get("size", str(len(fw)))
xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="firmware">
  <id>org.fwkit.Test.firmware</id>
  <name>fwkit test device</name>
  <provides><firmware type="flashed">0a1b2c3d-0000-4000-8000-000000000001</firmware></provides>
  <releases>
    <release version="2.0.1" date="2026-02-03">
      <checksum type="sha1" filename="firmware.bin" target="content">{sha1}</checksum>
      <checksum type="sha256" filename="firmware.bin" target="content">{sha256}</checksum>
      <size type="installed">{size}</size>
    </release>
  </releases>
</component>
"""
open("firmware.metainfo.xml", "w").write(xml)
meta = xml.encode()
blobs = [
    {"Kind": 1, "Flags": 1, "Timestamp": 1770076800,
     "Data": o.get("jcat_sha256", hashlib.sha256(fw).hexdigest())},
    {"Kind": 4, "Flags": 1, "Timestamp": 1770076800, "Data": hashlib.sha1(fw).hexdigest()},
] + o.get("extra", [])
items = [
    {"Id": "firmware.bin", "AliasIds": [], "Blobs": blobs},
    {"Id": "firmware.metainfo.xml",
     "Blobs": [{"Kind": 1, "Flags": 1, "Data": hashlib.sha256(meta).hexdigest()}]},
]
json.dump({"JcatVersionMajor": 0, "JcatVersionMinor": 1, "Items": items},
          open("firmware.jcat.json", "w"))
"#;

/// The firmware, metainfo and JCat files of an LVFS cabinet in `dir/src`,
/// with `overrides` (see [`LVFS_FILES`]). Returns the tree of the three files.
fn lvfs_files(dir: &Path, overrides: &str) -> Tree {
    let src = dir.join("src");
    write_file(&src.join("firmware.bin"), &prng(0xcab, 100_000), 0o644);
    python3(&src, LVFS_FILES, &[os(overrides)]);
    let jcat = tool(
        &src,
        "gzip",
        &[os("-n"), os("-9"), os("-c"), os("firmware.jcat.json")],
    );
    fs::write(src.join("firmware.jcat"), jcat).unwrap();
    fs::remove_file(src.join("firmware.jcat.json")).unwrap();
    crate::util::tree_files(&src)
}

/// `gcab --create [--zip] ../pkg.cab NAMES…` in `dir/src`.
fn gcab(dir: &Path, zip: bool, names: &[&str]) -> PathBuf {
    let src = dir.join("src");
    let mut args: Vec<&OsStr> = vec![os("--create")];
    if zip {
        args.push(os("--zip"));
    }
    args.push(os("../pkg.cab"));
    args.extend(names.iter().map(|n| os(n)));
    tool(&src, "gcab", &args);
    dir.join("pkg.cab")
}

const LVFS: [&str; 3] = ["firmware.bin", "firmware.metainfo.xml", "firmware.jcat"];

/// `unpack` must fail with `code` and leave nothing behind.
fn refused_unpack(dir: &Path, pkg: &Path, code: i32) {
    let out = dir.join("out");
    fwkit(
        dir,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--quiet"),
        ],
    )
    .expect(code);
    assert_not_unpacked(&out);
}

fn unpacks_to(dir: &Path, pkg: &Path, tree: &Tree) {
    let out = dir.join("out");
    fwkit(
        dir,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--quiet"),
        ],
    )
    .expect(0);
    assert_same_tree(&out, tree);
    assert_no_staging(dir);
}

fn details(doc: &Value) -> String {
    format!("{:#}", doc["checks"])
}

// ---------------------------------------------------------------------------
// Good cabinets

#[test]
fn lvfs_cabinet_verifies_and_unpacks() {
    if !tools() {
        return;
    }
    for (zip, order) in [
        (true, LVFS),
        (
            false,
            ["firmware.jcat", "firmware.metainfo.xml", "firmware.bin"],
        ),
    ] {
        let tmp = TempDir::new().unwrap();
        let tree = lvfs_files(tmp.path(), "{}");
        let pkg = gcab(tmp.path(), zip, &order);
        let doc = verify_json(tmp.path(), &pkg, 0);
        assert_eq!(doc["format"], "cab");
        assert_eq!(doc["verdict"]["status"], "verified");
        assert_check(&doc, "stream", Some("stream-check"), "passed");
        // Metainfo: sha1 + sha256 of the payload; JCat: sha256 + sha1 of the
        // payload and sha256 of the metainfo.
        assert_eq!(checks_with(&doc, "digest", Some("sha1"), "passed").len(), 2);
        assert_eq!(
            checks_with(&doc, "digest", Some("sha256"), "passed").len(),
            3
        );
        assert!(
            checks_with(&doc, "structure", None, "passed")
                .iter()
                .any(|c| c["covers"]
                    .as_str()
                    .unwrap()
                    .starts_with("size of member firmware.bin")),
            "{}",
            details(&doc)
        );
        let lvfs = &doc["vendor"][0];
        assert_eq!(lvfs["kind"], "lvfs");
        assert_eq!(lvfs["component_id"], "org.fwkit.Test.firmware");
        assert_eq!(lvfs["name"], "fwkit test device");
        assert_eq!(lvfs["version"], "2.0.1");
        assert_eq!(lvfs["payload"], "firmware.bin");
        let mut paths = member_paths(&doc);
        paths.sort();
        assert_eq!(
            paths,
            vec!["firmware.bin", "firmware.jcat", "firmware.metainfo.xml"]
        );
        unpacks_to(tmp.path(), &pkg, &tree);
    }
}

#[test]
fn external_sha256_is_checked_beside_the_cabinet() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    lvfs_files(tmp.path(), "{}");
    let pkg = gcab(tmp.path(), true, &LVFS);
    let good = sha256_hex(&fs::read(&pkg).unwrap());
    let doc = fwkit(
        tmp.path(),
        [
            os("verify"),
            pkg.as_os_str(),
            os("--sha256"),
            os(&good),
            os("--json"),
        ],
    )
    .expect(0)
    .json();
    assert_check(&doc, "external", Some("sha256"), "passed");
    assert!(doc["uncovered"].as_array().unwrap().is_empty());
    let wrong = "0".repeat(64);
    let doc = fwkit(
        tmp.path(),
        [
            os("verify"),
            pkg.as_os_str(),
            os("--sha256"),
            os(&wrong),
            os("--json"),
        ],
    )
    .expect(1)
    .json();
    assert_check(&doc, "external", Some("sha256"), "failed");
}

/// gcab stores paths with `\`; they unpack as directories. Many files in
/// one folder, some empty, are split from one pass over the folder.
#[test]
fn windows_paths_and_many_files() {
    if !tools() {
        return;
    }
    for zip in [true, false] {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        let mut tree = Tree::new();
        let mut names = Vec::new();
        for i in 0..60usize {
            let name = format!("dir{}/sub/file{i:02}.bin", i % 3);
            let data = prng(i as u64, (i * 977) % 50_000);
            write_file(&src.join(&name), &data, 0o644);
            tree.insert(name.clone(), (data, 0o644));
            names.push(name);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let pkg = gcab(tmp.path(), zip, &refs);
        let bytes = fs::read(&pkg).unwrap();
        assert!(
            find(&bytes, b"dir0\\sub\\file00.bin").is_some(),
            "gcab stores `\\`"
        );
        let doc = verify_json(tmp.path(), &pkg, 0);
        let stored: Vec<&str> = doc["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert!(stored.contains(&"dir0\\sub\\file00.bin"), "{stored:?}");
        let mut paths = member_paths(&doc);
        paths.sort();
        assert_eq!(paths, tree.keys().cloned().collect::<Vec<_>>());
        unpacks_to(tmp.path(), &pkg, &tree);
    }
}

#[test]
fn committed_sample_verifies() {
    let pkg = samples().join("cab/fwkit-sample-1.2.3.cab");
    let tmp = TempDir::new().unwrap();
    let doc = fwkit(
        tmp.path(),
        [
            os("verify"),
            pkg.as_os_str(),
            os("--sha256"),
            os("3b44af20addebce2c858cca43dd21a26babef0a9510d1284a70e84ef017d373e"),
            os("--json"),
        ],
    )
    .expect(0)
    .json();
    assert_eq!(doc["vendor"][0]["kind"], "lvfs");
    assert_eq!(doc["vendor"][0]["version"], "1.2.3");
    assert_eq!(doc["vendor"][0]["installed_size"], "40000");
    assert!(
        checks_with(&doc, "digest", None, "passed").len() >= 7,
        "{}",
        details(&doc)
    );
    let out = tmp.path().join("out");
    fwkit(
        tmp.path(),
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--quiet"),
        ],
    )
    .expect(0);
    assert_eq!(
        fs::metadata(out.join("firmware.bin")).unwrap().len(),
        40_000
    );
}

// ---------------------------------------------------------------------------
// Claims that do not hold

#[test]
fn wrong_metainfo_checksum_fails() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let wrong = format!("{{\"sha256\": \"{}\"}}", "ab".repeat(32));
    lvfs_files(tmp.path(), &wrong);
    let pkg = gcab(tmp.path(), true, &LVFS);
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "digest", Some("sha256"), "failed");
    assert_eq!(failed.len(), 1, "{}", details(&doc));
    assert_eq!(failed[0]["expected"], "ab".repeat(32));
    assert!(failed[0]["covers"]
        .as_str()
        .unwrap()
        .contains("firmware.metainfo.xml"));
    refused_unpack(tmp.path(), &pkg, 1);
}

#[test]
fn wrong_installed_size_fails() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    lvfs_files(tmp.path(), r#"{"size": "99999"}"#);
    let pkg = gcab(tmp.path(), true, &LVFS);
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "structure", None, "failed");
    assert_eq!(failed.len(), 1, "{}", details(&doc));
    assert_eq!(failed[0]["expected"], "99999");
    assert_eq!(failed[0]["computed"], "100000");
    refused_unpack(tmp.path(), &pkg, 1);
}

#[test]
fn wrong_jcat_checksum_fails() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let wrong = format!("{{\"jcat_sha256\": \"{}\"}}", "0".repeat(64));
    lvfs_files(tmp.path(), &wrong);
    let pkg = gcab(tmp.path(), true, &LVFS);
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "digest", Some("sha256"), "failed");
    assert_eq!(failed.len(), 1, "{}", details(&doc));
    assert!(failed[0]["covers"]
        .as_str()
        .unwrap()
        .contains("firmware.jcat"));
    // The metainfo's own checksums of the same payload still pass.
    assert_eq!(
        checks_with(&doc, "digest", Some("sha256"), "passed").len(),
        2
    );
}

#[test]
fn jcat_signatures_are_reported_not_checked() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    // A PKCS#7 blob as ASCII text, one as base64 (Flags 0) that signs the
    // SHA-256 blob, and a GPG one. None is a real signature: fwkit must not
    // pretend to have checked them either way.
    let extra = r#"{"extra": [
        {"Kind": 3, "Flags": 1, "Timestamp": 1770076800,
         "Data": "-----BEGIN PKCS7-----\nMIIBogYJKoZIhvcNAQcCoIIBkzCCAY8CAQEx\n-----END PKCS7-----\n"},
        {"Kind": 3, "Flags": 0, "Target": 1, "Data": "MIIBogYJKoZIhvcNAQcC"},
        {"Kind": 2, "Flags": 1, "Data": "-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"}]}"#;
    lvfs_files(tmp.path(), extra);
    let pkg = gcab(tmp.path(), true, &LVFS);
    let doc = verify_json(tmp.path(), &pkg, 0);
    let info = checks_with(&doc, "signature", None, "info");
    assert_eq!(info.len(), 3, "{}", details(&doc));
    let texts: Vec<&str> = info.iter().map(|c| c["detail"].as_str().unwrap()).collect();
    assert!(texts[0].contains("malformed PKCS#7 signature"), "{texts:?}");
    assert!(
        texts[1].contains("over the item's sha256 checksum text"),
        "{texts:?}"
    );
    assert!(texts[2].contains("GPG"), "{texts:?}");
    assert!(checks_with(&doc, "signature", None, "passed").is_empty());
}

// ---------------------------------------------------------------------------
// Damaged cabinets

#[test]
fn damaged_data_fails_its_block_checksum() {
    if !tools() {
        return;
    }
    for zip in [true, false] {
        let tmp = TempDir::new().unwrap();
        lvfs_files(tmp.path(), "{}");
        let pkg = gcab(tmp.path(), zip, &LVFS);
        let mut bytes = fs::read(&pkg).unwrap();
        let at = bytes.len() - 40_000;
        bytes[at] ^= 0x20;
        fs::write(&pkg, &bytes).unwrap();
        let doc = verify_json(tmp.path(), &pkg, 1);
        let failed = checks_with(&doc, "stream", Some("stream-check"), "failed");
        assert_eq!(failed.len(), 1, "{}", details(&doc));
        let detail = failed[0]["detail"].as_str().unwrap();
        assert!(detail.contains("Checksum error in data block"), "{detail}");
        refused_unpack(tmp.path(), &pkg, 1);
    }
}

#[test]
fn bytes_after_the_cabinet_are_refused() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    lvfs_files(tmp.path(), "{}");
    let pkg = gcab(tmp.path(), true, &LVFS);
    let mut bytes = fs::read(&pkg).unwrap();
    bytes.extend_from_slice(b"hidden payload");
    fs::write(&pkg, &bytes).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "structure", None, "failed");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("14 bytes follow the end of the cabinet"),
        "{}",
        details(&doc)
    );
    refused_unpack(tmp.path(), &pkg, 1);
}

#[test]
fn truncated_cabinets_are_refused_without_panic() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    lvfs_files(tmp.path(), "{}");
    let pkg = gcab(tmp.path(), true, &LVFS);
    let bytes = fs::read(&pkg).unwrap();
    let len = bytes.len();
    let mut cuts = vec![
        1,
        4,
        8,
        20,
        35,
        36,
        37,
        44,
        60,
        100,
        140,
        200,
        33_000,
        len - 8,
        len - 1,
    ];
    cuts.extend((1..12).map(|i| len * i / 12));
    for cut in cuts {
        let short = tmp.path().join(format!("cut-{cut}.cab"));
        fs::write(&short, &bytes[..cut]).unwrap();
        let run = fwkit(tmp.path(), [os("verify"), short.as_os_str()]);
        assert!(
            run.code == 1 || run.code == 2,
            "cut at {cut}: exit {}\n{}{}",
            run.code,
            run.stdout,
            run.stderr
        );
        let out = tmp.path().join(format!("out-{cut}"));
        let run = fwkit(
            tmp.path(),
            [
                os("unpack"),
                short.as_os_str(),
                os("-o"),
                out.as_os_str(),
                os("--quiet"),
            ],
        );
        assert!(
            run.code == 1 || run.code == 2,
            "cut at {cut}: unpack exit {}",
            run.code
        );
        assert_not_unpacked(&out);
    }
}

/// Set every data block's checksum field to 0 ("no checksum") in a cabinet of
/// one folder, walking the blocks from the folder entry (`formats/cab.md`).
fn drop_block_checksums(bytes: &mut [u8]) {
    let le16 = |b: &[u8], at: usize| usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
    assert_eq!(le16(bytes, 26), 1, "one folder");
    assert_eq!(le16(bytes, 30) & 4, 0, "no reserve");
    let mut at = u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
    for _ in 0..le16(bytes, 40) {
        bytes[at..at + 4].fill(0);
        at += 8 + le16(bytes, at + 4);
    }
    assert_eq!(at, bytes.len());
}

/// Without block checksums the LVFS checksums must cover every file.
#[test]
fn without_block_checksums_lvfs_checksums_must_cover_every_file() {
    if !tools() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = lvfs_files(tmp.path(), "{}");
    let pkg = gcab(tmp.path(), true, &LVFS);
    let mut bytes = fs::read(&pkg).unwrap();
    drop_block_checksums(&mut bytes);
    fs::write(&pkg, &bytes).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 0);
    assert!(checks_with(&doc, "stream", None, "passed").is_empty());
    assert_check(&doc, "structure", None, "passed");
    unpacks_to(tmp.path(), &pkg, &tree);

    write_file(
        &tmp.path().join("src/extra.txt"),
        b"nobody vouches for me\n",
        0o644,
    );
    fs::remove_file(&pkg).unwrap();
    let pkg = gcab(
        tmp.path(),
        true,
        &[
            "firmware.bin",
            "firmware.metainfo.xml",
            "firmware.jcat",
            "extra.txt",
        ],
    );
    let mut bytes = fs::read(&pkg).unwrap();
    drop_block_checksums(&mut bytes);
    fs::write(&pkg, &bytes).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "digest", None, "failed");
    assert_eq!(failed.len(), 1, "{}", details(&doc));
    assert!(failed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("no checksum covers extra.txt"));
}
