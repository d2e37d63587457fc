//! Hostile packages: names that escape, links that leave the tree, special
//! files, duplicates. One table of cases (`hostile/cases.rs`) runs against
//! one builder per container (`hostile/containers.rs`): tar, tar.gz, scexe,
//! zip, makeself, cab and a directory set, each carrying the cases it can
//! hold. Nothing may be written anywhere, and `verify` must say which member
//! is refused.

use crate::util::{
    assert_check, assert_no_staging, assert_not_unpacked, checks_with, dell_bin, fwkit,
    gzip_stored, listing, os, refused_members, require_tool, samples, scexe, tree_files,
    verify_json, write_file, Tar,
};
use cases::{cases, victim, Case, HARMLESS, HARMLESS_NAME};
use containers::{Container, CAB, MAKESELF, SCEXE, SET, TAR, TAR_GZ, ZIP};
use serde_json::Value;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

mod cases;
mod containers;

/// A temp root with an `outside/` directory and a `secret` file for hostile
/// members to aim at, and a `work/` directory where packages and DIR live.
pub struct Arena {
    tmp: TempDir,
}

impl Arena {
    pub fn new() -> Arena {
        let tmp = TempDir::new().unwrap();
        write_file(&tmp.path().join("outside/keep.txt"), b"keep\n", 0o644);
        write_file(&tmp.path().join("secret"), b"secret\n", 0o600);
        fs::create_dir(tmp.path().join("work")).unwrap();
        Arena { tmp }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn work(&self) -> PathBuf {
        self.root().join("work")
    }
}

// ---------------------------------------------------------------------------
// The table, run against each container

/// Run every case `container` can carry, each in a fresh arena; list every
/// case that failed, and fail if the container carried fewer than 5.
fn run_table(container: &Container) {
    if !container.tools.iter().all(|t| require_tool(t)) {
        return;
    }
    let (mut carried, mut failed) = (Vec::new(), Vec::new());
    for i in 0..cases(Path::new("/")).len() {
        let arena = Arena::new();
        let case = cases(arena.root()).swap_remove(i);
        let Some(pkg) = (container.build)(&arena.work(), &case) else {
            continue;
        };
        carried.push(case.what);
        let result = catch_unwind(AssertUnwindSafe(|| {
            refused_everywhere(&arena, container, &case, &pkg);
        }));
        if result.is_err() {
            failed.push(case.what);
        }
    }
    eprintln!(
        "{}: {} cases carried: {carried:?}",
        container.name,
        carried.len()
    );
    assert!(
        failed.is_empty(),
        "{}: cases not refused as they must be (see above): {failed:?}",
        container.name
    );
    assert!(
        carried.len() >= 5,
        "{} carried only {carried:?}",
        container.name
    );
}

/// `verify` exits 1 and names the member and its problem; `inspect` marks
/// it; `unpack`, with and without `--no-verify`, exits 1 and nothing
/// appears anywhere under the arena (nor in /tmp).
fn refused_everywhere(arena: &Arena, container: &Container, case: &Case, pkg: &Path) {
    let (work, name, what) = (arena.work(), container.name, case.what);
    let before = listing(arena.root());
    let doc = verify_json(&work, pkg, 1);
    assert_eq!(doc["verified"], false, "{name}, {what}");
    let stored_as = |m: &Value, want: &str| m["name"] == want || m["name"] == format!("./{want}");
    let refused = refused_members(&doc);
    let member = refused
        .iter()
        .find(|m| stored_as(m, &case.refused))
        .unwrap_or_else(|| {
            panic!(
                "{name}, {what}: {:?} is not refused in {:#}",
                case.refused, doc["members"]
            )
        });
    let problem = member["problem"].as_str().unwrap_or_default();
    assert!(
        case.problem.iter().any(|p| problem.contains(p)),
        "{name}, {what}: problem {problem:?}, expected one of {:?}",
        case.problem
    );
    if case.bad_name {
        assert!(member["path"].is_null(), "{name}, {what}: {member:#}");
    }
    assert!(
        !refused.iter().any(|m| stored_as(m, HARMLESS_NAME)),
        "{name}, {what}: the harmless member is refused"
    );
    assert_check(&doc, "safety", None, "failed");
    if case.own_check {
        let covers = format!("member {}", case.refused);
        let failed = checks_with(&doc, "safety", None, "failed");
        assert!(
            failed.iter().any(|c| c["covers"] == covers.as_str()),
            "{name}, {what}: no failed check of {covers}: {failed:#?}"
        );
    }
    if container.stream_check {
        assert_check(&doc, "stream", Some("stream-check"), "passed");
    }
    let text = fwkit(&work, [os("inspect"), pkg.as_os_str()])
        .expect(0)
        .stdout
        .clone();
    assert!(
        text.contains("REFUSED"),
        "{name}, {what}: inspect says\n{text}"
    );
    for extra in [None, Some("--no-verify")] {
        let out = work.join("out");
        let mut args = vec![os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()];
        args.extend(extra.map(os));
        fwkit(&work, args).expect(1);
        assert_not_unpacked(&out);
        assert_eq!(
            listing(arena.root()),
            before,
            "{name}, {what}, {extra:?}: something was created"
        );
    }
    let victim = Path::new("/tmp").join(victim());
    assert!(!victim.exists(), "{} was created", victim.display());
}

#[test]
fn table_tar() {
    run_table(&TAR);
}

#[test]
fn table_tar_gz() {
    run_table(&TAR_GZ);
}

#[test]
fn table_scexe() {
    run_table(&SCEXE);
}

#[test]
fn table_zip() {
    run_table(&ZIP);
}

#[test]
fn table_makeself() {
    run_table(&MAKESELF);
}

#[test]
fn table_cab() {
    run_table(&CAB);
}

#[test]
fn table_directory_set() {
    run_table(&SET);
}

/// A tar with one harmless file before the entries `build` adds.
fn tar_with(build: impl FnOnce(&mut Tar)) -> Tar {
    let mut tar = Tar::new();
    tar.file("ok.txt", 0o644, HARMLESS);
    build(&mut tar);
    tar
}

// ---------------------------------------------------------------------------
// Destination and limits

#[test]
fn existing_destination_is_left_alone() {
    let arena = Arena::new();
    let work = arena.work();
    let out = work.join("out");
    write_file(&out.join("mine.txt"), b"precious\n", 0o644);
    let before = tree_files(&out);
    let pkg = samples().join("scexe/CP000000.scexe");
    let run = fwkit(
        &work,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    );
    assert!(run.expect(2).stderr.starts_with("error:"), "{}", run.stderr);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(tree_files(&out), before);
    assert_no_staging(&work);
    // A dangling symlink is a path that exists too; its target must not appear.
    let link = work.join("dangling");
    std::os::unix::fs::symlink(arena.root().join("evil-target"), &link).unwrap();
    fwkit(
        &work,
        [os("unpack"), pkg.as_os_str(), os("-o"), link.as_os_str()],
    )
    .expect(2);
    assert!(!arena.root().join("evil-target").exists());
    assert_no_staging(&work);
}

#[test]
fn max_size_stops_a_bigger_member() {
    let arena = Arena::new();
    let work = arena.work();
    let pkg = samples().join("scexe/CP000000.scexe");
    let doc = fwkit(
        &work,
        [
            os("verify"),
            pkg.as_os_str(),
            os("--max-size"),
            os("1K"),
            os("--json"),
        ],
    )
    .expect(1)
    .json();
    assert_check(&doc, "limit", None, "failed");
    let out = work.join("out");
    fwkit(
        &work,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--max-size"),
            os("1K"),
        ],
    )
    .expect(1);
    assert_not_unpacked(&out);
    fwkit(
        &work,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--max-size"),
            os("1M"),
        ],
    )
    .expect(0);
}

