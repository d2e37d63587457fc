//! `fwkit verify --catalog CATALOG DIR` (issue 14): a mirror of a Dell-style
//! repository checked against its catalogue. Catalogues are written here from
//! a Dell-shaped template (the element and attribute names of
//! formats/dell-catalog.md), gzipped by the system `gzip` and re-encoded to
//! UTF-16 by `iconv`, over packages made at test time: a Dell-like `.BIN`
//! (util::dell_bin over a GNU tar payload), an Info-ZIP zip, a GNU tar.gz and
//! a Debian makeself archive.

use crate::util::{fwkit, os, prng, require_tool, sha256_hex, tool, Makeself, Run, FWKIT};
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

// fwkit's own catalogue (`fwkit pack --format catalog`).
mod own;
// A gpg-signed Dell catalogue (`Catalog.xml.gz.sign`).
mod signed;
// LVFS metadata (`firmware.xml.gz` + `.jcat`) over gcab cabinets.
mod lvfs;
// Entry files opened once, links not followed.
mod paths;
// Catalogues fwkit cannot read: exit 2, nothing checked.
mod malformed;

/// Which digests an entry states.
#[derive(Clone, Copy, PartialEq)]
enum Hash {
    /// `Cryptography/Hash[@algorithm="SHA256"]` and `hashMD5`.
    Both,
    /// `hashMD5` only.
    Md5Only,
}

/// One `SoftwareComponent` of the template.
fn component(index: usize, path: &str, data: &[u8], hash: Hash) -> String {
    let md5 = md5_hex(data);
    let crypto = match hash {
        Hash::Both => format!(
            "    <Cryptography><Hash algorithm=\"SHA256\">{}</Hash></Cryptography>\n",
            sha256_hex(data)
        ),
        Hash::Md5Only => String::new(),
    };
    format!(
        r#"  <SoftwareComponent schemaVersion="3.0" packageID="PKG{index:04}" releaseID="REL{index:04}" hashMD5="{md5}" path="{path}" dateTime="2026-11-02T10:00:00+00:00" releaseDate="November 02, 2026" vendorVersion="1.{index}.0" dellVersion="A0{index}" packageType="LLXP" identifier="0b7e5a3c-1d2f-4e6a-9b8c-{index:012}" size="{size}" rebootRequired="true">
    <Name><Display lang="en"><![CDATA[Test Firmware {index}]]></Display></Name>
    <ComponentType value="FRMW"><Display lang="en"><![CDATA[Firmware]]></Display></ComponentType>
    <SupportedDevices><Device componentID="1{index:04}" embedded="1"><Display lang="en"><![CDATA[Test NIC {index}]]></Display><PCIInfo deviceID="165F" vendorID="14E4" subDeviceID="1F5B" subVendorID="1028"/></Device></SupportedDevices>
    <SupportedSystems><Brand key="3" prefix="PE"><Display lang="en"><![CDATA[PowerEdge]]></Display><Model systemID="0A6B" systemIDType="BIOS"><Display lang="en"><![CDATA[R750]]></Display></Model></Brand></SupportedSystems>
{crypto}  </SoftwareComponent>
"#,
        size = data.len()
    )
}

fn manifest(components: &[String]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Manifest baseLocation=\"downloads.example.com\" dateTime=\"2026-11-02T10:00:00+00:00\" identifier=\"fwkit-test\" releaseID=\"T1\" version=\"26.11.00\">\n",
    );
    for c in components {
        xml.push_str(c);
    }
    xml.push_str("</Manifest>\n");
    xml
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    fwkit::hex(&md5::Md5::digest(data))
}

/// A temporary mirror: `mirror/` holds the packages, the catalogue sits beside it.
struct Mirror {
    tmp: TempDir,
}

