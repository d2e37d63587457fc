//! Zip packages (`formats/zip.md`). Archives made at test time by Info-ZIP,
//! 7-Zip and Python's `zipfile` must verify and unpack byte for byte; a
//! deflate bomb must stop at `--max-size` and otherwise unpack in bounded
//! memory. `zip/hostile.rs` holds the zips written by hand to be refused.

use crate::util::{
    assert_check, assert_no_staging, assert_not_unpacked, assert_same_tree, checks_with, fwkit,
    materialise, os, prng, python3, refused_unpack, require_file, require_tool, sha256_hex, tool,
    verify_json, zip_entries, zip_extra_has, zip_has_zip64_end, Run,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

mod hostile;

/// Relative path -> (content, permission bits), as `tree_files` reports it.
type Tree = BTreeMap<String, (Vec<u8>, u32)>;

/// Text that every method really compresses, random bytes that no method
/// does, an executable, an empty file and a deep path.
fn source_tree() -> Tree {
    let words = ["alpha", "beta", "gamma", "delta"];
    let text: String = (0..20_000)
        .map(|i| format!("line {i} {}\n", words[(i * i) % words.len()]))
        .collect();
    let mut tree = Tree::new();
    tree.insert("README.txt".into(), (text.into_bytes(), 0o644));
    tree.insert("fw/image.bin".into(), (prng(1, 100_000), 0o644));
    tree.insert(
        "fw/flash.sh".into(),
        (b"#!/bin/sh\necho flash\n".to_vec(), 0o755),
    );
    tree.insert("fw/empty.dat".into(), (Vec::new(), 0o644));
    tree.insert("deep/a/b/c/note.txt".into(), (b"deep\n".to_vec(), 0o600));
    tree
}

/// Write the source tree to `dir/src`, run `program args` there (the tool
/// writes `../pkg.zip`) and return the package path.
fn made_by(dir: &Path, tree: &Tree, program: &str, args: &[&str]) -> PathBuf {
    let src = dir.join("src");
    materialise(&src, tree);
    let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
    tool(&src, program, &args);
    let pkg = dir.join("pkg.zip");
    assert!(pkg.is_file(), "{program} wrote no ../pkg.zip");
    pkg
}

/// `verify` exits 0 with the zip's CRC check passed and every file listed;
/// `unpack` reproduces `tree` byte for byte, modes included.
fn round_trip(dir: &Path, pkg: &Path, tree: &Tree) -> Value {
    let doc = verify_json(dir, pkg, 0);
    assert_eq!(doc["format"], "zip");
    assert_eq!(doc["verdict"]["status"], "verified");
    assert_check(&doc, "stream", Some("stream-check"), "passed");
    let files: Vec<String> = doc["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["kind"]["type"] == "file")
        .filter_map(|m| m["path"].as_str().map(str::to_owned))
        .collect();
    let mut files = files;
    files.sort();
    assert_eq!(files, tree.keys().cloned().collect::<Vec<_>>());
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
    doc
}

/// Compression method of each member, by name (read without fwkit).
fn methods(pkg: &Path) -> BTreeMap<String, u16> {
    zip_entries(&fs::read(pkg).expect("read zip"))
        .into_iter()
        .map(|e| (e.name, e.method))
        .collect()
}

// ---------------------------------------------------------------------------
// Archives made by real tools

#[test]
fn info_zip_deflate() {
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
    assert_eq!(methods(&pkg)["README.txt"], 8, "deflated");
    round_trip(tmp.path(), &pkg, &tree);
}

#[test]
fn info_zip_stored() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let pkg = made_by(
        tmp.path(),
        &tree,
        "zip",
        &["-q", "-r", "-0", "../pkg.zip", "."],
    );
    assert!(methods(&pkg).values().all(|&m| m == 0), "all stored");
    round_trip(tmp.path(), &pkg, &tree);
}

/// Every file entry has general-purpose flag bit 3: sizes and CRC follow the
/// data in a data descriptor.
fn assert_data_descriptors(pkg: &Path) {
    let entries = zip_entries(&fs::read(pkg).unwrap());
    let files: Vec<_> = entries.iter().filter(|e| !e.name.ends_with('/')).collect();
    assert!(!files.is_empty());
    for e in files {
        assert!(e.flags & 8 != 0, "{} has no data descriptor", e.name);
    }
}

#[test]
fn info_zip_forced_data_descriptors() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let pkg = made_by(
        tmp.path(),
        &tree,
        "zip",
        &["-q", "-r", "-fd", "../pkg.zip", "."],
    );
    assert_data_descriptors(&pkg);
    round_trip(tmp.path(), &pkg, &tree);
}

