//! Packing custom image sets that verify end to end.
//!
//! Every package carries `FWKIT-MANIFEST` (every member's path, size, mode
//! and SHA-256), `SHA256SUMS` for `sha256sum -c`, and, when signed,
//! `FWKIT-MANIFEST.minisig`: one signature proves the set complete and intact.
//! These come first in the package, in a compressed stream of their own, so
//! [`resign`] can replace the signature without touching the payload.
//!
//! Output is reproducible: members sorted, timestamps from
//! `SOURCE_DATE_EPOCH` (or 0), owner 0, modes `0755`/`0644`.

mod archive;
mod resign;

/// fwkit's self-extracting stub (see `formats/fwkit-sfx.md`).
pub mod stub {
    pub use crate::formats::fwkit_sfx::{render, StubSpec};
}

use crate::error::{Error, Result, Setting};
use crate::model::MemberName;
use crate::sign::{SecretKey, SignOptions};
use crate::verify::digest::Hasher;
use crate::verify::fwkit_manifest::{FileEntry, FwkitManifest, MANIFEST_NAME, SIGNATURE_NAME};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use resign::resign;

/// What to pack into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PackFormat {
    /// Self-extracting `sh` archive with an HP-style `_SKIP` line and `--unpack=DIR`.
    Scexe,
    /// Self-extracting `sh` archive with makeself's header variables.
    Makeself,
    /// A zip (service-processor style) with manifest and `SHA256SUMS`.
    Zip,
    /// gzip-compressed tar.
    TarGz,
    /// xz-compressed tar.
    TarXz,
    /// zstd-compressed tar.
    TarZst,
    /// A directory: a multi-file upgrade set.
    Set,
    /// An HPE-style `.fwpkg`: a zip with a generated `payload.json`.
    Fwpkg,
}

impl PackFormat {
    /// Parse a `--format` value.
    pub fn parse(text: &str) -> Option<PackFormat> {
        Some(match text {
            "scexe" => PackFormat::Scexe,
            "makeself" => PackFormat::Makeself,
            "zip" => PackFormat::Zip,
            "tar.gz" | "tgz" => PackFormat::TarGz,
            "tar.xz" | "txz" => PackFormat::TarXz,
            "tar.zst" | "tzst" => PackFormat::TarZst,
            "set" => PackFormat::Set,
            "fwpkg" => PackFormat::Fwpkg,
            _ => return None,
        })
    }
}

/// The device an `.fwpkg`'s `payload.json` describes.
#[derive(Debug, Clone, Default)]
pub struct FwpkgDevice {
    /// `DeviceName`.
    pub name: String,
    /// `Target` GUID.
    pub target: String,
}

/// How to pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// Output format.
    pub format: PackFormat,
    /// Package name (manifest, label).
    pub name: String,
    /// Package version.
    pub version: String,
    /// Creation time written everywhere (seconds; `SOURCE_DATE_EPOCH` or 0).
    pub created: u64,
    /// Sign the manifest with this key.
    pub sign: Option<SecretKey>,
    /// For self-extracting formats: the command run after extraction.
    pub run: Option<String>,
    /// For `.fwpkg`: the device the images update.
    pub device: Option<FwpkgDevice>,
    /// Signed `provides` lines of the manifest (device GUIDs).
    pub provides: Vec<String>,
    /// Signed `requires` lines (`ge E.02.26`).
    pub requires: Vec<String>,
}

/// One member to pack.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub name: MemberName,
    /// `None` for a directory.
    pub source: Option<Source>,
    pub mode: u32,
}

/// Where a file member's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    File(PathBuf, u64),
    Bytes(Vec<u8>),
}

impl Source {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::File(_, len) => *len,
            Source::Bytes(b) => b.len() as u64,
        }
    }

    pub(crate) fn open(&self) -> Result<Box<dyn Read + '_>> {
        Ok(match self {
            Source::File(path, _) => Box::new(File::open(path).map_err(|e| Error::read(path, e))?),
            Source::Bytes(bytes) => Box::new(&bytes[..]),
        })
    }
}

/// The packed content: metadata members first, then the tree.
#[derive(Debug)]
pub(crate) struct Content {
    pub head: Vec<Item>,
    pub body: Vec<Item>,
}

/// What [`pack`] made.
#[derive(Debug, Clone)]
pub struct PackReport {
    /// The output path.
    pub output: PathBuf,
    /// Files packed (not counting fwkit's own metadata).
    pub files: usize,
    /// The manifest's SHA-256.
    pub manifest_sha256: String,
    /// Key id of the signature, when signed.
    pub signed_by: Option<String>,
}

