//! `fwkit exec --inventory` (issues 12 and 13): FLASHER never runs for a
//! package the plan rejects; and a bare image with a detached signature
//! (`fwkit sign`), handed whole as the member named by its file name.

use super::{flipped, Work, CHIP, REFUSED};
use crate::util::require_tool;
use std::fs;

const GUID: &str = "2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59";

/// An inventory `inv.json`: the device `guid` at `version`.
fn inventory(w: &Work, guid: &str, version: &str) {
    let text = format!(
        r#"{{"devices": [{{"name": "MP", "guids": ["{guid}"], "version": "{version}"}}]}}"#
    );
    fs::write(w.path("inv.json"), text).unwrap();
}

#[test]
fn exec_with_an_inventory_refuses_what_the_plan_rejects() {
    let w = Work::new(64 << 10);
    #[rustfmt::skip]
    w.run(&["pack", "src", "-o", "mp.scexe", "--format", "scexe", "--name", "MP",
        "--version", "1.2.26", "--sign", "k.key", "--provides", GUID, "--requires", "ge 1.2.10"])
        .expect(0);
    let copier = w.copier(0);
    let exec = |args: &[&str]| {
        let _ = fs::remove_file(w.path("ran"));
        let mut all = vec!["--key", "k.pub", "--inventory", "inv.json"];
        all.extend_from_slice(args);
        w.exec("mp.scexe", &all, &[&copier, "{rom.bin}"])
    };

    // The device runs 1.2.10: the plan takes the package, FLASHER runs.
    inventory(&w, GUID, "1.2.10");
    exec(&[]).expect(0);
    assert!(w.ran() && w.copy() == w.image);
    let doc = exec(&["--json"]).expect(0).json();
    assert_eq!(doc["plan"]["outcome"], "plan-found");
    assert_eq!(doc["plan"]["devices"][0]["steps"][0]["to"], "1.2.26");

    // It runs 1.2.00: the package requires >= 1.2.10 first. Refused.
    inventory(&w, GUID, "1.2.00");
    let run = exec(&[]);
    run.expect(REFUSED);
    assert!(!w.ran(), "FLASHER ran on a rejected package");
    assert!(
        run.stderr
            .contains("the plan for this inventory rejects the package (no-path)"),
        "{}",
        run.stderr
    );
    let doc = exec(&["--json"]).expect(REFUSED).json();
    assert!(!w.ran());
    assert_eq!(doc["plan"]["applicable"], false);
    assert!(doc["refused"].as_str().unwrap().contains("no-path"));

    // Already at 1.2.26: a reinstall, only with --allow-reinstall.
    inventory(&w, GUID, "1.2.26");
    exec(&[]).expect(REFUSED);
    assert!(!w.ran());
    exec(&["--allow-reinstall"]).expect(0);
    assert!(w.ran());

    // Another device: not applicable, naming the GUID.
    inventory(&w, "00000000-0000-4000-8000-000000000001", "1.0");
    let run = exec(&[]);
    run.expect(REFUSED);
    assert!(!w.ran());
    assert!(run.stderr.contains("not-applicable") && run.stderr.contains(GUID));

    // A policy the package violates.
    inventory(&w, GUID, "1.2.10");
    fs::write(w.path("policy.toml"), "allowed-formats = [\"cab\"]\n").unwrap();
    let run = exec(&["--policy", "policy.toml"]);
    run.expect(REFUSED);
    assert!(!w.ran());
    assert!(run.stderr.contains("policy"), "{}", run.stderr);

    // A damaged package is refused before any plan.
    flipped(&w.dir, "mp.scexe", "bad.scexe");
    let run = w.exec(
        "bad.scexe",
        &["--key", "k.pub", "--inventory", "inv.json"],
        &[&copier, "{rom.bin}"],
    );
    run.expect(REFUSED);
    assert!(!w.ran());

    // An unreadable inventory is a usage error: refused, named.
    fs::write(w.path("inv.json"), "{\"devices\": [}").unwrap();
    let run = exec(&[]);
    run.expect(REFUSED);
    assert!(!w.ran());
    assert!(run.stderr.contains("inv.json"), "{}", run.stderr);
}

#[test]
fn raw_image_with_a_detached_signature_is_handed_whole() {
    let w = Work::new(8 << 20);
    fs::create_dir_all(w.path("images")).unwrap();
    fs::write(w.path("images/img.bin"), &w.image).unwrap();
    w.run(&["sign", "images/img.bin", "--key", "k.key"])
        .expect(0);
    let copier = w.copier(0);
    let _ = fs::remove_file(w.path("ran"));
    // The member is the file's own name, wherever the file is.
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub"],
        &[&copier, "{img.bin}"],
    );
    run.expect(0);
    assert!(
        w.ran() && w.copy() == w.image,
        "the flasher read other bytes"
    );
    assert!(run.stderr.contains("sealed memfd"), "{}", run.stderr);
    let argv = fs::read_to_string(w.path("args.txt")).unwrap();
    assert!(argv.starts_with("/dev/fd/"), "{argv}");

    // Another name is a usage error before anything runs.
    let _ = fs::remove_file(w.path("ran"));
    let run = w.exec(
        "images/img.bin",
        &["--key", "k.pub"],
        &[&copier, "{rom.bin}"],
    );
    run.expect(REFUSED);
    assert!(!w.ran());
    assert!(run.stderr.contains("not a member"), "{}", run.stderr);

    // One flipped byte: refused, the flasher never starts.
    flipped(&w.dir, "images/img.bin", "bad.bin");
    fs::copy(w.path("images/img.bin.minisig"), w.path("bad.bin.minisig")).unwrap();
    let run = w.exec("bad.bin", &["--key", "k.pub"], &[&copier, "{bad.bin}"]);
    run.expect(REFUSED);
    assert!(!w.ran(), "the flasher ran on a damaged image");
    assert!(run.stderr.contains("not verified"), "{}", run.stderr);

    // flashrom writes exactly the verified image into the emulated chip.
    if !require_tool("flashrom") {
        return;
    }
    fs::write(w.path("chip.bin"), vec![0xffu8; 8 << 20]).unwrap();
    let programmer = "dummy:emulate=MX25L6436,image=chip.bin";
    let command = ["flashrom", "-p", programmer, "-c", CHIP, "-w", "{img.bin}"];
    w.exec("images/img.bin", &["--key", "k.pub"], &command)
        .expect(0);
    assert!(fs::read(w.path("chip.bin")).unwrap() == w.image);
}