#[test]
fn max_entries_and_max_depth() {
    let arena = Arena::new();
    let work = arena.work();
    let scexe_pkg = samples().join("scexe/CP000000.scexe");
    let out = work.join("out");
    fwkit(
        &work,
        [
            os("unpack"),
            scexe_pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--max-entries"),
            os("2"),
        ],
    )
    .expect(1);
    assert_not_unpacked(&out);
    let dell = samples().join("dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN");
    fwkit(
        &work,
        [
            os("unpack"),
            dell.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--max-depth"),
            os("1"),
        ],
    )
    .expect(1);
    assert_not_unpacked(&out);
    fwkit(
        &work,
        [
            os("unpack"),
            scexe_pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--max-entries"),
            os("4"),
        ],
    )
    .expect(0);
}

#[test]
fn setuid_bit_is_dropped() {
    let arena = Arena::new();
    let work = arena.work();
    let tar = tar_with(|t| {
        t.file("tool", 0o4755, b"#!/bin/sh\necho tool\n").file(
            "group-tool",
            0o2750,
            b"#!/bin/sh\n",
        );
    });
    let xml = "<SoftwareComponent packageID=\"SUID\" vendorVersion=\"1\"/>";
    for (name, bytes) in [
        ("suid.scexe", scexe(&gzip_stored(&tar.finish()))),
        ("suid.BIN", dell_bin(xml, &gzip_stored(&tar.finish()))),
    ] {
        let pkg = work.join(name);
        write_file(&pkg, &bytes, 0o644);
        let out = work.join(format!("{name}.out"));
        let doc = fwkit(
            &work,
            [
                os("unpack"),
                pkg.as_os_str(),
                os("-o"),
                out.as_os_str(),
                os("--json"),
            ],
        )
        .expect(0)
        .json();
        assert!(
            doc["warnings"].to_string().contains("setuid"),
            "{}",
            doc["warnings"]
        );
        let files = tree_files(&out);
        assert_eq!(files["tool"].1, 0o755, "mode of tool");
        assert_eq!(files["group-tool"].1, 0o750, "mode of group-tool");
        assert_eq!(files["ok.txt"].1, 0o644);
    }
}

