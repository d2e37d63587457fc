//! Hostile zips, written byte by byte by `util::RawZip` (duplicates,
//! overlapping and inconsistent headers, damage, truncation) and Info-ZIP
//! symlinks: refused, with nothing written anywhere. The only zips that may
//! unpack are those whose content is exactly what was packed. Names that
//! escape and links that leave the tree are in the table of `hostile.rs`.

use super::{made_by, source_tree};
use crate::hostile::Arena;
use crate::util::{
    assert_check, assert_not_unpacked, checks_with, find, fwkit, listing, member_paths, os, prng,
    refused_unpack, require_tool, tool, tree_files, verify_json, write_file, zip_entries,
    zip_local_entry, RawZip,
};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The verdict's reasons, joined, lower-cased.
fn reasons(doc: &Value) -> String {
    doc["verdict"]["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
        .to_lowercase()
}

/// What `unpack --no-verify` does with a refused zip.
#[derive(Clone, Copy, PartialEq)]
enum NoVerify {
    /// Unsafe or structurally broken: refused as well (exit 1).
    Refuses,
    /// Only an integrity check failed: the tree is placed with a loud
    /// warning (exit 0), as README.md documents.
    Places,
}

/// `verify` exits 1 with `needle` in a reason; `unpack` exits 1 and nothing
/// appears anywhere in the arena; `unpack --no-verify` does what `no_verify`
/// says, and never writes outside DIR. Returns the verify report.
#[track_caller]
fn refused_as(arena: &Arena, zip: &[u8], needle: &str, no_verify: NoVerify) -> Value {
    let work = arena.work();
    let pkg = work.join("hostile.zip");
    write_file(&pkg, zip, 0o644);
    let before = listing(arena.root());
    let doc = verify_json(&work, &pkg, 1);
    assert_eq!(doc["verified"], false);
    let why = reasons(&doc);
    assert!(
        why.contains(&needle.to_lowercase()),
        "{needle:?} not in the reasons:\n{why}"
    );
    let out = work.join("out");
    refused_unpack(&work, &pkg, &out, 1);
    assert_eq!(listing(arena.root()), before, "something was created");
    let run = fwkit(
        &work,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--no-verify"),
        ],
    );
    match no_verify {
        NoVerify::Refuses => {
            run.expect(1);
            assert_not_unpacked(&out);
        }
        NoVerify::Places => {
            assert!(
                run.expect(0).stderr.contains("NOT VERIFIED"),
                "{}",
                run.stderr
            );
            assert!(out.is_dir());
            fs::remove_dir_all(&out).unwrap();
        }
    }
    assert_eq!(
        listing(arena.root()),
        before,
        "something was created outside DIR"
    );
    for path in listing(arena.root()) {
        assert!(!path.contains("evil"), "{path} was created");
    }
    doc
}

/// Refused by `unpack`, with or without `--no-verify`.
#[track_caller]
fn refused(arena: &Arena, zip: &[u8], needle: &str) -> Value {
    refused_as(arena, zip, needle, NoVerify::Refuses)
}

/// A zip with one harmless member, then `name`.
fn with_member(name: &[u8]) -> Vec<u8> {
    RawZip::new()
        .file(b"ok.txt", b"harmless\n")
        .file(name, b"escaped\n")
        .finish()
}

#[test]
fn hand_written_zip_is_accepted() {
    // The writer used by the hostile tests makes valid zips.
    let tmp = TempDir::new().unwrap();
    let pkg = tmp.path().join("ok.zip");
    let zip = RawZip::new()
        .file(b"ok.txt", b"harmless\n")
        .file(b"sub/b.bin", &prng(2, 4096))
        .finish();
    fs::write(&pkg, zip).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 0);
    assert_eq!(member_paths(&doc), ["ok.txt", "sub/b.bin"]);
}

/// Unlike a tar or a cabinet, a zip with two entries of one name is refused
/// as a whole, before any member is listed (so it is not in the table of
/// `hostile.rs`).
#[test]
fn duplicate_names() {
    let zip = RawZip::new()
        .file(b"ok.txt", b"harmless\n")
        .file(b"ok.txt", b"evil twin\n")
        .finish();
    refused(&Arena::new(), &zip, "duplicate");
}

