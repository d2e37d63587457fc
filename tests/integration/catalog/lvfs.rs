//! LVFS metadata as a catalogue: `firmware.xml.gz` (AppStream XML written
//! here, gzipped by `gzip -n`) with `firmware.xml.gz.jcat` beside it made by
//! `jcat-tool` (SHA-256 and SHA-1 checksums, and a `gpg` signature blob
//! imported from `gpg --detach-sign`), over cabinets made by `gcab`.

use super::{entry_for, lines, verified};
use crate::openpgp::Gpg;
use crate::util::{fwkit, os, prng, require_tool, sha256_hex, tool, Run};
use std::fs;
use std::path::Path;

fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest as _;
    fwkit::hex(&sha1::Sha1::digest(data))
}

/// A cabinet of `firmware.bin` (seeded) and its metainfo, by `gcab`, at
/// `mirror/NAME`; returns its bytes.
fn cabinet(root: &Path, name: &str, seed: u64) -> Vec<u8> {
    let src = root.join(format!("src-{seed}"));
    fs::create_dir_all(&src).unwrap();
    let fw = prng(seed, 20_000);
    fs::write(src.join("firmware.bin"), &fw).unwrap();
    fs::write(
        src.join("firmware.metainfo.xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<component type=\"firmware\"><id>org.fwkit.T{seed}</id><name>t</name><releases><release version=\"1.{seed}\"><checksum type=\"sha256\" filename=\"firmware.bin\" target=\"content\">{}</checksum></release></releases></component>\n",
            sha256_hex(&fw)
        ),
    )
    .unwrap();
    let out = root.join("mirror").join(name);
    tool(
        &src,
        "gcab",
        &[
            os("-c"),
            os("-n"),
            out.as_os_str(),
            os("firmware.bin"),
            os("firmware.metainfo.xml"),
        ],
    );
    fs::read(out).unwrap()
}

/// The metadata: component A (one release, `<location>` and container
/// checksums), component B (a release with an `<artifact>`, and one whose
/// only container checksum is SHA-1), and a release whose file is missing.
fn metadata(a: &[u8], b1: &[u8], b2: &[u8]) -> String {
    let url = "https://fwupd.org/downloads";
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<components origin="lvfs" version="0.9">
  <component type="firmware">
    <id>com.example.A.firmware</id>
    <name>Device A</name>
    <releases>
      <release urgency="high" version="1.2.3" timestamp="1764547200">
        <location>{url}/aaaa-deviceA.cab</location>
        <checksum type="sha1" filename="aaaa-deviceA.cab" target="container">{a1}</checksum>
        <checksum type="sha256" filename="aaaa-deviceA.cab" target="container">{a256}</checksum>
        <checksum type="sha256" filename="firmware.bin" target="content">0000000000000000000000000000000000000000000000000000000000000000</checksum>
        <size type="installed">20000</size>
        <size type="download">{alen}</size>
      </release>
    </releases>
  </component>
  <component type="firmware">
    <id>com.example.B.firmware</id>
    <name>Device B</name>
    <releases>
      <release version="2.0.0" timestamp="1764547300">
        <artifacts>
          <artifact type="binary">
            <location>{url}/bbbb-deviceB.cab</location>
            <filename>bbbb-deviceB.cab</filename>
            <checksum type="sha256">{b1_256}</checksum>
            <size type="download">{b1len}</size>
          </artifact>
        </artifacts>
      </release>
      <release version="1.9.0" timestamp="1764547100">
        <location>{url}/cccc-deviceB-old.cab</location>
        <checksum type="sha1" filename="cccc-deviceB-old.cab" target="container">{b2_1}</checksum>
        <size type="download">{b2len}</size>
      </release>
      <release version="1.8.0">
        <location>{url}/dddd-gone.cab</location>
        <checksum type="sha256" target="container">{a256}</checksum>
      </release>
    </releases>
  </component>
</components>
"#,
        a1 = sha1_hex(a),
        a256 = sha256_hex(a),
        alen = a.len(),
        b1_256 = sha256_hex(b1),
        b1len = b1.len(),
        b2_1 = sha1_hex(b2),
        b2len = b2.len(),
    )
}

fn run(root: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--catalog", "firmware.xml.gz", "mirror", "--json"];
    args.extend_from_slice(extra);
    fwkit(root, args)
}

