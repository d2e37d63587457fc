//! Regression tests for what the hardening work of issue 5 (fuzzing and
//! review) and the layering review found, each named after the finding.
//! Every one is fixed but `signed_zip_with_dot_slash_names_verifies`, which
//! fails until its library fix lands.
//! Inputs are small and written here byte by byte; see `fuzz/README.md` for
//! the campaigns.

use crate::robust::{fwkit_capped, gzip};
use crate::util::{makeself_archive, Makeself, Tar};
use fwkit::{Package, VerifyOptions};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Found by review while fuzzing: the symlink-chain check joined and parsed
/// the whole walked path once per component of a link target, so a target of
/// n components cost O(n²). An 80 KiB tar (a GNU long-link entry holding
/// `a/` 40,000 times, then the symlink) took 315 s in a debug build and
/// grows without bound with the target. Fixed in `Tree::finish`
/// (src/verify/safety.rs): the walk looks up one component per step in a
/// trie of the symlink names.
#[test]
fn symlink_target_of_many_components_is_checked_in_linear_time() {
    let tmp = TempDir::new().unwrap();
    for (name, wrap) in [("many.tar", false), ("many.tar.gz", true)] {
        let target = b"a/".repeat(40_000);
        let mut tar = Tar::new();
        tar.gnu_long_link(&target)
            .symlink("link", "x") // `x` is replaced by the long link
            // A chain through it must still be seen: `q -> .`, `p -> q/..`.
            .symlink("q", ".")
            .symlink("p", "q/..");
        let tar = tar.finish();
        let bytes = if wrap { gzip(&tar) } else { tar };
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let start = Instant::now();
        let report = Package::open(&path)
            .unwrap()
            .verify(&VerifyOptions::default())
            .unwrap();
        let elapsed = start.elapsed();
        assert!(
            elapsed < Duration::from_secs(30),
            "{name}: took {elapsed:?}"
        );
        let long = report.members.iter().find(|m| m.name == "link").unwrap();
        assert!(long.problem.is_none(), "{long:?}");
        let p = report.members.iter().find(|m| m.name == "p").unwrap();
        assert!(
            p.problem.as_deref().unwrap_or("").contains("climbs out"),
            "{p:?}"
        );
        assert!(!report.verdict.is_verified());
    }
}

/// Found by review while fuzzing: the `tar` crate reads a GNU long-name
/// (`L`) or long-link (`K`) entry, and a pax extended header (`x`), into
/// memory whole before fwkit sees the entry, whatever size the header
/// claims. A 4.6 MB gzip whose long-name entry claims 1 GiB of zeros made
/// `fwkit verify --max-size 64M` peak at 1.3 GB RSS; a claim of 2^40 bytes
/// runs the machine out of memory. Here a plain tar, sparse on disk, claims
/// 2 GiB: under a 512 MiB address-space cap fwkit must answer within
/// seconds without running out of memory.
///
/// Fixed in src/scan.rs (commit 1ebf7d2): a guard over the decoder lets the
/// tar reader take at most 4 MiB of headers, long names and pax records
/// before each member, so the claim fails as a limit.
#[test]
fn gnu_long_name_claiming_gigabytes_is_not_read_into_memory() {
    let tmp = TempDir::new().unwrap();
    for (typeflag, what) in [
        (b'L', "long name"),
        (b'K', "long link"),
        (b'x', "pax header"),
    ] {
        let path = tmp.path().join(format!("claim-{}.tar", typeflag as char));
        let mut file = std::fs::File::create(&path).unwrap();
        let claim = 2u64 << 30;
        let header = Tar::new().claim(b"././@LongLink", typeflag, claim).bytes();
        std::io::Write::write_all(&mut file, &header).unwrap();
        // Zeros to the claimed end, then the end-of-archive blocks: sparse.
        file.set_len(512 + claim + 1024).unwrap();
        drop(file);
        let Some((code, stdout, elapsed)) = fwkit_capped(&path, &[]) else {
            return;
        };
        assert_eq!(code, 1, "{what}: {stdout}");
        assert!(
            !stdout.contains("out of memory"),
            "{what}: the claimed size was allocated:\n{stdout}"
        );
        assert!(
            elapsed < Duration::from_secs(30),
            "{what}: took {elapsed:?}"
        );
    }
}