/// Two central entries with the same name point at one local header.
#[test]
fn two_central_entries_share_a_local_header() {
    let data = b"shared bytes\n";
    let mut zip = RawZip::new();
    let at = zip.local(b"a.bin", data);
    zip.central(b"a.bin", data, at).central(b"a.bin", data, at);
    refused(&Arena::new(), &zip.finish(), "duplicate");
}

/// Two differently named central entries point at one local header.
#[test]
fn two_names_for_one_local_header() {
    let data = b"shared bytes\n";
    let mut zip = RawZip::new();
    let at = zip.local(b"a.bin", data);
    zip.central(b"a.bin", data, at).central(b"b.bin", data, at);
    let doc = refused(&Arena::new(), &zip.finish(), "zip archive");
    assert_check(&doc, "structure", None, "failed");
}

/// The overlapping-entry bomb: `b.bin`'s local header lies inside `a.bin`'s data.
#[test]
fn overlapping_entries() {
    let inner_data = b"inner member\n";
    let inner = zip_local_entry(b"b.bin", inner_data);
    let mut outer_data = b"head".to_vec();
    outer_data.extend_from_slice(&inner);
    outer_data.extend_from_slice(b"tail");
    let mut zip = RawZip::new();
    let at = zip.local(b"a.bin", &outer_data);
    let inner_at = at + 30 + 5 + 4;
    zip.central(b"a.bin", &outer_data, at)
        .central(b"b.bin", inner_data, inner_at);
    refused(&Arena::new(), &zip.finish(), "overlapping");
}

/// The local header says `evil.bin`, the central directory `x.bin`.
#[test]
fn local_and_central_names_differ() {
    let mut zip = RawZip::new();
    let at = zip.local(b"evil.bin", b"data\n");
    zip.central(b"x.bin", b"data\n", at);
    refused(&Arena::new(), &zip.finish(), "mismatch");
}

#[test]
fn central_directory_offset_past_the_end() {
    let mut zip = with_member(b"b.txt");
    let len = zip.len() as u32;
    let eocd = zip.len() - 22;
    zip[eocd + 16..eocd + 20].copy_from_slice(&(len + 100).to_le_bytes());
    refused(&Arena::new(), &zip, "central directory");
}

#[test]
fn trailing_garbage_after_the_end_record() {
    let mut zip = with_member(b"b.txt");
    let end = zip.len();
    zip.extend_from_slice(b"GARBAGE");
    let doc = refused(&Arena::new(), &zip, "7 bytes follow");
    let failed = checks_with(&doc, "structure", None, "failed");
    assert!(
        failed
            .iter()
            .any(|c| c["range"] == serde_json::json!([end, end + 7])),
        "{failed:#?}"
    );
}

#[test]
fn flipped_byte_in_stored_member_data() {
    let data = prng(3, 1000);
    let mut zip = RawZip::new()
        .file(b"ok.txt", b"harmless\n")
        .file(b"b.bin", &data)
        .finish();
    let at = find(&zip, &data).unwrap() + 500;
    zip[at] ^= 0x01;
    let doc = refused_as(&Arena::new(), &zip, "b.bin", NoVerify::Places);
    assert_check(&doc, "stream", Some("stream-check"), "failed");
}

#[test]
fn flipped_byte_in_deflated_member_data() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let pkg = made_by(
        tmp.path(),
        &tree,
        "zip",
        &["-q", "-r", "-X", "../pkg.zip", "."],
    );
    let mut zip = fs::read(&pkg).unwrap();
    let entry = zip_entries(&zip)
        .into_iter()
        .find(|e| e.name == "README.txt")
        .unwrap();
    // Somewhere in the middle of README.txt's deflate stream.
    let at = entry.local_offset as usize + 30 + "README.txt".len() + 2000;
    zip[at] ^= 0x10;
    let doc = refused_as(&Arena::new(), &zip, "README.txt", NoVerify::Places);
    assert_check(&doc, "stream", Some("stream-check"), "failed");
}