#[test]
fn lvfs_metadata_and_its_jcat_verify_every_release_cabinet() {
    for t in ["gcab", "gzip", "jcat-tool"] {
        if !require_tool(t) {
            return;
        }
    }
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    let Some(gpg) = Gpg::new(root) else { return };
    fs::create_dir(root.join("mirror")).unwrap();
    let a = cabinet(root, "aaaa-deviceA.cab", 1);
    let b1 = cabinet(root, "bbbb-deviceB.cab", 2);
    let b2 = cabinet(root, "cccc-deviceB-old.cab", 3);
    fs::write(root.join("firmware.xml"), metadata(&a, &b1, &b2)).unwrap();
    tool(root, "gzip", &[os("-n"), os("-f"), os("firmware.xml")]);
    let vendor = gpg.key(root, "LVFS-like <lvfs@example.com>", "rsa3072", &[]);
    gpg.export(root, &vendor, "lvfs.asc", &["--armor"]);
    gpg.sign(root, &vendor, "firmware.xml.gz", "sig.asc", &["--armor"]);
    let jcat = |args: &[&str]| {
        let mut all = vec![os("--basename")];
        all.extend(args.iter().map(|a| os(a)));
        tool(root, "jcat-tool", &all)
    };
    for kind in ["sha256", "sha1"] {
        jcat(&[
            "--kind",
            kind,
            "self-sign",
            "firmware.xml.gz.jcat",
            "firmware.xml.gz",
        ]);
    }
    jcat(&[
        "--kind",
        "gpg",
        "import",
        "firmware.xml.gz.jcat",
        "firmware.xml.gz",
        "sig.asc",
    ]);

    // Signed only in the .jcat, and no key given: the metadata does not
    // count; every release is still checked and reported.
    let r = run(root, &[]);
    r.expect(1);
    let (entries, summary) = lines(&r);
    assert_eq!(summary["kind"], "lvfs", "{summary}");
    assert_eq!(entries.len(), 4, "one entry per release: {summary}");
    let checks = summary["checks"].as_array().unwrap();
    assert_eq!(checks[0]["outcome"], "not-run", "{summary}");
    let detail = checks[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("JCat gpg signature") && detail.contains("no OpenPGP key was given"),
        "{detail}"
    );
    assert!(detail.contains("--sha256"), "{detail}");
    let jcat_sums: Vec<_> = checks
        .iter()
        .filter(|c| c["kind"] == "digest" && c["outcome"] == "passed")
        .map(|c| c["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(jcat_sums, ["sha256", "sha1"], "{summary}");

    // The GPG blob in the .jcat, checked with the signer's key, makes the
    // metadata count (the missing cabinet still fails); another key does not.
    let r = run(root, &["--key", "lvfs.asc"]);
    r.expect(1);
    let (_, summary) = lines(&r);
    assert_eq!(summary["checks"][0]["outcome"], "passed", "{summary}");
    let other = gpg.key(root, "Other <other@example.com>", "ed25519", &[]);
    gpg.export(root, &other, "other.asc", &["--armor"]);
    let r = run(root, &["--key", "other.asc"]);
    r.expect(1);
    let (_, summary) = lines(&r);
    assert_eq!(summary["checks"][0]["outcome"], "not-run", "{summary}");
    // Other metadata under the same .jcat fails its GPG signature.
    let meta = root.join("firmware.xml.gz");
    let good = fs::read(&meta).unwrap();
    let changed = format!("{}<!-- changed -->\n", metadata(&a, &b1, &b2));
    fs::write(root.join("firmware.xml"), changed).unwrap();
    tool(root, "gzip", &[os("-n"), os("-f"), os("firmware.xml")]);
    let r = run(root, &["--key", "lvfs.asc"]);
    r.expect(1);
    let (_, summary) = lines(&r);
    assert_eq!(summary["checks"][0]["outcome"], "failed", "{summary}");
    fs::write(&meta, &good).unwrap();

    // Pinned: each release's cabinet by its basename, checksums, size.
    let pin = sha256_hex(&fs::read(root.join("firmware.xml.gz")).unwrap());
    let r = run(root, &["--sha256", &pin]);
    r.expect(1);
    let (entries, summary) = lines(&r);
    for (path, weak) in [
        ("aaaa-deviceA.cab", false),
        ("bbbb-deviceB.cab", false),
        ("cccc-deviceB-old.cab", true),
    ] {
        let e = entry_for(&entries, path);
        assert!(verified(e), "{e}");
        assert_eq!(e["format"], "cab", "{e}");
        assert_eq!(e["weak"], weak, "{e}");
    }
    let gone = entry_for(&entries, "dddd-gone.cab");
    assert!(!verified(gone));
    assert!(gone.to_string().contains("missing"), "{gone}");
    assert_eq!(summary["verified"], 3);
    assert_eq!(
        entry_for(&entries, "aaaa-deviceA.cab")["dell"]["vendor_version"],
        "1.2.3"
    );

    // A trusted OpenPGP .asc beside the metadata counts; the missing
    // cabinet still fails. Remove that release: everything verifies.
    fs::copy(root.join("sig.asc"), root.join("firmware.xml.gz.asc")).unwrap();
    let r = run(root, &["--key", "lvfs.asc"]);
    r.expect(1);
    let (_, summary) = lines(&r);
    assert_eq!(summary["checks"][0]["outcome"], "passed", "{summary}");
    fs::write(root.join("mirror/dddd-gone.cab"), &a).unwrap();
    run(root, &["--key", "lvfs.asc"]).expect(0);

    // A flipped byte in one cabinet fails that release only.
    let mut bad = b1.clone();
    let at = bad.len() - 100;
    bad[at] ^= 0x40;
    fs::write(root.join("mirror/bbbb-deviceB.cab"), &bad).unwrap();
    let r = run(root, &["--key", "lvfs.asc"]);
    r.expect(1);
    let (entries, summary) = lines(&r);
    assert!(!verified(entry_for(&entries, "bbbb-deviceB.cab")));
    assert_eq!(summary["verified"], 3);

    // A JCat PKCS#7 signature (jcat-tool sign, a test CA from openssl)
    // makes the metadata count with the CA given to --key; another CA does
    // not. The .asc beside it, which would decide first, is gone.
    let Some(pki) = crate::jcat::pki(root) else {
        return;
    };
    fs::remove_file(root.join("firmware.xml.gz.asc")).unwrap();
    fs::remove_file(root.join("firmware.xml.gz.jcat")).unwrap();
    jcat(&[
        "sign",
        "firmware.xml.gz.jcat",
        "firmware.xml.gz",
        pki.cert.to_str().unwrap(),
        pki.key.to_str().unwrap(),
    ]);
    let r = run(root, &["--key", pki.ca.to_str().unwrap()]);
    let (_, summary) = lines(&r);
    assert_eq!(summary["checks"][0]["outcome"], "passed", "{summary}");
    let r = run(root, &["--key", pki.other.to_str().unwrap()]);
    let (_, summary) = lines(&r);
    assert_eq!(summary["checks"][0]["outcome"], "not-run", "{summary}");
}
