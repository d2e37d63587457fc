//! Hostile payloads, built header by header in the test: names that escape,
//! links that leave the tree, special files, duplicates. Nothing may be
//! written anywhere, and `verify` must say which member is refused.

use crate::util::{
    assert_check, assert_no_staging, assert_not_unpacked, checks_with, dell_bin, fwkit,
    gzip_stored, listing, os, refused_members, samples, scexe, tree_files, verify_json, write_file,
    Tar,
};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

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

/// How a refusal shows in `verify --json`, naming the member as stored.
#[derive(Clone, Copy)]
enum Shows<'a> {
    /// The member's `problem` is set.
    Member(&'a str),
    /// A failed safety check covers the member (link chains are judged after the walk).
    SafetyCheck(&'a str),
}

/// Wrap `tar` as an `.scexe` and as a plain `.tar.gz`; for each, `verify`
/// exits 1 and names the problem, `unpack` (with and without `--no-verify`)
/// exits 1 and nothing appears anywhere under the arena.
fn refused(arena: &Arena, tar: &Tar, shows: Shows<'_>) {
    let archive = tar.finish();
    let work = arena.work();
    let packages = [
        ("hostile.scexe", scexe(&gzip_stored(&archive))),
        ("hostile.tar.gz", gzip_stored(&archive)),
    ];
    for (name, bytes) in &packages {
        write_file(&work.join(name), bytes, 0o644);
    }
    let before = listing(arena.root());
    for (name, _) in &packages {
        let pkg = work.join(name);
        let doc = verify_json(&work, &pkg, 1);
        assert_eq!(doc["verified"], false);
        match shows {
            Shows::Member(member) => {
                let refused = refused_members(&doc);
                assert!(
                    refused.iter().any(|m| m["name"] == member),
                    "{name}: {member:?} has no problem in {:#}",
                    doc["members"]
                );
                assert_check(&doc, "safety", None, "failed");
            }
            Shows::SafetyCheck(member) => {
                let failed = checks_with(&doc, "safety", None, "failed");
                let covers = format!("member {member}");
                assert!(
                    failed.iter().any(|c| c["covers"] == covers.as_str()),
                    "{name}: no failed check of {covers}: {failed:#?}"
                );
            }
        }
        for extra in [None, Some("--no-verify")] {
            let out = work.join("out");
            let mut args = vec![os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()];
            args.extend(extra.map(os));
            fwkit(&work, args).expect(1);
            assert_not_unpacked(&out);
            assert_eq!(
                listing(arena.root()),
                before,
                "{name} {extra:?}: something was created"
            );
        }
    }
    for path in listing(arena.root()) {
        let file = Path::new(&path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !file.starts_with("evil") && file != "x",
            "{path} was created"
        );
    }
}

/// A tar with one harmless file before the hostile entries.
fn tar_with(build: impl FnOnce(&mut Tar)) -> Tar {
    let mut tar = Tar::new();
    tar.file("ok.txt", 0o644, b"harmless\n");
    build(&mut tar);
    tar
}

#[test]
fn parent_dir_name() {
    let arena = Arena::new();
    let tar = tar_with(|t| {
        t.file("../evil", 0o644, b"escaped\n");
    });
    refused(&arena, &tar, Shows::Member("../evil"));
    // Also as an uncompressed tar.
    let pkg = arena.work().join("plain.tar");
    write_file(&pkg, &tar.finish(), 0o644);
    let doc = verify_json(&arena.work(), &pkg, 1);
    let refused = refused_members(&doc);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["name"], "../evil");
    assert!(refused[0]["path"].is_null());
    let text = fwkit(&arena.work(), [os("inspect"), pkg.as_os_str()])
        .expect(0)
        .stdout
        .clone();
    assert!(
        text.lines()
            .any(|l| l.contains("../evil") && l.contains("REFUSED")),
        "{text}"
    );
}

/// A fresh arena, a tar built by `build` (given the arena root) behind a
/// harmless file, refused with `member` named. Returns the arena for more checks.
fn refuses(member: &str, build: impl FnOnce(&mut Tar, &Path)) -> Arena {
    let arena = Arena::new();
    let tar = tar_with(|t| build(t, arena.root()));
    refused(&arena, &tar, Shows::Member(member));
    arena
}

#[test]
fn absolute_name() {
    let arena = Arena::new();
    let name = format!("{}/abs/evil", arena.root().display());
    let tar = tar_with(|t| {
        t.file(&name, 0o644, b"escaped\n");
    });
    refused(&arena, &tar, Shows::Member(&name));
    assert!(!arena.root().join("abs").exists());
}

