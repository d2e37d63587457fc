//! What we make, read by the real tools; what the real tools make, read by
//! us; and our self-extractors run under `dash` and `bash`.

use super::{
    assert_tree_is_source_plus, check_on, have, ok_tool, run_tool, Work, FORMATS, METADATA,
};
use crate::util::{listing, makeself_archive, Makeself};
use std::collections::BTreeSet;
use std::fs;

/// Every name a listing of our tarball must show (directories end with `/`).
fn expected_members(work: &Work) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = METADATA.iter().map(|s| (*s).to_owned()).collect();
    names.extend(work.tree.keys().cloned());
    names.extend(["sub/".to_owned(), "sub/deeper/".to_owned()]);
    names
}

#[test]
fn real_tools_accept_our_packages() {
    if !have(&["unzip", "tar", "xz", "zstd", "sha256sum", "minisign"]) {
        return;
    }
    let work = Work::new();
    for format in FORMATS {
        work.pack(format, &format!("out.{format}"), &["--sign", "k.key"]);
    }
    for zip in ["out.zip", "out.fwpkg"] {
        ok_tool(&work.dir, "unzip", &["-tq", zip]);
    }
    let members = expected_members(&work);
    for (flag, out) in [
        ("-tzf", "out.tar.gz"),
        ("-tJf", "out.tar.xz"),
        ("--zstd", "out.tar.zst"),
    ] {
        let mut args = vec![flag];
        if flag == "--zstd" {
            args.push("-tf");
        }
        args.push(out);
        let listed: BTreeSet<String> = ok_tool(&work.dir, "tar", &args)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(listed, members, "tar {flag} {out}");
    }
    // The set as packed, and the tree unpacked from a tarball, check with
    // coreutils and minisign alone.
    work.fwkit(&["unpack", "out.tar.xz", "-o", "unpacked", "-q"])
        .expect(0);
    for dir in ["out.set", "unpacked"] {
        let dir = work.path(dir);
        ok_tool(&dir, "sha256sum", &["--strict", "-c", "SHA256SUMS"]);
        let args = [
            "-Vm",
            "FWKIT-MANIFEST",
            "-x",
            "FWKIT-MANIFEST.minisig",
            "-p",
            "../k.pub",
        ];
        let shown = ok_tool(&dir, "minisign", &args);
        assert!(shown.contains("package:n 1.2"), "{shown}");
    }
}

#[test]
fn fwkit_signatures_verify_in_minisign() {
    if !have(&["minisign"]) {
        return;
    }
    let work = Work::new();
    fs::write(work.path("fw.bin"), crate::util::prng(7, 100_000)).unwrap();
    work.fwkit(&[
        "sign",
        "fw.bin",
        "--key",
        "k.key",
        "--trusted-comment",
        "SAS 2.10",
    ])
    .expect(0);
    let shown = ok_tool(&work.dir, "minisign", &["-Vm", "fw.bin", "-p", "k.pub"]);
    assert!(shown.contains("SAS 2.10"), "{shown}");
    let mut data = fs::read(work.path("fw.bin")).unwrap();
    data[50_000] ^= 1;
    fs::write(work.path("fw.bin"), data).unwrap();
    let out = run_tool(
        &work.dir,
        "minisign",
        &["-Vm", "fw.bin", "-p", "k.pub"],
        &[],
    );
    assert!(!out.status.success(), "minisign accepted a changed file");
}

