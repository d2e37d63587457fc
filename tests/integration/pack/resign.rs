//! `fwkit resign`: a new signature without repacking the payload, never for
//! a package that does not verify or that fwkit did not build.

use super::{check_on, have, ok_tool, snapshot, Work};
use crate::util::{makeself_archive, Makeself};
use std::fs;
use std::io::{BufReader, Cursor, Read, Seek};

/// Where the first gzip member of `data` ends: decode exactly that member
/// and take the reader's position.
fn first_gzip_member_end(data: &[u8]) -> usize {
    let mut reader = BufReader::new(Cursor::new(data));
    let mut head = Vec::new();
    flate2::bufread::GzDecoder::new(&mut reader)
        .read_to_end(&mut head)
        .expect("first gzip member");
    let text = String::from_utf8_lossy(&head);
    assert!(
        text.contains("FWKIT-MANIFEST") && !text.contains("sub/big.bin\0"),
        "the first member holds the metadata only"
    );
    usize::try_from(reader.stream_position().expect("position")).unwrap()
}

#[test]
fn resign_replaces_the_signature_and_keeps_the_payload() {
    let work = Work::new();
    work.keygen("k2");
    for format in [
        "tar.gz", "tar.xz", "tar.zst", "zip", "set", "scexe", "makeself", "fwpkg",
    ] {
        let out = format!("out.{format}");
        let sfx = matches!(format, "scexe" | "makeself");
        let mut args = vec!["--sign", "k.key"];
        if sfx {
            args.extend(["--run", "./flash.sh"]);
        }
        work.pack(format, &out, &args);
        let original = snapshot(&work.path(&out));
        let before = fs::read(work.path(&out)).ok();

        work.fwkit(&["resign", &out, "--key", "k2.key"]).expect(0);
        let (run, doc) = work.verify(&out, &["--key", "k2.pub"]);
        run.expect(0);
        check_on(&doc, "member FWKIT-MANIFEST", "passed");
        work.verify(&out, &["--key", "k.pub"]).0.expect(1);
        assert_ne!(
            snapshot(&work.path(&out)),
            original,
            "{format}: nothing changed"
        );

        if format == "tar.gz" {
            // Only the first gzip member (the metadata) was rebuilt.
            let before = before.clone().unwrap();
            let after = fs::read(work.path(&out)).unwrap();
            let (b, a) = (
                first_gzip_member_end(&before),
                first_gzip_member_end(&after),
            );
            assert!(
                before.len() - b > 300 << 10,
                "the payload follows the metadata"
            );
            assert!(before[b..] == after[a..], "payload bytes changed by resign");
            assert_ne!(before[..b], after[..a]);
        }
        if sfx && have(&["dash", "sha256sum", "cksum"]) {
            // The new stub matches the new payload, and the file stays executable.
            ok_tool(&work.dir, "dash", &[&out, "--check"]);
            let program = work.path(&out).to_string_lossy().into_owned();
            ok_tool(&work.dir, &program, &["--check"]);
        }
        // Signing again with the first key gives back the very same package.
        work.fwkit(&["resign", &out, "--key", "k.key"]).expect(0);
        assert!(
            snapshot(&work.path(&out)) == original,
            "{format}: resigning with the first key did not restore the bytes"
        );
    }
}

#[test]
fn resign_refuses_a_tampered_package() {
    let work = Work::new();
    work.keygen("k2");
    work.pack("set", "set", &["--sign", "k.key"]);
    let big = work.path("set/sub/big.bin");
    let mut data = fs::read(&big).unwrap();
    data[12_345] ^= 0x80;
    fs::write(&big, data).unwrap();
    let before = snapshot(&work.path("set"));

    let run = work.fwkit(&["resign", "set", "--key", "k2.key"]);
    assert_ne!(run.code, 0, "a tampered set was re-signed: {run:?}");
    assert!(run.stderr.contains("sub/big.bin"), "{}", run.stderr);
    assert!(snapshot(&work.path("set")) == before, "the set changed");
    work.verify("set", &["--key", "k.pub"]).0.expect(1);
}

#[test]
fn resign_refuses_a_debian_makeself_archive() {
    let work = Work::new();
    let how = Makeself {
        label: "not ours",
        startup: "./flash.sh",
        ..Makeself::default()
    };
    if makeself_archive(&work.path("src"), &work.path("debian.run"), how).is_none() {
        return;
    }
    let before = fs::read(work.path("debian.run")).unwrap();
    let run = work.fwkit(&["resign", "debian.run", "--key", "k.key"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("FWKIT-MANIFEST"), "{}", run.stderr);
    assert_eq!(fs::read(work.path("debian.run")).unwrap(), before);
    assert!(!work.path("debian.run.minisig").exists());
}

#[test]
fn resign_signs_an_unsigned_package() {
    let work = Work::new();
    for format in [
        "tar.gz", "tar.xz", "tar.zst", "zip", "scexe", "makeself", "fwpkg",
    ] {
        let out = format!("unsigned.{format}");
        work.pack(format, &out, &[]);
        work.verify(&out, &["--key", "k.pub"]).0.expect(1);
        work.fwkit(&["resign", &out, "--key", "k.key"]).expect(0);
        let (run, doc) = work.verify(&out, &["--key", "k.pub"]);
        run.expect(0);
        check_on(&doc, "member FWKIT-MANIFEST", "passed");
    }
}

#[test]
fn resign_signs_an_unsigned_set() {
    let work = Work::new();
    work.pack("set", "set", &[]);
    work.fwkit(&["resign", "set", "--key", "k.key"]).expect(0);
    let (run, doc) = work.verify("set", &["--key", "k.pub"]);
    run.expect(0);
    check_on(&doc, "member FWKIT-MANIFEST", "passed");
}

#[test]
fn resign_never_breaks_a_tarball_it_did_not_lay_out() {
    if !have(&["tar", "gzip"]) {
        return;
    }
    let work = Work::new();
    work.keygen("k2");
    work.pack("tar.gz", "out.tar.gz", &["--sign", "k.key"]);
    fs::create_dir(work.path("t")).unwrap();
    ok_tool(&work.dir, "tar", &["-xzf", "out.tar.gz", "-C", "t"]);
    let mut args = vec!["-czf", "one.tar.gz", "-C", "t"];
    args.extend(super::METADATA);
    args.extend(["flash.sh", "readme.txt", "sub"]);
    ok_tool(&work.dir, "tar", &args);
    work.verify("one.tar.gz", &["--key", "k.pub"]).0.expect(0);
    let before = fs::read(work.path("one.tar.gz")).unwrap();

    // Either refuse and leave the file alone, or produce a package that verifies.
    let run = work.fwkit(&["resign", "one.tar.gz", "--key", "k2.key"]);
    if run.code == 0 {
        let (run, doc) = work.verify("one.tar.gz", &["--key", "k2.pub"]);
        assert_eq!(
            run.code, 0,
            "resign broke the package:\n{:#}",
            doc["checks"]
        );
    } else {
        assert_eq!(fs::read(work.path("one.tar.gz")).unwrap(), before);
    }
}