/// Flip one bit in every header byte of a small zip, in turn. Each result
/// is refused (exit 1, or 2 once the leading `PK\3\4` is gone) with nothing
/// unpacked, or it unpacks exactly the original content: no single-bit
/// header damage may change what lands on disk.
#[test]
fn flipped_bit_in_every_header_byte() {
    let a = b"harmless\n".to_vec();
    let b = prng(4, 256);
    let zip = RawZip::new()
        .file(b"ok.txt", &a)
        .file(b"b.bin", &b)
        .finish();
    let a_at = find(&zip, &a).unwrap();
    let b_at = find(&zip, &b).unwrap();
    let in_data =
        |i: usize| (a_at..a_at + a.len()).contains(&i) || (b_at..b_at + b.len()).contains(&i);
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let pkg = dir.join("flipped.zip");
    let out = dir.join("out");
    let mut refused = 0;
    for i in (0..zip.len()).filter(|&i| !in_data(i)) {
        let mut bad = zip.clone();
        bad[i] ^= 0x01;
        fs::write(&pkg, &bad).unwrap();
        let run = fwkit(
            dir,
            [
                os("unpack"),
                pkg.as_os_str(),
                os("-o"),
                out.as_os_str(),
                os("--quiet"),
            ],
        );
        match run.code {
            0 => {
                let got = tree_files(&out);
                let contents: Vec<(&str, &[u8])> = got
                    .iter()
                    .map(|(k, (v, _))| (k.as_str(), v.as_slice()))
                    .collect();
                assert_eq!(
                    contents,
                    [("b.bin", b.as_slice()), ("ok.txt", a.as_slice())],
                    "flipping byte {i} changed the unpacked content"
                );
                fs::remove_dir_all(&out).unwrap();
            }
            1 => {
                refused += 1;
                assert_not_unpacked(&out);
            }
            2 => {
                assert!(
                    i < 4,
                    "byte {i}: exit 2 for a file that starts with PK\\3\\4"
                );
                assert_not_unpacked(&out);
            }
            other => panic!("byte {i}: exit {other}\n{}", run.stderr),
        }
    }
    // Most header bytes matter (signatures, sizes, offsets, CRCs, names).
    assert!(refused > 100, "only {refused} flips were refused");
}

/// Truncation at 20 offsets from 0 to the last byte: never verified, never
/// unpacked; exit 2 only while the file is too short to start with `PK\3\4`.
#[test]
fn truncated_at_20_offsets() {
    let zip = RawZip::new()
        .file(b"ok.txt", b"harmless\n")
        .file(b"b.bin", &prng(5, 2000))
        .file(b"c/d.txt", b"nested\n")
        .finish();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let mut cuts: Vec<usize> = vec![0, 2, 3, 4, 29, 30, zip.len() - 22, zip.len() - 1];
    let step = zip.len() / 12;
    cuts.extend((1..=12).map(|k| k * step - 1));
    cuts.sort_unstable();
    cuts.dedup();
    assert!(cuts.len() >= 20, "{cuts:?}");
    for cut in cuts {
        let pkg = dir.join(format!("cut-{cut}.zip"));
        fs::write(&pkg, &zip[..cut]).unwrap();
        let expected = if cut < 4 { 2 } else { 1 };
        let run = fwkit(dir, [os("verify"), pkg.as_os_str(), os("--json")]);
        assert_eq!(run.code, expected, "cut at {cut}: {}", run.stderr);
        if expected == 1 {
            assert_check(&run.json(), "structure", None, "failed");
        }
        let out = dir.join(format!("out-{cut}"));
        refused_unpack(dir, &pkg, &out, expected);
    }
}

/// Truncated inside the archive comment: the end record is found but ends
/// past the end of the file.
#[test]
fn truncated_inside_the_archive_comment() {
    let mut zip = with_member(b"b.txt");
    let eocd = zip.len() - 22;
    zip[eocd + 20..eocd + 22].copy_from_slice(&100u16.to_le_bytes());
    zip.extend_from_slice(&[b'C'; 50]);
    let doc = refused(&Arena::new(), &zip, "end record");
    assert_check(&doc, "structure", None, "failed");
}