impl Mirror {
    fn new() -> Mirror {
        let tmp = TempDir::new().unwrap();
        fs::create_dir(tmp.path().join("mirror")).unwrap();
        fs::create_dir(tmp.path().join("build")).unwrap();
        Mirror { tmp }
    }
    fn root(&self) -> &Path {
        self.tmp.path()
    }
    /// `Catalog.xml` as Dell ships it: `xml` in UTF-16LE with a BOM (made
    /// by the real iconv), not gzipped.
    fn utf16_catalogue(&self, xml: &str) -> PathBuf {
        fs::write(self.root().join("plain.xml"), xml).unwrap();
        let utf16 = tool(
            self.root(),
            "iconv",
            &[
                os("-f"),
                os("UTF-8"),
                os("-t"),
                os("UTF-16"),
                os("plain.xml"),
            ],
        );
        assert!(
            utf16.starts_with(&[0xff, 0xfe]),
            "iconv writes UTF-16LE with a BOM"
        );
        let cat = self.root().join("Catalog.xml");
        fs::write(&cat, utf16).unwrap();
        cat
    }
    fn dir(&self) -> PathBuf {
        self.root().join("mirror")
    }
    /// Put `data` at `rel` in the mirror.
    fn put(&self, rel: &str, data: &[u8]) {
        let path = self.dir().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
    /// Write the catalogue, gzipped by `gzip -n`; returns its path.
    fn catalogue(&self, components: &[String]) -> PathBuf {
        let xml = self.root().join("Catalog.xml");
        fs::write(&xml, manifest(components)).unwrap();
        tool(
            self.root(),
            "gzip",
            &[os("-n"), os("-f"), os("Catalog.xml")],
        );
        self.root().join("Catalog.xml.gz")
    }
    /// `fwkit verify --catalog CAT mirror --sha256 <pin of CAT> ARGS`.
    fn verify(&self, catalogue: &Path, args: &[&str]) -> Run {
        let pin = sha256_hex(&fs::read(catalogue).unwrap());
        let mut all: Vec<&OsStr> = vec![
            os("verify"),
            os("--catalog"),
            catalogue.as_os_str(),
            os("mirror"),
            os("--sha256"),
            os(&pin),
        ];
        all.extend(args.iter().map(|a| os(a)));
        fwkit(self.root(), all)
    }
}

/// The JSON Lines of a run: the entries, then the summary.
fn lines(run: &Run) -> (Vec<Value>, Value) {
    let mut docs: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", run.stderr))
        })
        .collect();
    let summary = docs.pop().expect("a summary line");
    assert_eq!(summary["type"], "summary", "{summary}");
    for doc in &docs {
        assert_eq!(doc["type"], "entry");
        assert_eq!(doc["schema"], 1);
    }
    (docs, summary)
}

fn verified(entry: &Value) -> bool {
    entry["verdict"]["status"] == "verified"
}

