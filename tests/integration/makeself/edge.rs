//! makeself archives that are not simply good or damaged: no sums at all,
//! an edited stub, base64 payloads, hostile text in header fields.

use super::{assert_rejected, edit_field, makeself, source_tree};
use crate::util::{
    assert_check, assert_not_unpacked, assert_same_tree, checks_with, find, fwkit, os,
    refused_unpack, sha256_hex, uncovered, verify_json, write_file,
};
use std::fs;
use std::path::PathBuf;
use tempfile::TempDir;

#[test]
fn nocomp_without_sums_has_no_integrity_data() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(pkg) = makeself(
        dir,
        &["--nocomp", "--nomd5", "--nocrc"],
        &source_tree(),
        "no sums",
    ) else {
        return;
    };
    let doc = verify_json(dir, &pkg, 1);
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("no integrity data"), "{reasons}");
    // Pinning the whole file is the way out.
    let sha = sha256_hex(&fs::read(&pkg).unwrap());
    let doc = fwkit(
        dir,
        [
            os("verify"),
            pkg.as_os_str(),
            os("--sha256"),
            os(&sha),
            os("--json"),
        ],
    )
    .expect(0)
    .json();
    assert_check(&doc, "external", Some("sha256"), "passed");
    assert!(uncovered(&doc).is_empty(), "--sha256 covers every byte");
    // unpack places only what it may: either refused, or placed with a loud warning.
    let out = dir.join("out");
    let run = fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    );
    match run.code {
        0 => {
            assert!(
                run.stderr.contains("NOT VERIFIED"),
                "placed without a warning: {}",
                run.stderr
            );
            assert_same_tree(&out, &source_tree());
        }
        _ => {
            run.expect(1);
            assert_not_unpacked(&out);
        }
    }
}

#[test]
fn stub_bytes_are_uncovered_unless_pinned_with_sha256() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(pkg) = makeself(dir, &[], &source_tree(), "stub edit") else {
        return;
    };
    let data = fs::read(&pkg).unwrap();
    let good_sha = sha256_hex(&data);
    // Same length edit in the comment on line 3: the stub is covered by no makeself sum.
    let at = find(&data[..200], b"license covering").expect("line 3 comment");
    let mut edited = data.clone();
    edited[at..at + 7].copy_from_slice(b"LICENSE");
    let bad = dir.join("edited.run");
    write_file(&bad, &edited, 0o644);
    let doc = verify_json(dir, &bad, 0);
    let (start, end) = uncovered(&doc)[0];
    assert!(
        start <= at as u64 && (at as u64) < end,
        "the edited byte is reported uncovered"
    );
    let run = fwkit(
        dir,
        [
            os("verify"),
            bad.as_os_str(),
            os("--sha256"),
            os(&good_sha),
            os("--json"),
        ],
    );
    let doc = run.expect(1).json();
    assert_check(&doc, "external", Some("sha256"), "failed");
    fwkit(
        dir,
        [os("verify"), pkg.as_os_str(), os("--sha256"), os(&good_sha)],
    )
    .expect(0);
}

#[test]
fn base64_payload_cannot_be_verified() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(pkg) = makeself(dir, &["--base64"], &source_tree(), "base64 archive") else {
        return;
    };
    let doc = verify_json(dir, &pkg, 1);
    let not_run = checks_with(&doc, "stream", None, "not-run");
    assert!(
        not_run
            .iter()
            .any(|c| c["detail"].as_str().is_some_and(|d| d.contains("base64"))),
        "a not-run stream check mentioning base64 in {:#}",
        doc["checks"]
    );
    let text = fwkit(dir, [os("verify"), pkg.as_os_str()])
        .expect(1)
        .stdout
        .clone();
    assert!(
        text.contains("NOT RUN") && text.contains("base64"),
        "{text}"
    );
    let out = dir.join("out");
    refused_unpack(dir, &pkg, &out, 1);
}

