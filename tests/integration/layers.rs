//! One model under every container (issue "one-way layers"): the same tree
//! reads as the same members whatever holds it.
//!
//! Every command reads a package through one open file: `strace` counts the
//! opens of the package's path. The shape of src/ itself (imports that run
//! down the layers, files and functions that stay small) is read as text in
//! `layers/source.rs`.
//!
//! Fixtures are made at test time: GNU tar and gzip, Info-ZIP `zip`, GNOME's
//! `gcab` and Debian's `makeself` (`util::makeself_archive`), plus a tar and
//! a zip written by hand (`util::Tar`, `util::RawZip`) for the name
//! spellings no tool writes.

use crate::util::{
    fwkit, makeself_archive, materialise, member_paths, os, prng, require_tool, samples, tool,
    write_file, Makeself, RawZip, Tar, FWKIT,
};
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

mod source;

/// Relative path -> (content, permission bits).
type Tree = BTreeMap<String, (Vec<u8>, u32)>;

/// A directory `fw/`, one file at depth 1 and two at depth 2.
fn small_tree() -> Tree {
    let mut tree = Tree::new();
    tree.insert(
        "README.txt".into(),
        (b"fwkit layers test\n".to_vec(), 0o644),
    );
    tree.insert("fw/image.bin".into(), (prng(0x1a7e, 3000), 0o644));
    tree.insert("fw/flash.sh".into(), (b"#!/bin/sh\n".to_vec(), 0o755));
    tree
}

/// The paths `fwkit inspect --json` reports for the file members, sorted.
fn file_paths(dir: &Path, pkg: &Path) -> Vec<String> {
    let mut doc = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    if let Some(members) = doc["members"].as_array_mut() {
        members.retain(|m| m["kind"]["type"] == "file");
    }
    let mut paths = member_paths(&doc);
    paths.sort();
    paths
}

/// `program ARGS` in `cwd` (the tree), which writes `out`; `None` when the
/// program is missing.
fn made_by(cwd: &Path, program: &str, args: &[&str], out: PathBuf) -> Option<PathBuf> {
    if !require_tool(program) {
        return None;
    }
    let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
    tool(cwd, program, &args);
    Some(out)
}

/// The tree by hand, every name as written in `names` (tree path -> stored
/// name) and the directory `fw` as `dir`.
fn by_hand_tar(tree: &Tree, dir: &str, names: impl Fn(&str) -> String) -> Vec<u8> {
    let mut tar = Tar::new();
    tar.dir(dir, 0o755);
    for (path, (data, mode)) in tree {
        tar.file(&names(path), *mode, data);
    }
    tar.finish()
}

#[test]
fn every_container_reports_the_same_member_paths() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let tree = small_tree();
    let src = dir.join("src");
    materialise(&src, &tree);
    let at = |name: &str| dir.join(name);

    // Names with and without `./`, in one archive: `./fw/`, `./fw/…`, `README.txt`.
    let mixed = by_hand_tar(&tree, "./fw/", |p| {
        if p.starts_with("fw/") {
            format!("./{p}")
        } else {
            p.to_owned()
        }
    });
    write_file(&at("mixed.tar"), &mixed, 0o644);
    let mut dot_zip = RawZip::new();
    dot_zip.dir(b"./fw/");
    for (path, (data, _)) in &tree {
        dot_zip.file(format!("./{path}").as_bytes(), data);
    }
    write_file(&at("dot.zip"), &dot_zip.finish(), 0o644);
    let gzip_tar = ["-czf", "../plain.tar.gz", "README.txt", "fw"];
    let containers: Vec<(&str, Option<PathBuf>)> = vec![
        ("directory set", Some(src.clone())),
        ("tar by hand, `./` and not", Some(at("mixed.tar"))),
        (
            "GNU tar of `.` (`./` names)",
            made_by(&src, "tar", &["-cf", "../dot.tar", "."], at("dot.tar")),
        ),
        (
            "GNU tar + gzip of named files",
            made_by(&src, "tar", &gzip_tar, at("plain.tar.gz")),
        ),
        (
            "Info-ZIP",
            made_by(
                &src,
                "zip",
                &["-q", "-r", "-X", "../info.zip", "."],
                at("info.zip"),
            ),
        ),
        ("zip by hand, `./` names", Some(at("dot.zip"))),
        (
            "makeself (`./` names)",
            makeself_archive(&src, &at("pkg.run"), Makeself::default()),
        ),
        (
            "gcab (`\\` separators)",
            made_by(
                &src,
                "gcab",
                &[
                    "--create",
                    "../pkg.cab",
                    "README.txt",
                    "fw/image.bin",
                    "fw/flash.sh",
                ],
                at("pkg.cab"),
            ),
        ),
    ];
    let want: Vec<String> = tree.keys().cloned().collect();
    let differ: Vec<String> = containers
        .iter()
        .filter_map(|(what, pkg)| Some((what, pkg.as_ref()?)))
        .map(|(what, pkg)| (what, file_paths(dir, pkg)))
        .filter(|(_, got)| *got != want)
        .map(|(what, got)| format!("{what}: {got:?}"))
        .collect();
    assert!(
        differ.is_empty(),
        "file members differ from {want:?}:\n{}",
        differ.join("\n")
    );
}