/// `src/inner.zip` (Info-ZIP: `fw.bin`, and `deep.zip` holding `fw.bin`
/// again) in the tree `fwkit pack` packs; returns the firmware's bytes.
/// With `damage`, one byte of the stored `fw.bin` data in `inner.zip` is
/// flipped (its CRC-32 no longer matches).
fn zip_in_tree(w: &Work, damage: bool) -> Vec<u8> {
    let fw = crate::util::prng(0x11e5, 40_000);
    let z = w.path("z");
    fs::create_dir_all(&z).unwrap();
    fs::write(z.join("fw.bin"), &fw).unwrap();
    let zip = |args: &[&str]| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| crate::util::os(a)).collect();
        crate::util::tool(&z, "zip", &args);
    };
    let _ = fs::remove_file(z.join("deep.zip"));
    let _ = fs::remove_file(w.path("src/inner.zip"));
    zip(&["-q", "-0", "deep.zip", "fw.bin"]);
    zip(&["-q", "-0", "../src/inner.zip", "fw.bin", "deep.zip"]);
    if damage {
        let path = w.path("src/inner.zip");
        let mut bytes = fs::read(&path).unwrap();
        bytes[30 + "fw.bin".len() + 1000] ^= 0x01;
        fs::write(&path, bytes).unwrap();
    }
    fw
}

#[test]
fn members_of_packages_inside_members_are_named_by_path() {
    if !require_tool("zip") {
        return;
    }
    let w = Work::new(4 << 10);
    let fw = zip_in_tree(&w, false);
    w.pack("scexe", "p.scexe");
    let list = w.script(
        "nested.sh",
        "for f in /proc/$$/fd/*; do echo \"$(readlink \"$f\")\"; done > fds.txt\n\
         cat \"$1\" > copy.bin\ncat \"$2\" > deep.bin\necho \"$1\" > args.txt\n",
    );
    let command = [
        list.as_str(),
        "{inner.zip/fw.bin}",
        "{inner.zip/deep.zip/fw.bin}",
    ];
    let run = w.exec("p.scexe", &["--key", "k.pub"], &command);
    run.expect(0);
    assert!(w.copy() == fw, "inner.zip/fw.bin is not the zip's fw.bin");
    assert!(
        fs::read(w.path("deep.bin")).unwrap() == fw,
        "two levels down"
    );
    assert!(
        run.stderr.contains("nested package in member inner.zip"),
        "{}",
        run.stderr
    );
    // Only the named members are inherited, not the zips that carried them.
    let fds = fs::read_to_string(w.path("fds.txt")).unwrap();
    let memfds: Vec<&str> = fds.lines().filter(|l| l.contains("memfd:")).collect();
    assert_eq!(memfds.len(), 2, "{fds}");
    assert!(!fds.contains("inner.zip (deleted)"), "{fds}");

    // As files: read-only, and gone afterwards.
    let run = w.exec(
        "p.scexe",
        &["--key", "k.pub", "--as-files"],
        &[&w.copier(0), "{inner.zip/fw.bin}"],
    );
    run.expect(0);
    assert!(w.copy() == fw);
    let handed = fs::read_to_string(w.path("args.txt")).unwrap();
    let handed = handed.trim();
    assert!(handed.ends_with("fw.bin"), "{handed}");
    assert!(
        !std::path::Path::new(handed).exists(),
        "{handed} left behind"
    );

    // A name inside the zip that is not there: usage error, nothing runs.
    let _ = fs::remove_file(w.path("ran"));
    let run = w.exec(
        "p.scexe",
        &["--key", "k.pub"],
        &[&w.copier(0), "{inner.zip/nope.bin}"],
    );
    run.expect(REFUSED);
    assert!(!w.ran());
    assert!(run.stderr.contains("inner.zip/nope.bin"), "{}", run.stderr);

    // The outer package verifies, the zip inside it does not (CRC-32):
    // refused, FLASHER never runs.
    zip_in_tree(&w, true);
    w.pack("scexe", "bad.scexe");
    let run = w.exec(
        "bad.scexe",
        &["--key", "k.pub"],
        &[&w.copier(0), "{inner.zip/fw.bin}"],
    );
    run.expect(REFUSED);
    assert!(!w.ran(), "the flasher ran on a damaged inner package");
    assert!(run.stderr.contains("nested packages"), "{}", run.stderr);
}
