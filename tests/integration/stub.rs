//! fwkit's own self-extracting stub (`src/pack/stub.rs`, `formats/fwkit-sfx.md`).
//!
//! Archives are assembled here: a tar written by `util::Tar`, gzip members
//! from the system `gzip` (and `util::gzip_stored` for a second member), the
//! stub from `fwkit::pack::stub::render`. Each archive is run under dash, bash
//! and busybox sh, and read by the real `fwkit` binary.

use crate::util::{
    fwkit, gzip_stored, os, posix_cksum, prng, require_tool, sha256_hex, tool, tree_files,
    write_file, Tar,
};
use fwkit::pack::stub::{render, StubSpec};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

const SETUP: &str = "#!/bin/sh\n\
# fwkit stub test: record where this ran and what it was given.\n\
out=$1\n\
shift\n\
{ pwd; echo \"args:$*\"; [ -f data/blob.bin ] && echo payload-present; } > \"$out\"\n";

const TARGET_DIR: &str = "fw-files";

/// A label that would run commands, expand variables or break quoting if the
/// stub ever let the shell interpret it. `@` is replaced by a marker path.
const HOSTILE_LABEL: &str = "Firmware $(touch @1) `touch @2` \"dq\" 'sq' \\ \\\" \\$HOME ${HOME} $((6*7)); touch @3 # \\n end\\";

/// The files of the test payload: path, permission bits, content.
fn input_files() -> Vec<(&'static str, u32, Vec<u8>)> {
    vec![
        ("README.txt", 0o644, b"fwkit stub test payload\n".to_vec()),
        ("setup.sh", 0o755, SETUP.as_bytes().to_vec()),
        ("data/blob.bin", 0o644, prng(0x5eed, 20_000)),
        ("data/tool", 0o755, b"#!/bin/sh\necho tool\n".to_vec()),
    ]
}

fn input_tar() -> Vec<u8> {
    let mut tar = Tar::new();
    for (name, mode, data) in input_files() {
        if name == "data/blob.bin" {
            tar.dir("data/", 0o755);
        }
        tar.file(name, mode, data.as_slice());
    }
    tar.finish()
}

/// `data` compressed by the system `gzip` (one member, no name or time).
fn gzip(scratch: &Path, data: &[u8]) -> Vec<u8> {
    let input = scratch.join("gzip-input");
    fs::write(&input, data).unwrap();
    let out = tool(scratch, "gzip", &[OsStr::new("-9nc"), input.as_os_str()]);
    fs::remove_file(&input).unwrap();
    out
}

struct Archive {
    path: PathBuf,
    stub_len: usize,
}

struct Options<'a> {
    label: &'a str,
    run: Option<&'a str>,
    scexe: bool,
}

const DEFAULT: Options<'static> = Options {
    label: "fwkit stub test",
    run: Some("./setup.sh"),
    scexe: false,
};

fn write_archive(path: &Path, payload: &[u8], options: &Options<'_>) -> Archive {
    let sha = sha256_hex(payload);
    let stub = render(&StubSpec {
        label: options.label,
        run: options.run,
        target_dir: TARGET_DIR,
        payload_len: payload.len() as u64,
        sha256: &sha,
        cksum: posix_cksum(payload),
        scexe: options.scexe,
        version: env!("CARGO_PKG_VERSION"),
    });
    let mut bytes = stub.clone();
    bytes.extend_from_slice(payload);
    write_file(path, &bytes, 0o755);
    Archive {
        path: path.to_owned(),
        stub_len: stub.len(),
    }
}

/// One shell the stub must work under.
struct Shell {
    name: &'static str,
    /// Absolute path of the program, so a restricted PATH still finds it.
    program: PathBuf,
    args: &'static [&'static str],
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// dash, bash and busybox sh, each skipped (visibly) when missing.
fn shells() -> Vec<Shell> {
    [
        ("dash", "dash", &[][..]),
        ("bash", "bash", &[][..]),
        ("busybox sh", "busybox", &["sh"][..]),
    ]
    .into_iter()
    .filter(|(_, program, _)| require_tool(program))
    .filter_map(|(name, program, args)| {
        Some(Shell {
            name,
            program: which(program)?,
            args,
        })
    })
    .collect()
}