fn normal_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 {
        0o755
    } else {
        0o644
    }
}

/// Every directory and file below `root`, sorted, as members.
fn collect(root: &Path) -> Result<Vec<Item>> {
    use crate::input::{mode_of, walk_sorted, Step};
    let mut items = Vec::new();
    walk_sorted(root, |found| {
        let text = found.rel;
        let name = MemberName::parse(text.as_bytes()).map_err(|e| Error::Invalid {
            setting: Setting::Source,
            reason: format!("{text}: {e}"),
        })?;
        if [MANIFEST_NAME, SIGNATURE_NAME, "SHA256SUMS"].contains(&name.as_str()) {
            return Err(Error::Invalid {
                setting: Setting::Source,
                reason: format!("{text}: fwkit writes this file itself; remove it from the source"),
            });
        }
        let meta = &found.meta;
        if meta.is_dir() {
            items.push(Item {
                name,
                source: None,
                mode: 0o755,
            });
            Ok(Step::Descend)
        } else if meta.is_file() {
            items.push(Item {
                name,
                source: Some(Source::File(found.path, meta.len())),
                mode: normal_mode(mode_of(meta)),
            });
            Ok(Step::Next)
        } else {
            Err(Error::Invalid {
                setting: Setting::Source,
                reason: format!(
                    "{text}: only regular files and directories are packed (links and special files are not)"
                ),
            })
        }
    })?;
    // Directories before their contents, everything by name.
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(items)
}

fn sha256_of(source: &Source) -> Result<String> {
    let mut reader = source.open()?;
    let mut hasher = Hasher::new(crate::model::Algorithm::Sha256);
    let mut buf = vec![0u8; 256 << 10];
    let read_error = |e| match source {
        Source::File(p, _) => Error::read(p, e),
        Source::Bytes(_) => Error::read("<memory>", e),
    };
    loop {
        let n = reader.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).ok_or_else(|| {
            read_error(std::io::Error::other(
                "the reader returned more than it was asked",
            ))
        })?;
        hasher.update(chunk);
    }
    Ok(hasher.finish())
}