#[test]
fn label_with_command_substitution_stays_text() {
    let marker = PathBuf::from(format!("/tmp/fwkit-pwned-{}", std::process::id()));
    let label = format!("$(touch {})", marker.display());
    let _ = fs::remove_file(&marker);
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(pkg) = makeself(dir, &[], &source_tree(), &label) else {
        return;
    };
    let data = fs::read(&pkg).unwrap();
    assert!(
        find(&data, format!("\nlabel=\"{label}\"\n").as_bytes()).is_some(),
        "fixture holds the raw label"
    );
    assert!(!marker.exists(), "building the fixture ran the label");

    let doc = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert!(!marker.exists(), "inspect ran the label");
    let vendor = &doc["vendor"].as_array().expect("vendor")[0];
    assert_eq!(vendor["kind"], "makeself");
    assert_eq!(vendor["label"], label.as_str(), "label shown verbatim");
    let text = fwkit(dir, [os("inspect"), pkg.as_os_str()])
        .expect(0)
        .stdout
        .clone();
    assert!(
        text.contains(&label),
        "text inspect shows the label: {text}"
    );
    fwkit(dir, [os("verify"), pkg.as_os_str()]).expect(0);
    assert!(!marker.exists(), "verify ran the label");
    let out = dir.join("out");
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert!(!marker.exists(), "unpack ran the label");
    assert_same_tree(&out, &source_tree());
}

/// makeself keeps the bytes it was given; a chunk whose compressed stream
/// ends before the chunk does hides bytes no check reads.
#[test]
fn bytes_after_the_stream_inside_a_chunk_are_rejected() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(pkg) = makeself(dir, &["--nomd5", "--nocrc"], &source_tree(), "padded") else {
        return;
    };
    let mut data = fs::read(&pkg).unwrap();
    data.extend_from_slice(b"#!/bin/sh\necho hidden\n");
    let grow = |v: &str| (v.parse::<u64>().unwrap() + 22).to_string();
    let data = edit_field(&edit_field(&data, "filesizes", grow), "totalsize", grow);
    assert_rejected(dir, "hidden bytes in the chunk", &data, &["stream"]);
}

/// `filesizes` may not list empty chunks, nor more than 1,024 of them: an
/// edited header of `0 0 0 … N` would otherwise become that many streams.
#[test]
fn empty_or_countless_chunks_are_rejected() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let Some(pkg) = makeself(dir, &["--nomd5", "--nocrc"], &source_tree(), "chunks") else {
        return;
    };
    let data = fs::read(&pkg).unwrap();
    let empty = edit_field(&data, "filesizes", |v| format!("0 {v}"));
    let doc = verify_json(dir, &write_bad(dir, "empty-chunk", &empty), 1);
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(
        reasons.contains("filesizes lists an empty chunk"),
        "{reasons}"
    );
    let countless = edit_field(&data, "filesizes", |v| format!("{}{v}", "1 ".repeat(1024)));
    let doc = verify_json(dir, &write_bad(dir, "countless", &countless), 1);
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("filesizes lists 1025 chunks"), "{reasons}");
    assert_rejected(dir, "empty chunk", &empty, &["structure"]);
}

fn write_bad(dir: &std::path::Path, name: &str, data: &[u8]) -> PathBuf {
    let pkg = dir.join(format!("{name}.run"));
    write_file(&pkg, data, 0o644);
    pkg
}

/// Lines inside a quoted licence are never header assignments
/// (formats/makeself.md, "untrusted text fields").
fn licence_case(licence: &str) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let file = dir.join("licence.txt");
    write_file(&file, licence.as_bytes(), 0o644);
    let opts = ["--license", file.to_str().unwrap()];
    let Some(pkg) = makeself(dir, &opts, &source_tree(), "licensed") else {
        return;
    };
    let doc = verify_json(dir, &pkg, 0);
    assert_check(&doc, "digest", Some("md5"), "passed");
    let out = dir.join("out");
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_same_tree(&out, &source_tree());
}

#[test]
fn licence_lines_that_look_like_fields() {
    licence_case("Licence terms\nskip=5\nfilesizes=1\ntotalsize=1\nMD5=0\n");
}

#[test]

fn licence_with_quotes_and_a_skip_line() {
    licence_case("Say \"yes\" to continue\nskip=\"5\"\nfilesizes=\"1\"\n");
}
