//! Checksum manifests inside packages (`formats/set.md`): `SHA256SUMS`,
//! `MD5SUMS`, BSD-tagged lines, `CHECKSUM`, one-digest `X.md5` files, made by
//! coreutils and packed with GNU tar (plain, gzip, xz, zstd, bzip2) and
//! Info-ZIP. Every listed member is hashed and compared; a missing, changed
//! or escaping entry fails; a plain tar is verified only by a manifest.

use crate::util::{
    assert_check, assert_not_unpacked, assert_same_tree, checks_with, fwkit, os, prng,
    refused_unpack, require_tool, tool, tree_files, verify_json, write_file,
};
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The files a manifest describes.
const FILES: [&str; 3] = ["fw/image.bin", "fw/flash.cfg", "README"];

fn payload(src: &Path) {
    write_file(&src.join("fw/image.bin"), &prng(21, 40_000), 0o644);
    write_file(
        &src.join("fw/flash.cfg"),
        b"[flash]\nregion=bios\nverify=yes\n",
        0o644,
    );
    write_file(
        &src.join("README"),
        b"Firmware 1.2.3 for the test board\n",
        0o644,
    );
}

/// How a package is made from `names` (in that member order) inside `src`.
#[derive(Clone, Copy)]
struct Container {
    name: &'static str,
    tools: &'static [&'static str],
    /// Package file name and the tool's arguments before the member names.
    file: &'static str,
    args: &'static [&'static str],
    program: &'static str,
}

const CONTAINERS: [Container; 6] = [
    Container {
        name: "plain tar",
        tools: &["tar"],
        file: "pkg.tar",
        args: &["-cf", "../pkg.tar"],
        program: "tar",
    },
    Container {
        name: "tar.gz",
        tools: &["tar", "gzip"],
        file: "pkg.tar.gz",
        args: &["-czf", "../pkg.tar.gz"],
        program: "tar",
    },
    Container {
        name: "tar.xz",
        tools: &["tar", "xz"],
        file: "pkg.tar.xz",
        args: &["-cJf", "../pkg.tar.xz"],
        program: "tar",
    },
    Container {
        name: "tar.zst",
        tools: &["tar", "zstd"],
        file: "pkg.tar.zst",
        args: &["--zstd", "-cf", "../pkg.tar.zst"],
        program: "tar",
    },
    Container {
        name: "tar.bz2",
        tools: &["tar", "bzip2"],
        file: "pkg.tar.bz2",
        args: &["-cjf", "../pkg.tar.bz2"],
        program: "tar",
    },
    Container {
        name: "zip",
        tools: &["zip"],
        file: "pkg.zip",
        args: &["-q", "-X", "../pkg.zip"],
        program: "zip",
    },
];

const PLAIN_TAR: Container = CONTAINERS[0];
const TAR_GZ: Container = CONTAINERS[1];
const ZIP: Container = CONTAINERS[5];

impl Container {
    fn available(&self) -> bool {
        self.tools.iter().all(|t| require_tool(t))
    }

    /// Pack `names` from `src` into `src/../<file>` (replacing it).
    fn pack(&self, src: &Path, names: &[&str]) -> PathBuf {
        let pkg = src.parent().unwrap().join(self.file);
        let _ = fs::remove_file(&pkg);
        let mut args: Vec<&OsStr> = self.args.iter().map(|a| os(a)).collect();
        args.extend(names.iter().map(|n| os(n)));
        tool(src, self.program, &args);
        pkg
    }
}

/// Run a checksum tool in `cwd` and write its output to `cwd/manifest`.
fn checksum_file(cwd: &Path, manifest: &str, program: &str, args: &[&str]) {
    let args: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
    let out = tool(cwd, program, &args);
    let path = cwd.join(manifest);
    let mut all = fs::read(&path).unwrap_or_default();
    all.extend_from_slice(&out);
    fs::write(path, all).unwrap();
}

