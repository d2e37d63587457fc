//! The command line contract: help text, exit codes, error messages, the
//! JSON envelope, and a closed stdout.

use crate::util::{fwkit, os, prng, samples, write_file, FWKIT, PANIC};
use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Stdio};
use tempfile::TempDir;

fn scexe_sample() -> std::path::PathBuf {
    samples().join("scexe/CP000000.scexe")
}

#[test]
fn help_has_examples_and_exit_status() {
    let tmp = TempDir::new().unwrap();
    let run = fwkit(tmp.path(), ["--help"]);
    run.expect(0);
    for needle in [
        "Examples:",
        "Exit status",
        "inspect",
        "verify",
        "unpack",
        "--sha256",
        "completions",
        "manpage",
    ] {
        assert!(
            run.stdout.contains(needle),
            "--help lacks {needle:?}:\n{}",
            run.stdout
        );
    }
    let run = fwkit(tmp.path(), ["unpack", "--help"]);
    for needle in [
        "--output",
        "--no-verify",
        "--max-size",
        "--max-entries",
        "--max-depth",
        "must not exist",
        "--quiet",
        "--verbose",
        "--no-progress",
        "--json",
    ] {
        assert!(
            run.expect(0).stdout.contains(needle),
            "unpack --help lacks {needle:?}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let pkg = scexe_sample();
    let pkg = pkg.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate", pkg],
        &["verify"],
        &["unpack", pkg],
        &["verify", pkg, "--max-entries", "many"],
        &["verify", pkg, "--max-size", "12Q"],
        &["verify", pkg, "--no-such-flag"],
    ];
    for args in cases {
        let run = fwkit(dir, *args);
        run.expect(2);
        assert!(
            run.stdout.is_empty(),
            "{args:?} printed a report: {}",
            run.stdout
        );
    }
}

#[test]
fn bad_sha256_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let pkg = scexe_sample();
    let short = "ab".repeat(31);
    let long = "ab".repeat(33);
    let not_hex = "zz".repeat(32);
    for bad in [
        "nothex",
        short.as_str(),
        long.as_str(),
        not_hex.as_str(),
        "",
    ] {
        for command in ["verify", "unpack"] {
            let out = tmp.path().join("out");
            let mut args = vec![os(command), pkg.as_os_str(), os("--sha256"), os(bad)];
            if command == "unpack" {
                args.extend([os("-o"), out.as_os_str()]);
            }
            let run = fwkit(tmp.path(), args);
            run.expect(2);
            assert!(
                run.stderr.starts_with("error:") && run.stderr.contains("--sha256"),
                "{command} {bad:?}: {}",
                run.stderr
            );
            assert!(!out.exists());
        }
    }
}

#[test]
fn unrecognised_file_exits_2_and_names_it() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let junk = dir.join("random-junk.bin");
    write_file(&junk, &prng(0xbad, 4096), 0o644);
    let script = dir.join("plain-script.sh");
    write_file(&script, b"#!/bin/sh\necho not a package\n", 0o755);
    let empty = dir.join("empty.bin");
    write_file(&empty, b"", 0o644);
    for file in [&junk, &script, &empty] {
        for command in ["inspect", "verify"] {
            let run = fwkit(dir, [os(command), file.as_os_str()]);
            run.expect(2);
            assert!(run.stderr.starts_with("error:"), "{}", run.stderr);
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(
                run.stderr.contains(name),
                "the error names the file: {}",
                run.stderr
            );
        }
        let out = dir.join("out");
        fwkit(
            dir,
            [os("unpack"), file.as_os_str(), os("-o"), out.as_os_str()],
        )
        .expect(2);
        assert!(!out.exists());
    }
}

