//! PE-wrapped packages (`formats/pe.md`): a real EFI image from Debian's
//! grub-efi-amd64-bin with a zip appended by `cat` (offsets relative to the
//! zip) or fixed with `zip -A` (offsets absolute), the plain image (not a
//! package), and Debian's signed shim (Authenticode reported, never checked).
//! Every PE fact fwkit reports is compared with the headers as read here.

use crate::util::{
    assert_check, assert_same_tree, checks_with, fwkit, le16, le32, materialise, os, prng,
    refused_unpack, require_file, require_tool, tool, uncovered, verify_json, zip_entries,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Debian grub-efi-amd64-bin: an unsigned x86-64 EFI application.
const GRUB: &str = "/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi";
/// Debian shim-signed: shim with a Microsoft Authenticode signature.
const SHIM_SIGNED: &str = "/usr/lib/shim/shimx64.efi.signed";

type Tree = BTreeMap<String, (Vec<u8>, u32)>;

/// The PE facts fwkit must report, read from the headers by hand
/// (PE/COFF specification: COFF header, optional header, section table,
/// data directory 4 = certificate table, whose address is a file offset).
#[derive(Debug)]
struct PeFacts {
    machine: u16,
    sections: Vec<(String, u64, u64)>,
    /// End of the last section's raw data.
    image_end: u64,
    /// File range of the certificate table, if any.
    certificate: Option<(u64, u64)>,
    /// Where the certificate table's data directory entry is.
    certificate_entry: usize,
}

fn pe_facts(d: &[u8]) -> PeFacts {
    assert_eq!(&d[..2], b"MZ");
    let pe = le32(d, 0x3c) as usize;
    assert_eq!(&d[pe..pe + 4], b"PE\0\0");
    let coff = pe + 4;
    let machine = le16(d, coff);
    let count = usize::from(le16(d, coff + 2));
    let optional = coff + 20;
    let optional_len = usize::from(le16(d, coff + 16));
    let directories = match le16(d, optional) {
        0x20b => optional + 112,
        0x10b => optional + 96,
        magic => panic!("optional header magic {magic:#x}"),
    };
    let certificate_entry = directories + 4 * 8;
    let (cert_at, cert_len) = (le32(d, certificate_entry), le32(d, certificate_entry + 4));
    let table = optional + optional_len;
    let mut sections = Vec::new();
    let mut image_end = table as u64 + 40 * count as u64;
    for i in 0..count {
        let s = table + 40 * i;
        let mut name = String::from_utf8_lossy(&d[s..s + 8])
            .trim_end_matches('\0')
            .to_owned();
        // `/N`: a long name at offset N of the COFF string table, which
        // follows the symbol table (18 bytes a symbol).
        if let Some(offset) = name.strip_prefix('/').and_then(|n| n.parse::<usize>().ok()) {
            let strings = le32(d, coff + 8) as usize + 18 * le32(d, coff + 12) as usize;
            let at = strings + offset;
            let end = at + d[at..].iter().position(|&b| b == 0).unwrap();
            name = String::from_utf8_lossy(&d[at..end]).into_owned();
        }
        let (size, start) = (u64::from(le32(d, s + 16)), u64::from(le32(d, s + 20)));
        if size > 0 {
            image_end = image_end.max(start + size);
        }
        sections.push((name, start, start + size));
    }
    PeFacts {
        machine,
        sections,
        image_end,
        certificate: (cert_at != 0)
            .then(|| (u64::from(cert_at), u64::from(cert_at) + u64::from(cert_len))),
        certificate_entry,
    }
}

fn payload_tree() -> Tree {
    let mut tree = Tree::new();
    tree.insert(
        "cp000001.xml".into(),
        (b"<cpq_package version=\"2.0\"/>\n".to_vec(), 0o644),
    );
    tree.insert("fw/image.bin".into(), (prng(11, 60_000), 0o644));
    tree.insert(
        "fw/notes.txt".into(),
        ("firmware notes\n".repeat(500).into_bytes(), 0o644),
    );
    tree
}

/// An Info-ZIP archive of `tree`, as bytes.
fn zip_of(dir: &Path, tree: &Tree) -> Vec<u8> {
    let src = dir.join("src");
    materialise(&src, tree);
    tool(
        &src,
        "zip",
        &[os("-q"), os("-r"), os("-X"), os("../payload.zip"), os(".")],
    );
    fs::read(dir.join("payload.zip")).unwrap()
}

fn have(tools: &[&str], files: &[&str]) -> bool {
    tools.iter().all(|t| require_tool(t)) && files.iter().all(|f| require_file(Path::new(f)))
}

/// `cat PE zip > pkg`.
fn appended(dir: &Path, pe: &str, tree: &Tree, name: &str) -> (PathBuf, Vec<u8>, Vec<u8>) {
    let image = fs::read(pe).unwrap();
    let zip = zip_of(dir, tree);
    let pkg = dir.join(name);
    let mut data = image.clone();
    data.extend_from_slice(&zip);
    fs::write(&pkg, &data).unwrap();
    (pkg, image, zip)
}

fn layer<'a>(doc: &'a Value, kind: &str) -> Option<&'a Value> {
    doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"].as_str().unwrap_or("").starts_with(kind))
}