#[derive(Debug)]
struct Out {
    what: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn expect(&self, code: i32) -> &Out {
        assert_eq!(
            self.code, code,
            "{} exited {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    fn refused(&self) -> &Out {
        assert!(
            self.code != 0 && self.code != -1,
            "{} should have refused\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A scratch area: `work/` is the working directory, `tmp/` is TMPDIR.
struct Scratch {
    _root: TempDir,
    work: PathBuf,
    tmp: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let root = TempDir::new().unwrap();
        let work = root.path().join("work");
        let tmp = root.path().join("tmp");
        fs::create_dir(&work).unwrap();
        fs::create_dir(&tmp).unwrap();
        Scratch {
            _root: root,
            work,
            tmp,
        }
    }

    /// Run the archive under `shell` with `args`; PATH is `path` when given.
    fn run(&self, shell: &Shell, archive: &Path, args: &[&OsStr], path: Option<&OsStr>) -> Out {
        let mut cmd = Command::new(&shell.program);
        cmd.args(shell.args)
            .arg(archive)
            .args(args)
            .current_dir(&self.work)
            .env("TMPDIR", &self.tmp)
            .stdin(Stdio::null());
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        let out = cmd.output().expect("spawn shell");
        let run = Out {
            what: format!(
                "{} {} {}",
                shell.name,
                archive.display(),
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // Whatever happened, the stub's temporary directory is gone.
        let left: Vec<_> = fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{}: left in TMPDIR: {left:?}", run.what);
        run
    }
}

/// Panic unless `dir` holds exactly the input files, with the same contents
/// and the same executable bits (the rest of the mode depends on the umask).
#[track_caller]
fn assert_extracted(dir: &Path) {
    let got = tree_files(dir);
    let want = input_files();
    let got_names: Vec<&str> = got.keys().map(String::as_str).collect();
    let mut want_names: Vec<&str> = want.iter().map(|(n, _, _)| *n).collect();
    want_names.sort_unstable();
    assert_eq!(got_names, want_names, "files in {}", dir.display());
    for (name, mode, data) in &want {
        let (got_data, got_mode) = &got[*name];
        assert!(got_data == data, "{name}: content differs");
        assert_eq!(
            got_mode & 0o111 != 0,
            mode & 0o111 != 0,
            "{name}: mode {got_mode:o}"
        );
    }
}

/// What `setup.sh` recorded: the directory it ran in and its arguments.
fn setup_record(marker: &Path) -> (PathBuf, String) {
    let text = fs::read_to_string(marker).expect("setup.sh wrote its marker");
    let mut lines = text.lines();
    let pwd = PathBuf::from(lines.next().expect("pwd line"));
    let args = lines.next().expect("args line").to_owned();
    assert_eq!(lines.next(), Some("payload-present"), "{text}");
    (pwd, args)
}

/// Every mode of a good archive under one shell.
fn exercise_good_archive(shell: &Shell, archive: &Archive, label: &str) {
    let s = Scratch::new();
    let pkg = archive.path.as_path();

    let out = s.run(shell, pkg, &[os("--check")], None);
    out.expect(0);
    assert!(out.stdout.contains("payload intact"), "{}", out.stdout);
    assert!(out.stdout.contains("cksum checked"), "{}", out.stdout);

    let out = s.run(shell, pkg, &[os("--list")], None);
    out.expect(0);
    for (name, _, _) in input_files() {
        assert!(
            out.stdout.lines().any(|l| l == name),
            "{name} not listed:\n{}",
            out.stdout
        );
    }

    let out = s.run(shell, pkg, &[os("--info")], None);
    out.expect(0);
    assert!(
        out.stdout.contains(&format!("Label: {label}\n")),
        "label not verbatim:\n{}",
        out.stdout
    );
    let out = s.run(shell, pkg, &[os("--help")], None);
    out.expect(0);
    assert!(out.stdout.starts_with(&format!("{label}\nUsage: ")));

    let out = s.run(shell, pkg, &[os("--bogus")], None);
    out.expect(2);
    assert!(
        out.stderr.contains("unknown option: --bogus"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Usage: "), "{}", out.stderr);
    s.run(shell, pkg, &[os("stray")], None).expect(2);
    s.run(shell, pkg, &[os("--check"), os("--list")], None)
        .expect(2);
    s.run(shell, pkg, &[os("--target")], None).expect(2);

    // --noexec --target DIR: identical files, setup not run.
    let dest = s.work.join("out");
    let marker = s.work.join("marker");
    s.run(
        shell,
        pkg,
        &[
            os("--noexec"),
            os("--target"),
            dest.as_os_str(),
            os("--"),
            marker.as_os_str(),
        ],
        None,
    )
    .expect(0);
    assert_extracted(&dest);
    assert!(!marker.exists(), "--noexec ran the command");
    // A non-empty target is refused and left alone.
    let out = s.run(
        shell,
        pkg,
        &[os("--noexec"), os("--target"), dest.as_os_str()],
        None,
    );
    out.refused();
    assert!(out.stderr.contains("not empty"), "{}", out.stderr);
    assert_extracted(&dest);

    // An existing empty target is used; without --noexec setup runs there.
    let empty = s.work.join("empty");
    fs::create_dir(&empty).unwrap();
    let target = format!("--target={}", empty.display());
    s.run(
        shell,
        pkg,
        &[os(&target), os("--"), marker.as_os_str(), os("x")],
        None,
    )
    .expect(0);
    let (pwd, args) = setup_record(&marker);
    assert_eq!(pwd, empty.canonicalize().unwrap());
    assert_eq!(args, "args:x");
    let mut expected = input_files()
        .into_iter()
        .map(|(n, _, _)| n.to_owned())
        .collect::<Vec<_>>();
    expected.sort();
    let got: Vec<String> = tree_files(&empty).into_keys().collect();
    assert_eq!(got, expected);
    fs::remove_file(&marker).unwrap();

    // Default: a fresh temporary directory, setup run there, then removed
    // (Scratch::run checks TMPDIR is empty again).
    s.run(
        shell,
        pkg,
        &[os("--"), marker.as_os_str(), os("one"), os("two words")],
        None,
    )
    .expect(0);
    let (pwd, args) = setup_record(&marker);
    assert!(
        pwd.starts_with(s.tmp.canonicalize().unwrap()),
        "setup ran in {}",
        pwd.display()
    );
    assert!(!pwd.exists(), "{} was not removed", pwd.display());
    assert_eq!(args, "args:one two words");
    fs::remove_file(&marker).unwrap();

    // --noexec alone: ./fw-files, and never over an existing one.
    let pkg_rel = relative_copy(&s, pkg);
    s.run(shell, &pkg_rel, &[os("--noexec")], None).expect(0);
    assert_extracted(&s.work.join(TARGET_DIR));
    let out = s.run(shell, &pkg_rel, &[os("--noexec")], None);
    out.refused();
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_extracted(&s.work.join(TARGET_DIR));
}

/// Copy `pkg` into the working directory and return its bare file name, so
/// the shell sees `$0` without a directory part.
fn relative_copy(s: &Scratch, pkg: &Path) -> PathBuf {
    let name = PathBuf::from("copy.run");
    fs::copy(pkg, s.work.join(&name)).unwrap();
    name
}

/// `fwkit verify` accepts the archive and `fwkit unpack` gives the input files.
fn fwkit_reads(archive: &Archive) -> Value {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let pkg = archive.path.as_os_str();
    fwkit(dir, [os("verify"), pkg]).expect(0);
    let doc = fwkit(dir, [os("inspect"), pkg, os("--json")])
        .expect(0)
        .json();
    assert_eq!(doc["format"], "makeself", "{doc:#}");
    fwkit(dir, [os("unpack"), pkg, os("-o"), os("out")]).expect(0);
    assert_extracted(&dir.join("out"));
    doc
}

fn good_payload(scratch: &Path) -> Vec<u8> {
    gzip(scratch, &input_tar())
}

#[test]
fn stub_archive_works_under_every_shell() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(&tmp.path().join("pkg.run"), &payload, &DEFAULT);
    let doc = fwkit_reads(&archive);
    let vendor = doc["vendor"].to_string();
    assert!(vendor.contains("fwkit stub test"), "{vendor}");
    for shell in shells() {
        exercise_good_archive(&shell, &archive, DEFAULT.label);
    }
}

#[test]
fn stub_archive_with_two_gzip_members() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tar = input_tar();
    let (first, second) = tar.split_at(3000);
    let mut payload = gzip(tmp.path(), first);
    payload.extend_from_slice(&gzip_stored(second));
    let archive = write_archive(&tmp.path().join("pkg.run"), &payload, &DEFAULT);
    fwkit_reads(&archive);
    for shell in shells() {
        let s = Scratch::new();
        s.run(&shell, &archive.path, &[os("--check")], None)
            .expect(0);
        let dest = s.work.join("out");
        s.run(
            &shell,
            &archive.path,
            &[os("--noexec"), os("--target"), dest.as_os_str()],
            None,
        )
        .expect(0);
        assert_extracted(&dest);
    }
}

#[test]
fn stub_scexe_flavour_unpacks_hp_style() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(
        &tmp.path().join("CP999999.scexe"),
        &payload,
        &Options {
            scexe: true,
            ..DEFAULT
        },
    );
    let bytes = fs::read(&archive.path).unwrap();
    let stub = std::str::from_utf8(&bytes[..archive.stub_len]).unwrap();
    let lines = stub.lines().count();
    assert!(stub.lines().any(|l| l == format!("_SKIP={}", lines + 1)));
    assert!(stub.lines().any(|l| l == format!("skip=\"{lines}\"")));
    fwkit_reads(&archive);
    for shell in shells() {
        let s = Scratch::new();
        let dest = s.work.join("unpacked");
        let marker = s.work.join("marker");
        let unpack = format!("--unpack={}", dest.display());
        s.run(
            &shell,
            &archive.path,
            &[os(&unpack), os("--"), marker.as_os_str()],
            None,
        )
        .expect(0);
        assert_extracted(&dest);
        assert!(!marker.exists(), "--unpack ran the command");
    }
}

#[test]
fn stub_label_is_never_interpreted() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let markers: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("touched{i}"))).collect();
    let mut label = HOSTILE_LABEL.to_owned();
    for (i, m) in markers.iter().enumerate() {
        label = label.replace(&format!("@{}", i + 1), &m.display().to_string());
    }
    let payload = good_payload(dir);
    let archive = write_archive(
        &dir.join("pkg.run"),
        &payload,
        &Options {
            label: &label,
            ..DEFAULT
        },
    );
    // fwkit reads the same label back.
    let doc = fwkit_reads(&archive);
    let labels: Vec<&str> = doc["vendor"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["label"].as_str())
        .collect();
    assert_eq!(labels, vec![label.as_str()], "{:#}", doc["vendor"]);
    for shell in shells() {
        let s = Scratch::new();
        let marker = s.work.join("marker");
        let out = s.run(&shell, &archive.path, &[os("--info")], None);
        out.expect(0);
        assert!(
            out.stdout.contains(&format!("Label: {label}\n")),
            "{}: label not verbatim:\n{}",
            shell.name,
            out.stdout
        );
        s.run(&shell, &archive.path, &[os("--help")], None)
            .expect(0);
        s.run(&shell, &archive.path, &[os("--check")], None)
            .expect(0);
        s.run(&shell, &archive.path, &[os("--bogus")], None)
            .expect(2);
        s.run(&shell, &archive.path, &[os("--"), marker.as_os_str()], None)
            .expect(0);
        assert!(marker.exists(), "{}: setup did not run", shell.name);
        for m in &markers {
            assert!(!m.exists(), "{}: the label ran {}", shell.name, m.display());
        }
    }
}

/// A damaged archive: nothing is listed, extracted or run, under any shell,
/// and `fwkit verify` says no.
fn assert_refused(archive: &Path, why: &str) {
    let tmp = TempDir::new().unwrap();
    fwkit(tmp.path(), [os("verify"), archive.as_os_str()]).expect(1);
    for shell in shells() {
        let s = Scratch::new();
        let dest = s.work.join("out");
        let marker = s.work.join("marker");
        let out = s.run(&shell, archive, &[os("--check")], None);
        out.expect(1);
        assert!(out.stderr.contains(why), "{}", out.stderr);
        let out = s.run(&shell, archive, &[os("--list")], None);
        out.refused();
        assert!(out.stdout.is_empty(), "listed: {}", out.stdout);
        s.run(
            &shell,
            archive,
            &[os("--noexec"), os("--target"), dest.as_os_str()],
            None,
        )
        .refused();
        assert!(
            !dest.exists(),
            "{}: extracted into {}",
            shell.name,
            dest.display()
        );
        let out = s.run(&shell, archive, &[os("--"), marker.as_os_str()], None);
        out.refused();
        assert!(out.stderr.contains(why), "{}", out.stderr);
        assert!(!marker.exists(), "{}: setup ran", shell.name);
        let copy = relative_copy(&s, archive);
        s.run(&shell, &copy, &[os("--noexec")], None).refused();
        assert!(!s.work.join(TARGET_DIR).exists());
    }
}

#[test]
fn stub_refuses_a_flipped_payload_byte() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(&tmp.path().join("pkg.run"), &payload, &DEFAULT);
    let mut bytes = fs::read(&archive.path).unwrap();
    bytes[archive.stub_len + payload.len() / 2] ^= 0x20;
    fs::write(&archive.path, &bytes).unwrap();
    assert_refused(&archive.path, "SHA-256 mismatch");
}

