//! `fwkit exec` of a bare image (format raw, a file with a detached
//! signature) handed as a read-only file: with `--as-files`, and when the
//! image is over `--max-memory`. The image is copied once into the private
//! file and that copy is what is verified.

use super::{flipped, Work, CHIP, REFUSED};
use crate::util::{require_tool, FWKIT};
use std::fs;
use std::path::Path;
use std::process::Command;

/// `images/img.bin` (the work's image) signed with `k.key`.
fn signed_image(w: &Work) {
    fs::create_dir_all(w.path("images")).unwrap();
    fs::write(w.path("images/img.bin"), &w.image).unwrap();
    w.run(&["sign", "images/img.bin", "--key", "k.key"])
        .expect(0);
}

/// A flasher that records the modes of `$1` (the file) and `$2` (the
/// directory), both paths, and copies the file to `copy.bin`.
const LOOK: &str = "touch ran\nstat -c '%a' \"$1\" \"$2\" > seen.txt\n\
                    echo \"$1\" \"$2\" >> seen.txt\ncat \"$1\" > copy.bin\n";

#[test]
fn raw_image_as_files_is_a_read_only_file_in_a_private_directory() {
    let w = Work::new(1 << 20);
    signed_image(&w);
    let flasher = w.script("look.sh", LOOK);
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub", "--as-files", "--json"],
        &[&flasher, "{img.bin}", "{}"],
    );
    run.expect(0);
    let seen = fs::read_to_string(w.path("seen.txt")).unwrap();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], "400", "file mode: {seen}");
    assert_eq!(lines[1], "700", "directory mode: {seen}");
    let (file, dir) = lines[2].split_once(' ').unwrap();
    assert_eq!(Path::new(file), Path::new(dir).join("img.bin"), "{seen}");
    assert!(dir.contains("fwkit-exec-"), "{dir}");
    assert!(!Path::new(dir).exists(), "{dir} is left behind");
    assert!(w.copy() == w.image, "the flasher read other bytes");
    let doc = run.json();
    assert_eq!(doc["handed"][0]["member"], "img.bin", "{doc}");
    assert_eq!(doc["handed"][0]["kind"], "read-only file", "{doc}");
    assert_eq!(
        doc["handed"][0]["sha256"],
        crate::util::sha256_hex(&w.image),
        "{doc}"
    );
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("that file was verified")),
        "{doc}"
    );

    // A flasher that makes its file writable and edits it: reported (124),
    // and the directory is still removed.
    let edit = "echo \"$2\" > dir.txt\nchmod 0700 \"$2\" \"$1\"\nprintf x >> \"$1\"\n";
    let editor = w.script("edit.sh", edit);
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub", "--as-files"],
        &[&editor, "{img.bin}", "{}"],
    );
    run.expect(124);
    assert!(run.stderr.contains("changed while"), "{}", run.stderr);
    super::files::assert_gone(&w, "dir.txt");
}

#[test]
fn raw_image_as_files_is_flashed_byte_for_byte_by_flashrom() {
    if !require_tool("flashrom") {
        return;
    }
    let w = Work::new(8 << 20);
    signed_image(&w);
    fs::write(w.path("chip.bin"), vec![0xffu8; 8 << 20]).unwrap();
    let programmer = "dummy:emulate=MX25L6436,image=chip.bin";
    let command = ["flashrom", "-p", programmer, "-c", CHIP, "-w", "{img.bin}"];
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub", "--as-files"],
        &command,
    );
    run.expect(0);
    assert!(run.stderr.contains("read-only file"), "{}", run.stderr);
    assert!(
        fs::read(w.path("chip.bin")).unwrap() == w.image,
        "the chip does not hold the verified image"
    );
}

#[test]
fn raw_image_as_files_with_a_flipped_byte_never_starts_the_flasher() {
    let w = Work::new(1 << 20);
    signed_image(&w);
    flipped(&w.dir, "images/img.bin", "bad.bin");
    fs::copy(w.path("images/img.bin.minisig"), w.path("bad.bin.minisig")).unwrap();
    let flasher = w.script("look.sh", LOOK);
    // fwkit's private directories go to a TMPDIR of our own, to see that
    // none is left behind.
    let tmp = w.path("tmp");
    fs::create_dir_all(&tmp).unwrap();
    for extra in ["--as-files", "--max-memory=1K"] {
        let out = Command::new(FWKIT)
            .args(["exec", "bad.bin", "--key", "k.pub", extra, "--"])
            .args([&flasher, "{bad.bin}", "{}"])
            .current_dir(&w.dir)
            .env("TMPDIR", &tmp)
            .output()
            .expect("run fwkit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(REFUSED), "{extra}: {stderr}");
        assert!(stderr.contains("not verified"), "{extra}: {stderr}");
        assert!(!w.ran(), "{extra}: the flasher ran on a damaged image");
        let left: Vec<_> = fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "{extra}: left behind in TMPDIR: {left:?}");
    }
}

#[test]
fn raw_image_over_max_memory_is_handed_as_a_file() {
    let w = Work::new(256 << 10);
    signed_image(&w);
    let flasher = w.script("look.sh", LOOK);
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub", "--max-memory", "64K", "--json"],
        &[&flasher, "{img.bin}", "{}"],
    );
    run.expect(0);
    let doc = run.json();
    assert_eq!(doc["handed"][0]["kind"], "read-only file", "{doc}");
    let notes = doc["notes"].to_string();
    assert!(notes.contains("over --max-memory"), "{doc}");
    assert!(w.copy() == w.image, "the flasher read other bytes");
    let seen = fs::read_to_string(w.path("seen.txt")).unwrap();
    assert!(seen.starts_with("400\n700\n"), "{seen}");
    let path = doc["handed"][0]["handed_as"].as_str().unwrap();
    assert!(!Path::new(path).exists(), "{path} is left behind");

    // Under the cap it is a sealed memfd, as before.
    let copier = w.copier(0);
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub", "--max-memory", "1M"],
        &[&copier, "{img.bin}"],
    );
    run.expect(0);
    assert!(run.stderr.contains("sealed memfd"), "{}", run.stderr);
    assert!(w.copy() == w.image);
}