#[test]
fn truncated_comment_is_reported_as_truncation() {
    let mut zip = with_member(b"b.txt");
    let eocd = zip.len() - 22;
    zip[eocd + 20..eocd + 22].copy_from_slice(&100u16.to_le_bytes());
    zip.extend_from_slice(&[b'C'; 50]);
    let doc = refused(&Arena::new(), &zip, "end record");
    let why = reasons(&doc);
    assert!(!why.contains("0 bytes follow"), "{why}");
    assert!(
        why.contains("truncated") || why.contains("past the end"),
        "{why}"
    );
}

// ---------------------------------------------------------------------------
// Symlinks stored by Info-ZIP (`zip -y`)

/// `zip -y` of `ok.txt` and a symlink `link -> target`.
fn zip_with_symlink(dir: &Path, target: &str, stored: bool) -> PathBuf {
    let src = dir.join("src");
    write_file(&src.join("ok.txt"), b"harmless\n", 0o644);
    std::os::unix::fs::symlink(target, src.join("link")).unwrap();
    let mut args = vec![os("-q"), os("-y")];
    if stored {
        args.push(os("-0"));
    }
    args.extend([os("../pkg.zip"), os("link"), os("ok.txt")]);
    tool(&src, "zip", &args);
    dir.join("pkg.zip")
}

#[test]
fn symlink_inside_the_tree_is_kept() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let pkg = zip_with_symlink(tmp.path(), "ok.txt", false);
    let out = tmp.path().join("out");
    fwkit(
        tmp.path(),
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_eq!(
        fs::read_link(out.join("link")).unwrap(),
        Path::new("ok.txt")
    );
}

/// A stored symlink whose target bytes fail their CRC.
fn corrupt_symlink_zip(arena: &Arena) -> Vec<u8> {
    let pkg = zip_with_symlink(&arena.work(), "ok.txt", true);
    let mut zip = fs::read(&pkg).unwrap();
    fs::remove_dir_all(arena.work().join("src")).unwrap();
    fs::remove_file(&pkg).unwrap();
    let entry = zip_entries(&zip)
        .into_iter()
        .find(|e| e.name == "link")
        .unwrap();
    let name_len = 4;
    let data_at = entry.local_offset as usize + 30 + name_len + entry.local_extra.len();
    assert_eq!(&zip[data_at..data_at + 6], b"ok.txt");
    zip[data_at + 1] ^= 0x01; // ok.txt -> oj.txt
    zip
}

#[test]
fn corrupt_symlink_target_is_refused() {
    if !require_tool("zip") {
        return;
    }
    let arena = Arena::new();
    let zip = corrupt_symlink_zip(&arena);
    refused(&arena, &zip, "link");
}

#[test]
fn corrupt_symlink_target_is_reported_as_a_crc_failure() {
    if !require_tool("zip") {
        return;
    }
    let arena = Arena::new();
    let zip = corrupt_symlink_zip(&arena);
    let doc = refused(&arena, &zip, "link");
    let why = reasons(&doc);
    assert!(why.contains("checksum") || why.contains("crc"), "{why}");
}

/// A symlink member whose stored target is 4,194 bytes, longer than any
/// target Linux accepts, damaged (or not) past its 4,096th byte.
fn long_symlink_zip(damaged: bool) -> Vec<u8> {
    let mut target = "a/".repeat(2047).into_bytes();
    target.extend_from_slice(&[b'b'; 100]);
    let mut zip = RawZip::new()
        .file(b"ok.txt", b"harmless\n")
        .symlink(b"link", &target)
        .finish();
    if damaged {
        let at = find(&zip, &target).unwrap() + 4144;
        zip[at] ^= 0x01;
    }
    zip
}

#[test]
fn symlink_target_longer_than_4_kib() {
    for damaged in [false, true] {
        let arena = Arena::new();
        let work = arena.work();
        let pkg = work.join("long-link.zip");
        write_file(&pkg, &long_symlink_zip(damaged), 0o644);
        let before = listing(arena.root());
        fwkit(&work, [os("verify"), pkg.as_os_str()]).expect(1);
        let out = work.join("out");
        refused_unpack(&work, &pkg, &out, 1);
        assert_eq!(listing(arena.root()), before, "damaged: {damaged}");
    }
}
