//! Round trips through every format, the key policy of `verify`,
//! reproducible output, and never overwriting anything.

use super::{assert_tree_is_source_plus, check_on, checks, snapshot, Work, FORMATS, METADATA};
use crate::util::{assert_check, assert_not_unpacked, listing};
use std::fs;

#[test]
fn every_format_round_trips_signed() {
    let work = Work::new();
    for format in FORMATS {
        let out = format!("out.{format}");
        work.pack(format, &out, &["--sign", "k.key"]);

        let (run, doc) = work.verify(&out, &["--key", "k.pub"]);
        run.expect(0);
        assert_eq!(doc["verdict"]["status"], "verified", "{format}");
        let signed = check_on(&doc, "member FWKIT-MANIFEST", "passed");
        assert_eq!(signed["kind"], "signature", "{format}");
        assert!(
            signed["detail"]
                .as_str()
                .is_some_and(|d| d.contains("package:n 1.2")),
            "{format}: trusted comment names the package: {signed}"
        );

        let dest = format!("unpacked.{format}");
        work.fwkit(&["unpack", &out, "-o", &dest, "--key", "k.pub", "-q"])
            .expect(0);
        let mut extra = METADATA.to_vec();
        if format == "fwpkg" {
            extra.push("payload.json");
        }
        assert_tree_is_source_plus(&work.path(&dest), &work, &extra);
    }
    // The generated payload.json names the device, target and every image.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(work.path("unpacked.fwpkg/payload.json")).unwrap())
            .unwrap();
    let device = &json["Devices"]["Device"][0];
    assert_eq!(device["DeviceName"], "Test NIC");
    assert_eq!(device["Target"], "4764a662-b342-4fc7-9ce9-258c5d99e815");
    assert_eq!(device["Version"], "1.2");
    let images: Vec<&str> = device["FirmwareImages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["FileName"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        [
            "flash.sh",
            "readme.txt",
            "sub/big.bin",
            "sub/deeper/note.txt"
        ]
    );
}

#[test]
fn key_policy_of_verify() {
    let work = Work::new();
    work.keygen("other");
    fs::create_dir(work.path("ring")).unwrap();
    fs::copy(work.path("k.pub"), work.path("ring/k.pub")).unwrap();
    fs::copy(work.path("other.pub"), work.path("ring/other.pub")).unwrap();
    fs::create_dir(work.path("wrong-ring")).unwrap();
    fs::copy(work.path("other.pub"), work.path("wrong-ring/other.pub")).unwrap();

    for format in ["tar.gz", "zip", "set", "scexe"] {
        let signed = format!("signed.{format}");
        let unsigned = format!("unsigned.{format}");
        work.pack(format, &signed, &["--sign", "k.key"]);
        work.pack(format, &unsigned, &[]);

        // Another key: the signature is by nobody we trust. It is reported (a
        // countersignature by someone else is no failure in itself) and the
        // package fails because no given key covers it.
        let (run, doc) = work.verify(&signed, &["--key", "other.pub"]);
        run.expect(1);
        check_on(&doc, "package", "failed");
        let wrong = check_on(&doc, "member FWKIT-MANIFEST", "info");
        assert!(
            wrong["detail"]
                .as_str()
                .is_some_and(|d| d.contains("matches none")),
            "{format}: {wrong}"
        );
        // Either of two keys will do.
        let (run, _) = work.verify(&signed, &["--key", "other.pub", "--key", "k.pub"]);
        run.expect(0);

        // No key: present, not checked, and that alone does not fail.
        let (run, doc) = work.verify(&signed, &[]);
        run.expect(0);
        assert_eq!(
            check_on(&doc, "member FWKIT-MANIFEST", "info")["kind"],
            "signature"
        );
        assert!(checks(&doc, "signature", "passed").is_empty(), "{format}");

        // --require-signature needs a key to check it with.
        work.verify(&signed, &["--require-signature"]).0.expect(1);
        work.verify(&signed, &["--require-signature", "--key", "k.pub"])
            .0
            .expect(0);

        // A key was given, so an unsigned package is not verified.
        let (run, doc) = work.verify(&unsigned, &["--key", "k.pub"]);
        run.expect(1);
        assert_check(&doc, "signature", None, "failed");
        work.verify(&unsigned, &[]).0.expect(0);
        work.verify(&unsigned, &["--require-signature"]).0.expect(1);

        // A keyring is a directory of trusted keys.
        let (run, doc) = work.verify(&signed, &["--keyring", "ring"]);
        run.expect(0);
        check_on(&doc, "member FWKIT-MANIFEST", "passed");
        work.verify(&signed, &["--keyring", "wrong-ring"])
            .0
            .expect(1);

        // unpack applies the same policy and leaves nothing behind.
        let dest = format!("refused.{format}");
        work.fwkit(&["unpack", &signed, "-o", &dest, "--key", "other.pub", "-q"])
            .expect(1);
        assert_not_unpacked(&work.path(&dest));
    }
}

