//! `fwkit exec` (issue 12): verify, then run a flasher on the very bytes
//! that were verified, through the real binary.
//!
//! Packages are made at test time by `fwkit pack` (scexe, zip, tar.gz, set)
//! and Debian's `makeself`, from a tree written here, signed with a key from
//! `fwkit keygen --no-password`. The real flasher is Debian's `flashrom`
//! with its dummy programmer emulating an 8 MiB Macronix MX25L6436E; the
//! other flashers are small `sh` scripts written here that leave markers and
//! copies of what they were handed. Nothing is committed.
//!
//! Submodule `exec/files.rs`: `--as-files`, the memory cap, signals.
//! Submodule `exec/raw_files.rs`: a bare image handed as a read-only file.

mod apply;
mod files;
mod raw_files;

use crate::util::{
    fwkit, makeself_archive, os, prng, require_tool, sha256_hex, write_file, Makeself, Run,
};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The flashrom chip definition for `dummy:emulate=MX25L6436`.
const CHIP: &str = "MX25L6436E/MX25L6445E/MX25L6465E/MX25L6473E/MX25L6473F";
/// Exit statuses of `fwkit exec` when FLASHER did not run (see --help).
const REFUSED: i32 = 125;

/// A work directory: `src/rom.bin` (the image), `src/payload/cfg.txt`,
/// `src/payload/sub/` and the key pair `k`.
struct Work {
    _tmp: TempDir,
    dir: PathBuf,
    image: Vec<u8>,
}