fn reasons(doc: &Value) -> String {
    doc["verdict"]["reasons"].to_string()
}

/// The `pe` vendor entry agrees with the headers as read here.
#[track_caller]
fn assert_pe_vendor(doc: &Value, facts: &PeFacts, overlay: (u64, u64), signed: bool) {
    let vendor = doc["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "pe")
        .unwrap_or_else(|| panic!("no pe vendor entry in {:#}", doc["vendor"]));
    assert_eq!(facts.machine, 0x8664);
    assert_eq!(vendor["machine"], "X86_64");
    let sections: Vec<Value> = facts
        .sections
        .iter()
        .map(|(name, a, b)| json!({"name": name, "range": [a, b]}))
        .collect();
    assert_eq!(vendor["sections"], Value::Array(sections));
    assert_eq!(vendor["overlay"], json!([overlay.0, overlay.1]));
    assert_eq!(vendor["authenticode"], signed);
}

/// The overlay is read, the zip inside it verified and unpacked.
fn assert_appended_zip_works(dir: &Path, pkg: &Path, image_len: u64, tree: &Tree) -> Value {
    let total = fs::metadata(pkg).unwrap().len();
    let facts = pe_facts(&fs::read(pkg).unwrap());
    assert_eq!(
        facts.image_end, image_len,
        "grub ends with its last section"
    );
    let doc = fwkit(dir, [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_eq!(doc["format"], "pe");
    assert_pe_vendor(&doc, &facts, (image_len, total), false);
    assert_eq!(
        layer(&doc, "overlay").unwrap()["range"],
        json!([image_len, total])
    );
    assert_eq!(
        layer(&doc, "zip archive").unwrap()["range"],
        json!([image_len, total])
    );
    assert!(layer(&doc, "Authenticode").is_none());

    let doc = verify_json(dir, pkg, 0);
    assert_eq!(doc["verdict"]["status"], "verified");
    assert_check(&doc, "stream", Some("stream-check"), "passed");
    let out = dir.join(format!(
        "out-{}",
        pkg.file_name().unwrap().to_string_lossy()
    ));
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_same_tree(&out, tree);
    doc
}

fn relative_offset_warning(doc: &Value) -> bool {
    doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap_or("").contains("offsets are relative"))
}

#[test]
fn grub_with_a_zip_appended_by_cat() {
    if !have(&["zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = payload_tree();
    let (pkg, image, _) = appended(tmp.path(), GRUB, &tree, "sfx.exe");
    let doc = assert_appended_zip_works(tmp.path(), &pkg, image.len() as u64, &tree);
    assert!(relative_offset_warning(&doc), "{:#}", doc["warnings"]);
}

#[test]
fn grub_with_a_zip_adjusted_by_zip_a() {
    if !have(&["zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = payload_tree();
    let (pkg, image, _) = appended(tmp.path(), GRUB, &tree, "sfx.exe");
    tool(tmp.path(), "zip", &[os("-q"), os("-A"), pkg.as_os_str()]);
    // After `zip -A` the central directory holds file offsets: the first
    // local header lies after the PE image.
    let entries = zip_entries(&fs::read(&pkg).unwrap());
    assert!(entries.iter().all(|e| e.local_offset >= image.len() as u64));
    let doc = assert_appended_zip_works(tmp.path(), &pkg, image.len() as u64, &tree);
    assert!(!relative_offset_warning(&doc), "{:#}", doc["warnings"]);
}

#[test]
fn the_pe_image_is_reported_uncovered() {
    if !have(&["zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = payload_tree();
    let (pkg, image, _) = appended(tmp.path(), GRUB, &tree, "sfx.exe");
    let doc = verify_json(tmp.path(), &pkg, 0);
    let gaps = uncovered(&doc);
    assert!(
        gaps.iter().any(|&(a, b)| a == 0 && b >= image.len() as u64),
        "the PE image 0..{} is not listed as uncovered: {gaps:?}",
        image.len()
    );
}

#[test]
fn plain_efi_image_is_not_a_package() {
    if !have(&[], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let pkg = Path::new(GRUB);
    let len = fs::metadata(pkg).unwrap().len();
    let facts = pe_facts(&fs::read(pkg).unwrap());
    let doc = fwkit(tmp.path(), [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_pe_vendor(&doc, &facts, (len, len), false);
    let doc = verify_json(tmp.path(), pkg, 1);
    assert!(
        reasons(&doc).contains("no appended data"),
        "{}",
        reasons(&doc)
    );
    let out = tmp.path().join("out");
    refused_unpack(tmp.path(), pkg, &out, 1);
}

#[test]
fn zip_with_trailing_bytes_in_the_overlay() {
    if !have(&["zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (pkg, _, _) = appended(tmp.path(), GRUB, &payload_tree(), "sfx.exe");
    let mut data = fs::read(&pkg).unwrap();
    data.extend_from_slice(b"JUNK");
    fs::write(&pkg, &data).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 1);
    assert!(
        reasons(&doc).contains("4 bytes follow"),
        "{}",
        reasons(&doc)
    );
    let out = tmp.path().join("out");
    refused_unpack(tmp.path(), &pkg, &out, 1);
}

#[test]
fn truncated_pe_image() {
    if !have(&["zip"], &[GRUB]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (pkg, image, _) = appended(tmp.path(), GRUB, &payload_tree(), "sfx.exe");
    let data = fs::read(&pkg).unwrap();
    // Cut inside the section data, then inside the DOS header.
    for (cut, why) in [(image.len() / 2, "past the end"), (7, "not a valid PE")] {
        let short = tmp.path().join(format!("short-{cut}.exe"));
        fs::write(&short, &data[..cut]).unwrap();
        let doc = verify_json(tmp.path(), &short, 1);
        assert!(reasons(&doc).contains(why), "cut {cut}: {}", reasons(&doc));
        assert_check(&doc, "structure", None, "failed");
        let out = tmp.path().join(format!("out-{cut}"));
        refused_unpack(tmp.path(), &short, &out, 1);
    }
}

/// The signed shim: Authenticode reported (never checked), the overlay ends
/// at the certificate table, and there is no zip in it.
#[test]
fn signed_shim_reports_authenticode() {
    if !have(&[], &[SHIM_SIGNED]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let pkg = Path::new(SHIM_SIGNED);
    let facts = pe_facts(&fs::read(pkg).unwrap());
    let (cert_start, cert_end) = facts
        .certificate
        .expect("shim-signed has a certificate table");
    assert_eq!(
        cert_end,
        fs::metadata(pkg).unwrap().len(),
        "table at the end"
    );
    let doc = fwkit(tmp.path(), [os("inspect"), pkg.as_os_str(), os("--json")])
        .expect(0)
        .json();
    assert_pe_vendor(&doc, &facts, (facts.image_end, cert_start), true);
    assert_eq!(
        layer(&doc, "Authenticode certificate table").unwrap()["range"],
        json!([cert_start, cert_end])
    );
    let info = checks_with(&doc, "signature", None, "info");
    assert!(
        info.iter()
            .any(|c| c["range"] == json!([cert_start, cert_end])
                && c["detail"].as_str().unwrap_or("").contains("not checked")),
        "{info:#?}"
    );
    let doc = verify_json(tmp.path(), pkg, 1);
    let why = reasons(&doc);
    let expected = format!(
        "no end-of-central-directory record in bytes {}..{cert_start}",
        facts.image_end
    );
    assert!(why.contains(&expected), "{expected:?} not in {why}");
    assert_eq!(
        uncovered(&doc),
        [(0, fs::metadata(pkg).unwrap().len())],
        "nothing is covered"
    );
}

/// The signed shim with a zip inserted before its certificate table (where a
/// signing tool leaves an SFX's overlay) and the table's file offset moved to
/// match. (The signature no longer matches; fwkit does not check it.)
struct SignedSfx {
    pkg: PathBuf,
    /// The shim's headers, before the zip went in.
    facts: PeFacts,
    /// The shim's own bytes between its last section and its table.
    shim_overlay_end: u64,
    /// The certificate table's new place.
    table: (u64, u64),
}

fn signed_sfx(dir: &Path, tree: &Tree) -> SignedSfx {
    let shim = fs::read(SHIM_SIGNED).unwrap();
    let facts = pe_facts(&shim);
    let (cert_start, cert_end) = facts.certificate.unwrap();
    let zip = zip_of(dir, tree);
    let mut data = shim[..cert_start as usize].to_vec();
    data.extend_from_slice(&zip);
    data.extend_from_slice(&shim[cert_start as usize..]);
    let moved = cert_start + zip.len() as u64;
    let entry = facts.certificate_entry;
    data[entry..entry + 4].copy_from_slice(&(moved as u32).to_le_bytes());
    let pkg = dir.join("signed-sfx.exe");
    fs::write(&pkg, &data).unwrap();
    SignedSfx {
        pkg,
        facts,
        shim_overlay_end: cert_start,
        table: (moved, moved + (cert_end - cert_start)),
    }
}

/// The overlay ends at the certificate table: the zip verifies and unpacks,
/// and the table is reported and left uncovered.
#[test]
fn signed_pe_with_a_zip_before_the_certificate_table() {
    if !have(&["zip"], &[SHIM_SIGNED]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = payload_tree();
    let sfx = signed_sfx(tmp.path(), &tree);
    let (pkg, table) = (&sfx.pkg, sfx.table);
    let doc = verify_json(tmp.path(), pkg, 0);
    let data = fs::read(pkg).unwrap();
    assert_pe_vendor(&doc, &pe_facts(&data), (sfx.facts.image_end, table.0), true);
    assert_eq!(
        layer(&doc, "zip archive").unwrap()["range"],
        json!([sfx.facts.image_end, table.0])
    );
    assert_check(&doc, "signature", None, "info");
    assert!(
        uncovered(&doc).contains(&table),
        "certificate table {table:?} not in {:?}",
        uncovered(&doc)
    );
    let out = tmp.path().join("out");
    fwkit(
        tmp.path(),
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(0);
    assert_same_tree(&out, &tree);
}

#[test]
fn overlay_bytes_before_the_zip_are_uncovered() {
    if !have(&["zip"], &[SHIM_SIGNED]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let sfx = signed_sfx(tmp.path(), &payload_tree());
    let doc = verify_json(tmp.path(), &sfx.pkg, 0);
    let gaps = uncovered(&doc);
    assert!(
        gaps.iter()
            .any(|&(a, b)| a == 0 && b >= sfx.shim_overlay_end),
        "bytes 0..{} (PE image and the shim's own overlay data) not uncovered: {gaps:?}",
        sfx.shim_overlay_end
    );
}

/// A zip appended after the certificate table is outside the overlay:
/// fwkit does not look for it there.
#[test]
fn zip_after_the_certificate_table_is_not_read() {
    if !have(&["zip"], &[SHIM_SIGNED]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (pkg, image, _) = appended(tmp.path(), SHIM_SIGNED, &payload_tree(), "late.exe");
    let (cert_start, _) = pe_facts(&image).certificate.unwrap();
    let doc = verify_json(tmp.path(), &pkg, 1);
    assert!(
        reasons(&doc).contains(&format!("..{cert_start}")),
        "{}",
        reasons(&doc)
    );
    assert!(
        reasons(&doc).contains("follow the certificate table"),
        "{}",
        reasons(&doc)
    );
    let out = tmp.path().join("out");
    refused_unpack(tmp.path(), &pkg, &out, 1);
}

/// A certificate table whose offset points into the image is a broken
/// header, not something to ignore.
#[test]
fn certificate_table_inside_the_image_is_a_structure_failure() {
    if !have(&[], &[SHIM_SIGNED]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let mut data = fs::read(SHIM_SIGNED).unwrap();
    let entry = pe_facts(&data).certificate_entry;
    data[entry..entry + 4].copy_from_slice(&64u32.to_le_bytes());
    let pkg = tmp.path().join("overlapping.exe");
    fs::write(&pkg, &data).unwrap();
    let doc = verify_json(tmp.path(), &pkg, 1);
    assert!(
        reasons(&doc).contains("the certificate table at bytes 64.."),
        "{}",
        reasons(&doc)
    );
}