/// Found by fuzzing (`member_name`, input `./C:x.n.././`): the drive-prefix
/// check looked only at the raw name's first bytes, so `./C:x` normalised to
/// the accepted name `C:x`, and `a/C:/x` passed too. On Windows a `C:`
/// component replaces the path built so far. Fixed in `MemberName::parse`
/// (src/package/name.rs): every component is checked.
#[test]
fn drive_prefix_behind_dot_slash_is_refused() {
    for raw in [&b"./C:x.n.././"[..], b"./C:x", b"a/d:/x", b".//Z:"] {
        let refused = fwkit::MemberName::parse(raw).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("drive prefix".to_owned()),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    // Through a package: the member is listed, refused, and nothing is placed.
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    tar.file("./C:x", 0o644, b"x\n");
    let path = tmp.path().join("drive.tar.gz");
    std::fs::write(&path, gzip(&tar.finish())).unwrap();
    let package = Package::open(&path).unwrap();
    let report = package.verify(&VerifyOptions::default()).unwrap();
    let member = &report.members[0];
    assert!(member.path.is_none());
    assert_eq!(member.problem.as_deref(), Some("drive prefix"));
    let dest = tmp.path().join("out");
    let report = package
        .unpack(
            &dest,
            &fwkit::UnpackOptions {
                verify: VerifyOptions::default(),
                no_verify: true,
                recursive: 0,
            },
        )
        .unwrap();
    assert!(report.unpacked.is_none() && !dest.exists());
}

/// Found by fuzzing (`fwkit_manifest`): formats/fwkit-manifest.md says
/// `file` lines are sorted by path (so the same tree always gives the same
/// bytes) and that the manifest parses strictly, but `FwkitManifest::parse`
/// accepted them in any order, so parse-then-write changed a manifest's
/// bytes. Verification still checked every listed file, so this was a
/// conformance gap, not a hole. Fixed in `FwkitManifest::parse`
/// (src/formats/fwkit_manifest.rs, commit bb4d27d): lines out of path order
/// are refused.
#[test]
fn fwkit_manifest_file_lines_out_of_order_are_refused() {
    use fwkit::fwkit_manifest::FwkitManifest;
    let sha = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
    let sorted = format!(
        "fwkit-manifest 1\nname n\nversion 1\ncreated 0\nfile {sha} 1 0644 a.bin\nfile {sha} 1 0644 b.bin\n"
    );
    let manifest = FwkitManifest::parse(sorted.as_bytes()).unwrap();
    assert_eq!(manifest.to_bytes().unwrap(), sorted.as_bytes());
    let unsorted = format!(
        "fwkit-manifest 1\nname n\nversion 1\ncreated 0\nfile {sha} 1 0644 b.bin\nfile {sha} 1 0644 a.bin\n"
    );
    assert!(FwkitManifest::parse(unsorted.as_bytes()).is_err());
}

/// Found by fuzzing (`minisign_signature`): a line ending in several `\r`
/// lost only one of them when read (`Lines::next_required` in
/// src/sign/files.rs stripped one `\r`), so an untrusted comment ending in
/// `\r` changed on every write-and-read, and fwkit read such a file
/// differently from minisign, whose `trim()` strips every trailing CR and
/// LF. The untrusted comment is not signed, so nothing verified that should
/// not. Fixed in src/sign/files.rs (commit 1ebf7d2): every trailing `\r` is
/// stripped.
#[test]
fn untrusted_comment_ending_in_carriage_returns_reads_back_the_same() {
    use fwkit::sign::{self, SecretKey, SignOptions, Signature};
    let (secret, _) = SecretKey::generate().unwrap();
    let made = sign::sign(&secret, &b"data"[..], &SignOptions::default())
        .unwrap()
        .to_file_string();
    // fwkit never writes such a comment; another tool (or a person) may.
    let (_, rest) = made.split_once('\n').unwrap();
    let text = format!("untrusted comment: comment\r\r\n{rest}");
    let once = Signature::parse(&text).unwrap();
    let twice = Signature::parse(&once.to_file_string()).unwrap();
    assert_eq!(once.untrusted_comment, twice.untrusted_comment);
    assert_eq!(once.untrusted_comment, "comment");
}

/// A tree holding `fw.bin` and `SHA256SUMS` listing it, signed (prehashed
/// minisign) with the committed test key as `SHA256SUMS.minisig`.
fn signed_manifest_tree(root: &std::path::Path) -> std::path::PathBuf {
    let tree = root.join("tree");
    let image = crate::util::prng(5, 4096);
    crate::util::write_file(&tree.join("fw.bin"), &image, 0o644);
    let sums = format!("{}  fw.bin\n", crate::util::sha256_hex(&image));
    crate::util::write_file(&tree.join("SHA256SUMS"), sums.as_bytes(), 0o644);
    let text = std::fs::read_to_string(crate::util::samples().join("keys/fwkit-test.key")).unwrap();
    let secret = fwkit::sign::SecretKey::parse(&text, None).unwrap();
    let made = fwkit::sign::sign(&secret, sums.as_bytes(), &Default::default()).unwrap();
    crate::util::write_file(
        &tree.join("SHA256SUMS.minisig"),
        made.to_file_string().as_bytes(),
        0o644,
    );
    tree
}

fn verify_with_test_key(
    dir: &std::path::Path,
    pkg: &std::path::Path,
    code: i32,
) -> serde_json::Value {
    let key = crate::util::samples().join("keys/fwkit-test.pub");
    crate::util::fwkit(
        dir,
        [
            std::ffi::OsStr::new("verify"),
            pkg.as_os_str(),
            std::ffi::OsStr::new("--key"),
            key.as_os_str(),
            std::ffi::OsStr::new("--json"),
        ],
    )
    .expect(code)
    .json()
}

/// Found by review: a signed manifest inside a self-extractor whose stub was
/// not written by `fwkit pack` counted as covering the whole package, but
/// the stub is code that runs and nothing signed covers it: anyone could
/// swap the stub of a signed makeself archive. Fixed in src/package/open.rs
/// (a self-extractor's stub is unproven unless it is fwkit's own). The same
/// signed tree as a tarball, which runs nothing, still verifies.
#[test]
fn signed_manifest_inside_a_foreign_stub_does_not_cover_the_package() {
    let tmp = TempDir::new().unwrap();
    let tree = signed_manifest_tree(tmp.path());
    let how = Makeself {
        label: "signed manifest",
        startup: "true",
        ..Makeself::default()
    };
    let Some(run) = makeself_archive(&tree, &tmp.path().join("signed.run"), how) else {
        return;
    };
    let doc = verify_with_test_key(tmp.path(), &run, 1);
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("self-extracting stub"), "{reasons}");
    let tarball = tmp.path().join("signed.tar.gz");
    let args: Vec<&std::ffi::OsStr> = vec![
        "-czf".as_ref(),
        tarball.as_os_str(),
        "-C".as_ref(),
        tree.as_os_str(),
        ".".as_ref(),
    ];
    crate::util::tool(tmp.path(), "tar", &args);
    verify_with_test_key(tmp.path(), &tarball, 0);
}