fn digest_checks<'a>(doc: &'a Value, outcome: &str) -> Vec<&'a Value> {
    checks_with(doc, "digest", None, outcome)
        .into_iter()
        .filter(|c| c["covers"].as_str().unwrap_or("").contains("(listed in "))
        .collect()
}

fn warnings(doc: &Value) -> String {
    doc["warnings"].to_string()
}

/// `verify` exits 0 with `listed` passed manifest entries and no failed
/// one; `unpack` gives back `src` byte for byte.
fn verified(dir: &Path, pkg: &Path, src: &Path, listed: usize, what: &str) -> Value {
    let doc = verify_json(dir, pkg, 0);
    assert_eq!(
        digest_checks(&doc, "passed").len(),
        listed,
        "{what}: passed manifest entries in {:#}",
        doc["checks"]
    );
    assert!(digest_checks(&doc, "failed").is_empty(), "{what}");
    let out = dir.join(format!(
        "out-{}",
        pkg.file_name().unwrap().to_string_lossy()
    ));
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_same_tree(&out, &tree_files(src));
    fs::remove_dir_all(&out).unwrap();
    doc
}

/// Build the payload, let `manifests` add manifest files (it returns their
/// names and the number of entries they list), then pack it with every
/// container, manifests first, and require `verify` 0.
fn every_container(tools: &[&str], manifests: impl Fn(&Path) -> (Vec<&'static str>, usize)) {
    if !tools.iter().all(|t| require_tool(t)) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    payload(&src);
    let (files, listed) = manifests(&src);
    let mut names = files.clone();
    names.extend(FILES);
    let mut ran = 0;
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        let pkg = container.pack(&src, &names);
        verified(tmp.path(), &pkg, &src, listed, container.name);
        ran += 1;
    }
    assert!(ran > 0, "no container tool available");
}

#[test]
fn sha256sums() {
    every_container(&["sha256sum"], |src| {
        checksum_file(src, "SHA256SUMS", "sha256sum", &FILES);
        (vec!["SHA256SUMS"], 3)
    });
}

#[test]
fn md5sums_binary_mode() {
    every_container(&["md5sum"], |src| {
        let mut args = vec!["-b"];
        args.extend(FILES);
        checksum_file(src, "MD5SUMS", "md5sum", &args);
        let text = fs::read_to_string(src.join("MD5SUMS")).unwrap();
        assert!(text.lines().all(|l| l.contains(" *")), "{text}");
        (vec!["MD5SUMS"], 3)
    });
}

#[test]
fn bsd_tagged_lines() {
    every_container(&["sha256sum"], |src| {
        let mut args = vec!["--tag"];
        args.extend(FILES);
        checksum_file(src, "SHA256SUMS", "sha256sum", &args);
        let text = fs::read_to_string(src.join("SHA256SUMS")).unwrap();
        assert!(text.starts_with("SHA256 (fw/image.bin) = "), "{text}");
        (vec!["SHA256SUMS"], 3)
    });
}

/// `CHECKSUM` mixing MD5, BSD-tagged SHA-256 and SHA-1: the algorithm of
/// each line comes from its tag or its length.
#[test]
fn checksum_with_mixed_algorithms() {
    every_container(&["md5sum", "sha256sum", "sha1sum"], |src| {
        checksum_file(src, "CHECKSUM", "md5sum", &["fw/image.bin"]);
        checksum_file(src, "CHECKSUM", "sha256sum", &["--tag", "fw/flash.cfg"]);
        checksum_file(src, "CHECKSUM", "sha1sum", &["README"]);
        (vec!["CHECKSUM"], 3)
    });
}