#[test]
fn packing_twice_gives_the_same_bytes() {
    let work = Work::new();
    for epoch in [None, Some("1700000000")] {
        let env = [("SOURCE_DATE_EPOCH", epoch)];
        let tag = epoch.unwrap_or("unset");
        for format in FORMATS {
            let outs = [1, 2].map(|n| format!("{tag}-{n}.{format}"));
            for out in &outs {
                work.pack_env(&env, format, out, &["--sign", "k.key"])
                    .expect(0);
            }
            let [a, b] = outs.map(|o| snapshot(&work.path(&o)));
            assert!(
                a == b,
                "{format} with SOURCE_DATE_EPOCH {tag}: two packs differ"
            );
        }
    }
    // The time is in the manifest (and every timestamp), so it changes the bytes.
    let created = |out: &str| {
        let dir = format!("{out}.unpacked");
        work.fwkit(&["unpack", out, "-o", &dir, "-q"]).expect(0);
        let manifest = fs::read_to_string(work.path(&dir).join("FWKIT-MANIFEST")).unwrap();
        manifest
            .lines()
            .find_map(|l| l.strip_prefix("created ").map(str::to_owned))
            .unwrap()
    };
    assert_eq!(created("unset-1.tar.gz"), "0");
    assert_eq!(created("1700000000-1.tar.gz"), "1700000000");
    assert_ne!(
        fs::read(work.path("unset-1.tar.gz")).unwrap(),
        fs::read(work.path("1700000000-1.tar.gz")).unwrap()
    );
}

#[test]
fn pack_never_overwrites() {
    let work = Work::new();
    for format in FORMATS {
        // An existing file, for every format (a set's OUT is a directory).
        let out = format!("taken.{format}");
        fs::write(work.path(&out), b"keep me\n").unwrap();
        let before = listing(&work.dir);
        let run = work.pack_env(&[], format, &out, &["--sign", "k.key"]);
        run.expect(2);
        assert!(run.stderr.contains("exists"), "{format}: {}", run.stderr);
        assert_eq!(fs::read(work.path(&out)).unwrap(), b"keep me\n", "{format}");
        assert_eq!(listing(&work.dir), before, "{format}: files appeared");
    }
    // An existing directory, even an empty one, is not filled in.
    fs::create_dir_all(work.path("taken-dir/empty")).unwrap();
    let before = listing(&work.dir);
    for format in ["set", "zip"] {
        work.pack_env(&[], format, "taken-dir", &[]).expect(2);
        work.pack_env(&[], format, "taken-dir/empty", &[]).expect(2);
    }
    assert_eq!(listing(&work.dir), before);
}

#[test]
fn keygen_and_sign_never_overwrite() {
    let work = Work::new();
    let pair =
        |name: &str| [".pub", ".key"].map(|ext| fs::read(work.path(&format!("{name}{ext}"))).ok());
    let before = pair("k");
    let run = work.fwkit(&["keygen", "-o", "k", "--no-password"]);
    assert_ne!(run.code, 0, "keygen over an existing pair: {run:?}");
    assert_eq!(pair("k"), before);

    // Half a pair is enough to refuse, and the other half is not written.
    fs::write(work.path("half.pub"), b"not a key\n").unwrap();
    fs::write(work.path("other-half.key"), b"not a key either\n").unwrap();
    for name in ["half", "other-half"] {
        let before = pair(name);
        let run = work.fwkit(&["keygen", "-o", name, "--no-password"]);
        assert_ne!(run.code, 0, "keygen -o {name}: {run:?}");
        assert_eq!(pair(name), before, "{name}");
    }

    // sign: FILE.minisig is replaced only with --force.
    work.keygen("k2");
    fs::write(work.path("fw.bin"), b"firmware image\n").unwrap();
    work.fwkit(&["sign", "fw.bin", "--key", "k.key"]).expect(0);
    let sig = work.path("fw.bin.minisig");
    let first = fs::read(&sig).unwrap();
    let run = work.fwkit(&["sign", "fw.bin", "--key", "k2.key"]);
    assert_ne!(run.code, 0, "sign over an existing signature: {run:?}");
    assert_eq!(fs::read(&sig).unwrap(), first);
    work.fwkit(&["sign", "fw.bin", "--key", "k2.key", "--force"])
        .expect(0);
    assert_ne!(
        fs::read(&sig).unwrap(),
        first,
        "--force wrote a new signature"
    );
}

#[test]
fn set_timestamps_are_fixed() {
    use std::os::unix::fs::MetadataExt;
    let work = Work::new();
    work.pack_env(
        &[("SOURCE_DATE_EPOCH", Some("1700000000"))],
        "set",
        "set",
        &[],
    )
    .expect(0);
    let mut paths = vec![String::new()];
    paths.extend(listing(&work.path("set")));
    for rel in paths {
        let meta = fs::metadata(work.path("set").join(&rel)).unwrap();
        assert_eq!(meta.mtime(), 1_700_000_000, "set/{rel}");
    }
}