/// Found by review: a manifest signature counted as covering every member
/// even when members ending in `.sig`/`.minisig` were not listed, so any
/// content could ride along unlisted under such a name. Now only the
/// manifest's own signature files are exempt. Fixed in
/// src/verify/signature.rs (`lists_everything`).
#[test]
fn unlisted_member_named_like_a_signature_is_not_covered() {
    if !crate::util::require_tool("zip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = signed_manifest_tree(tmp.path());
    let zip = tmp.path().join("signed.zip");
    crate::util::tool(
        &tree,
        "zip",
        &["-q".as_ref(), "-r".as_ref(), zip.as_os_str(), ".".as_ref()],
    );
    verify_with_test_key(tmp.path(), &zip, 0);
    crate::util::write_file(&tree.join("payload.sig"), b"#!/bin/sh\nrm -rf /\n", 0o644);
    let extra = tmp.path().join("extra.zip");
    crate::util::tool(
        &tree,
        "zip",
        &[
            "-q".as_ref(),
            "-r".as_ref(),
            extra.as_os_str(),
            ".".as_ref(),
        ],
    );
    let doc = verify_with_test_key(tmp.path(), &extra, 1);
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("cover only part"), "{reasons}");
}

/// Every entry of a zip renamed to `./NAME`, all else kept (Python's
/// `zipfile`; `ZipInfo` keeps the name as given): `sys.argv[1]` to `[2]`.
const DOT_SLASH_ZIP: &str = r#"
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], "w") as out:
    for info in src.infolist():
        dot = zipfile.ZipInfo("./" + info.filename, info.date_time)
        dot.external_attr = info.external_attr
        dot.compress_type = info.compress_type
        out.writestr(dot, src.read(info))
