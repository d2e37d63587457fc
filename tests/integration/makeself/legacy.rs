//! Older makeself generations, written by hand: these stubs mimic the
//! layouts described in formats/makeself.md (where the offset and the sums
//! are written, what they cover); they are not makeself's code and would not
//! extract anything if run.

use super::{assert_rejected, tree, Tree};
use crate::util::{
    after_lines, assert_check, assert_same_tree, checks_with, find, fwkit, gzip_stored, os,
    posix_cksum, prng, refused_unpack, require_tool, tool, uncovered, verify_json, write_file, Tar,
};
use serde_json::Value;
use std::path::Path;
use tempfile::TempDir;

/// A small gzip tar like makeself's (`./`-prefixed names) and what it holds.
fn stub_payload() -> (Vec<u8>, Tree) {
    let expected = tree(vec![
        ("fw.bin", prng(0x21, 20 << 10), 0o644),
        ("install.sh", b"#!/bin/sh\necho installed\n".to_vec(), 0o755),
        ("doc/readme.txt", b"old generation\n".to_vec(), 0o644),
    ]);
    let mut tar = Tar::new();
    tar.dir("./", 0o755).dir("./doc/", 0o755);
    for (name, (data, mode)) in &expected {
        tar.file(&format!("./{name}"), *mode, data);
    }
    (gzip_stored(&tar.finish()), expected)
}

fn md5_hex(dir: &Path, data: &[u8]) -> String {
    let path = dir.join("md5-input");
    write_file(&path, data, 0o644);
    let out = String::from_utf8(tool(dir, "md5sum", &[path.as_os_str()])).unwrap();
    out.split_whitespace()
        .next()
        .expect("md5sum output")
        .to_owned()
}

/// A 2.1-style stub: quoted sums and `filesizes`, the offset only in literal
/// `head -n N "$0"` / `"$1"` commands (N = the stub's own line count).
fn makeself_21(dir: &Path, payload: &[u8], second_n_delta: usize) -> Vec<u8> {
    let template = r#"#!/bin/sh
# This script was generated using Makeself 2.1.2
CRCsum="@CRC@"
MD5="@MD5@"
TMPROOT=${TMPDIR:=/tmp}

label="fwkit 2.1-style test stub"
script="./install.sh"
scriptargs=""
targetdir="payload"
filesizes="@SIZE@"
keep=n

MS_Check()
{
    offset=`head -n @N2@ "$1" | wc -c | tr -d " "`
    echo "this test stub checks nothing"
}

offset=`head -n @N@ "$0" | wc -c | tr -d " "`
echo "this fwkit test stub extracts nothing" >&2
exit 1
"#;
    let n = template.matches('\n').count();
    let stub = template
        .replace("@CRC@", &posix_cksum(payload).to_string())
        .replace("@MD5@", &md5_hex(dir, payload))
        .replace("@SIZE@", &payload.len().to_string())
        .replace("@N2@", &(n + second_n_delta).to_string())
        .replace("@N@", &n.to_string());
    let mut out = stub.into_bytes();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), n);
    out.extend_from_slice(payload);
    out
}

/// A 1.x-style stub: `skip=N` on line 2 (N = first payload line), unquoted
/// sums on lines 4 and 5 covering line 6 to the end of the file.
fn makeself_1x(dir: &Path, payload: &[u8]) -> (Vec<u8>, usize) {
    let head = "#! /bin/sh\nskip=@N@\n# This script was generated using Makeself 1.5.3\nCRCsum=@CRC@\nMD5=@MD5@\n";
    let rest =
        "label=\"fwkit 1.x-style test stub\"\nscript=\"./install.sh\"\ntargetdir=\"payload\"\n\
                echo \"this fwkit test stub extracts nothing\" >&2\nexit 1\n";
    let skip = head.matches('\n').count() + rest.matches('\n').count() + 1;
    let mut covered = rest.as_bytes().to_vec();
    covered.extend_from_slice(payload);
    let head = head
        .replace("@N@", &skip.to_string())
        .replace("@CRC@", &posix_cksum(&covered).to_string())
        .replace("@MD5@", &md5_hex(dir, &covered));
    let line6 = head.len();
    let mut out = head.into_bytes();
    out.extend_from_slice(&covered);
    assert_eq!(after_lines(&out, skip - 1), out.len() - payload.len());
    (out, line6)
}

