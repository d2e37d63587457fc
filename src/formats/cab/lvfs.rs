//! The LVFS profile of a cabinet: the releases its `*.metainfo.xml` files
//! declare and the checksums of its `*.jcat` files, checked against the
//! members (see `formats/cab.md`, "LVFS").
//!
//! For each release, as fwupd does: the payload is the source artifact's
//! `<filename>`, else the `filename` of the release's content checksum, else
//! `firmware.bin`; a declared `<size type="installed">` must equal the
//! payload's size; and every content checksum must match. fwupd guesses a
//! checksum's algorithm from its length; so does fwkit, and a `type`
//! attribute that disagrees is a failure. Every JCat checksum blob must match
//! the member its item names; its PKCS#7 and GPG signature blobs are
//! checked by `jcat_sign` against the keys and certificates given.

use super::lvfs_sign::Signing;
use crate::formats::jcat::{self, BlobKind};
use crate::formats::vendor_xml::MAX_XML;
use crate::model::{
    Algorithm, Check, CheckKind, LvfsRelease, Member, MemberKind, MemberName, Outcome, VendorInfo,
};
use crate::verify::VerifyOptions;
use std::collections::{HashMap, HashSet};

/// One release of one component, as its metainfo declares it.
#[derive(Debug, Clone, Default)]
struct Release {
    info: LvfsRelease,
    checksums: Vec<Declared>,
    /// `target="container"` checksums: of the cabinet itself, which a file
    /// inside it cannot know; fwupd replaces them, fwkit ignores them.
    container: usize,
}

/// A checksum a release declares for a member.
#[derive(Debug, Clone)]
struct Declared {
    /// The member's name (a base name).
    file: String,
    /// As declared, trimmed and lower-cased (fwupd lower-cases too).
    value: String,
    /// The `type` attribute, if any.
    kind: Option<String>,
    /// `artifact` or `release`.
    place: &'static str,
}

use crate::formats::vendor_xml::{child, children, text};

