//! makeself archives: built at test time with the system's `makeself`
//! (Debian 2.4.5), plus hand-written stubs for generations apt cannot give us.

use crate::util::{
    after_lines, assert_check, assert_no_staging, assert_same_tree, checks, checks_with, find,
    fwkit, makeself_archive, materialise, member_paths, os, prng, refused_unpack, tool, uncovered,
    verify_json, write_file, Makeself,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

mod edge;
mod legacy;

/// Relative path -> (content, permission bits).
type Tree = BTreeMap<String, (Vec<u8>, u32)>;

fn tree(entries: Vec<(&str, Vec<u8>, u32)>) -> Tree {
    entries
        .into_iter()
        .map(|(n, d, m)| (n.to_owned(), (d, m)))
        .collect()
}

/// What every archive packs: text, a subdirectory, an empty file, 300 KiB of
/// pseudo-random bytes and an executable startup script.
fn source_tree() -> Tree {
    tree(vec![
        (
            "README.txt",
            b"fwkit makeself test archive\n".to_vec(),
            0o644,
        ),
        (
            "setup.sh",
            b"#!/bin/sh\necho 'fwkit test setup: nothing to do'\n".to_vec(),
            0o755,
        ),
        ("bin/flash.bin", prng(0xf1a5, 300 << 10), 0o644),
        ("sub/config.ini", b"[flash]\nretries=3\n".to_vec(), 0o644),
        (
            "sub/deeper/notes.txt",
            b"three levels down\n".to_vec(),
            0o600,
        ),
        ("empty.dat", Vec::new(), 0o644),
    ])
}

/// What `--append` adds: different names, so nothing collides.
fn appended_tree() -> Tree {
    tree(vec![
        (
            "extra/appended.txt",
            b"added by makeself --append\n".to_vec(),
            0o644,
        ),
        ("appended.bin", prng(0xadd, 8 << 10), 0o755),
    ])
}

/// `dir/out.run` made by makeself (`util::makeself_archive`) from `tree`
/// written to `dir/src`, with `OPTS` and `./setup.sh` as its startup script;
/// `None` when a tool is missing.
fn makeself(dir: &Path, opts: &[&str], tree: &Tree, label: &str) -> Option<PathBuf> {
    let src = dir.join("src");
    materialise(&src, tree);
    let how = Makeself {
        opts,
        label,
        ..Makeself::default()
    };
    makeself_archive(&src, &dir.join("out.run"), how)
}

/// The payload offset from the stub's own `skip="N"` line: the byte after the Nth newline.
fn skip_offset(data: &[u8]) -> usize {
    let at = find(data, b"\nskip=\"").expect("skip=\"N\" line") + 7;
    let digits: String = data[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    after_lines(data, digits.parse().expect("skip is a number"))
}

#[derive(Clone, Copy, PartialEq)]
enum Sums {
    /// makeself's default: MD5 and POSIX cksum.
    Md5Cksum,
    /// `--sha256`: SHA-256 as well.
    Sha256,
    /// `--nomd5 --nocrc`: no digest at all.
    Absent,
}

struct Case {
    /// makeself's options; `util::makeself_archive` requires the tools they need.
    opts: &'static [&'static str],
    sums: Sums,
    /// The payload is compressed with a format that carries its own check.
    stream_check: bool,
    append: bool,
}

const GOOD: Case = Case {
    opts: &[],
    sums: Sums::Md5Cksum,
    stream_check: true,
    append: false,
};

fn good_case(case: Case) {
    let tmp = TempDir::new().expect("tempdir");
    let dir = tmp.path();
    let mut expected = source_tree();
    let Some(pkg) = makeself(dir, case.opts, &expected, "fwkit test archive") else {
        return;
    };
    if case.append {
        let more = appended_tree();
        let src2 = dir.join("src2");
        materialise(&src2, &more);
        tool(
            dir,
            "makeself",
            &[
                os("--quiet"),
                os("--append"),
                src2.as_os_str(),
                pkg.as_os_str(),
            ],
        );
        expected.extend(more);
    }
    let data = fs::read(&pkg).expect("read archive");
    let offset = skip_offset(&data);

    let doc = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_eq!(doc["format"], "makeself");
    assert_eq!(doc["command"], "inspect");
    assert_eq!(doc["size"], data.len() as u64);
    let mut listed = member_paths(&doc);
    listed.sort();
    assert_eq!(
        listed,
        expected.keys().cloned().collect::<Vec<_>>(),
        "members listed by inspect"
    );
    let layers = doc["layers"].as_array().expect("layers");
    assert_eq!(
        layers[0]["range"],
        serde_json::json!([0, offset]),
        "stub layer ends at the skip offset"
    );
    assert!(
        layers.iter().any(
            |l| l["kind"].as_str().is_some_and(|k| k.starts_with("payload"))
                && l["range"] == serde_json::json!([offset, data.len()])
        ),
        "a payload layer from {offset} to EOF in {layers:#?}"
    );
    let setup = doc["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == "setup.sh")
        .expect("setup.sh");
    assert_eq!(setup["mode"].as_u64().unwrap() & 0o777, 0o755);
    assert_eq!(setup["kind"]["type"], "file");

    let doc = verify_json(dir, &pkg, 0);
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["verdict"]["status"], "verified");
    assert!(checks(&doc)
        .iter()
        .all(|c| c["outcome"] != "failed" && c["outcome"] != "not-run"));
    match case.sums {
        Sums::Md5Cksum | Sums::Sha256 => {
            assert_check(&doc, "digest", Some("md5"), "passed");
            assert_check(&doc, "digest", Some("cksum"), "passed");
            let sha = checks_with(&doc, "digest", Some("sha256"), "passed");
            assert_eq!(
                sha.len(),
                usize::from(case.sums == Sums::Sha256),
                "sha256 checks"
            );
        }
        Sums::Absent => {
            let digests: Vec<&Value> = checks(&doc)
                .iter()
                .filter(|c| c["kind"] == "digest")
                .collect();
            assert!(
                digests.is_empty(),
                "--nomd5 --nocrc declares no digest: {digests:#?}"
            );
        }
    }
    for c in checks_with(&doc, "digest", None, "passed") {
        assert_eq!(
            c["range"],
            serde_json::json!([offset, data.len()]),
            "digest range"
        );
    }
    if case.stream_check {
        assert_check(&doc, "stream", Some("stream-check"), "passed");
    }
    assert_eq!(
        uncovered(&doc),
        vec![(0, offset as u64)],
        "only the stub is uncovered"
    );

    let out = dir.join("unpacked");
    let run = fwkit(
        dir,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--json"),
        ],
    );
    let doc = run.expect(0).json();
    assert_eq!(doc["command"], "unpack");
    assert_eq!(doc["unpacked"], out.to_str().unwrap());
    assert_same_tree(&out, &expected);
    assert_no_staging(dir);

    for (what, bad, kinds) in corruptions(&data, offset) {
        assert_rejected(dir, &what, &bad, kinds);
    }
}