#[test]
fn stub_refuses_a_truncated_file() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(&tmp.path().join("pkg.run"), &payload, &DEFAULT);
    let bytes = fs::read(&archive.path).unwrap();
    fs::write(&archive.path, &bytes[..bytes.len() - 7]).unwrap();
    assert_refused(&archive.path, "truncated or altered");
    // Also with trailing bytes added.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"extra");
    fs::write(&archive.path, &longer).unwrap();
    assert_refused(&archive.path, "truncated or altered");
}

/// A directory of symlinks to `tools` (found on the real PATH).
fn tool_dir(root: &Path, name: &str, tools: &[&str]) -> Option<OsString> {
    let dir = root.join(name);
    fs::create_dir(&dir).unwrap();
    for t in tools {
        if !require_tool(t) {
            return None;
        }
        symlink(which(t)?, dir.join(t)).unwrap();
    }
    Some(dir.into_os_string())
}

/// What the stub runs besides a SHA-256 tool (`sh` runs the setup command).
const STUB_TOOLS: &[&str] = &[
    "sh", "head", "wc", "tail", "gzip", "tar", "cksum", "mkdir", "rm", "mktemp", "chmod",
];

#[test]
fn stub_fails_closed_without_a_sha256_tool() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(&tmp.path().join("pkg.run"), &payload, &DEFAULT);
    let Some(bare) = tool_dir(tmp.path(), "bare", STUB_TOOLS) else {
        return;
    };
    let mut with_sha: Vec<&str> = STUB_TOOLS.to_vec();
    with_sha.push("sha256sum");
    let Some(control) = tool_dir(tmp.path(), "control", &with_sha) else {
        return;
    };
    for shell in shells() {
        let s = Scratch::new();
        let dest = s.work.join("out");
        let marker = s.work.join("marker");
        // Control: the same tools plus sha256sum are enough.
        s.run(&shell, &archive.path, &[os("--check")], Some(&control))
            .expect(0);
        s.run(
            &shell,
            &archive.path,
            &[os("--"), marker.as_os_str()],
            Some(&control),
        )
        .expect(0);
        assert!(marker.exists());
        fs::remove_file(&marker).unwrap();

        let out = s.run(&shell, &archive.path, &[os("--check")], Some(&bare));
        out.expect(1);
        assert!(out.stderr.contains("no SHA-256 tool"), "{}", out.stderr);
        s.run(&shell, &archive.path, &[os("--list")], Some(&bare))
            .expect(1);
        s.run(
            &shell,
            &archive.path,
            &[os("--noexec"), os("--target"), dest.as_os_str()],
            Some(&bare),
        )
        .expect(1);
        assert!(!dest.exists(), "{}: extracted without SHA-256", shell.name);
        s.run(
            &shell,
            &archive.path,
            &[os("--"), marker.as_os_str()],
            Some(&bare),
        )
        .expect(1);
        assert!(!marker.exists(), "{}: ran without SHA-256", shell.name);
    }
}