#[test]
fn info_zip_streamed_to_a_pipe() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let src = tmp.path().join("src");
    materialise(&src, &tree);
    // `zip - .` writes to stdout and cannot seek back: data descriptors.
    let bytes = tool(&src, "zip", &[os("-q"), os("-r"), os("-"), os(".")]);
    let pkg = tmp.path().join("pkg.zip");
    fs::write(&pkg, bytes).unwrap();
    assert_data_descriptors(&pkg);
    round_trip(tmp.path(), &pkg, &tree);
}

/// `7z a -tzip -mm=<method>`; `number` is the method id the zip must carry.
fn seven_zip(method: &str, number: u16) {
    if !require_tool("7z") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let mm = format!("-mm={method}");
    let pkg = made_by(
        tmp.path(),
        &tree,
        "7z",
        &["a", "-tzip", &mm, "-bso0", "-bsp0", "../pkg.zip", "."],
    );
    assert_eq!(methods(&pkg)["README.txt"], number, "{method}");
    round_trip(tmp.path(), &pkg, &tree);
}

#[test]
fn seven_zip_deflate() {
    seven_zip("Deflate", 8);
}

#[test]
fn seven_zip_bzip2() {
    seven_zip("BZip2", 12);
}

#[test]
fn seven_zip_deflate64() {
    seven_zip("Deflate64", 9);
}

#[test]
fn seven_zip_lzma() {
    seven_zip("LZMA", 14);
}

/// PPMd (method 98) is not supported: the member cannot be checked, so the
/// package is not verified and nothing is unpacked.
#[test]
fn seven_zip_ppmd_fails_closed() {
    if !require_tool("7z") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let pkg = made_by(
        tmp.path(),
        &tree,
        "7z",
        &[
            "a",
            "-tzip",
            "-mm=PPMd",
            "-bso0",
            "-bsp0",
            "../pkg.zip",
            ".",
        ],
    );
    assert_eq!(methods(&pkg)["README.txt"], 98);
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "stream", None, "failed");
    assert!(
        failed
            .iter()
            .any(|c| c["detail"].as_str().unwrap_or("").contains("not supported")),
        "{failed:#?}"
    );
    let out = tmp.path().join("out");
    refused_unpack(tmp.path(), &pkg, &out, 1);
    // A check that could not run is an integrity failure: --no-verify
    // places the tree, never silently.
    let run = fwkit(
        tmp.path(),
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--no-verify"),
        ],
    );
    assert!(
        run.expect(0).stderr.contains("NOT VERIFIED"),
        "{}",
        run.stderr
    );
}

/// Every member written with `force_zip64=True`: each local header carries a
/// zip64 extra field. The archive also has a comment.
#[test]
fn python_zip64_members() {
    if !require_tool("python3") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = source_tree();
    let src = tmp.path().join("src");
    materialise(&src, &tree);
    let script = r#"
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.comment = b'made by fwkit tests'
    for root, dirs, files in sorted(os.walk('.')):
        for f in sorted(files):
            path = os.path.join(root, f)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, '.'))
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, 'rb') as s, z.open(info, 'w', force_zip64=True) as d:
                d.write(s.read())
