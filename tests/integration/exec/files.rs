//! `fwkit exec --as-files`: read-only files in a private directory, hashed
//! again after the flasher and removed in every case; members over
//! `--max-memory` handed the same way; SIGTERM/SIGINT passed on.

use super::{wait_for, Work};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A flasher that writes what it sees of `$1` (the file) and `$2` (the
/// directory) to `seen.txt`, and a copy of the file to `copy.bin`.
const LOOK: &str = "stat -c '%a' \"$1\" \"$2\" > seen.txt\necho \"$1\" \"$2\" >> seen.txt\n\
                    cat \"$1\" > copy.bin\n";

#[test]
fn as_files_hands_read_only_files_in_a_private_directory() {
    let w = Work::new(64 << 10);
    w.pack("scexe", "p.scexe");
    let flasher = w.script("look.sh", LOOK);
    for member in ["rom.bin", "payload/cfg.txt"] {
        let token = format!("{{{member}}}");
        let run = w.exec(
            "p.scexe",
            &["--key", "k.pub", "--as-files"],
            &[&flasher, &token, "{}"],
        );
        run.expect(0);
        let seen = fs::read_to_string(w.path("seen.txt")).unwrap();
        let lines: Vec<&str> = seen.lines().collect();
        assert_eq!(lines[0], "400", "file mode: {seen}");
        assert_eq!(lines[1], "700", "directory mode: {seen}");
        let (file, dir) = lines[2].split_once(' ').unwrap();
        assert_eq!(Path::new(file), Path::new(dir).join(member), "{seen}");
        assert!(!Path::new(dir).exists(), "{dir} is left behind");
        let expected = fs::read(w.path("src").join(member)).unwrap();
        assert!(w.copy() == expected, "{member}: other bytes handed");
        assert!(run.stderr.contains("read-only file"), "{}", run.stderr);
    }
}

#[test]
fn a_flasher_that_edits_its_file_is_reported() {
    let w = Work::new(16 << 10);
    w.pack("tar.gz", "p.tar.gz");
    let edit = "echo \"$2\" > dir.txt\nchmod 0700 \"$2\" \"$1\"\nprintf x >> \"$1\"\n";
    let flasher = w.script("edit.sh", &format!("{edit}exit 0\n"));
    let run = w.exec(
        "p.tar.gz",
        &["--key", "k.pub", "--as-files", "--json"],
        &[&flasher, "{rom.bin}", "{}"],
    );
    run.expect(124);
    assert!(run.stderr.contains("changed while"), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["changed"][0]["member"], "rom.bin", "{doc}");
    assert_eq!(doc["flasher"]["exit_code"], 0);
    assert_gone(&w, "dir.txt");
    // A flasher that failed keeps its own status; the change is still said.
    let failing = w.script("edit3.sh", &format!("{edit}exit 3\n"));
    let run = w.exec(
        "p.tar.gz",
        &["--key", "k.pub", "--as-files"],
        &[&failing, "{rom.bin}", "{}"],
    );
    run.expect(3);
    assert!(run.stderr.contains("changed while"), "{}", run.stderr);
    assert_gone(&w, "dir.txt");
}

/// The directory the flasher wrote into `file` no longer exists.
pub(super) fn assert_gone(w: &Work, file: &str) {
    let dir = fs::read_to_string(w.path(file)).expect("the flasher wrote its directory");
    let dir = dir.trim();
    assert!(dir.contains("fwkit-exec-"), "{dir}");
    assert!(!Path::new(dir).exists(), "{dir} is left behind");
}

#[test]
fn the_directory_goes_when_the_flasher_is_killed() {
    let w = Work::new(4 << 10);
    w.pack("zip", "p.zip");
    let flasher = w.script("die.sh", "echo \"$1\" > dir.txt\nkill -KILL $$\n");
    w.exec(
        "p.zip",
        &["--key", "k.pub", "--as-files"],
        &[&flasher, "{}"],
    )
    .expect(128 + 9);
    assert_gone(&w, "dir.txt");
}

#[test]
fn sigterm_and_sigint_are_passed_on_and_waited_for() {
    if !crate::util::require_tool("kill") {
        return;
    }
    let w = Work::new(4 << 10);
    w.pack("zip", "p.zip");
    let flasher = w.script(
        "sleep.sh",
        "echo \"$1\" > dir.txt\ntouch ready\nexec sleep 60\n",
    );
    for (signal, number, extra) in [
        ("TERM", 15, "--as-files"),
        ("INT", 2, "--as-files"),
        ("TERM", 15, "-q"),
    ] {
        let _ = fs::remove_file(w.path("ready"));
        let token = if extra == "--as-files" {
            "{}"
        } else {
            "{rom.bin}"
        };
        let start = Instant::now();
        let mut child = Command::new(crate::util::FWKIT)
            .args([
                "exec", "p.zip", "--key", "k.pub", extra, "--", &flasher, token,
            ])
            .current_dir(&w.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn fwkit");
        wait_for(&w.path("ready"));
        let pid = child.id().to_string();
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), pid.as_str()])
            .status();
        assert!(kill.expect("kill").success());
        let status = child.wait().expect("wait for fwkit");
        assert_eq!(
            status.code(),
            Some(128 + number),
            "SIG{signal}: fwkit did not answer with the flasher's death"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "fwkit waited out the sleep"
        );
        if extra == "--as-files" {
            assert_gone(&w, "dir.txt");
        }
    }
}

#[test]
fn members_over_the_memory_cap_are_handed_as_files() {
    let w = Work::new(64 << 10);
    w.pack("tar.gz", "p.tar.gz");
    let flasher = w.script("copy2.sh", "cat \"$1\" > copy.bin\ncat \"$2\" > cfg.bin\n");
    let run = w.exec(
        "p.tar.gz",
        &["--key", "k.pub", "--max-memory", "1K", "--json"],
        &[&flasher, "{rom.bin}", "{payload/cfg.txt}"],
    );
    run.expect(0);
    let doc = run.json();
    let handed = doc["handed"].as_array().unwrap();
    let kind = |name: &str| {
        handed
            .iter()
            .find(|h| h["member"] == name)
            .map(|h| {
                (
                    h["kind"].as_str().unwrap().to_owned(),
                    h["handed_as"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap()
    };
    let (rom_kind, rom_path) = kind("rom.bin");
    assert_eq!(rom_kind, "read-only file", "{doc}");
    assert_eq!(kind("payload/cfg.txt").0, "sealed memfd", "{doc}");
    assert!(
        doc["notes"][0].as_str().unwrap().contains("memory cap"),
        "{doc}"
    );
    assert!(w.copy() == w.image);
    assert_eq!(fs::read(w.path("cfg.bin")).unwrap(), b"speed=fast\n");
    assert!(!Path::new(&rom_path).exists(), "{rom_path} is left behind");
}
