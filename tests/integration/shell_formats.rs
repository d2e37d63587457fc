//! HP `.scexe`, Dell `.BIN` and plain tarballs: the committed samples, and
//! fresh packages built here with GNU tar behind our own stubs.

use crate::util::{
    assert_check, assert_no_staging, assert_not_unpacked, assert_same_tree, dell_bin, fwkit,
    materialise, member_paths, os, prng, refused_unpack, require_tool, samples, scexe, sha256_hex,
    tool, tree_files, uncovered, verify_json, write_file,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// SHA-256 of `PUF21000.bin` in the samples (samples/README.md).
const PUF_SHA256: &str = "295d11847e205dc5392429db412c06ce831b01567b64714bfb83eccd0a4110ba";

struct Sample {
    path: &'static str,
    format: &'static str,
    /// Where the tar stream starts (samples/README.md).
    offset: usize,
    members: &'static [&'static str],
}

const SCEXE: Sample = Sample {
    path: "scexe/CP000000.scexe",
    format: "hpe-scexe",
    offset: 846,
    members: &["CP000000.xml", "PUF21000.bin", "README.txt", "hpsetup"],
};

const DELL: Sample = Sample {
    path: "dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN",
    format: "dell-dup",
    offset: 1469,
    members: &[
        "package.xml",
        "payload",
        "payload/firmimg.d9",
        "payload/flash.sh",
    ],
};

const TARBALL: Sample = Sample {
    path: "tar/puf-update.tar.gz",
    format: "tar",
    offset: 0,
    members: &["PUF21000.bin", "SHA256SUMS"],
};