#[test]
fn dotdot_after_a_directory() {
    refuses("a/../../evil", |t, _| {
        t.dir("a/", 0o755).file("a/../../evil", 0o644, b"escaped\n");
    });
}

#[test]
fn backslash_separators() {
    refuses("a\\..\\evil", |t, _| {
        t.file("a\\..\\evil", 0o644, b"escaped\n");
    });
}

#[test]
fn drive_prefix() {
    refuses("C:evil", |t, _| {
        t.file("C:evil", 0o644, b"escaped\n");
    });
}

#[test]
fn control_character_in_name() {
    refuses("evil\nverdict: verified", |t, _| {
        t.file("evil\nverdict: verified", 0o644, b"fake report line\n");
    });
}

#[test]
fn symlink_to_an_absolute_directory_then_a_file_through_it() {
    let arena = refuses("link", |t, root| {
        let target = root.join("outside");
        t.symlink("link", target.to_str().unwrap());
        t.file("link/x", 0o644, b"through the link\n");
    });
    assert_eq!(listing(&arena.root().join("outside")), vec!["keep.txt"]);
}

#[test]
fn symlink_to_tmp_then_a_file_through_it() {
    let victim = format!("fwkit-hostile-{}-x", std::process::id());
    refuses("link", |t, _| {
        t.symlink("link", "/tmp");
        t.file(&format!("link/{victim}"), 0o644, b"through the link\n");
    });
    let victim = Path::new("/tmp").join(victim);
    assert!(!victim.exists(), "{} was created", victim.display());
}

#[test]
fn symlink_climbing_out() {
    refuses("up", |t, _| {
        t.symlink("up", "../..")
            .file("up/evil", 0o644, b"escaped\n");
    });
}

#[test]
fn symlink_inside_the_tree_is_not_written_through() {
    refuses("s/evil", |t, _| {
        t.dir("sub/", 0o755).symlink("s", "sub");
        t.file("s/evil", 0o644, b"through the link\n");
    });
}

/// `q -> .` then `p -> q/..`: each target looks contained on its own, but
/// `p` resolves to the parent of the target directory.
fn link_chain() -> Tar {
    tar_with(|t| {
        t.symlink("q", ".").symlink("p", "q/..");
    })
}

#[test]
fn symlink_chain_climbing_out() {
    refused(&Arena::new(), &link_chain(), Shows::SafetyCheck("p"));
}

#[test]
fn symlink_chain_marks_the_member() {
    refused(&Arena::new(), &link_chain(), Shows::Member("p"));
}

#[test]
fn hard_link_to_etc_passwd() {
    refuses("passwd", |t, _| {
        t.hardlink("passwd", "/etc/passwd");
    });
}

#[test]
fn hard_link_outside() {
    refuses("evil-link", |t, _| {
        t.hardlink("evil-link", "../outside");
    });
    refuses("evil-link", |t, _| {
        t.hardlink("evil-link", "../../secret");
    });
    refuses("evil-link", |t, root| {
        t.hardlink("evil-link", root.join("secret").to_str().unwrap());
    });
}

#[test]
fn hard_link_to_a_member_that_is_not_there() {
    refuses("evil-link", |t, _| {
        t.hardlink("evil-link", "missing.bin");
    });
}

#[test]
fn duplicate_names() {
    refuses("dup.bin", |t, _| {
        t.file("dup.bin", 0o644, b"first\n");
        t.file("dup.bin", 0o644, b"second\n");
    });
}

#[test]
fn file_then_a_child_of_it() {
    refuses("f/evil", |t, _| {
        t.file("f", 0o644, b"file\n")
            .file("f/evil", 0o644, b"child\n");
    });
}

#[test]
fn fifo() {
    refuses("evil-fifo", |t, _| {
        t.entry(b'6', b"evil-fifo", b"", 0o644, b"");
    });
}

#[test]
fn character_and_block_devices() {
    refuses("evil-tty", |t, _| {
        t.entry(b'3', b"evil-tty", b"", 0o666, b"");
    });
    refuses("evil-sda", |t, _| {
        t.entry(b'4', b"evil-sda", b"", 0o660, b"");
    });
}

#[test]
fn nul_in_a_gnu_long_name() {
    refuses("evil\0.txt", |t, _| {
        t.gnu_long_name(b"evil\0.txt");
        t.file("placeholder", 0o644, b"nul\n");
    });
}

#[test]
fn nul_and_dotdot_in_a_pax_path() {
    refuses("evil\0.txt", |t, _| {
        t.pax("path", b"evil\0.txt");
        t.file("placeholder", 0o644, b"nul\n");
    });
    refuses("../evil-pax", |t, _| {
        t.pax("path", b"../evil-pax");
        t.file("harmless-name", 0o644, b"escaped\n");
    });
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