/// The generated `payload.json` of an `.fwpkg`: every file is an image of the device.
fn payload_json(options: &PackOptions, items: &[Item]) -> Result<Vec<u8>> {
    let device = options.device.clone().ok_or(Error::Invalid {
        setting: Setting::Device,
        reason: "an fwpkg needs --device NAME and --target GUID".to_owned(),
    })?;
    let images: Vec<serde_json::Value> = items
        .iter()
        .filter(|i| i.source.is_some())
        .map(|i| {
            serde_json::json!({
                "FileName": i.name.as_str(),
                "DirectFlashOk": true,
                "ResetRequired": false,
                "UefiFlashable": false,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "PackageFormat": "FWPKG-v2",
        "UpdatableBy": ["Bmc"],
        "Devices": {"Device": [{
            "DeviceName": device.name,
            "Target": device.target,
            "Version": options.version,
            "FirmwareImages": images,
        }]},
    });
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Invalid {
        setting: Setting::Device,
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The trusted comment of a manifest signature.
pub(crate) fn trusted_comment(manifest: &FwkitManifest) -> String {
    format!(
        "timestamp:{}\tfile:{MANIFEST_NAME}\tpackage:{} {}",
        manifest.created, manifest.name, manifest.version
    )
}

/// Sign manifest bytes; the `.minisig` text.
pub(crate) fn sign_manifest(
    key: &SecretKey,
    manifest: &FwkitManifest,
    bytes: &[u8],
) -> Result<Vec<u8>> {
    let options = SignOptions {
        trusted_comment: trusted_comment(manifest),
        untrusted_comment: format!("signature of {MANIFEST_NAME} by fwkit key {}", key.key_id()),
        ..SignOptions::default()
    };
    let signature = crate::sign::sign(key, bytes, &options).map_err(|e| Error::Invalid {
        setting: Setting::SigningKey,
        reason: e.to_string(),
    })?;
    Ok(signature.to_file_string().into_bytes())
}

/// Collect the tree and build the metadata members.
fn content(src: &Path, options: &PackOptions) -> Result<(Content, FwkitManifest, String)> {
    let mut body = collect(src)?;
    if options.format == PackFormat::Fwpkg {
        add_payload_json(&mut body, options)?;
    }
    let (files, sums) = file_entries(&body)?;
    let self_extracting = matches!(options.format, PackFormat::Scexe | PackFormat::Makeself);
    let manifest = FwkitManifest {
        name: options.name.clone(),
        version: options.version.clone(),
        created: options.created,
        run: options.run.clone().filter(|_| self_extracting),
        provides: options.provides.clone(),
        requires: options.requires.clone(),
        files,
    };
    let manifest_bytes = manifest.to_bytes().map_err(|reason| Error::Invalid {
        setting: Setting::NameOrVersion,
        reason,
    })?;
    let manifest_sha256 = sha256_of(&Source::Bytes(manifest_bytes.clone()))?;
    let head = metadata_items(&manifest, &manifest_bytes, sums, options.sign.as_ref())?;
    Ok((Content { head, body }, manifest, manifest_sha256))
}

/// One of the names fwkit gives its own members.
fn internal_name(text: &str) -> Result<MemberName> {
    MemberName::parse(text.as_bytes()).map_err(|_| Error::Invalid {
        setting: Setting::Format,
        reason: "internal name".to_owned(),
    })
}

/// Adds the generated `payload.json` of a `.fwpkg` to `body`, kept sorted;
/// refused when the source has one of its own.
fn add_payload_json(body: &mut Vec<Item>, options: &PackOptions) -> Result<()> {
    if body.iter().any(|i| i.name.as_str() == "payload.json") {
        return Err(Error::Invalid {
            setting: Setting::Format,
            reason: "the source already has a payload.json".to_owned(),
        });
    }
    let json = payload_json(options, body)?;
    body.push(Item {
        name: internal_name("payload.json")?,
        source: Some(Source::Bytes(json)),
        mode: 0o644,
    });
    body.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(())
}

/// The manifest's file entries (every file of `body`, then `SHA256SUMS`)
/// and the bytes of `SHA256SUMS`.
fn file_entries(body: &[Item]) -> Result<(Vec<FileEntry>, Vec<u8>)> {
    let mut files = Vec::new();
    let mut sums = String::new();
    for item in body {
        if let Some(source) = &item.source {
            let sha256 = sha256_of(source)?;
            sums.push_str(&format!("{sha256}  {}\n", item.name));
            files.push(FileEntry {
                path: item.name.clone(),
                size: source.len(),
                mode: item.mode,
                sha256,
            });
        }
    }
    let sums = sums.into_bytes();
    files.push(FileEntry {
        path: internal_name("SHA256SUMS")?,
        size: sums.len() as u64,
        mode: 0o644,
        sha256: sha256_of(&Source::Bytes(sums.clone()))?,
    });
    Ok((files, sums))
}

/// The metadata member's items: the manifest, its signature when `key` is
/// given, and `SHA256SUMS`.
fn metadata_items(
    manifest: &FwkitManifest,
    manifest_bytes: &[u8],
    sums: Vec<u8>,
    key: Option<&SecretKey>,
) -> Result<Vec<Item>> {
    let mut head = vec![Item {
        name: internal_name(MANIFEST_NAME)?,
        source: Some(Source::Bytes(manifest_bytes.to_vec())),
        mode: 0o644,
    }];
    if let Some(key) = key {
        head.push(Item {
            name: internal_name(SIGNATURE_NAME)?,
            source: Some(Source::Bytes(sign_manifest(key, manifest, manifest_bytes)?)),
            mode: 0o644,
        });
    }
    head.push(Item {
        name: internal_name("SHA256SUMS")?,
        source: Some(Source::Bytes(sums)),
        mode: 0o644,
    });
    Ok(head)
}

/// Pack `src` into `out` (which must not exist).
pub fn pack(src: &Path, out: &Path, options: &PackOptions) -> Result<PackReport> {
    // The name is also the directory a self-extractor creates: one plain component.
    let name_ok = !options.name.is_empty()
        && options.name != "."
        && options.name != ".."
        && !options.name.contains(['/', '\\'])
        && !options.name.chars().any(char::is_control);
    if !name_ok {
        return Err(Error::Invalid {
            setting: Setting::NameOrVersion,
            reason: format!("'{}' must be one plain path component", options.name),
        });
    }
    if out.symlink_metadata().is_ok() {
        // Checked again when the output is put in place; this saves the work.
        return Err(Error::DestinationExists {
            path: out.to_path_buf(),
        });
    }
    let (content, manifest, manifest_sha256) = content(src, options)?;
    archive::write(&content, out, options)?;
    Ok(PackReport {
        output: out.to_path_buf(),
        files: manifest.files.len().saturating_sub(1),
        manifest_sha256,
        signed_by: options.sign.as_ref().map(|k| k.key_id().to_string()),
    })
}