// ---------------------------------------------------------------------------
// One open of the package per command

/// Successful `open`/`openat`/`openat2` calls of exactly `path` in an
/// `strace -f` log, counting a call split into `<unfinished ...>` and
/// `<... resumed>` lines once, by its result. Opens of `PATH.minisig` and
/// the like name another path and do not count.
fn successful_opens(log: &str, path: &Path) -> usize {
    let quoted = format!("\"{}\"", path.display());
    let succeeded = |line: &str| {
        line.rsplit_once(" = ")
            .is_some_and(|(_, r)| !r.starts_with('-'))
    };
    let is_open = |line: &str| {
        ["open(", "openat(", "openat2("]
            .iter()
            .any(|c| line.contains(c))
    };
    let mut pending = HashSet::new();
    let mut count = 0;
    for line in log.lines() {
        let pid = line.split_whitespace().next().unwrap_or_default();
        if is_open(line) && line.contains(&quoted) {
            if line.ends_with("<unfinished ...>") {
                pending.insert(pid.to_owned());
            } else if succeeded(line) {
                count += 1;
            }
        } else if line.contains(" resumed>") && pending.remove(pid) && succeeded(line) {
            count += 1;
        }
    }
    count
}

/// `inspect`, `verify` and `unpack` each open the package once: one pass
/// over one open file, whatever the container (a signed scexe with its key,
/// a signed zip, a tar.gz, a gcab cabinet; the committed samples). Traced
/// with `strace -f -e trace=open,openat,openat2`.
#[test]
fn one_open_of_the_package_per_command() {
    if !require_tool("strace") {
        return;
    }
    let key = samples().join("keys/fwkit-test.pub");
    let packages = [
        ("signed scexe", "signed/expander-2.10.scexe", true),
        ("signed zip", "signed/expander-2.10.zip", true),
        ("tar.gz", "tar/puf-update.tar.gz", false),
        ("cab made by gcab", "cab/fwkit-sample-1.2.3.cab", false),
    ];
    let tmp = TempDir::new().unwrap();
    let mut wrong = Vec::new();
    for (what, sample, signed) in packages {
        let pkg = samples().join(sample);
        for command in ["inspect", "verify", "unpack"] {
            let log = tmp.path().join("strace.log");
            let out = tmp.path().join(format!("{what} unpacked"));
            let mut args: Vec<&OsStr> = vec![os("-f"), os("-qq"), os("-e")];
            args.extend([os("trace=open,openat,openat2"), os("-o"), log.as_os_str()]);
            args.extend([os(FWKIT), os(command), pkg.as_os_str()]);
            if signed {
                args.extend([os("--key"), key.as_os_str()]);
            }
            if command == "unpack" {
                args.extend([os("-o"), out.as_os_str()]);
            }
            tool(tmp.path(), "strace", &args);
            let opens = successful_opens(&fs::read_to_string(&log).expect("strace log"), &pkg);
            if opens != 1 {
                wrong.push(format!("{what}: `fwkit {command}` opened it {opens} times"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "every command must open the package once:\n{}",
        wrong.join("\n")
    );
}