"#;
    let pkg = tmp.path().join("pkg.zip");
    python3(&src, script, &[pkg.as_os_str()]);
    let entries = zip_entries_with_comment(&fs::read(&pkg).unwrap());
    assert_eq!(entries, tree.len());
    round_trip(tmp.path(), &pkg, &tree);
}

/// Strip a Python-written archive comment, then count members whose local
/// header has a zip64 extra field (all of them must).
fn zip_entries_with_comment(data: &[u8]) -> usize {
    let comment = b"made by fwkit tests";
    assert!(data.ends_with(comment));
    let plain = &data[..data.len() - comment.len()];
    // zip_entries wants the end record last; its comment-length field is
    // ignored there.
    let entries = zip_entries(plain);
    for e in &entries {
        assert!(
            zip_extra_has(&e.local_extra, 0x0001),
            "{} has no zip64 extra field",
            e.name
        );
    }
    entries.len()
}

/// More than 65,535 entries: the count only fits the zip64 end record.
#[test]
fn python_zip64_end_record_with_65600_entries() {
    if !require_tool("python3") {
        return;
    }
    const N: usize = 65_600;
    let tmp = TempDir::new().unwrap();
    let script = r#"
import sys, zipfile
n = int(sys.argv[2])
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    for i in range(n):
        info = zipfile.ZipInfo('d%02d/f%05d' % (i % 64, i), (2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        z.writestr(info, b'%d\n' % i)
"#;
    let pkg = tmp.path().join("pkg.zip");
    python3(tmp.path(), script, &[pkg.as_os_str(), os(&N.to_string())]);
    let data = fs::read(&pkg).unwrap();
    assert!(zip_has_zip64_end(&data), "python wrote no zip64 end record");
    assert_eq!(zip_entries(&data).len(), N);
    // Content is compared through the SHA-256 `inspect` reports for each
    // member rather than by unpacking 65,600 files (the extractor is
    // exercised by every other test here; this one is about the zip64 end
    // record).
    let expected: BTreeMap<String, String> = (0..N)
        .map(|i| {
            let name = format!("d{:02}/f{i:05}", i % 64);
            (name, sha256_hex(format!("{i}\n").as_bytes()))
        })
        .collect();
    fwkit(tmp.path(), [os("verify"), pkg.as_os_str(), os("--quiet")]).expect(0);
    let doc = fwkit(tmp.path(), [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_eq!(doc["verdict"]["status"], "verified");
    let got: BTreeMap<String, String> = doc["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"]["type"] == "file")
        .map(|m| {
            (
                m["path"].as_str().unwrap().to_owned(),
                m["digests"]["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got.len(), N);
    assert!(got == expected, "member paths or contents differ");
}

/// zstd members (method 93), when the installed Python can write them (3.14+).
#[test]
fn python_zstandard() {
    if !require_tool("python3") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let has = python3(
        tmp.path(),
        "import zipfile; print(hasattr(zipfile, 'ZIP_ZSTANDARD'))",
        &[],
    );
    if String::from_utf8_lossy(&has).trim() != "True" {
        eprintln!("SKIP: python_zstandard: this python3 has no zipfile.ZIP_ZSTANDARD");
        return;
    }
    let tree = source_tree();
    let src = tmp.path().join("src");
    materialise(&src, &tree);
    let script = r#"
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_ZSTANDARD) as z:
    for root, dirs, files in sorted(os.walk('.')):
        for f in sorted(files):
            path = os.path.join(root, f)
            z.write(path, os.path.relpath(path, '.'))
"#;
    let pkg = tmp.path().join("pkg.zip");
    python3(&src, script, &[pkg.as_os_str()]);
    assert_eq!(methods(&pkg)["README.txt"], 93);
    round_trip(tmp.path(), &pkg, &tree);
}

// ---------------------------------------------------------------------------
// Size limits and memory

/// A zip holding `mib` MiB of zeros in one deflated member, written by
/// Python in 1 MiB pieces (it compresses about 1000:1).
fn zeros_zip(dir: &Path, mib: usize) -> PathBuf {
    let script = r#"
import sys, zipfile
info = zipfile.ZipInfo('zeros.bin', (2020, 1, 1, 0, 0, 0))
info.compress_type = zipfile.ZIP_DEFLATED
info.external_attr = 0o644 << 16
block = bytes(1 << 20)
with zipfile.ZipFile(sys.argv[1], 'w') as z, z.open(info, 'w') as f:
    for _ in range(int(sys.argv[2])):
        f.write(block)
"#;
    let pkg = dir.join("zeros.zip");
    python3(dir, script, &[pkg.as_os_str(), os(&mib.to_string())]);
    let len = fs::metadata(&pkg).unwrap().len();
    assert!(
        len < (mib as u64) << 12,
        "{len} bytes for {mib} MiB: not a bomb"
    );
    pkg
}

/// Run `fwkit ARGS` under `/usr/bin/time -f %M`; the run and its peak RSS in KiB.
fn fwkit_rss(cwd: &Path, args: &[&OsStr]) -> (Run, u64) {
    let out = Command::new("/usr/bin/time")
        .args([os("-f"), os("fwkit-peak-rss %M"), os(crate::util::FWKIT)])
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("spawn /usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("fwkit-peak-rss "))
        .next_back()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in\n{stderr}"));
    let run = Run {
        args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    };
    (run, rss)
}

/// `--max-size 100M` stops the member before it is inflated (exit 1, no
/// DIR); the default limit unpacks it with a peak RSS under 100 MB.
fn zeros_bomb(mib: usize) {
    if !require_tool("python3") || !require_file(Path::new("/usr/bin/time")) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let pkg = zeros_zip(dir, mib);
    let out = dir.join("out");

    let started = Instant::now();
    let limited = fwkit(
        dir,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--max-size"),
            os("100M"),
            os("--json"),
        ],
    );
    let took = started.elapsed();
    let doc = limited.expect(1).json();
    let limits = checks_with(&doc, "limit", None, "failed");
    assert!(
        limits
            .iter()
            .any(|c| c["detail"].as_str().unwrap_or("").contains("--max-size")),
        "{:#}",
        doc["checks"]
    );
    assert_not_unpacked(&out);
    assert!(
        took < Duration::from_secs(5),
        "--max-size took {took:?}: the member was inflated before the limit stopped it"
    );

    let (run, rss) = fwkit_rss(
        dir,
        &[
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--quiet"),
        ],
    );
    run.expect(0);
    assert!(rss < 100_000, "peak RSS {rss} KiB unpacking {mib} MiB");
    let file = out.join("zeros.bin");
    assert_eq!(fs::metadata(&file).unwrap().len(), (mib as u64) << 20);
    let mut reader = fs::File::open(&file).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|&b| b == 0), "non-zero byte unpacked");
    }
}

#[test]
fn deflate_bomb_200_mib() {
    zeros_bomb(200);
}

#[test]
#[ignore = "slow: writes and inflates 1 GiB (about 16 s in a debug build); deflate_bomb_200_mib runs by default"]
fn deflate_bomb_1_gib() {
    zeros_bomb(1024);
}

/// The central and local headers declare 1,000 bytes; the deflate stream
/// holds 16 MiB. The reader stops at the declared size and fails.
#[test]
fn member_larger_than_its_declared_size() {
    if !require_tool("python3") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let pkg = zeros_zip(tmp.path(), 16);
    let mut data = fs::read(&pkg).unwrap();
    assert_eq!(&data[22..26], &(16u32 << 20).to_le_bytes(), "local usize");
    data[22..26].copy_from_slice(&1000u32.to_le_bytes());
    let cd = data
        .windows(4)
        .rposition(|w| w == b"PK\x01\x02")
        .expect("central entry");
    assert_eq!(&data[cd + 24..cd + 28], &(16u32 << 20).to_le_bytes());
    data[cd + 24..cd + 28].copy_from_slice(&1000u32.to_le_bytes());
    fs::write(&pkg, &data).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed = checks_with(&doc, "stream", Some("stream-check"), "failed");
    assert!(
        failed
            .iter()
            .any(|c| c["detail"].as_str().unwrap_or("").contains("declared")),
        "{:#}",
        doc["checks"]
    );
    let out = tmp.path().join("out");
    refused_unpack(tmp.path(), &pkg, &out, 1);
}

/// Info-ZIP zip with one member's uncompressed size raised by 4,096 in both
/// its local header and the central directory, CRC-32 left intact: the
/// inflated length is not the declared one, so the zip's stream check fails,
/// once, with the member and both lengths named, and no second "covered by
/// nothing" failure for members the stream check did read (findings 1, 2).
#[test]
fn declared_size_larger_than_the_content_fails_once() {
    if !require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let mut tree = Tree::new();
    tree.insert("good.bin".into(), (prng(7, 5000), 0o644));
    tree.insert("evil.bin".into(), (prng(8, 3000), 0o644));
    let pkg = made_by(tmp.path(), &tree, "zip", &["-qr", "../pkg.zip", "."]);
    let mut data = fs::read(&pkg).unwrap();
    let entry = zip_entries(&data)
        .into_iter()
        .find(|e| e.name == "evil.bin")
        .expect("evil.bin in the zip");
    let local = entry.local_offset as usize;
    let size = u32::from_le_bytes(data[local + 22..local + 26].try_into().unwrap());
    assert_eq!(size, 3000, "local header's uncompressed size");
    data[local + 22..local + 26].copy_from_slice(&(size + 4096).to_le_bytes());
    let name_at = data
        .windows(4 + 42 + 8)
        .position(|w| w.starts_with(b"PK\x01\x02") && &w[46..] == b"evil.bin")
        .expect("central entry of evil.bin");
    assert_eq!(&data[name_at + 24..name_at + 28], &3000u32.to_le_bytes());
    data[name_at + 24..name_at + 28].copy_from_slice(&(3000u32 + 4096).to_le_bytes());
    fs::write(&pkg, &data).unwrap();

    let doc = verify_json(tmp.path(), &pkg, 1);
    let failed: Vec<&Value> = crate::util::checks(&doc)
        .iter()
        .filter(|c| c["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "one failure, one reason: {failed:#?}");
    let detail = failed[0]["detail"].as_str().unwrap_or("");
    assert_eq!(failed[0]["kind"], "stream", "{detail}");
    assert!(
        detail.contains("evil.bin") && detail.contains("3000") && detail.contains("7096"),
        "{detail}"
    );
    refused_unpack(tmp.path(), &pkg, &tmp.path().join("out"), 1);
}

/// A file named `.fwpkg` must carry `payload.json`: the name only ever makes
/// fwkit stricter (format detection stays by content).
#[test]
fn an_fwpkg_without_payload_json_fails() {
    if !require_tool("zip") {
        return;
    }
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    crate::util::write_file(
        &dir.join("src/ilo5_304.bin"),
        &crate::util::prng(3, 4096),
        0o644,
    );
    crate::util::tool(
        &dir.join("src"),
        "zip",
        &[
            OsStr::new("-q"),
            OsStr::new("../ilo.fwpkg"),
            OsStr::new("ilo5_304.bin"),
        ],
    );
    let run = crate::util::fwkit(dir, ["verify", "ilo.fwpkg"]);
    run.expect(1);
    assert!(
        run.stdout.contains("must carry payload.json"),
        "{}",
        run.stdout
    );
    // The same bytes under another name are a plain, verified zip.
    std::fs::copy(dir.join("ilo.fwpkg"), dir.join("plain.zip")).unwrap();
    crate::util::fwkit(dir, ["verify", "plain.zip"]).expect(0);
}