/// The refusals above are not "refuse every link": links that stay inside
/// the tree are recreated as links.
#[test]
fn safe_links_are_kept() {
    use std::os::unix::fs::MetadataExt;
    let arena = Arena::new();
    let work = arena.work();
    let tar = tar_with(|t| {
        t.dir("sub/", 0o755).file("fw.bin", 0o644, b"firmware\n");
        t.symlink("latest", "fw.bin").symlink("sub/up", "../fw.bin");
        t.symlink("d", "sub").hardlink("copy.bin", "fw.bin");
    });
    let pkg = work.join("links.scexe");
    write_file(&pkg, &scexe(&gzip_stored(&tar.finish())), 0o644);
    let out = work.join("out");
    let doc = fwkit(
        &work,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--json"),
        ],
    )
    .expect(0)
    .json();
    assert!(refused_members(&doc).is_empty());
    assert_eq!(
        fs::read_link(out.join("latest")).unwrap(),
        Path::new("fw.bin")
    );
    assert_eq!(
        fs::read_link(out.join("sub/up")).unwrap(),
        Path::new("../fw.bin")
    );
    assert_eq!(fs::read_link(out.join("d")).unwrap(), Path::new("sub"));
    assert_eq!(fs::read(out.join("sub/up")).unwrap(), b"firmware\n");
    let (a, b) = (
        fs::metadata(out.join("fw.bin")).unwrap(),
        fs::metadata(out.join("copy.bin")).unwrap(),
    );
    assert_eq!(
        (a.dev(), a.ino()),
        (b.dev(), b.ino()),
        "copy.bin is a hard link"
    );
}