#[test]
fn password_protected_keys_sign_with_fwkit_password() {
    if !have(&["minisign"]) {
        return;
    }
    let work = Work::new();
    // No password and no terminal: refused, nothing written.
    let run = work.fwkit(&["keygen", "-o", "nopw"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(!work.path("nopw.pub").exists() && !work.path("nopw.key").exists());

    let pw = [("FWKIT_PASSWORD", Some("pw"))];
    work.fwkit_env(&pw, &["keygen", "-o", "e"]).expect(0);
    fs::write(work.path("fw.bin"), b"image\n").unwrap();
    let wrong = [("FWKIT_PASSWORD", Some("wrong"))];
    let run = work.fwkit_env(&wrong, &["sign", "fw.bin", "--key", "e.key"]);
    assert_ne!(run.code, 0, "signed with a wrong password: {run:?}");
    assert!(!work.path("fw.bin.minisig").exists());

    work.fwkit_env(&pw, &["sign", "fw.bin", "--key", "e.key"])
        .expect(0);
    ok_tool(&work.dir, "minisign", &["-Vm", "fw.bin", "-p", "e.pub"]);
}

/// `fwkit verify PKG --key PUB` accepts the detached signature, and refuses
/// it once one byte of PKG changed.
fn detached_signature_verifies(work: &Work, pkg: &str, public: &str, signature: &str) {
    let (run, doc) = work.verify(pkg, &["--key", public]);
    run.expect(0);
    let covers = format!("whole file (detached {signature})");
    check_on(&doc, &covers, "passed");

    let mut data = fs::read(work.path(pkg)).unwrap();
    data[1000] ^= 0x01;
    fs::write(work.path(pkg), data).unwrap();
    let (run, doc) = work.verify(pkg, &["--key", public]);
    run.expect(1);
    check_on(&doc, &covers, "failed");
}

#[test]
fn minisign_and_signify_signatures_of_a_package_verify() {
    if !have(&["minisign", "signify-openbsd"]) {
        return;
    }
    let work = Work::new();
    work.pack("tar.gz", "m.tar.gz", &[]);
    ok_tool(
        &work.dir,
        "minisign",
        &["-G", "-W", "-p", "m.pub", "-s", "m.key"],
    );
    ok_tool(
        &work.dir,
        "minisign",
        &["-S", "-s", "m.key", "-m", "m.tar.gz"],
    );
    detached_signature_verifies(&work, "m.tar.gz", "m.pub", "m.tar.gz.minisig");

    work.pack("zip", "s.zip", &[]);
    let signify = "signify-openbsd";
    ok_tool(
        &work.dir,
        signify,
        &["-G", "-n", "-p", "s.pub", "-s", "s.sec"],
    );
    ok_tool(
        &work.dir,
        signify,
        &["-S", "-s", "s.sec", "-m", "s.zip", "-x", "s.zip.sig"],
    );
    detached_signature_verifies(&work, "s.zip", "s.pub", "s.zip.sig");
}

#[test]
fn our_self_extractors_run_under_dash_and_bash() {
    if !have(&["dash", "bash", "tar", "gzip", "sha256sum", "cksum"]) {
        return;
    }
    let work = Work::new();
    for format in ["scexe", "makeself"] {
        let pkg = format!("./{format}.run");
        work.pack(format, &pkg, &["--sign", "k.key", "--run", "./flash.sh"]);
        let mut bad = fs::read(work.path(&pkg)).unwrap();
        let at = bad.len() - 150_000;
        bad[at] ^= 0x40;
        crate::util::write_file(&work.path(&format!("bad-{format}.run")), &bad, 0o755);

        for shell in ["dash", "bash"] {
            let tag = format!("{format}-{shell}");
            let sh = |args: &[&str], marker: &str| {
                let marker = work.path(marker).to_string_lossy().into_owned();
                let mut all = vec![pkg.as_str()];
                all.extend_from_slice(args);
                run_tool(&work.dir, shell, &all, &[("MARKER", marker.as_str())])
            };
            let ok = |out: std::process::Output| {
                assert!(
                    out.status.success(),
                    "{tag}: {}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            ok(sh(&["--check"], "no-marker"));
            let listed = ok(sh(&["--list"], "no-marker"));
            for name in work.tree.keys().map(String::as_str).chain(METADATA) {
                assert!(listed.contains(name), "{tag}: {name} not in\n{listed}");
            }
            let target = format!("target-{tag}");
            ok(sh(&["--noexec", "--target", &target], "no-marker"));
            assert_tree_is_source_plus(&work.path(&target), &work, &METADATA);
            let unpack = format!("unpack-{tag}");
            ok(sh(&[&format!("--unpack={unpack}")], "no-marker"));
            assert_tree_is_source_plus(&work.path(&unpack), &work, &METADATA);
            assert!(!work.path("no-marker").exists(), "{tag}: ran with --noexec");

            // A plain run checks, extracts and runs ./flash.sh with the arguments after --.
            let marker = format!("marker-{tag}");
            ok(sh(&["--", "a", "b c"], &marker));
            let said = fs::read_to_string(work.path(&marker)).unwrap();
            assert_eq!(said, "flashed a b c\n", "{tag}");

            // One flipped payload byte: refused before anything is extracted or run.
            let before = listing(&work.dir);
            let bad = format!("bad-{format}.run");
            for args in [
                &["--check"][..],
                &["--list"],
                &[],
                &["--unpack=x"],
                &["--noexec", "--target", "y"],
            ] {
                let mut all = vec![bad.as_str()];
                all.extend_from_slice(args);
                let marker = work.path("bad-marker").to_string_lossy().into_owned();
                let out = run_tool(&work.dir, shell, &all, &[("MARKER", &marker)]);
                assert!(
                    !out.status.success(),
                    "{tag}: {args:?} accepted a changed payload"
                );
                assert_eq!(listing(&work.dir), before, "{tag}: {args:?} wrote files");
            }
        }
    }
}

#[test]
fn debian_makeself_and_ours_are_read_by_the_same_code() {
    let work = Work::new();
    let how = Makeself {
        label: "fwkit pack test",
        startup: "./flash.sh",
        ..Makeself::default()
    };
    if makeself_archive(&work.path("src"), &work.path("debian.run"), how).is_none() {
        return;
    }
    work.pack("makeself", "ours.run", &["--sign", "k.key"]);
    for (pkg, extra) in [("debian.run", &[][..]), ("ours.run", &METADATA[..])] {
        let (run, doc) = work.verify(pkg, &[]);
        run.expect(0);
        assert_eq!(doc["format"], "makeself", "{pkg}");
        assert_eq!(doc["vendor"][0]["kind"], "makeself", "{pkg}");
        let dest = format!("{pkg}.unpacked");
        work.fwkit(&["unpack", pkg, "-o", &dest, "-q"]).expect(0);
        assert_tree_is_source_plus(&work.path(&dest), &work, extra);
    }
}

#[test]
fn a_countersigned_package_verifies_with_either_key() {
    if !have(&["minisign"]) {
        return;
    }
    let work = Work::new();
    work.pack("tar.gz", "both.tar.gz", &["--sign", "k.key"]);
    ok_tool(
        &work.dir,
        "minisign",
        &["-G", "-W", "-p", "m.pub", "-s", "m.key"],
    );
    ok_tool(
        &work.dir,
        "minisign",
        &["-S", "-s", "m.key", "-m", "both.tar.gz"],
    );
    for (key, covers) in [
        ("k.pub", "member FWKIT-MANIFEST"),
        ("m.pub", "whole file (detached both.tar.gz.minisig)"),
    ] {
        let (run, doc) = work.verify("both.tar.gz", &["--key", key]);
        assert_eq!(run.code, 0, "--key {key}:\n{:#}", doc["checks"]);
        check_on(&doc, covers, "passed");
    }
}