/// inspect, verify (plain, right and wrong `--sha256`) and unpack one sample.
fn sample_round_trip(sample: &Sample) -> Value {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let pkg = samples().join(sample.path);
    let data = fs::read(&pkg).expect("sample");
    assert!(data.len() > sample.offset);

    let text = fwkit(dir, [os("inspect"), pkg.as_os_str()])
        .expect(0)
        .stdout
        .clone();
    let first = format!(
        "{}: {} package, {} bytes",
        pkg.display(),
        sample.format,
        data.len()
    );
    assert!(text.starts_with(&first), "expected {first:?} in\n{text}");
    let doc = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_eq!(doc["size"], data.len() as u64);
    let mut listed = member_paths(&doc);
    listed.sort();
    assert_eq!(listed, sample.members, "members of {}", sample.path);
    assert!(doc["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["problem"].is_null()));
    let inspect = doc;

    let doc = verify_json(dir, &pkg, 0);
    assert_eq!(doc["verdict"]["status"], "verified");
    assert_check(&doc, "stream", Some("stream-check"), "passed");
    assert_eq!(
        uncovered(&doc),
        if sample.offset == 0 {
            vec![]
        } else {
            vec![(0, sample.offset as u64)]
        }
    );

    let sha = sha256_hex(&data);
    let doc = fwkit(
        dir,
        [
            os("verify"),
            pkg.as_os_str(),
            os("--sha256"),
            os(&sha),
            os("--json"),
        ],
    )
    .expect(0)
    .json();
    assert_check(&doc, "external", Some("sha256"), "passed");
    assert!(uncovered(&doc).is_empty(), "--sha256 covers the whole file");
    let wrong = sha256_hex(b"not the package");
    let doc = fwkit(
        dir,
        [
            os("verify"),
            pkg.as_os_str(),
            os("--sha256"),
            os(&wrong),
            os("--json"),
        ],
    )
    .expect(1)
    .json();
    assert_check(&doc, "external", Some("sha256"), "failed");
    assert_eq!(doc["verified"], false);
    let upper = sha.to_uppercase();
    fwkit(
        dir,
        [os("verify"), pkg.as_os_str(), os("--sha256"), os(&upper)],
    )
    .expect(0);

    let out = dir.join("out");
    let bad_out = dir.join("bad-out");
    fwkit(
        dir,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            bad_out.as_os_str(),
            os("--sha256"),
            os(&wrong),
        ],
    )
    .expect(1);
    assert_not_unpacked(&bad_out);
    fwkit(
        dir,
        [
            os("unpack"),
            pkg.as_os_str(),
            os("-o"),
            out.as_os_str(),
            os("--sha256"),
            os(&sha),
        ],
    )
    .expect(0);
    assert_no_staging(dir);
    let got = tree_files(&out);
    if let Some((puf, _)) = got.get("PUF21000.bin") {
        assert_eq!(sha256_hex(puf), PUF_SHA256);
    }
    // GNU tar on the same payload bytes is the reference for the whole tree.
    if require_tool("tar") && require_tool("gzip") {
        let reference = dir.join("reference");
        fs::create_dir(&reference).unwrap();
        write_file(&dir.join("payload.tar.gz"), &data[sample.offset..], 0o644);
        tool(
            dir,
            "tar",
            &[
                os("-xpzf"),
                os("payload.tar.gz"),
                os("-C"),
                reference.as_os_str(),
            ],
        );
        assert_same_tree(&out, &tree_files(&reference));
    }
    inspect
}

#[test]
fn scexe_sample() {
    let doc = sample_round_trip(&SCEXE);
    let hp = doc["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "hp-component")
        .expect("hp-component");
    assert_eq!(hp["name"], "fwkit sample Smart Array SAS expander firmware");
    assert_eq!(hp["version"], "2.10");
    assert_eq!(hp["revision"], "A");
    assert_eq!(hp["source"], "CP000000.xml");
    assert_eq!(hp["devices"][0]["images"][0]["file_name"], "PUF21000.bin");
    let hpsetup = doc["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == "hpsetup")
        .unwrap();
    assert_eq!(hpsetup["mode"].as_u64().unwrap() & 0o777, 0o755);
    assert!(
        doc["warnings"].to_string().contains("--sha256"),
        "scexe has no sums of its own: {}",
        doc["warnings"]
    );
}

#[test]
fn dell_sample() {
    let doc = sample_round_trip(&DELL);
    let dell = doc["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "dell-package")
        .expect("dell-package");
    assert_eq!(dell["name"], "fwkit sample firmware");
    assert_eq!(dell["vendor_version"], "1.00");
    assert_eq!(dell["package_id"], "FWKIT");
    let text = fwkit(
        Path::new("/"),
        [os("inspect"), samples().join(DELL.path).as_os_str()],
    )
    .expect(0)
    .stdout
    .clone();
    assert!(
        text.contains("fwkit sample firmware") && text.contains("1.00"),
        "{text}"
    );
}

#[test]
fn tarball_sample() {
    let doc = sample_round_trip(&TARBALL);
    assert!(doc["vendor"].as_array().unwrap().is_empty());
}

#[test]
fn damaged_samples_are_rejected() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    for sample in [SCEXE, DELL, TARBALL] {
        let data = fs::read(samples().join(sample.path)).unwrap();
        let mut flipped = data.clone();
        flipped[(sample.offset + data.len()) / 2] ^= 0x20;
        let mut trailing = data.clone();
        trailing.push(b'\n');
        let cases = [
            ("flipped", flipped),
            ("truncated", data[..data.len() - 1].to_vec()),
            ("trailing", trailing),
            ("half", data[..(sample.offset + data.len()) / 2].to_vec()),
        ];
        for (what, bytes) in cases {
            let name = format!("{}-{what}", sample.format);
            let pkg = dir.join(&name);
            write_file(&pkg, &bytes, 0o644);
            let doc = verify_json(dir, &pkg, 1);
            assert_eq!(doc["verified"], false, "{name}");
            let out = dir.join(format!("{name}.out"));
            refused_unpack(dir, &pkg, &out, 1);
        }
    }
}

// ---------------------------------------------------------------------------
// Fresh packages: GNU tar + gzip behind stubs written by util.rs.

type Tree = BTreeMap<String, (Vec<u8>, u32)>;

/// A gzip tar of `tree` made by GNU tar, and the directory it came from.
fn gnu_tar_gz(dir: &Path, tree: &Tree) -> Vec<u8> {
    let src = dir.join("src");
    materialise(&src, tree);
    let out = dir.join("payload.tar.gz");
    let mut args: Vec<&OsStr> = vec![
        os("--format=ustar"),
        os("-czf"),
        out.as_os_str(),
        os("-C"),
        src.as_os_str(),
    ];
    let names: Vec<String> = tree.keys().cloned().collect();
    args.extend(names.iter().map(|n| os(n)));
    tool(dir, "tar", &args);
    fs::read(out).unwrap()
}

/// verify exits 0, unpack round-trips byte for byte, a flipped byte in the
/// gzip data is caught. Returns the inspect report.
fn fresh_round_trip(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    payload_len: usize,
    expected: &Tree,
) -> Value {
    let pkg: PathBuf = dir.join(name);
    write_file(&pkg, bytes, 0o755);
    let inspect = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    let doc = verify_json(dir, &pkg, 0);
    assert_check(&doc, "stream", Some("stream-check"), "passed");
    let out = dir.join("out");
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_same_tree(&out, expected);

    let gz_start = bytes.len() - payload_len;
    let mut flipped = bytes.to_vec();
    flipped[gz_start + payload_len / 2] ^= 0x08;
    let bad = dir.join(format!("flipped-{name}"));
    write_file(&bad, &flipped, 0o755);
    let doc = verify_json(dir, &bad, 1);
    assert_check(&doc, "stream", None, "failed");
    let bad_out = dir.join("bad-out");
    refused_unpack(dir, &bad, &bad_out, 1);
    // --no-verify places what could be read, exit 0, but never silently.
    let run = fwkit(
        dir,
        [
            os("unpack"),
            bad.as_os_str(),
            os("-o"),
            bad_out.as_os_str(),
            os("--no-verify"),
            os("--json"),
        ],
    );
    let doc = run.expect(0).json();
    assert_eq!(doc["verified"], false);
    assert_eq!(doc["unpacked"], bad_out.to_str().unwrap());
    assert!(bad_out.is_dir());
    let run = fwkit(
        dir,
        [
            os("unpack"),
            bad.as_os_str(),
            os("-o"),
            dir.join("bad-out-2").as_os_str(),
            os("--no-verify"),
        ],
    );
    assert!(
        run.expect(0).stderr.contains("NOT VERIFIED"),
        "{}",
        run.stderr
    );
    inspect
}

const HP_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<cpq_package version="2.0">
  <filename>CP123456.scexe</filename>
  <version value="3.45" revision="B" type_of_change="1"/>
  <name><name_xlate lang="en">fwkit integration test component</name_xlate></name>
  <release_date year="2027" month="1" day="2"/>
  <payload><Devices><Device>
    <DeviceName>Test expander</DeviceName>
    <Version>3.45</Version>
    <FirmwareImages><FileName>PUF34500.bin</FileName><ResetRequired>False</ResetRequired></FirmwareImages>
  </Device></Devices></payload>
</cpq_package>
"#;

#[test]
fn fresh_scexe_round_trip() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let expected: Tree = [
        ("CP123456.xml", HP_XML.as_bytes().to_vec(), 0o644),
        ("PUF34500.bin", prng(0x5ce, 100 << 10), 0o644),
        (
            "hpflash",
            b"#!/bin/sh\necho 'test flash tool: flashes nothing'\n".to_vec(),
            0o755,
        ),
    ]
    .into_iter()
    .map(|(n, d, m)| (n.to_owned(), (d, m)))
    .collect();
    let payload = gnu_tar_gz(dir, &expected);
    let bytes = scexe(&payload);
    let doc = fresh_round_trip(dir, "CP123456.scexe", &bytes, payload.len(), &expected);
    let hp = doc["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "hp-component")
        .expect("hp-component");
    assert_eq!(hp["name"], "fwkit integration test component");
    assert_eq!(hp["version"], "3.45");
    assert_eq!(hp["release_date"], "2027-01-02");
    assert_eq!(hp["devices"][0]["images"][0]["file_name"], "PUF34500.bin");
}

const DELL_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SoftwareComponent schemaVersion="2.4" packageID="T3ST1" releaseID="T3ST1" vendorVersion="4.56" dellVersion="A01" packageType="LWXP" rebootRequired="true">
  <Name><Display lang="en"><![CDATA[fwkit integration test package]]></Display></Name>
  <ComponentType value="FRMW"><Display lang="en"><![CDATA[Firmware]]></Display></ComponentType>
</SoftwareComponent>
"#;

#[test]
fn fresh_dell_bin_round_trip() {
    if !require_tool("tar") || !require_tool("gzip") {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let expected: Tree = [
        ("package.xml", DELL_XML.as_bytes().to_vec(), 0o644),
        ("payload/firmimg.d9", prng(0xde11, 90 << 10), 0o644),
        (
            "payload/flash.sh",
            b"#!/bin/sh\necho 'test flash tool: flashes nothing'\n".to_vec(),
            0o755,
        ),
    ]
    .into_iter()
    .map(|(n, d, m)| (n.to_owned(), (d, m)))
    .collect();
    let payload = gnu_tar_gz(dir, &expected);
    let bytes = dell_bin(DELL_XML, &payload);
    let doc = fresh_round_trip(
        dir,
        "Firmware_T3ST1_LN_4.56_A01.BIN",
        &bytes,
        payload.len(),
        &expected,
    );
    assert_eq!(doc["format"], "dell-dup");
    let dell = doc["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "dell-package")
        .expect("dell-package");
    assert_eq!(dell["name"], "fwkit integration test package");
    assert_eq!(dell["vendor_version"], "4.56");
    assert_eq!(dell["dell_version"], "A01");
    assert_eq!(dell["package_id"], "T3ST1");
    assert_eq!(dell["component_type"], "FRMW");
}

/// The JSON `format` must be the stable name the text report, `formats/<stem>.md`
/// and `FormatKind::name` use.
fn json_format_is(sample: &Sample) {
    let tmp = TempDir::new().unwrap();
    let pkg = samples().join(sample.path);
    let doc = fwkit(tmp.path(), [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_eq!(
        doc["format"], sample.format,
        "JSON format of {}",
        sample.path
    );
}

#[test]
fn json_format_names_dell_and_tar() {
    json_format_is(&DELL);
    json_format_is(&TARBALL);
}

#[test]

fn json_format_name_scexe() {
    json_format_is(&SCEXE);
}

#[test]

fn pax_global_header_is_metadata_not_a_member() {
    use crate::util::{gzip_stored, Tar};
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    tar.entry(
        b'g',
        b"pax_global_header",
        b"",
        0o666,
        b"52 comment=0123456789abcdef0123456789abcdef01234567\n",
    );
    tar.file("firmware.bin", 0o644, &prng(0x9, 4096));
    let pkg = tmp.path().join("git-archive.tar.gz");
    write_file(&pkg, &gzip_stored(&tar.finish()), 0o644);
    let doc = verify_json(tmp.path(), &pkg, 0);
    assert_eq!(member_paths(&doc), vec!["firmware.bin"]);
}

/// Stubs whose layout lines contradict themselves are refused, never guessed.
#[test]
fn ambiguous_stubs_are_rejected() {
    use crate::util::gzip_stored;
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let mut tar = crate::util::Tar::new();
    tar.file("fw.bin", 0o644, &prng(0xa, 2048));
    let gz = gzip_stored(&tar.finish());
    let good = scexe(&gz);
    let text = String::from_utf8_lossy(&good[..good.len() - gz.len()]).into_owned();
    let skip_line = text
        .lines()
        .find(|l| l.starts_with("_SKIP="))
        .unwrap()
        .to_owned();
    let with_stub = |stub: String| [stub.into_bytes(), gz.clone()].concat();
    let two_markers = dell_bin("<SoftwareComponent/>", &gz);
    let at = crate::util::find(&two_markers, b"#####Startofpackage#####").unwrap();
    let mut two_markers_bytes = two_markers[..at].to_vec();
    two_markers_bytes.extend_from_slice(b"#####Startofarchive#####\n");
    two_markers_bytes.extend_from_slice(&two_markers[at..]);
    let cases = [
        (
            "disagreeing _SKIP lines",
            with_stub(text.replace(&skip_line, &format!("{skip_line}\n_SKIP=3"))),
        ),
        (
            "_SKIP past the end",
            with_stub(text.replace(&skip_line, "_SKIP=999999")),
        ),
        (
            "_SKIP with trailing text",
            with_stub(text.replace(&skip_line, &format!("{skip_line}; exit"))),
        ),
        ("two Dell archive markers", two_markers_bytes),
    ];
    fwkit(
        dir,
        [os("verify"), write(dir, "good.scexe", &good).as_os_str()],
    )
    .expect(0);
    for (what, bytes) in cases {
        let pkg = write(dir, &what.replace(' ', "-"), &bytes);
        let doc = verify_json(dir, &pkg, 1);
        assert_check(&doc, "structure", None, "failed");
        let out = dir.join("out");
        refused_unpack(dir, &pkg, &out, 1);
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    write_file(&path, bytes, 0o644);
    path
}