impl Work {
    fn new(image_len: usize) -> Work {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_owned();
        let image = prng(0x5a5_e4a, image_len);
        write_file(&dir.join("src/rom.bin"), &image, 0o644);
        write_file(&dir.join("src/payload/cfg.txt"), b"speed=fast\n", 0o644);
        write_file(&dir.join("src/payload/sub/note.txt"), b"below\n", 0o644);
        let work = Work {
            _tmp: tmp,
            dir,
            image,
        };
        work.run(&["keygen", "-o", "k", "--no-password"]).expect(0);
        work
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn run(&self, args: &[&str]) -> Run {
        fwkit(&self.dir, args)
    }

    /// `fwkit pack src -o OUT --format FORMAT --sign k.key`.
    fn pack(&self, format: &str, out: &str) -> &Work {
        self.run(&[
            "pack", "src", "-o", out, "--format", format, "--sign", "k.key",
        ])
        .expect(0);
        self
    }

    /// A flasher script `NAME` (sh, executable).
    fn script(&self, name: &str, body: &str) -> String {
        write_file(
            &self.path(name),
            format!("#!/bin/sh\n{body}").as_bytes(),
            0o755,
        );
        format!("./{name}")
    }

    /// `fwkit exec PKG ARGS… -- COMMAND…`.
    fn exec(&self, pkg: &str, args: &[&str], command: &[&str]) -> Run {
        let mut all = vec!["exec", pkg];
        all.extend_from_slice(args);
        all.push("--");
        all.extend_from_slice(command);
        self.run(&all)
    }

    /// A flasher that copies its first argument to `copy.bin`, leaves
    /// `ran` and exits with `$CODE` (a number written in its text).
    fn copier(&self, code: i32) -> String {
        self.script(
            &format!("copy{code}.sh"),
            &format!("touch ran\ncat \"$1\" > copy.bin\necho \"$@\" > args.txt\nexit {code}\n"),
        )
    }

    fn ran(&self) -> bool {
        self.path("ran").exists()
    }

    fn copy(&self) -> Vec<u8> {
        fs::read(self.path("copy.bin")).expect("the flasher's copy")
    }
}

/// A copy of `pkg` as `out` with the byte in the middle flipped.
fn flipped(dir: &Path, pkg: &str, out: &str) {
    let mut bytes = fs::read(dir.join(pkg)).expect("package");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(dir.join(out), bytes).expect("write the flipped copy");
}

#[test]
fn flashrom_writes_exactly_the_verified_image() {
    if !require_tool("flashrom") {
        return;
    }
    let w = Work::new(8 << 20);
    let erased = vec![0xffu8; 8 << 20];
    // A wrapper, so a run that never reaches flashrom is visible.
    let flasher = w.script("flashrom.sh", "touch ran\nexec flashrom \"$@\"\n");
    for (format, pkg) in [("scexe", "pkg.scexe"), ("tar.gz", "pkg.tar.gz")] {
        w.pack(format, pkg);
        let _ = fs::remove_file(w.path("ran"));
        fs::write(w.path("chip.bin"), &erased).expect("chip");
        let programmer = "dummy:emulate=MX25L6436,image=chip.bin";
        let command = [
            flasher.as_str(),
            "-p",
            programmer,
            "-c",
            CHIP,
            "-w",
            "{rom.bin}",
        ];
        w.exec(pkg, &["--key", "k.pub"], &command).expect(0);
        assert!(w.ran(), "{format}: flashrom did not run");
        assert!(
            fs::read(w.path("chip.bin")).unwrap() == w.image,
            "{format}: chip.bin is not the image"
        );

        // One flipped byte: flashrom never starts, the chip keeps its bytes.
        let bad = format!("bad-{pkg}");
        flipped(&w.dir, pkg, &bad);
        fs::write(w.path("chip.bin"), &erased).expect("chip");
        let _ = fs::remove_file(w.path("ran"));
        let run = w.exec(&bad, &["--key", "k.pub"], &command);
        run.expect(REFUSED);
        assert!(run.stderr.contains("FLASHER not run"), "{}", run.stderr);
        assert!(!w.ran(), "{format}: flashrom ran on a damaged package");
        assert!(
            fs::read(w.path("chip.bin")).unwrap() == erased,
            "{format}: chip.bin changed"
        );
    }
}

#[test]
fn every_container_hands_the_verified_member() {
    let w = Work::new(64 << 10);
    let mut packages = vec![
        ("scexe", "p.scexe"),
        ("zip", "p.zip"),
        ("tar.gz", "p.tar.gz"),
        ("set", "p-set"),
    ];
    for (format, pkg) in &packages {
        w.pack(format, pkg);
    }
    let makeself = makeself_archive(&w.path("src"), &w.path("p.run"), Makeself::default());
    if makeself.is_some() {
        packages.push(("makeself", "p.run"));
    }
    let copier = w.copier(0);
    for (format, pkg) in packages {
        let _ = fs::remove_file(w.path("copy.bin"));
        let mut args = vec!["--key", "k.pub"];
        let sha;
        if format == "makeself" {
            // Debian's makeself signs nothing: the caller's digest instead.
            sha = sha256_hex(&fs::read(w.path(pkg)).unwrap());
            args = vec!["--sha256", &sha];
        }
        let run = w.exec(
            pkg,
            &args,
            &[&copier, "{rom.bin}", "{payload/cfg.txt}", "{{x}}"],
        );
        run.expect(0);
        assert!(
            w.copy() == w.image,
            "{format}: the flasher read other bytes"
        );
        let argv = fs::read_to_string(w.path("args.txt")).unwrap();
        let parts: Vec<&str> = argv.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "{format}: {argv}");
        assert!(
            parts[0].starts_with("/dev/fd/") && parts[1].starts_with("/dev/fd/"),
            "{format}: {argv}"
        );
        assert_eq!(parts[2], "{x}", "{format}: braces are not escaped");
        assert!(
            run.stderr.contains("sealed memfd"),
            "{format}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_memfd_cannot_be_written_or_truncated() {
    let w = Work::new(64 << 10);
    w.pack("scexe", "p.scexe");
    let flasher = w.script(
        "hostile.sh",
        "if printf junk > \"$1\"; then echo wrote >> tries; fi\n\
         if printf junk >> \"$1\"; then echo appended >> tries; fi\n\
         if truncate -s 0 \"$1\"; then echo truncated >> tries; fi\n\
         if truncate -s 100M \"$1\"; then echo grew >> tries; fi\n\
         cat \"$1\" > copy.bin\n",
    );
    w.exec("p.scexe", &["--key", "k.pub"], &[&flasher, "{rom.bin}"])
        .expect(0);
    assert!(
        !w.path("tries").exists(),
        "a write went through: {:?}",
        fs::read_to_string(w.path("tries"))
    );
    assert!(w.copy() == w.image, "the sealed bytes changed");
}

#[test]
fn only_the_named_memfds_are_inherited() {
    let w = Work::new(4 << 10);
    w.pack("scexe", "p.scexe");
    let list = w.script(
        "fds.sh",
        "for f in /proc/$$/fd/*; do echo \"$(readlink \"$f\")\"; done > fds.txt\n",
    );
    w.exec(
        "p.scexe",
        &["--key", "k.pub"],
        &[&list, "{rom.bin}", "{payload/cfg.txt}"],
    )
    .expect(0);
    let fds = fs::read_to_string(w.path("fds.txt")).unwrap();
    let mut memfds: Vec<&str> = fds.lines().filter(|l| l.contains("memfd:")).collect();
    memfds.sort();
    assert_eq!(
        memfds,
        [
            "/memfd:fwkit:payload/cfg.txt (deleted)",
            "/memfd:fwkit:rom.bin (deleted)"
        ],
        "{fds}"
    );
    // Nothing fwkit opened for itself: the package, the key, the probe.
    for own in ["p.scexe", "k.pub", "probe"] {
        assert!(!fds.contains(own), "{own} was inherited:\n{fds}");
    }
}

#[test]
fn rewriting_the_package_on_disk_does_not_reach_the_flasher() {
    let w = Work::new(256 << 10);
    w.pack("scexe", "p.scexe");
    write_file(&w.path("other/rom.bin"), &prng(7, 256 << 10), 0o644);
    let other = w.run(&[
        "pack", "other", "-o", "o.scexe", "--format", "scexe", "--sign", "k.key",
    ]);
    other.expect(0);
    // The flasher announces itself, waits for `go`, then reads.
    let flasher = w.script(
        "slow.sh",
        "touch ready\nwhile [ ! -e go ]; do sleep 0.05; done\ncat \"$1\" > copy.bin\n",
    );
    let mut child = std::process::Command::new(crate::util::FWKIT)
        .args([
            "exec",
            "p.scexe",
            "--key",
            "k.pub",
            "-q",
            "--",
            &flasher,
            "{rom.bin}",
        ])
        .current_dir(&w.dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn fwkit");
    wait_for(&w.path("ready"));
    // Same inode, new bytes: what a later read of the file would see.
    fs::write(w.path("p.scexe"), fs::read(w.path("o.scexe")).unwrap()).unwrap();
    fs::write(w.path("go"), b"").unwrap();
    let status = child.wait().expect("wait for fwkit");
    assert_eq!(status.code(), Some(0));
    assert!(w.copy() == w.image, "the flasher read the rewritten file");
}

/// Wait (at most 60 s) until `path` exists.
fn wait_for(path: &Path) {
    for _ in 0..1200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn exit_statuses_tell_refused_from_ran_and_failed() {
    let w = Work::new(4 << 10);
    w.pack("tar.gz", "p.tar.gz");
    let ok = w.copier(0);
    let three = w.copier(3);
    w.exec("p.tar.gz", &["--key", "k.pub"], &[&ok, "{rom.bin}"])
        .expect(0);
    w.exec("p.tar.gz", &["--key", "k.pub"], &[&three, "{rom.bin}"])
        .expect(3);
    let refused = |args: &[&str], command: &[&str], says: &str| {
        let _ = fs::remove_file(w.path("ran"));
        let run = w.exec("p.tar.gz", args, command);
        run.expect(REFUSED);
        assert!(
            run.stderr.contains(says),
            "expected {says:?} in\n{}",
            run.stderr
        );
        assert!(!w.ran(), "the flasher ran: {:?}", run.args);
    };
    let wrong = "0".repeat(64);
    refused(&["--sha256", &wrong], &[&ok, "{rom.bin}"], "not verified");
    refused(
        &["--key", "k.pub"],
        &[&ok, "{nothing.bin}"],
        "nothing.bin is not a member",
    );
    refused(
        &["--key", "k.pub"],
        &[&ok, "{payload}"],
        "payload is a directory",
    );
    refused(&["--key", "k.pub"], &[&ok, "{rom.bin"], "not closed");
    refused(&["--key", "k.pub"], &[&ok, "{}"], "only --as-files");
    refused(
        &["--key", "k.pub", "--no-such-flag"],
        &[&ok],
        "--no-such-flag",
    );
    // --no-verify runs past a failed digest, never past --require-signature.
    w.exec(
        "p.tar.gz",
        &["--sha256", &wrong, "--no-verify"],
        &[&ok, "{rom.bin}"],
    )
    .expect(0);
    refused(
        &["--sha256", &wrong, "--no-verify", "--require-signature"],
        &[&ok, "{rom.bin}"],
        "never skips --require-signature",
    );
    w.exec("p.tar.gz", &[], &["./no-such-flasher"]).expect(127);
    write_file(&w.path("not-exec.sh"), b"#!/bin/sh\n", 0o644);
    w.exec("p.tar.gz", &[], &["./not-exec.sh"]).expect(126);
    let killed = w.script("die.sh", "kill -KILL $$\n");
    w.exec("p.tar.gz", &[], &[&killed]).expect(128 + 9);
}

#[test]
fn json_and_dry_run_say_what_each_descriptor_holds() {
    let w = Work::new(4 << 10);
    w.pack("zip", "p.zip");
    let copier = w.copier(3);
    let sha = sha256_hex(&w.image);
    let run = w.exec(
        "p.zip",
        &["--key", "k.pub", "--dry-run", "--json"],
        &[&copier, "--in={rom.bin}"],
    );
    run.expect(0);
    assert!(!w.ran(), "--dry-run ran the flasher");
    let doc = run.json();
    let handed = one_handed(&doc);
    assert_eq!(handed["sha256"], sha);
    assert_eq!(handed["size"], 4 << 10);
    let fd = handed["handed_as"].as_str().unwrap();
    assert!(fd.starts_with("/dev/fd/"), "{doc}");
    assert_eq!(doc["command_line"][1], format!("--in={fd}"));
    assert!(doc["flasher"].is_null());
    // Text: the command line and the descriptor's content.
    let text = w.exec(
        "p.zip",
        &["--key", "k.pub", "--dry-run"],
        &[&copier, "--in={rom.bin}"],
    );
    text.expect(0);
    assert!(
        text.stdout.contains("would run: ./copy3.sh --in=/dev/fd/"),
        "{}",
        text.stdout
    );
    assert!(text.stderr.contains(&sha), "{}", text.stderr);

    let run = w.exec(
        "p.zip",
        &["--key", "k.pub", "--json"],
        &[&copier, "{rom.bin}"],
    );
    run.expect(3);
    let doc = run.json();
    assert_eq!(doc["verified"], true);
    assert_eq!(doc["flasher"]["exit_code"], 3);
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(one_handed(&doc)["sha256"], sha);
    assert!(w.copy() == w.image);
}

fn one_handed(doc: &Value) -> &Value {
    let handed = doc["handed"].as_array().expect("handed");
    assert_eq!(handed.len(), 1, "{doc}");
    &handed[0]
}

#[test]
fn vendor_layouts_and_cabinets_hand_their_members_too() {
    if !["tar", "gzip", "gcab"].iter().all(|t| require_tool(t)) {
        return;
    }
    let w = Work::new(64 << 10);
    let src = w.path("src");
    crate::util::tool(
        &w.dir,
        "tar",
        &[
            os("-czf"),
            os("p.tgz"),
            os("-C"),
            src.as_os_str(),
            os("rom.bin"),
            os("payload"),
        ],
    );
    let tgz = fs::read(w.path("p.tgz")).unwrap();
    fs::write(w.path("hp.scexe"), crate::util::scexe(&tgz)).unwrap();
    fs::write(
        w.path("dell.BIN"),
        crate::util::dell_bin("<SoftwareComponent/>", &tgz),
    )
    .unwrap();
    crate::util::tool(
        &src,
        "gcab",
        &[
            os("-c"),
            os("-n"),
            w.path("p.cab").as_os_str(),
            os("rom.bin"),
        ],
    );
    let copier = w.copier(0);
    for pkg in ["hp.scexe", "dell.BIN", "p.cab"] {
        let _ = fs::remove_file(w.path("copy.bin"));
        // No signature in these: the caller's whole-file SHA-256.
        let sha = sha256_hex(&fs::read(w.path(pkg)).unwrap());
        let run = w.exec(pkg, &["--sha256", &sha], &[&copier, "{rom.bin}"]);
        run.expect(0);
        assert!(w.copy() == w.image, "{pkg}: the flasher read other bytes");
        if pkg != "p.cab" {
            let run = w.exec(pkg, &["--sha256", &sha], &[&copier, "{payload}"]);
            run.expect(REFUSED);
            assert!(
                run.stderr.contains("payload is a directory"),
                "{pkg}: {}",
                run.stderr
            );
        }
    }
}