/// One `X.md5` per file holding only the digest: it covers `X`, in the
/// manifest's own directory.
#[test]
fn bare_digest_md5_files() {
    every_container(&["md5sum"], |src| {
        for file in FILES {
            let out = tool(src, "md5sum", &[os(file)]);
            let digest = &out[..32];
            fs::write(
                src.join(format!("{file}.md5")),
                [digest, &b"\n"[..]].concat(),
            )
            .unwrap();
        }
        (
            vec!["fw/image.bin.md5", "fw/flash.cfg.md5", "README.md5"],
            3,
        )
    });
}

/// `fw/SHA256SUMS` lists `image.bin`, `flash.cfg` and `../README`: paths
/// are relative to the manifest's directory, and `..` that stays inside the
/// package is allowed.
#[test]
fn manifest_in_a_subdirectory() {
    every_container(&["sha256sum"], |src| {
        let fw = src.join("fw");
        checksum_file(
            &fw,
            "SHA256SUMS",
            "sha256sum",
            &["image.bin", "flash.cfg", "../README"],
        );
        (vec!["fw/SHA256SUMS"], 3)
    });
}

// ---------------------------------------------------------------------------
// Failures

/// A fresh payload with `SHA256SUMS` over every file, in `tmp/src`.
fn with_sha256sums(tmp: &TempDir) -> Option<PathBuf> {
    if !require_tool("sha256sum") {
        return None;
    }
    let src = tmp.path().join("src");
    payload(&src);
    checksum_file(&src, "SHA256SUMS", "sha256sum", &FILES);
    Some(src)
}

fn sha256sums_first() -> Vec<&'static str> {
    let mut names = vec!["SHA256SUMS"];
    names.extend(FILES);
    names
}

/// `verify` exits 1 with a failed check satisfying `is_the_failure`, and
/// `unpack` places nothing.
fn not_verified(dir: &Path, pkg: &Path, what: &str, is_the_failure: impl Fn(&Value) -> bool) {
    let doc = verify_json(dir, pkg, 1);
    assert!(
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["outcome"] == "failed" && is_the_failure(c)),
        "{what}: {:#}",
        doc["checks"]
    );
    let out = dir.join("out");
    refused_unpack(dir, pkg, &out, 1);
}

#[test]
fn listed_member_missing() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        // fw/flash.cfg is listed but not packed.
        let pkg = container.pack(&src, &["SHA256SUMS", "fw/image.bin", "README"]);
        not_verified(tmp.path(), &pkg, container.name, |c| {
            c["kind"] == "digest"
                && c["covers"].as_str().unwrap_or("").contains("fw/flash.cfg")
                && c["detail"].as_str().unwrap_or("").contains("missing")
        });
    }
}

#[test]
fn member_changed_after_the_manifest_was_written() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    write_file(
        &src.join("README"),
        b"Firmware 1.2.4 for the test board\n",
        0o644,
    );
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        let pkg = container.pack(&src, &sha256sums_first());
        not_verified(tmp.path(), &pkg, container.name, |c| {
            c["kind"] == "digest"
                && c["covers"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("member README ")
                && c["expected"] != c["computed"]
                && c["computed"].is_string()
        });
    }
}

/// A listed `../x` names a file outside the package: a safety failure, so
/// even `--no-verify` does not unpack.
#[test]
fn listed_path_leaving_the_package() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    let mut text = fs::read_to_string(src.join("SHA256SUMS")).unwrap();
    text.push_str(&format!("{}  ../x\n", "0".repeat(64)));
    fs::write(src.join("SHA256SUMS"), text).unwrap();
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        let pkg = container.pack(&src, &sha256sums_first());
        not_verified(tmp.path(), &pkg, container.name, |c| {
            c["kind"] == "safety" && c["covers"].as_str().unwrap_or("").contains("../x")
        });
        let out = tmp.path().join("out");
        fwkit(
            tmp.path(),
            [
                os("unpack"),
                pkg.as_os_str(),
                os("-o"),
                out.as_os_str(),
                os("--no-verify"),
            ],
        )
        .expect(1);
        assert_not_unpacked(&out);
    }
}