#[test]
fn missing_file_and_directory_exit_2() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let missing = dir.join("no-such-package.scexe");
    let run = fwkit(dir, [os("verify"), missing.as_os_str()]);
    run.expect(2);
    assert!(
        run.stderr.starts_with("error:") && run.stderr.contains("no-such-package.scexe"),
        "{}",
        run.stderr
    );
    // A directory is a multi-file upgrade set; with no manifest it cannot be verified.
    let empty = dir.join("empty-set");
    std::fs::create_dir(&empty).unwrap();
    let run = fwkit(dir, [os("verify"), empty.as_os_str()]);
    run.expect(1);
    assert!(run.stdout.contains("no manifest"), "{}", run.stdout);
    let out = dir.join("out");
    fwkit(
        dir,
        [os("unpack"), missing.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(2);
    assert!(!out.exists());
}

#[test]
fn unpack_into_a_missing_parent_exits_2() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("no/such/parent/out");
    let run = fwkit(
        tmp.path(),
        [
            os("unpack"),
            scexe_sample().as_os_str(),
            os("-o"),
            out.as_os_str(),
        ],
    );
    run.expect(2);
    assert!(!tmp.path().join("no").exists());
}

#[test]
fn json_envelope() {
    let tmp = TempDir::new().unwrap();
    let pkg = scexe_sample();
    for command in ["inspect", "verify"] {
        let doc = fwkit(tmp.path(), [os(command), pkg.as_os_str(), os("--json")])
            .expect(0)
            .json();
        for key in [
            "schema",
            "command",
            "verified",
            "path",
            "size",
            "format",
            "layers",
            "vendor",
            "members",
            "checks",
            "uncovered",
            "warnings",
            "verdict",
            "unpacked",
        ] {
            assert!(doc.get(key).is_some(), "{command} JSON lacks {key}");
        }
        assert_eq!(doc["command"], command);
        assert_eq!(doc["verified"], true);
        assert_eq!(doc["path"], pkg.to_str().unwrap());
        assert!(doc["unpacked"].is_null());
        for m in doc["members"].as_array().unwrap() {
            for key in ["name", "path", "kind", "size", "mode", "stream", "problem"] {
                assert!(m.get(key).is_some(), "member lacks {key}: {m}");
            }
            assert!(m["kind"]["type"].is_string());
        }
        for c in doc["checks"].as_array().unwrap() {
            for key in [
                "kind",
                "covers",
                "range",
                "algorithm",
                "expected",
                "computed",
                "outcome",
                "detail",
            ] {
                assert!(c.get(key).is_some(), "check lacks {key}: {c}");
            }
        }
    }
    // Warnings go to stderr in text mode and into the document with --json.
    let text = fwkit(tmp.path(), [os("verify"), pkg.as_os_str()])
        .expect(0)
        .stderr
        .clone();
    assert!(text.contains("warning:"), "{text}");
    let run = fwkit(tmp.path(), [os("verify"), pkg.as_os_str(), os("--json")]);
    assert!(!run.expect(0).stderr.contains("warning:"), "{}", run.stderr);
}

/// Run `fwkit ARGS` with stdout a pipe whose reading end is closed after
/// reading `keep` bytes; return (exit code, stderr).
fn closed_stdout(args: &[&OsStr], keep: usize) -> (i32, String) {
    let mut child = Command::new(FWKIT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fwkit");
    let mut stdout = child.stdout.take().unwrap();
    if keep > 0 {
        let mut buf = vec![0u8; keep];
        stdout.read_exact(&mut buf).expect("first bytes");
    }
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, stderr)
}

/// `fwkit inspect PKG | head -c1`: a closed stdout is not a crash and not an error.
#[test]
fn closed_stdout_is_not_an_error() {
    let pkg = scexe_sample();
    for json in [false, true] {
        for keep in [0, 1] {
            let mut args = vec![os("inspect"), pkg.as_os_str()];
            if json {
                args.push(os("--json"));
            }
            let (code, stderr) = closed_stdout(&args, keep);
            assert_ne!(code, PANIC, "json={json} keep={keep}: panicked: {stderr}");
            assert_ne!(
                code, -1,
                "json={json} keep={keep}: killed by a signal: {stderr}"
            );
            assert_eq!(
                code, 0,
                "json={json} keep={keep}: a broken pipe is not an error: {stderr}"
            );
            assert!(
                !stderr.contains("error") && !stderr.contains("panicked"),
                "{stderr}"
            );
        }
    }
}