fn failed_checks(entry: &Value) -> Vec<String> {
    entry["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "failed" || c["outcome"] == "not-run")
        .map(|c| format!("{} {}: {}", c["kind"], c["covers"], c["detail"]))
        .collect()
}

/// Packages: (path in the mirror, bytes).
type Pkgs = Vec<(String, Vec<u8>)>;

/// The four packages, made by the real tools: (path in the mirror, bytes).
fn packages(m: &Mirror) -> Option<Pkgs> {
    for t in ["tar", "gzip", "zip", "makeself"] {
        if !require_tool(t) {
            return None;
        }
    }
    let build = m.root().join("build");
    let src = build.join("src");
    fs::create_dir_all(src.join("payload")).unwrap();
    fs::write(src.join("payload/firmimg.d9"), prng(14, 70 << 10)).unwrap();
    fs::write(src.join("package.xml"), "<SoftwareComponent/>\n").unwrap();
    fs::write(src.join("setup.sh"), "#!/bin/sh\necho installs nothing\n").unwrap();
    tool(
        &build,
        "tar",
        &[os("-czf"), os("p.tgz"), os("-C"), src.as_os_str(), os(".")],
    );
    tool(
        &src,
        "zip",
        &[os("-q"), os("-r"), build.join("p.zip").as_os_str(), os(".")],
    );
    let run = crate::util::makeself_archive(&src, &build.join("p.run"), Makeself::default())?;
    let tgz = fs::read(build.join("p.tgz")).unwrap();
    Some(vec![
        (
            "FOLDER0001M/1/Network_Firmware_T3ST1_LN_1.0_A00.BIN".to_owned(),
            crate::util::dell_bin("<SoftwareComponent/>", &tgz),
        ),
        (
            "FOLDER0002M/1/sp.zip".to_owned(),
            fs::read(build.join("p.zip")).unwrap(),
        ),
        ("FOLDER0003M/2/image.tar.gz".to_owned(), tgz),
        (
            "FOLDER0004M/1/installer.run".to_owned(),
            fs::read(run).unwrap(),
        ),
    ])
}

/// The mirror with every package in place, and one component per package.
fn good_mirror() -> Option<(Mirror, Pkgs, Vec<String>)> {
    let m = Mirror::new();
    let pkgs = packages(&m)?;
    let mut components = Vec::new();
    for (i, (path, data)) in pkgs.iter().enumerate() {
        m.put(path, data);
        components.push(component(i, path, data, Hash::Both));
    }
    Some((m, pkgs, components))
}

#[test]
fn a_good_mirror_verifies_and_its_facts_are_read() {
    let Some((m, pkgs, components)) = good_mirror() else {
        return;
    };
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json"]);
    run.expect(0);
    let (entries, summary) = lines(&run);
    assert_eq!(entries.len(), pkgs.len());
    for (i, (entry, (path, data))) in entries.iter().zip(&pkgs).enumerate() {
        assert!(verified(entry), "{entry}");
        assert_eq!(entry["index"], i);
        assert_eq!(entry["path"], path.as_str());
        assert_eq!(entry["size"], data.len());
        assert_eq!(entry["weak"], false);
        let sha = entry["checks"].as_array().unwrap().iter().find(|c| {
            c["kind"] == "external" && c["algorithm"] == "sha256" && c["outcome"] == "passed"
        });
        assert!(sha.is_some(), "the catalogue's SHA-256 checked: {entry}");
        let dell = &entry["dell"];
        assert_eq!(dell["package_id"], format!("PKG{i:04}"));
        assert_eq!(dell["name"], format!("Test Firmware {i}"));
        assert_eq!(dell["component_type"], "FRMW");
        assert_eq!(dell["system_ids"][0], "0A6B");
        // PCI ids as a package's own XML gives them (`fwkit inspect`).
        let pci = &dell["devices"][0]["pci"][0];
        assert_eq!(pci["vendor"], "14E4");
        assert_eq!(pci["device"], "165F");
        assert_eq!(pci["subsystem_vendor"], "1028");
        assert_eq!(pci["subsystem_device"], "1F5B");
        assert_eq!(dell["reboot_required"], "true");
        assert_eq!(dell["sha256"], sha256_hex(data));
    }
    let formats: Vec<&str> = entries
        .iter()
        .map(|e| e["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["dell-dup", "zip", "tar", "makeself"]);
    assert_eq!(summary["verdict"]["status"], "verified");
    assert_eq!(summary["entries"], 4);
    assert_eq!(summary["verified"], 4);
    // Text, and the same catalogue as Dell ships it: UTF-16 with a BOM, not gzipped.
    if !require_tool("iconv") {
        return;
    }
    let xml = m.utf16_catalogue(&manifest(&components));
    let run = m.verify(&xml, &["-v"]);
    run.expect(0);
    assert!(
        run.stdout.contains("ok      FOLDER0002M/1/sp.zip (zip)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("verdict: verified"), "{}", run.stdout);
    // Without -v a verified entry is counted, not listed: the text output
    // does not grow with the mirror.
    let run = m.verify(&xml, &[]);
    run.expect(0);
    assert!(!run.stdout.contains("ok      "), "{}", run.stdout);
    assert!(run.stdout.contains("verdict: verified"), "{}", run.stdout);
}

/// The entry for `path` in a run's JSON Lines.
fn entry_for<'a>(entries: &'a [Value], path: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no entry for {path}"))
}

#[test]
fn a_flipped_byte_a_missing_file_and_a_wrong_size_fail_their_entries_only() {
    let Some((m, pkgs, mut components)) = good_mirror() else {
        return;
    };
    // Flip one byte in the middle of the zip.
    let (zip_path, zip) = &pkgs[1];
    let mut flipped = zip.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x40;
    m.put(zip_path, &flipped);
    // An entry whose file is absent, and one whose stated size is one too many.
    components.push(component(
        7,
        "FOLDER0009M/1/absent.BIN",
        b"never written",
        Hash::Both,
    ));
    let (tgz_path, tgz) = &pkgs[2];
    components[2] = component(2, tgz_path, tgz, Hash::Both).replace(
        &format!("size=\"{}\"", tgz.len()),
        &format!("size=\"{}\"", tgz.len() + 1),
    );
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json"]);
    run.expect(1);
    let (entries, summary) = lines(&run);
    assert_eq!(entries.len(), 5);
    let zip_entry = entry_for(&entries, zip_path);
    assert!(!verified(zip_entry));
    let sha = zip_entry["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "external" && c["algorithm"] == "sha256")
        .expect("the catalogue's sha256 check");
    assert_eq!(sha["outcome"], "failed", "{zip_entry}");
    assert_eq!(sha["expected"], sha256_hex(zip));
    let absent = entry_for(&entries, "FOLDER0009M/1/absent.BIN");
    assert!(!verified(absent));
    assert!(
        failed_checks(absent).iter().any(|c| c.contains("missing")),
        "{absent}"
    );
    let sized = entry_for(&entries, tgz_path);
    assert!(!verified(sized));
    let size = sized["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["covers"] == format!("size of {tgz_path}"))
        .expect("a size check");
    assert_eq!(size["outcome"], "failed");
    assert_eq!(size["expected"], (tgz.len() + 1).to_string());
    assert_eq!(size["computed"], tgz.len().to_string());
    // The others still verify: one bad package does not taint the rest.
    assert!(verified(entry_for(&entries, &pkgs[0].0)));
    assert!(verified(entry_for(&entries, &pkgs[3].0)));
    assert_eq!(summary["verified"], 2);
    assert_eq!(summary["verdict"]["status"], "not-verified");
    // Text names the failures.
    let text = m.verify(&cat, &[]);
    text.expect(1);
    assert!(
        text.stdout.contains(&format!("FAILED  {zip_path} (zip)")),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("verdict: NOT VERIFIED"));
}

#[test]
fn an_md5_only_entry_is_reported_weak() {
    let Some((m, pkgs, mut components)) = good_mirror() else {
        return;
    };
    // makeself carries its own MD5/CRC: with the catalogue's MD5 it verifies, weakly.
    let (run_path, run_data) = &pkgs[3];
    components[3] = component(3, run_path, run_data, Hash::Md5Only);
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json"]);
    run.expect(0);
    let (entries, summary) = lines(&run);
    let weak = entry_for(&entries, run_path);
    assert_eq!(weak["weak"], true);
    assert!(verified(weak));
    let md5 = weak["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["algorithm"] == "md5" && c["covers"] == format!("file {run_path}"))
        .expect("the catalogue's md5 check");
    assert_eq!(md5["outcome"], "passed");
    assert!(md5["detail"].as_str().unwrap().contains("weak"));
    assert_eq!(summary["weak"], 1);
    let text = m.verify(&cat, &[]);
    assert!(
        text.stdout.contains(&format!("weak    {run_path}")),
        "{}",
        text.stdout
    );
    // A wrong MD5 fails.
    components[3] = component(3, run_path, run_data, Hash::Md5Only)
        .replace(&md5_hex(run_data), &md5_hex(b"something else"));
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json"]);
    run.expect(1);
    let (entries, _) = lines(&run);
    assert!(!verified(entry_for(&entries, run_path)));
}

#[test]
fn an_unpinned_or_wrongly_pinned_catalogue_is_not_verified() {
    let Some((m, _, components)) = good_mirror() else {
        return;
    };
    let cat = m.catalogue(&components);
    let bare = |extra: &[&str]| {
        let mut args = vec![
            os("verify"),
            os("--catalog"),
            cat.as_os_str(),
            os("mirror"),
            os("--json"),
        ];
        args.extend(extra.iter().map(|a| os(a)));
        fwkit(m.root(), args)
    };
    let run = bare(&[]);
    run.expect(1);
    let (_, summary) = lines(&run);
    let trust = &summary["checks"][0];
    assert_eq!(trust["outcome"], "not-run", "{summary}");
    assert!(trust["detail"].as_str().unwrap().contains("neither pinned"));
    // A Catalog.gz.sign beside it that is no signature: not-run, and says
    // what would make the catalogue count.
    fs::write(
        m.root().join("Catalog.xml.gz.sign"),
        "-----BEGIN PGP SIGNATURE-----\n",
    )
    .unwrap();
    let run = bare(&[]);
    run.expect(1);
    let (_, summary) = lines(&run);
    let detail = summary["checks"][0]["detail"].as_str().unwrap().to_owned();
    assert_eq!(summary["checks"][0]["outcome"], "not-run");
    assert!(
        detail.contains("not a readable OpenPGP signature") && detail.contains("--sha256"),
        "{detail}"
    );
    // A pin that does not match.
    let wrong = sha256_hex(b"another catalogue");
    let run = bare(&["--sha256", &wrong]);
    run.expect(1);
    let (_, summary) = lines(&run);
    assert_eq!(summary["checks"][0]["outcome"], "failed");
    // The right pin verifies, with the .sign beside it.
    m.verify(&cat, &[]).expect(0);
}

#[test]
fn unsafe_paths_are_refused_and_nothing_outside_the_directory_is_read() {
    let Some((m, pkgs, mut components)) = good_mirror() else {
        return;
    };
    // A real package outside the mirror, with a name the report must never
    // show as checked, reachable by `../`, by its absolute path, and by a
    // link inside the mirror.
    let (_, zip) = &pkgs[1];
    fs::write(m.root().join("outside-secret.zip"), zip).unwrap();
    let absolute = m.root().join("outside-secret.zip");
    std::os::unix::fs::symlink(&absolute, m.dir().join("link.zip")).unwrap();
    let hostile = [
        "../outside-secret.zip".to_owned(),
        absolute.to_str().unwrap().to_owned(),
        "FOLDER0002M\\..\\..\\outside-secret.zip".to_owned(),
        "C:/outside-secret.zip".to_owned(),
        "link.zip".to_owned(),
    ];
    for (i, path) in hostile.iter().enumerate() {
        components.push(component(10 + i, path, zip, Hash::Both));
    }
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json"]);
    run.expect(1);
    let (entries, summary) = lines(&run);
    for path in &hostile {
        let entry = entry_for(&entries, path);
        assert!(!verified(entry), "{entry}");
        let checks = entry["checks"].as_array().unwrap();
        assert_eq!(checks.len(), 1, "only the refusal: {entry}");
        assert_eq!(checks[0]["kind"], "safety");
        assert_eq!(checks[0]["outcome"], "failed");
        assert!(checks[0]["detail"].as_str().unwrap().starts_with("refused"));
        // Never opened: no size, no format, no digest computed.
        assert!(
            entry["size"].is_null() && entry["format"].is_null(),
            "{entry}"
        );
    }
    assert!(!run.stdout.contains("outside-secret.zip (zip)"));
    assert_eq!(summary["verified"], pkgs.len());
}

#[test]
fn unlisted_files_are_listed_and_fail_with_strict() {
    let Some((m, _, components)) = good_mirror() else {
        return;
    };
    m.put("FOLDER0002M/1/stray.bin", b"nobody lists me");
    m.put(
        "FOLDER0001M/1/Network_Firmware_T3ST1_LN_1.0_A00.BIN.sign",
        b"sig",
    );
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json"]);
    run.expect(0);
    let (_, summary) = lines(&run);
    // The .sign beside a listed package is not a stray file.
    assert_eq!(
        summary["unlisted"],
        serde_json::json!(["FOLDER0002M/1/stray.bin"])
    );
    let run = m.verify(&cat, &["--json", "--strict"]);
    run.expect(1);
    let (_, summary) = lines(&run);
    let reasons = summary["verdict"]["reasons"].to_string();
    assert!(reasons.contains("unlisted (--strict)"), "{reasons}");
}

/// A catalogue of `n` entries over `files` real small files (the rest missing).
fn many(m: &Mirror, n: usize, files: usize) -> PathBuf {
    let mut components = Vec::with_capacity(n);
    for i in 0..n {
        let path = format!("FOLDER{i:08}M/1/pkg{i}.tar.gz");
        let data = prng(i as u64, 64);
        if i < files {
            m.put(&path, &data);
        }
        components.push(format!(
            "<SoftwareComponent packageID=\"P{i}\" path=\"{path}\" size=\"64\"><Cryptography><Hash algorithm=\"SHA256\">{}</Hash></Cryptography></SoftwareComponent>\n",
            sha256_hex(&data)
        ));
    }
    m.catalogue(&components)
}

fn indices(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn shards_cover_every_entry_once_and_stay_stable() {
    if !require_tool("gzip") {
        return;
    }
    let m = Mirror::new();
    let cat = many(&m, 300, 0);
    let mut union = BTreeSet::new();
    let mut sizes = Vec::new();
    for i in 0..4 {
        let shard = format!("{i}/4");
        let run = m.verify(&cat, &["--json", "--shard", &shard]);
        run.expect(1);
        let (entries, summary) = lines(&run);
        assert_eq!(summary["entries"], 300);
        assert_eq!(summary["checked"], entries.len());
        let again = m.verify(&cat, &["--json", "--shard", &shard, "--jobs", "1"]);
        assert_eq!(
            lines(&again).0,
            entries,
            "shard {shard} differs between runs"
        );
        for index in indices(&entries) {
            assert!(union.insert(index), "entry {index} in two shards");
        }
        sizes.push(entries.len());
    }
    assert_eq!(union, (0..300).collect::<BTreeSet<u64>>());
    assert!(
        sizes.iter().all(|&n| n > 40),
        "shards roughly even: {sizes:?}"
    );
    m.verify(&cat, &["--shard", "4/4"]).expect(2);
}

#[test]
fn jobs_1_and_jobs_2_give_the_same_results_in_the_same_order() {
    let Some((m, pkgs, mut components)) = good_mirror() else {
        return;
    };
    // More entries than workers, some failing, so the order is tested.
    for i in 0..40 {
        let path = format!("FOLDER1{i:04}M/1/small{i}.tar.gz");
        let data = prng(i, 300);
        if i % 7 != 3 {
            m.put(&path, &data);
        }
        components.push(component(20 + i as usize, &path, &data, Hash::Both));
    }
    let cat = m.catalogue(&components);
    let one = m.verify(&cat, &["--json", "--jobs", "1"]);
    let two = m.verify(&cat, &["--json", "--jobs", "2"]);
    one.expect(1);
    two.expect(1);
    assert_eq!(one.stdout, two.stdout);
    let (entries, _) = lines(&two);
    assert_eq!(
        indices(&entries),
        (0..(pkgs.len() + 40) as u64).collect::<Vec<_>>()
    );
}

#[test]
fn a_catalogue_of_200000_entries_runs_in_bounded_memory() {
    if !require_tool("gzip") || !crate::util::require_file(Path::new("/usr/bin/time")) {
        return;
    }
    let m = Mirror::new();
    let cat = many(&m, 200_000, 2_000);
    let pin = sha256_hex(&fs::read(&cat).unwrap());
    let out = Command::new("/usr/bin/time")
        .args([os("-f"), os("fwkit-peak-rss %M"), os(FWKIT)])
        .args([os("verify"), os("--catalog"), cat.as_os_str(), os("mirror")])
        .args([os("--sha256"), os(&pin), os("-q")])
        .current_dir(m.root())
        .stdin(Stdio::null())
        .output()
        .expect("spawn /usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss: u64 = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("fwkit-peak-rss "))
        .next_back()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in\n{stderr}"));
    // 198,000 entries have no file: not verified.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    eprintln!("200,000 entries: peak RSS {rss} KiB");
    // The catalogue is streamed: the gzip file (~2 MiB here), 16 bytes per
    // listed name and a window of entries in flight; 316 MiB when it was
    // parsed whole (release build), ~25 MiB now.
    assert!(rss < 128 << 10, "peak RSS {rss} KiB");
    // Over the entry cap: a clear limit message naming the flag, exit 2.
    let run = m.verify(&cat, &["--max-catalog-entries", "150000"]);
    run.expect(2);
    assert!(
        run.stderr.contains(
            "lists more than 150000 entries, the entry limit (raise it with --max-catalog-entries)"
        ),
        "{}",
        run.stderr
    );
    // Over the catalogue cap: a clear limit message, exit 2.
    let run = m.verify(&cat, &["--max-catalog", "1M"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("the catalogue limit (raise it with --max-catalog)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_reader_that_goes_away_does_not_change_the_answer() {
    if !require_tool("gzip") || !require_tool("bash") {
        return;
    }
    let m = Mirror::new();
    let cat = many(&m, 3000, 0);
    let pin = sha256_hex(&fs::read(&cat).unwrap());
    let script = format!(
        "'{FWKIT}' verify --catalog '{}' mirror --sha256 {pin} --json --jobs 2 | head -c 100 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
        cat.display()
    );
    let out = tool(m.root(), "bash", &[os("-c"), os(&script)]);
    assert_eq!(
        String::from_utf8_lossy(&out).trim(),
        "1",
        "every entry is missing: not verified"
    );
}

/// A catalogue's MD5 or SHA-1 of a package is computed in the package's own
/// pass (`VerifyOptions::stated`), not in a read of its own first: the
/// report carries it as an external check with that algorithm, and a wrong
/// one fails the package.
#[test]
fn a_stated_weak_digest_is_checked_in_the_package_pass() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/signed/expander-2.10.scexe");
    let bytes = fs::read(&sample).unwrap();
    let verify = |md5: String| {
        let options = fwkit::VerifyOptions {
            stated: Some((fwkit::Algorithm::Md5, md5)),
            ..fwkit::VerifyOptions::default()
        };
        fwkit::Package::open(&sample)
            .unwrap()
            .verify(&options)
            .unwrap()
    };
    let external = |report: &fwkit::Report| -> Vec<fwkit::Check> {
        report
            .checks
            .iter()
            .filter(|c| c.kind == fwkit::CheckKind::External)
            .cloned()
            .collect()
    };
    let good = verify(md5_hex(&bytes));
    let checks = external(&good);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].algorithm, Some(fwkit::Algorithm::Md5));
    assert_eq!(checks[0].outcome, fwkit::Outcome::Passed);
    assert_eq!(checks[0].range, Some((0, bytes.len() as u64)));
    assert!(matches!(good.verdict, fwkit::Verdict::Verified));
    let bad = verify(md5_hex(b"another file"));
    assert_eq!(external(&bad)[0].outcome, fwkit::Outcome::Failed);
    assert!(!matches!(bad.verdict, fwkit::Verdict::Verified));
}