/// verify exits 0, unpack round-trips, and a flipped payload byte is caught.
fn old_generation_round_trip(dir: &Path, pkg_bytes: &[u8], expected: &Tree, rule: &str) -> Value {
    let pkg = dir.join("old.run");
    write_file(&pkg, pkg_bytes, 0o644);
    let inspect = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    let vendor = &inspect["vendor"][0];
    assert!(
        vendor["offset_rule"]
            .as_str()
            .is_some_and(|r| r.contains(rule)),
        "offset rule {vendor:#}"
    );
    let doc = verify_json(dir, &pkg, 0);
    assert_check(&doc, "digest", Some("md5"), "passed");
    assert_check(&doc, "digest", Some("cksum"), "passed");
    assert_check(&doc, "stream", Some("stream-check"), "passed");
    let out = dir.join("old-out");
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_same_tree(&out, expected);
    let mut flipped = pkg_bytes.to_vec();
    let mid = pkg_bytes.len() - 10_000;
    flipped[mid] ^= 0x01;
    assert_rejected(
        dir,
        "old generation flipped",
        &flipped,
        &["digest", "stream"],
    );
    doc
}

#[test]
fn makeself_21_style_stub() {
    if !require_tool("md5sum") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (payload, expected) = stub_payload();
    let bytes = makeself_21(tmp.path(), &payload, 0);
    let offset = (bytes.len() - payload.len()) as u64;
    let doc = old_generation_round_trip(tmp.path(), &bytes, &expected, "head -n");
    for c in checks_with(&doc, "digest", None, "passed") {
        assert_eq!(
            c["range"],
            serde_json::json!([offset, bytes.len()]),
            "2.1 sums cover the chunk"
        );
    }
    assert_eq!(uncovered(&doc), vec![(0, offset)]);
}

#[test]
fn makeself_21_style_stub_with_disagreeing_offsets_is_rejected() {
    if !require_tool("md5sum") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (payload, _) = stub_payload();
    let bytes = makeself_21(tmp.path(), &payload, 1);
    let pkg = tmp.path().join("ambiguous.run");
    write_file(&pkg, &bytes, 0o644);
    let doc = verify_json(tmp.path(), &pkg, 1);
    assert_check(&doc, "structure", None, "failed");
    let out = tmp.path().join("out");
    refused_unpack(tmp.path(), &pkg, &out, 1);
}

#[test]
fn makeself_1x_style_stub() {
    if !require_tool("md5sum") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let (payload, expected) = stub_payload();
    let (bytes, line6) = makeself_1x(dir, &payload);
    let doc = old_generation_round_trip(dir, &bytes, &expected, "1.x");
    for c in checks_with(&doc, "digest", None, "passed") {
        assert_eq!(
            c["range"],
            serde_json::json!([line6, bytes.len()]),
            "1.x sums cover line 6 to EOF"
        );
    }
    assert_eq!(
        uncovered(&doc),
        vec![(0, line6 as u64)],
        "only lines 1-5 are uncovered"
    );
    // Line 6 onwards is stub text the 1.x sums cover: editing the label is caught.
    let mut edited = bytes.clone();
    let at = line6 + find(&bytes[line6..], b"1.x-style").unwrap();
    edited[at..at + 3].copy_from_slice(b"9.x");
    assert_rejected(dir, "1.x label edited", &edited, &["digest"]);
}

#[test]
fn posix_cksum_helper_matches_cksum_tool() {
    assert_eq!(posix_cksum(b""), 4_294_967_295);
    assert_eq!(posix_cksum(b"123456789"), 930_766_865);
    if !require_tool("cksum") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let data = prng(7, 70_000);
    write_file(&tmp.path().join("d"), &data, 0o644);
    let out = String::from_utf8(tool(tmp.path(), "cksum", &[os("d")])).unwrap();
    assert_eq!(
        out.split_whitespace().next(),
        Some(posix_cksum(&data).to_string().as_str())
    );
}