/// A line that is not a checksum line, and an MD5 in `SHA256SUMS`.
#[test]
fn unreadable_manifest_lines() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    let mut text = fs::read_to_string(src.join("SHA256SUMS")).unwrap();
    text.push_str("this is not a checksum line\n");
    text.push_str(&format!("{}  README\n", "a".repeat(32)));
    fs::write(src.join("SHA256SUMS"), text).unwrap();
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        let pkg = container.pack(&src, &sha256sums_first());
        for line in [4, 5] {
            not_verified(tmp.path(), &pkg, container.name, |c| {
                c["kind"] == "structure"
                    && c["covers"] == format!("manifest SHA256SUMS line {line}")
            });
        }
    }
}

#[test]
fn plain_tar_without_a_manifest_has_no_integrity_data() {
    if !PLAIN_TAR.available() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    payload(&src);
    let pkg = PLAIN_TAR.pack(&src, &FILES);
    let doc = verify_json(tmp.path(), &pkg, 1);
    assert!(
        doc["verdict"]["reasons"]
            .to_string()
            .contains("no integrity data"),
        "{:#}",
        doc["verdict"]
    );
    // Nothing failed, there was just nothing to check: unpack places the
    // tree, with a warning.
    let out = tmp.path().join("out");
    let run = fwkit(
        tmp.path(),
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    );
    assert!(
        run.expect(0).stderr.contains("NOT VERIFIED"),
        "{}",
        run.stderr
    );
    assert_same_tree(&out, &tree_files(&src));
}

#[test]
fn plain_tar_with_a_manifest_covering_everything() {
    if !PLAIN_TAR.available() {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    let pkg = PLAIN_TAR.pack(&src, &sha256sums_first());
    let doc = verified(tmp.path(), &pkg, &src, 3, "plain tar");
    // The tar stream itself carries no check: the manifest is what verified it.
    assert_check(&doc, "structure", None, "passed");
    assert!(checks_with(&doc, "stream", Some("stream-check"), "passed").is_empty());
}

/// A manifest listing only README: in a plain tar the other files are
/// covered by nothing (exit 1); in a gzip tar the stream check covers them
/// (exit 0). Both report the unlisted members.
#[test]
fn unlisted_members_are_reported() {
    if !PLAIN_TAR.available() || !TAR_GZ.available() || !require_tool("sha256sum") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    payload(&src);
    checksum_file(&src, "SHA256SUMS", "sha256sum", &["README"]);
    let pkg = PLAIN_TAR.pack(&src, &sha256sums_first());
    let doc = verify_json(tmp.path(), &pkg, 1);
    assert!(
        warnings(&doc).contains("2 member(s) not listed"),
        "{}",
        warnings(&doc)
    );
    assert!(
        checks_with(&doc, "digest", None, "failed")
            .iter()
            .any(|c| c["detail"].as_str().unwrap_or("").contains("fw/image.bin")),
        "{:#}",
        doc["checks"]
    );
    let pkg = TAR_GZ.pack(&src, &sha256sums_first());
    let doc = verify_json(tmp.path(), &pkg, 0);
    assert!(
        warnings(&doc).contains("2 member(s) not listed"),
        "{}",
        warnings(&doc)
    );
}

/// The manifest is the last member (as a sorted `tar -czf` of a directory
/// puts it): a tar, which declares no digest of its own, hashes its members
/// with SHA-256 in the first pass, so a SHA256SUMS after them needs no
/// second read; an MD5SUMS after them does (and the report says so); a zip
/// reads manifests first.
#[test]
fn manifest_after_its_members() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    // The same tree with an MD5SUMS beside it, in a copy of its own.
    let md5_src = tmp.path().join("md5-src");
    tool(
        tmp.path(),
        "cp",
        &[os("-r"), src.as_os_str(), md5_src.as_os_str()],
    );
    let md5sums = tool(&md5_src, "md5sum", &FILES.map(os));
    fs::write(md5_src.join("MD5SUMS"), md5sums).unwrap();
    let mut last = FILES.to_vec();
    last.push("SHA256SUMS");
    let mut md5_last = FILES.to_vec();
    md5_last.push("MD5SUMS");
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        let second_read = |doc: &Value| warnings(doc).contains("read a second time");
        let pkg = container.pack(&src, &last);
        let doc = verified(tmp.path(), &pkg, &src, 3, container.name);
        assert!(!second_read(&doc), "{}: {}", container.name, warnings(&doc));
        let pkg = container.pack(&md5_src, &md5_last);
        let doc = verify_json(tmp.path(), &pkg, 0);
        assert_eq!(
            second_read(&doc),
            container.name != ZIP.name,
            "{}: {}",
            container.name,
            warnings(&doc)
        );
        let pkg = container.pack(&src, &sha256sums_first());
        let doc = verified(tmp.path(), &pkg, &src, 3, container.name);
        assert!(!second_read(&doc), "{}: {}", container.name, warnings(&doc));
    }
}