/// `data` with the value of the column-0 header field `NAME="…"` replaced by `edit(value)`.
fn edit_field(data: &[u8], name: &str, edit: impl Fn(&str) -> String) -> Vec<u8> {
    let key = format!("\n{name}=\"");
    let at = find(data, key.as_bytes()).unwrap_or_else(|| panic!("no {name} field")) + key.len();
    let len = data[at..]
        .iter()
        .position(|&b| b == b'"')
        .expect("closing quote");
    let value = std::str::from_utf8(&data[at..at + len]).expect("ASCII value");
    let mut out = data[..at].to_vec();
    out.extend_from_slice(edit(value).as_bytes());
    out.extend_from_slice(&data[at + len..]);
    out
}

fn plus_one(value: &str) -> String {
    (value.parse::<u64>().expect("one number") + 1).to_string()
}

/// Damaged copies of an archive and the check kinds that must catch each.
fn corruptions(data: &[u8], offset: usize) -> Vec<(String, Vec<u8>, &'static [&'static str])> {
    let payload = data.len() - offset;
    let mut flipped = data.to_vec();
    let mid = offset + payload / 2;
    flipped[mid] ^= 0x55;
    let structure = &["structure"][..];
    vec![
        (
            format!("byte {mid} flipped"),
            flipped,
            &["digest", "stream"][..],
        ),
        (
            "truncated by 1 byte".to_owned(),
            data[..data.len() - 1].to_vec(),
            structure,
        ),
        (
            "truncated by half the payload".to_owned(),
            data[..data.len() - payload / 2].to_vec(),
            structure,
        ),
        (
            "filesizes plus one".to_owned(),
            edit_field(data, "filesizes", plus_one),
            structure,
        ),
        (
            "totalsize plus one".to_owned(),
            edit_field(data, "totalsize", plus_one),
            structure,
        ),
        (
            "two MD5 values for one chunk".to_owned(),
            edit_field(data, "MD5", |v| format!("{v} {v}")),
            structure,
        ),
    ]
}

/// `verify` exits 1 with a failed check of one of `kinds`; `unpack` exits 1 and leaves nothing.
fn assert_rejected(dir: &Path, what: &str, bad: &[u8], kinds: &[&str]) {
    let name = what.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let pkg = dir.join(format!("bad-{name}.run"));
    write_file(&pkg, bad, 0o644);
    let doc = verify_json(dir, &pkg, 1);
    assert_eq!(doc["verified"], false, "{what}");
    assert_eq!(doc["verdict"]["status"], "not-verified", "{what}");
    assert!(
        kinds
            .iter()
            .any(|k| !checks_with(&doc, k, None, "failed").is_empty()),
        "{what}: expected a failed {kinds:?} check in {:#}",
        doc["checks"]
    );
    let out = dir.join(format!("out-{name}"));
    refused_unpack(dir, &pkg, &out, 1);
}

#[test]
fn gzip_default() {
    good_case(GOOD);
}

#[test]
fn bzip2() {
    good_case(Case {
        opts: &["--bzip2"],
        ..GOOD
    });
}

#[test]
fn xz() {
    good_case(Case {
        opts: &["--xz"],
        ..GOOD
    });
}

#[test]
fn zstd() {
    good_case(Case {
        opts: &["--zstd"],
        ..GOOD
    });
}

#[test]
fn lz4() {
    good_case(Case {
        opts: &["--lz4"],
        ..GOOD
    });
}

#[test]
fn nocomp() {
    good_case(Case {
        opts: &["--nocomp"],
        stream_check: false,
        ..GOOD
    });
}

#[test]
fn sha256() {
    good_case(Case {
        opts: &["--sha256"],
        sums: Sums::Sha256,
        ..GOOD
    });
}

#[test]
fn nomd5_nocrc_relies_on_the_gzip_check() {
    good_case(Case {
        opts: &["--nomd5", "--nocrc"],
        sums: Sums::Absent,
        ..GOOD
    });
}

#[test]
fn append_a_different_directory() {
    good_case(Case {
        append: true,
        ..GOOD
    });
}