/// busybox for everything (its tar lacks `--no-same-owner` in its help; it
/// has no `cksum`, so only the CRC is skipped).
#[test]
fn stub_works_with_busybox_userland() {
    if !require_tool("gzip") || !require_tool("busybox") {
        return;
    }
    let busybox = which("busybox").unwrap();
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(&tmp.path().join("pkg.run"), &payload, &DEFAULT);
    let bin = tmp.path().join("busybox-bin");
    fs::create_dir(&bin).unwrap();
    for applet in [
        "sh",
        "head",
        "wc",
        "tail",
        "gzip",
        "tar",
        "mkdir",
        "rm",
        "mktemp",
        "chmod",
        "sha256sum",
    ] {
        symlink(&busybox, bin.join(applet)).unwrap();
    }
    let shell = Shell {
        name: "busybox userland",
        program: bin.join("sh"),
        args: &[],
    };
    let path = Some(bin.as_os_str());
    let s = Scratch::new();
    let out = s.run(&shell, &archive.path, &[os("--check")], path);
    out.expect(0);
    assert!(out.stderr.contains("cksum not found"), "{}", out.stderr);
    assert!(out.stdout.contains("cksum skipped"), "{}", out.stdout);
    let dest = s.work.join("out");
    s.run(
        &shell,
        &archive.path,
        &[os("--noexec"), os("--target"), dest.as_os_str()],
        path,
    )
    .expect(0);
    assert_extracted(&dest);
    let marker = s.work.join("marker");
    s.run(&shell, &archive.path, &[os("--"), marker.as_os_str()], path)
        .expect(0);
    setup_record(&marker);

    let mut bytes = fs::read(&archive.path).unwrap();
    bytes[archive.stub_len + 100] ^= 1;
    fs::write(&archive.path, &bytes).unwrap();
    let dest = s.work.join("bad");
    s.run(
        &shell,
        &archive.path,
        &[os("--noexec"), os("--target"), dest.as_os_str()],
        path,
    )
    .expect(1);
    assert!(!dest.exists());
}

#[test]
fn stub_without_a_command_extracts_to_the_default_directory() {
    if !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let payload = good_payload(tmp.path());
    let archive = write_archive(
        &tmp.path().join("pkg.run"),
        &payload,
        &Options {
            run: None,
            ..DEFAULT
        },
    );
    fwkit_reads(&archive);
    for shell in shells() {
        let s = Scratch::new();
        let out = s.run(&shell, &archive.path, &[os("--info")], None);
        out.expect(0);
        assert!(out.stdout.contains("Command: (none)\n"), "{}", out.stdout);
        s.run(&shell, &archive.path, &[], None).expect(0);
        assert_extracted(&s.work.join(TARGET_DIR));
        s.run(&shell, &archive.path, &[], None).refused();
    }
}