/// The last `/`-separated component, as fwupd takes the payload's base name.
fn basename(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

/// Parse a metainfo file: one `<component>` root, or `<components>`.
fn parse_metainfo(source: &str, bytes: &[u8]) -> Result<Vec<Release>, String> {
    if bytes.len() > MAX_XML {
        return Err(format!("larger than {MAX_XML} bytes"));
    }
    let xml = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let doc = roxmltree::Document::parse(xml.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("not valid XML: {e}"))?;
    let root = doc.root_element();
    let components: Vec<roxmltree::Node<'_, '_>> = match root.tag_name().name() {
        "component" => vec![root],
        "components" => children(root, "component").collect(),
        other => return Err(format!("root element <{other}> is not <component>")),
    };
    let mut releases = Vec::new();
    for component in components {
        if component.attribute("type") == Some("generic") {
            continue;
        }
        let id = text(child(component, "id"));
        let name = text(
            children(component, "name")
                .find(|n| n.attributes().len() == 0)
                .or_else(|| child(component, "name")),
        );
        let devices: Vec<String> = child(component, "provides")
            .map(|p| {
                children(p, "firmware")
                    .filter(|f| f.attribute("type") == Some("flashed"))
                    .filter_map(|f| text(Some(f)))
                    .take(64)
                    .collect()
            })
            .unwrap_or_default();
        let list: Vec<roxmltree::Node<'_, '_>> = child(component, "releases")
            .map(|r| children(r, "release").collect())
            .unwrap_or_default();
        if list.is_empty() {
            return Err(format!(
                "component {} has no <release>",
                id.as_deref().unwrap_or("without <id>")
            ));
        }
        for release in list {
            releases.push(parse_release(source, release, &id, &name, &devices));
        }
    }
    Ok(releases)
}

fn parse_release(
    source: &str,
    release: roxmltree::Node<'_, '_>,
    id: &Option<String>,
    name: &Option<String>,
    devices: &[String],
) -> Release {
    let artifact = child(release, "artifacts")
        .and_then(|a| children(a, "artifact").find(|x| x.attribute("type") == Some("source")));
    let content: Vec<roxmltree::Node<'_, '_>> = children(release, "checksum")
        .filter(|c| c.attribute("target") == Some("content"))
        .collect();
    let payload = match artifact {
        Some(a) => text(child(a, "filename")),
        None => content
            .first()
            .and_then(|c| c.attribute("filename"))
            .map(str::to_owned),
    }
    .map(|f| basename(&f))
    .unwrap_or_else(|| "firmware.bin".to_owned());
    let declared = |node: roxmltree::Node<'_, '_>, file: String, place| {
        text(Some(node)).map(|value| Declared {
            file,
            value: value.to_ascii_lowercase(),
            kind: node.attribute("type").map(str::to_owned),
            place,
        })
    };
    let mut checksums = Vec::new();
    if let Some(a) = artifact {
        for c in children(a, "checksum") {
            checksums.extend(declared(c, payload.clone(), "artifact"));
        }
    }
    for c in &content {
        let file = c
            .attribute("filename")
            .map_or_else(|| payload.clone(), basename);
        checksums.extend(declared(*c, file, "release"));
    }
    let container = children(release, "checksum")
        .filter(|c| c.attribute("target") == Some("container"))
        .count();
    let installed_size = children(release, "size")
        .find(|s| s.attribute("type") == Some("installed"))
        .map(|s| text(Some(s)).unwrap_or_default());
    let date = release
        .attribute("date")
        .map(str::to_owned)
        .or_else(|| release.attribute("timestamp").map(|t| format!("@{t}")));
    Release {
        info: LvfsRelease {
            source: source.to_owned(),
            component_id: id.clone(),
            name: name.clone(),
            version: release.attribute("version").map(str::to_owned),
            date,
            payload,
            installed_size,
            devices: devices.to_vec(),
            requires: super::requires::of(release),
        },
        checksums,
        container,
    }
}

/// The algorithm of a hex digest, from its length (as fwupd guesses it).
fn algorithm_of(value: &str) -> Option<Algorithm> {
    if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match value.len() {
        32 => Some(Algorithm::Md5),
        40 => Some(Algorithm::Sha1),
        64 => Some(Algorithm::Sha256),
        128 => Some(Algorithm::Sha512),
        _ => None,
    }
}

/// The digest algorithms a metainfo file's checksums need.
pub(super) fn algorithms(bytes: &[u8]) -> Vec<Algorithm> {
    let mut out = Vec::new();
    for release in parse_metainfo("", bytes).unwrap_or_default() {
        for c in &release.checksums {
            if let Some(a) = algorithm_of(&c.value) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// The file members by path and by base name, built once: a cabinet may
/// hold 65,535 files and a JCat 65,536 blobs, each looked up.
struct Files<'m> {
    by_path: HashMap<&'m str, &'m Member>,
    /// `None` when several files share the base name.
    by_base: HashMap<&'m str, Option<&'m Member>>,
}

impl<'m> Files<'m> {
    fn new(members: &'m [Member]) -> Files<'m> {
        let mut files = Files {
            by_path: HashMap::new(),
            by_base: HashMap::new(),
        };
        for m in members.iter().filter(|m| m.kind == MemberKind::File) {
            let Some(path) = &m.path else { continue };
            files.by_path.entry(path.as_str()).or_insert(m);
            files
                .by_base
                .entry(path.file_name())
                .and_modify(|found| *found = None)
                .or_insert(Some(m));
        }
        files
    }

    /// The file member called `name`: by path, else the one member whose
    /// base name it is (fwupd looks files up by base name).
    fn find(&self, name: &str) -> Option<&'m Member> {
        let name = name.replace('\\', "/");
        match self.by_path.get(name.as_str()) {
            Some(m) => Some(*m),
            None => self.by_base.get(name.as_str()).copied().flatten(),
        }
    }
}

/// A digest check of `member` against `expected`.
fn digest(covers: String, algorithm: Algorithm, expected: &str, member: Option<&Member>) -> Check {
    let mut check = Check::new(CheckKind::Digest, covers, Outcome::NotRun);
    check.algorithm = Some(algorithm);
    check.expected = Some(expected.to_owned());
    match member {
        None => {
            check.outcome = Outcome::Failed;
            check.detail = Some("the cabinet holds no such file".to_owned());
        }
        Some(m) => match m.digests.get(&algorithm) {
            Some(value) => {
                check.outcome = if value == expected {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                };
                check.computed = Some(value.clone());
            }
            None => check.detail = Some("the member's digest was not computed".to_owned()),
        },
    }
    check
}

/// Remember that a passed digest check covers `member`.
fn note(check: &Check, member: Option<&Member>, covered: &mut HashSet<String>) {
    if let (Outcome::Passed, Some(path)) = (check.outcome, member.and_then(|m| m.path.as_ref())) {
        covered.insert(path.to_string());
    }
}

/// Check every metainfo release and JCat blob of a cabinet against its
/// members, and describe the releases.
///
/// When nothing covers the whole cabinet (its data blocks carry no CFDATA
/// checksums and no `--sha256` was given), every file must be covered by a
/// passed checksum here, the metainfo and JCat files counting as covered the
/// way a manifest does; otherwise the package is not verified.
///
/// Returns the JCat signature checks, each with whether it passed and the
/// passed signatures together cover every file of the cabinet but the
/// JCat files (for the signature policy).
pub(crate) fn lvfs_checks(
    captured: &[(MemberName, Vec<u8>)],
    members: &[Member],
    (vendor, checks): (&mut Vec<VendorInfo>, &mut Vec<Check>),
    options: &VerifyOptions,
) -> Vec<(Check, bool)> {
    let whole = checks.iter().any(|c| {
        c.outcome == Outcome::Passed
            && c.range.is_some()
            && (c.kind == CheckKind::External
                || (c.kind == CheckKind::Stream && c.algorithm == Some(Algorithm::StreamCheck)))
    });
    let mut covered = HashSet::new();
    let files = Files::new(members);
    let mut signing = Signing::new(options);
    for (name, bytes) in captured {
        let name = name.as_str();
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".metainfo.xml") {
            metainfo_checks(name, bytes, &files, vendor, checks, &mut covered);
            covered.insert(name.to_owned());
        } else if lower.ends_with(".jcat") {
            jcat_checks(name, bytes, &files, (checks, &mut covered), &mut signing);
            covered.insert(name.to_owned());
        }
    }
    let signatures = signing.whole(members);
    if whole || !checks.iter().any(|c| c.kind == CheckKind::Digest) {
        return signatures;
    }
    let uncovered: Vec<&str> = members
        .iter()
        .filter(|m| m.kind == MemberKind::File && m.problem.is_none())
        .filter(|m| {
            !m.path
                .as_ref()
                .is_some_and(|p| covered.contains(p.as_str()))
        })
        .map(|m| m.name.as_str())
        .collect();
    if !uncovered.is_empty() {
        checks.push(Check::failed(
            CheckKind::Digest,
            format!("{} member(s)", uncovered.len()),
            format!(
                "no checksum covers {}: the cabinet's data blocks carry no checksums",
                uncovered.join(", ")
            ),
        ));
    }
    signatures
}

fn metainfo_checks(
    source: &str,
    bytes: &[u8],
    files: &Files<'_>,
    vendor: &mut Vec<VendorInfo>,
    checks: &mut Vec<Check>,
    covered: &mut HashSet<String>,
) {
    let releases = match parse_metainfo(source, bytes) {
        Ok(releases) => releases,
        Err(why) => {
            checks.push(Check::failed(
                CheckKind::Structure,
                format!("metainfo {source}"),
                why,
            ));
            return;
        }
    };
    for release in releases {
        let info = &release.info;
        let label = format!(
            "metainfo {source}, release {}",
            info.version.as_deref().unwrap_or("without version")
        );
        let payload = files.find(&info.payload);
        if payload.is_none() {
            checks.push(Check::failed(
                CheckKind::Structure,
                format!("payload {} ({label})", info.payload),
                "the release's payload is not in the cabinet",
            ));
        }
        if let (Some(declared), Some(member)) = (&info.installed_size, payload) {
            checks.push(size_check(&label, info, declared, member));
        }
        for declared in &release.checksums {
            checks.push(checksum_check(&label, declared, files, covered));
        }
        if release.container > 0 {
            checks.push(
                Check::new(CheckKind::Structure, format!("cabinet ({label})"), Outcome::Info)
                    .with_detail(
                        "container checksum ignored: a file inside the cabinet cannot carry the cabinet's own digest",
                    ),
            );
        }
        vendor.push(VendorInfo::Lvfs(release.info));
    }
}

/// The check of a release's `declared` installed size against its payload
/// `member`; `label` names the release.
fn size_check(label: &str, info: &LvfsRelease, declared: &str, member: &Member) -> Check {
    let covers = format!("size of member {} ({label})", info.payload);
    let parsed = parse_size(declared);
    let mut check = Check::new(CheckKind::Structure, covers, Outcome::Passed);
    check.expected = Some(declared.to_owned());
    check.computed = Some(member.size.to_string());
    match parsed {
        Some(size) if size == member.size => {
            check.detail = Some("the installed size is the payload's size".to_owned());
        }
        Some(_) => {
            check.outcome = Outcome::Failed;
            check.detail = Some("the installed size is not the payload's size".to_owned());
        }
        None => {
            check.outcome = Outcome::Failed;
            check.detail = Some(format!("'{declared}' is not a size"));
        }
    }
    check
}

/// The check of one checksum a release declares, `label` naming the release:
/// a failure when its value or `type` is unusable, else the digest check of
/// the member it names (noted in `covered` when it passes).
fn checksum_check(
    label: &str,
    declared: &Declared,
    files: &Files<'_>,
    covered: &mut HashSet<String>,
) -> Check {
    let covers = format!(
        "member {} ({label}, {} checksum)",
        declared.file, declared.place
    );
    let Some(algorithm) = algorithm_of(&declared.value) else {
        return Check::failed(
            CheckKind::Digest,
            covers,
            format!(
                "'{}' is not a hex MD5, SHA-1, SHA-256 or SHA-512 digest",
                declared.value
            ),
        );
    };
    if let Some(kind) = &declared.kind {
        if !kind.eq_ignore_ascii_case(algorithm.name()) {
            return Check::failed(
                CheckKind::Digest,
                covers,
                format!(
                    "type=\"{kind}\" but the value has {} hex digits ({})",
                    declared.value.len(),
                    algorithm.name()
                ),
            );
        }
    }
    let member = files.find(&declared.file);
    let check = digest(covers, algorithm, &declared.value, member);
    note(&check, member, covered);
    check
}

/// A decimal size, or hex with `0x` (fwupd reads either).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn jcat_checks(
    source: &str,
    bytes: &[u8],
    files: &Files<'_>,
    (checks, covered): (&mut Vec<Check>, &mut HashSet<String>),
    signing: &mut Signing<'_>,
) {
    let file = match jcat::parse(bytes) {
        Ok(file) => file,
        Err(why) => {
            checks.push(Check::failed(
                CheckKind::Structure,
                format!("JCat file {source}"),
                why,
            ));
            return;
        }
    };
    checks.push(jcat_summary(source, &file));
    for item in &file.items {
        let member = std::iter::once(&item.id)
            .chain(&item.alias_ids)
            .find_map(|id| files.find(id));
        for (index, blob) in item.blobs.iter().enumerate() {
            let kind = jcat::kind_name(blob.kind);
            let covers = format!("member {} ({source}, {kind} blob {index})", item.id);
            let check = match &blob.data {
                Ok(data) if matches!(blob.kind(), BlobKind::Signature("pkcs7" | "gpg")) => {
                    signing.judge(&covers, (item, blob, data), member);
                    continue;
                }
                Ok(data) => blob_check(covers, blob, data, member, covered),
                Err(why) => Check::failed(CheckKind::Structure, covers, why.clone()),
            };
            checks.push(check);
        }
    }
}

/// The passed structure check of the JCat file `source`: its version, its
/// items and blobs, and any bytes after its gzip data.
fn jcat_summary(source: &str, file: &jcat::JcatFile) -> Check {
    let blobs: usize = file.items.iter().map(|i| i.blobs.len()).sum();
    let mut detail = format!(
        "JCat {}.{}: {} item(s), {blobs} blob(s)",
        file.major,
        file.minor,
        file.items.len()
    );
    if file.trailing > 0 {
        detail.push_str(&format!(
            "; {} byte(s) after the gzip data are not part of it",
            file.trailing
        ));
    }
    Check::new(
        CheckKind::Structure,
        format!("JCat file {source}"),
        Outcome::Passed,
    )
    .with_detail(detail)
}

/// The check of one JCat `blob` holding `data` over `member`: a checksum is
/// checked (and noted in `covered` when it passes), anything else reported.
fn blob_check(
    covers: String,
    blob: &jcat::Blob,
    data: &[u8],
    member: Option<&Member>,
    covered: &mut HashSet<String>,
) -> Check {
    let kind = jcat::kind_name(blob.kind);
    match (blob.kind(), blob.target) {
        (BlobKind::Checksum(algorithm), None) => {
            let expected = String::from_utf8_lossy(data).into_owned();
            let check = digest(covers, algorithm, &expected, member);
            note(&check, member, covered);
            check
        }
        (BlobKind::Signature(what), target) => {
            let signs = match target {
                Some(t) => format!("the item's {} checksum", jcat::kind_name(t)),
                None => "the file".to_owned(),
            };
            let mut detail = format!(
                "{what} signature of {signs} present, not checked (fwkit checks JCat PKCS#7 and GPG signatures only)"
            );
            if let Some(t) = blob.timestamp.filter(|t| *t > 0) {
                detail.push_str(&format!("; made at Unix time {t}"));
            }
            Check::new(CheckKind::Signature, covers, Outcome::Info).with_detail(detail)
        }
        (BlobKind::Checksum(_), Some(t)) | (BlobKind::Other, Some(t)) => {
            Check::new(CheckKind::Signature, covers, Outcome::Info).with_detail(format!(
                "{kind} blob over the item's {} blob, not checked",
                jcat::kind_name(t)
            ))
        }
        (BlobKind::Other, None) => Check::new(CheckKind::Signature, covers, Outcome::Info)
            .with_detail(format!("{kind} blob, not checked")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<component type="firmware">
  <id>org.fwkit.Sample.firmware</id>
  <name>Sample</name>
  <name xml:lang="de">Beispiel</name>
  <provides><firmware type="flashed">12345678-1234-1234-1234-123456789abc</firmware></provides>
  <releases>
    <release version="1.2.3" date="2026-01-01">
      <checksum type="sha1" filename="fw.bin" target="content">DA39A3EE5E6B4B0D3255BFEF95601890AFD80709</checksum>
      <checksum type="sha1" target="container">0000000000000000000000000000000000000000</checksum>
      <size type="installed">0x10</size>
    </release>
  </releases>
</component>"#;

    #[test]
    fn release_fields() {
        let releases = parse_metainfo("a.metainfo.xml", XML.as_bytes()).unwrap();
        let r = &releases[0];
        assert_eq!(r.info.payload, "fw.bin");
        assert_eq!(r.info.name.as_deref(), Some("Sample"));
        assert_eq!(r.info.version.as_deref(), Some("1.2.3"));
        assert_eq!(r.info.devices.len(), 1);
        assert_eq!(r.container, 1);
        assert_eq!(r.checksums.len(), 1);
        assert_eq!(
            r.checksums[0].value,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(parse_size("0x10"), Some(16));
        assert_eq!(algorithms(XML.as_bytes()), vec![Algorithm::Sha1]);
    }

    #[test]
    fn artifact_names_the_payload() {
        let xml = r#"<component type="firmware"><releases><release version="2">
            <artifacts><artifact type="binary"><filename>x.cab</filename></artifact>
            <artifact type="source"><filename>dir/payload.rom</filename>
            <checksum type="sha256">e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</checksum>
            </artifact></artifacts></release></releases></component>"#;
        let releases = parse_metainfo("m", xml.as_bytes()).unwrap();
        assert_eq!(releases[0].info.payload, "payload.rom");
        assert_eq!(releases[0].checksums[0].place, "artifact");
        let none = r#"<component type="firmware"><releases><release/></releases></component>"#;
        assert_eq!(
            parse_metainfo("m", none.as_bytes()).unwrap()[0]
                .info
                .payload,
            "firmware.bin"
        );
        assert!(parse_metainfo("m", b"<component/>").is_err());
        assert!(parse_metainfo("m", b"<other/>").is_err());
    }
}