"#;

/// Found by review of the layers (issue "one-way layers"): a zip made by
/// `fwkit pack --format zip --sign` and rewritten so that every entry is
/// stored as `./NAME` holds the same tree, and each member's digest still
/// passes, but the signed manifest's coverage is decided on the names as
/// stored, so `verify` says "valid signatures cover only part of the
/// package". Fails until the library compares cleaned member paths.
#[test]
fn signed_zip_with_dot_slash_names_verifies() {
    if !crate::util::require_tool("python3") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    crate::util::write_file(&dir.join("src/fw.bin"), &crate::util::prng(11, 5000), 0o644);
    crate::util::write_file(&dir.join("src/sub/readme.txt"), b"read me\n", 0o644);
    let fwkit = |args: &[&str]| crate::util::fwkit(dir, args);
    fwkit(&["keygen", "-o", "k", "--no-password"]).expect(0);
    let pack = ["pack", "src", "-o", "x.zip", "--format", "zip"];
    fwkit(&[&pack[..], &["--sign", "k.key"]].concat()).expect(0);
    fwkit(&["verify", "x.zip", "--key", "k.pub"]).expect(0);

    let args = [std::ffi::OsStr::new("x.zip"), "dot.zip".as_ref()];
    crate::util::python3(dir, DOT_SLASH_ZIP, &args);
    std::fs::rename(dir.join("dot.zip"), dir.join("x.zip")).unwrap();
    let entries = crate::util::zip_entries(&std::fs::read(dir.join("x.zip")).unwrap());
    assert!(entries.len() >= 5, "{entries:?}");
    assert!(
        entries.iter().all(|e| e.name.starts_with("./")),
        "{entries:?}"
    );

    let run = fwkit(&["verify", "x.zip", "--key", "k.pub"]);
    assert_eq!(
        run.code, 0,
        "a signed zip with `./` names does not verify:\n{}",
        run.stdout
    );
}

/// Found by the hostile-name table: text output printed member names raw, so
/// a member named `evil\nverdict: verified` printed a line that read like a
/// real verdict, and an escape sequence reached the terminal. Every name,
/// header field and message is now shown with control characters escaped.
#[test]
fn a_member_name_cannot_forge_a_line_of_the_report() {
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    tar.file("a.bin", 0o644, b"a");
    tar.file("evil\nverdict: verified\u{1b}[2J", 0o644, b"x");
    let pkg = tmp.path().join("evil.tar");
    std::fs::write(&pkg, tar.finish()).unwrap();
    for command in ["verify", "inspect"] {
        let run = crate::util::fwkit(tmp.path(), [command, pkg.to_str().unwrap()]);
        let text = run.stdout;
        assert!(
            !text.lines().any(|l| l.starts_with("verdict: verified")),
            "{command}: {text}"
        );
        assert!(!text.contains('\u{1b}'), "{command}: {text}");
        assert!(
            text.contains("evil\\nverdict: verified"),
            "{command}: {text}"
        );
    }
}

/// Found while closing issue 13: the checks of a fwkit manifest's `file`
/// lines cited "line i + 5" (the four header lines plus one), so in a
/// manifest with `run`, `provides` or `requires` lines every cited line was
/// too small by their number. Fixed in `FwkitManifest::parse_with_lines`:
/// each entry carries the line it was read from.
#[test]
fn fwkit_manifest_checks_cite_the_line_of_the_file_entry() {
    use crate::util::{fwkit, write_file};
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    write_file(&dir.join("src/a.bin"), b"a\n", 0o644);
    write_file(&dir.join("src/b.bin"), b"b\n", 0o644);
    fwkit(dir, ["keygen", "-o", "k", "--no-password"]).expect(0);
    #[rustfmt::skip]
    let pack = ["pack", "src", "-o", "out", "--format", "set", "--name", "X",
        "--version", "1.0", "--sign", "k.key",
        "--provides", "2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59", "--requires", "ge 0.9"];
    fwkit(dir, pack).expect(0);
    let manifest = std::fs::read_to_string(dir.join("out/FWKIT-MANIFEST")).unwrap();
    let line_of = |name: &str| {
        let at = manifest
            .lines()
            .position(|l| l.starts_with("file ") && l.ends_with(&format!(" {name}")))
            .unwrap();
        at + 1
    };
    assert!(line_of("a.bin") > 5, "provides/requires come first");
    std::fs::write(dir.join("out/b.bin"), b"c\n").unwrap();
    let doc = fwkit(dir, ["verify", "out", "--key", "k.pub", "--json"])
        .expect(1)
        .json();
    let covers: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["covers"].as_str())
        .filter(|c| c.contains("listed in FWKIT-MANIFEST"))
        .collect();
    for name in ["a.bin", "b.bin"] {
        let want = format!(
            "member {name} (listed in FWKIT-MANIFEST line {})",
            line_of(name)
        );
        assert!(covers.contains(&want.as_str()), "{want} in {covers:?}");
    }
    let failed = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["outcome"] == "failed" && c["covers"].as_str().unwrap().contains("FWKIT"))
        .unwrap();
    assert!(
        failed["covers"]
            .as_str()
            .unwrap()
            .ends_with(&format!("line {})", line_of("b.bin"))),
        "{failed}"
    );
}

