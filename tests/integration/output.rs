//! What the commands print: text sized for a screen (`-v` for everything),
//! `-q` that prints nothing, `--json` for every command, shell completions
//! and the manual page.
//!
//! The big packages are tar.gz files written in the test (`util::Tar`,
//! `util::gzip_stored`) with a `SHA256SUMS` computed by `util::sha256_hex`.

use crate::util::{fwkit, gzip_stored, os, sha256_hex, write_file, Tar};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// `dir/NAME`: a tar.gz of `files` members `fNNNN.bin` with a `SHA256SUMS`
/// (first, so one pass reads it) listing them; the first `corrupt` members'
/// contents differ from what the manifest lists, and `unlisted` more members
/// `xNNNN.bin` are in no manifest.
fn sums_package(dir: &Path, name: &str, files: usize, corrupt: usize, unlisted: usize) -> PathBuf {
    let content = |i: usize| format!("member {i}\n").into_bytes();
    let mut sums = String::new();
    for i in 0..files {
        sums.push_str(&format!("{}  f{i:04}.bin\n", sha256_hex(&content(i))));
    }
    let mut tar = Tar::new();
    tar.file("SHA256SUMS", 0o644, sums.as_bytes());
    for i in 0..files {
        let data = if i < corrupt {
            format!("corrupted {i}\n").into_bytes()
        } else {
            content(i)
        };
        tar.file(&format!("f{i:04}.bin"), 0o644, &data);
    }
    for i in 0..unlisted {
        tar.file(&format!("x{i:04}.bin"), 0o644, b"extra\n");
    }
    let path = dir.join(name);
    write_file(&path, &gzip_stored(&tar.finish()), 0o644);
    path
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

/// 3,000 members listed in SHA256SUMS printed 3,005 lines: now one line says
/// they all matched, and `-v` still lists each one.
#[test]
fn verify_text_fits_a_screen() {
    let tmp = TempDir::new().unwrap();
    let pkg = sums_package(tmp.path(), "big.tar.gz", 3000, 0, 0);
    let run = fwkit(tmp.path(), [os("verify"), pkg.as_os_str()]);
    run.expect(0);
    let lines = run.stdout.lines().count();
    assert!(lines < 40, "{lines} lines:\n{}", run.stdout);
    let grouped = lines_with(&run.stdout, "3,000 members");
    assert_eq!(grouped.len(), 1, "{}", run.stdout);
    assert!(
        grouped[0].contains("passed")
            && grouped[0].contains("sha256")
            && grouped[0].contains("SHA256SUMS"),
        "{}",
        grouped[0]
    );
    assert!(run.stdout.contains("verdict: verified"), "{}", run.stdout);

    let verbose = fwkit(tmp.path(), [os("verify"), pkg.as_os_str(), os("-v")]);
    verbose.expect(0);
    for i in 0..3000 {
        let name = format!("member f{i:04}.bin ");
        assert!(verbose.stdout.contains(&name), "-v lacks {name}");
    }
    assert_eq!(lines_with(&verbose.stdout, "passed   digest").len(), 3000);

    // The JSON report stays complete.
    let doc = fwkit(tmp.path(), [os("verify"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    let digests = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "digest" && c["outcome"] == "passed")
        .count();
    assert_eq!(digests, 3000);
}

/// Every failure has its own line, but at most 20 of one kind.
#[test]
fn failures_are_listed_up_to_twenty_per_kind() {
    let tmp = TempDir::new().unwrap();
    let pkg = sums_package(tmp.path(), "bad.tar.gz", 500, 30, 0);
    let run = fwkit(tmp.path(), [os("verify"), pkg.as_os_str()]);
    run.expect(1);
    let failed = lines_with(&run.stdout, "FAILED");
    assert_eq!(failed.len(), 20, "{}", run.stdout);
    assert!(
        run.stdout.contains("… and 10 more digest failures"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("sha256 of 470 members"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("NOT VERIFIED"), "{}", run.stdout);
    assert!(run.stdout.lines().count() < 40, "{}", run.stdout);

    let verbose = fwkit(tmp.path(), [os("verify"), pkg.as_os_str(), os("--verbose")]);
    verbose.expect(1);
    assert_eq!(lines_with(&verbose.stdout, "FAILED").len(), 30);
    assert!(!verbose.stdout.contains("more digest failures"));
}

/// A warning naming 50 unlisted members names 20, then says how many more;
/// `-v` names them all.
#[test]
fn warnings_that_list_names_are_cut() {
    let tmp = TempDir::new().unwrap();
    let pkg = sums_package(tmp.path(), "extra.tar.gz", 10, 0, 50);
    let run = fwkit(tmp.path(), [os("verify"), pkg.as_os_str()]);
    run.expect(0);
    let warning = lines_with(&run.stderr, "not listed in any manifest");
    assert_eq!(warning.len(), 1, "{}", run.stderr);
    assert_eq!(warning[0].matches("x00").count(), 20, "{}", warning[0]);
    assert!(warning[0].contains("and 30 more"), "{}", warning[0]);

    let verbose = fwkit(tmp.path(), [os("verify"), pkg.as_os_str(), os("-v")]);
    let warning = lines_with(&verbose.expect(0).stderr, "not listed in any manifest");
    assert_eq!(warning[0].matches("x00").count(), 50, "{}", warning[0]);
    assert!(!warning[0].contains("more"), "{}", warning[0]);
}

/// inspect lists 50 members, then how many more; `-v` lists all.
#[test]
fn inspect_member_listing_is_bounded() {
    let tmp = TempDir::new().unwrap();
    let pkg = sums_package(tmp.path(), "big.tar.gz", 300, 0, 0);
    let run = fwkit(tmp.path(), [os("inspect"), pkg.as_os_str()]);
    run.expect(0);
    let listed = lines_with(&run.stdout, "  file    ");
    assert_eq!(listed.len(), 50, "{}", run.stdout);
    assert!(run.stdout.contains("members (301):"), "{}", run.stdout);
    assert!(
        run.stdout.contains("… and 251 more members"),
        "{}",
        run.stdout
    );
    let verbose = fwkit(tmp.path(), [os("inspect"), pkg.as_os_str(), os("-v")]);
    assert_eq!(
        lines_with(&verbose.expect(0).stdout, "  file    ").len(),
        301
    );
}

/// `-q` is grep's: nothing on stdout, even with --json; the exit status
/// answers; errors still reach stderr.
#[test]
fn quiet_prints_nothing_and_the_status_answers() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let good = sums_package(dir, "good.tar.gz", 10, 0, 30);
    let bad = sums_package(dir, "bad.tar.gz", 10, 3, 0);
    for (pkg, code) in [(&good, 0), (&bad, 1)] {
        for extra in [&[][..], &["--json"][..], &["--no-progress"][..]] {
            for quiet in ["-q", "--quiet"] {
                let mut args = vec![os("verify"), pkg.as_os_str(), os(quiet)];
                args.extend(extra.iter().map(|a| os(a)));
                let run = fwkit(dir, &args);
                run.expect(code);
                assert_eq!(run.stdout, "", "{args:?}");
                // The good package's warning (30 unlisted members) is not printed either.
                assert_eq!(run.stderr, "", "{args:?}");
            }
        }
    }
    // Without -q the same runs print.
    assert!(!fwkit(dir, [os("verify"), good.as_os_str()])
        .expect(0)
        .stderr
        .is_empty());
    assert!(!fwkit(dir, [os("verify"), bad.as_os_str()])
        .expect(1)
        .stdout
        .is_empty());

    let run = fwkit(dir, [os("inspect"), good.as_os_str(), os("-q")]);
    assert_eq!(run.expect(0).stdout, "");
    let out = dir.join("out");
    let run = fwkit(
        dir,
        [
            os("unpack"),
            good.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("-q"),
        ],
    );
    assert_eq!(run.expect(0).stdout, "");
    assert!(out.join("f0000.bin").is_file());
    let refused = dir.join("refused");
    let run = fwkit(
        dir,
        [
            os("unpack"),
            bad.as_os_str(),
            os("-o"),
            refused.as_os_str(),
            os("-q"),
        ],
    );
    assert_eq!(run.expect(1).stdout, "");
    assert!(!refused.exists());

    // Could not answer: the error is still printed.
    let missing = dir.join("missing.tar.gz");
    let run = fwkit(dir, [os("verify"), missing.as_os_str(), os("-q")]);
    run.expect(2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error:"), "{}", run.stderr);

    // Quiet and verbose contradict each other.
    let run = fwkit(dir, [os("verify"), good.as_os_str(), os("-q"), os("-v")]);
    run.expect(2);
    assert_eq!(run.stdout, "");
}

/// Check the action envelope: `schema`, `command`, `outcome`, `written`
/// (each path exists); returns the document.
#[track_caller]
fn action_json(dir: &Path, args: &[&str], command: &str, outcome: &str) -> Value {
    let doc = fwkit(dir, args).expect(0).json();
    assert_eq!(doc["command"], command, "{doc}");
    assert_eq!(doc["outcome"], outcome, "{doc}");
    let written = doc["written"].as_array().expect("written is a list");
    assert!(!written.is_empty(), "{doc}");
    for path in written {
        let path = dir.join(path.as_str().expect("written holds paths"));
        assert!(path.exists(), "{} was not written: {doc}", path.display());
    }
    doc
}

#[test]
fn keygen_sign_pack_resign_speak_json() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("src")).unwrap();
    write_file(&dir.join("src/fw.bin"), b"firmware\n", 0o644);
    write_file(&dir.join("src/flash.sh"), b"#!/bin/sh\n", 0o755);

    let key = action_json(
        dir,
        &["keygen", "-o", "k", "--no-password", "--json"],
        "keygen",
        "generated",
    );
    assert_eq!(key["written"], serde_json::json!(["k.pub", "k.key"]));
    assert_eq!(key["encrypted"], false);
    let key_id = key["key_id"].as_str().unwrap().to_owned();
    assert_eq!(key_id.len(), 16, "{key}");

    let signed = action_json(
        dir,
        &["sign", "src/fw.bin", "--key", "k.key", "--json"],
        "sign",
        "signed",
    );
    assert_eq!(signed["written"], serde_json::json!(["src/fw.bin.minisig"]));
    assert_eq!(signed["key_id"], key_id.as_str());
    assert!(signed["trusted_comment"]
        .as_str()
        .unwrap()
        .contains("fw.bin"));

    let packed = action_json(
        dir,
        &[
            "pack",
            "src",
            "-o",
            "out.tar.gz",
            "--format",
            "tar.gz",
            "--sign",
            "k.key",
            "--json",
        ],
        "pack",
        "packed",
    );
    assert_eq!(packed["written"], serde_json::json!(["out.tar.gz"]));
    assert_eq!(packed["files"], 3, "{packed}");
    assert_eq!(packed["signed_by"], key_id.as_str());
    assert_eq!(packed["manifest_sha256"].as_str().unwrap().len(), 64);

    action_json(
        dir,
        &["keygen", "-o", "k2", "--no-password", "--json"],
        "keygen",
        "generated",
    );
    let resigned = action_json(
        dir,
        &["resign", "out.tar.gz", "--key", "k2.key", "--json"],
        "resign",
        "re-signed",
    );
    assert_eq!(resigned["written"], serde_json::json!(["out.tar.gz"]));
    assert_ne!(resigned["key_id"], key_id.as_str());
    fwkit(dir, ["verify", "out.tar.gz", "--key", "k2.pub"]).expect(0);

    // -q: the work is done, nothing is printed.
    let run = fwkit(dir, ["keygen", "-o", "k3", "--no-password", "-q"]);
    assert_eq!(run.expect(0).stdout, "");
    assert!(dir.join("k3.key").is_file());
    let run = fwkit(
        dir,
        ["sign", "src/flash.sh", "--key", "k3.key", "-q", "--json"],
    );
    assert_eq!(run.expect(0).stdout, "");
    assert!(dir.join("src/flash.sh.minisig").is_file());
    // And text is still one line.
    let run = fwkit(dir, ["pack", "src", "-o", "out.zip", "--format", "zip"]);
    assert!(
        run.expect(0).stdout.starts_with("packed "),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
}

#[test]
fn completions_for_every_shell() {
    let tmp = TempDir::new().unwrap();
    let run = fwkit(tmp.path(), ["completions", "bash"]);
    run.expect(0);
    assert!(run.stdout.contains("fwkit"), "{}", run.stdout);
    assert!(run.stdout.contains("complete -F"), "{}", run.stdout);
    for subcommand in ["verify", "unpack", "--no-progress"] {
        assert!(run.stdout.contains(subcommand), "bash lacks {subcommand}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let run = fwkit(tmp.path(), ["completions", shell]);
        run.expect(0);
        assert!(run.stdout.contains("fwkit"), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("verify"), "{shell}: {}", run.stdout);
    }
    fwkit(tmp.path(), ["completions", "tcsh"]).expect(2);
}

#[test]
fn manpage_is_roff() {
    let tmp = TempDir::new().unwrap();
    let run = fwkit(tmp.path(), ["manpage"]);
    run.expect(0);
    assert!(run.stdout.starts_with('.'), "{}", run.stdout);
    assert!(
        run.stdout.lines().any(|l| l.starts_with(".TH fwkit 1")),
        "{}",
        run.stdout
    );
    for needle in [".SH NAME", ".SH SYNOPSIS", "verify", "unpack"] {
        assert!(run.stdout.contains(needle), "manpage lacks {needle}");
    }
}
