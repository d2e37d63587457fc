//! One model under every container (issue "one-way layers"): the same tree
//! reads as the same members whatever holds it.
//!
//! Fixtures are made at test time: GNU tar and gzip, Info-ZIP `zip`, GNOME's
//! `gcab` and Debian's `makeself` (`util::makeself_archive`), plus a tar and
//! a zip written by hand (`util::Tar`, `util::RawZip`) for the name
//! spellings no tool writes.

use crate::util::{
    fwkit, makeself_archive, materialise, member_paths, os, prng, require_tool, tool, write_file,
    Makeself, RawZip, Tar,
};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

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