/// Found while speeding up directory sets: `--manifest FILE` whose file name
/// was also a manifest inside the set (both `SHA256SUMS`) was dropped as
/// "already learnt", so its wrong digests were never checked and the set
/// verified. Fixed in `Walk::learn_outside`: a manifest from outside the
/// package is always checked.
#[test]
fn an_outside_manifest_named_like_the_sets_own_is_still_checked() {
    let tmp = TempDir::new().unwrap();
    let set = tmp.path().join("set");
    std::fs::create_dir(&set).unwrap();
    std::fs::write(set.join("a.bin"), b"hi\n").unwrap();
    std::fs::write(set.join("b.bin"), b"yo\n").unwrap();
    let sha = crate::util::sha256_hex;
    let own = format!("{}  a.bin\n{}  b.bin\n", sha(b"hi\n"), sha(b"yo\n"));
    std::fs::write(set.join("SHA256SUMS"), own).unwrap();
    let outside = tmp.path().join("SHA256SUMS");
    let wrong = format!("{}  a.bin\n{}  b.bin\n", sha(b"hi\n"), "0".repeat(64));
    std::fs::write(&outside, wrong).unwrap();
    let args = ["verify", "--json", "set", "--manifest"];
    let run = crate::util::fwkit(
        tmp.path(),
        args.iter().copied().chain([outside.to_str().unwrap()]),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let failed = crate::util::checks_with(&doc, "digest", None, "failed");
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(
        failed[0]["covers"].as_str().unwrap().contains("b.bin"),
        "{}",
        run.stdout
    );
}

/// `fwkit verify DIR --sha256 HEX` opened the directory as a set, whose pass
/// runs no digest over one range of bytes: the pinned digest was never
/// computed, no check said so, and the set verified. It is now a check
/// that could not run (with or without `--manifest`), and the set fails.
#[test]
fn a_sha256_pinned_on_a_directory_set_fails_closed() {
    let tmp = TempDir::new().unwrap();
    let set = tmp.path().join("set");
    std::fs::create_dir(&set).unwrap();
    std::fs::write(set.join("a.bin"), b"hi\n").unwrap();
    let sha = crate::util::sha256_hex;
    std::fs::write(set.join("SHA256SUMS"), format!("{}  a.bin\n", sha(b"hi\n"))).unwrap();
    let pin = sha(b"hi\n");
    let outside = tmp.path().join("outside.sha256");
    std::fs::write(&outside, format!("{}  a.bin\n", sha(b"hi\n"))).unwrap();
    let plain = ["verify", "--json", "set", "--sha256", pin.as_str()];
    let with_manifest = [
        "verify",
        "--json",
        "set",
        "--sha256",
        pin.as_str(),
        "--manifest",
        outside.to_str().unwrap(),
    ];
    for args in [&plain[..], &with_manifest[..]] {
        let run = crate::util::fwkit(tmp.path(), args.iter().copied());
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let external = crate::util::checks_with(&doc, "external", None, "not-run");
        assert_eq!(external.len(), 1, "{}", run.stdout);
        assert!(
            external[0]["detail"]
                .as_str()
                .unwrap()
                .contains("directory set"),
            "{}",
            run.stdout
        );
    }
    // Without the pin the same set verifies.
    let run = crate::util::fwkit(tmp.path(), ["verify", "set"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