/// A `SHA256SUMS` over the manifest limit (its real lines first, then 5 MiB
/// of comments, against `--max-manifest 4M`) is refused as a whole, in every
/// container and as a set, with the flag named: a manifest is kept in memory
/// to be matched against members, so it is capped, and a manifest that is not
/// read checks nothing. Under the default limit (64M) the same packages verify.
#[test]
fn manifest_over_the_cap_fails_as_a_whole() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    let mut text = fs::read_to_string(src.join("SHA256SUMS")).unwrap();
    text.push_str(&"# padding line for a manifest over the cap\n".repeat(120_000));
    assert!(text.len() > 4 << 20);
    fs::write(src.join("SHA256SUMS"), text).unwrap();
    let refused = |c: &Value| {
        let detail = c["detail"].as_str().unwrap_or("");
        c["kind"] == "structure"
            && c["covers"] == "manifest SHA256SUMS"
            && c["outcome"] == "failed"
            && detail.starts_with("more than 4194304 bytes")
            && detail.contains("--max-manifest")
    };
    let mut packages: Vec<(PathBuf, &str)> = CONTAINERS
        .iter()
        .filter(|c| c.available())
        .map(|c| (c.pack(&src, &sha256sums_first()), c.name))
        .collect();
    packages.push((src.clone(), "directory set"));
    for (pkg, name) in &packages {
        let run = fwkit(
            tmp.path(),
            [
                os("verify"),
                os("--json"),
                os("--max-manifest"),
                os("4M"),
                pkg.as_os_str(),
            ],
        );
        run.expect(1);
        let doc = run.json();
        assert!(
            doc["checks"].as_array().unwrap().iter().any(refused),
            "{name}: {:#}",
            doc["checks"]
        );
        verify_json(tmp.path(), pkg, 0);
    }
}

/// A `SHA256SUMS` of about 1.6 MiB (the three real lines, a line for a file
/// that is not packed, then comment lines) must be read like a small one.
#[test]
fn large_manifest_is_not_ignored() {
    let tmp = TempDir::new().unwrap();
    let Some(src) = with_sha256sums(&tmp) else {
        return;
    };
    let mut text = fs::read_to_string(src.join("SHA256SUMS")).unwrap();
    text.push_str(&format!("{}  gone.bin\n", "a".repeat(64)));
    text.push_str(&"# padding line for a large manifest\n".repeat(45_000));
    assert!(text.len() > 1 << 20 && text.len() < 4 << 20);
    fs::write(src.join("SHA256SUMS"), text).unwrap();
    for container in CONTAINERS.iter().filter(|c| c.available()) {
        let pkg = container.pack(&src, &sha256sums_first());
        not_verified(tmp.path(), &pkg, container.name, |c| {
            c["kind"] == "digest" && c["covers"].as_str().unwrap_or("").contains("gone.bin")
        });
    }
}
