//! Re-signing a package fwkit built: only the metadata member (manifest and
//! signature) is rebuilt; the payload's bytes are kept as they are.

use super::archive::{io_err, tar_entries, Codec, Encoder};
use super::{Item, PackReport};
use crate::error::{Error, Result};
use crate::extract;
use crate::formats::fwkit_sfx;
use crate::input::{mode_of, FileSystem};
use crate::model::Algorithm;
use crate::verify::digest::Hasher;
use crate::verify::fwkit_manifest::{FwkitManifest, MANIFEST_NAME, SIGNATURE_NAME};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

/// Replace the manifest signature of a package fwkit built, without
/// repacking its payload. The package must verify first (a tampered package
/// is never re-blessed).
pub fn resign(package: &Path, key: &crate::sign::SecretKey) -> Result<PackReport> {
    let opened = crate::Package::open(package)?;
    let report = opened.verify(&crate::VerifyOptions::default())?;
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.outcome.is_failure() && c.kind != crate::CheckKind::Signature)
        .map(|c| c.summary())
        .collect();
    if !failed.is_empty()
        || !report
            .members
            .iter()
            .any(|m| m.name.trim_start_matches("./") == MANIFEST_NAME)
    {
        return Err(Error::NotUnpacked {
            path: package.to_path_buf(),
            reason: if failed.is_empty() {
                format!("no {MANIFEST_NAME}: only packages fwkit built can be re-signed")
            } else {
                format!(
                    "it does not verify, so it is not re-signed: {}",
                    failed.join("; ")
                )
            },
        });
    }
    match report.format {
        crate::FormatKind::Set => resign_set(package, key),
        crate::FormatKind::Zip => resign_zip(package, key),
        crate::FormatKind::Tar => resign_tarball(package, key, 0),
        crate::FormatKind::Makeself => {
            let offset = report.layers.first().map(|l| l.range.1).unwrap_or_default();
            resign_tarball(package, key, offset)
        }
        other => Err(Error::Unsupported {
            path: package.to_path_buf(),
            format: other.name(),
        }),
    }
}

fn manifest_and_signature(manifest_bytes: &[u8], key: &crate::sign::SecretKey) -> Result<Vec<u8>> {
    let cap = crate::verify::manifest::MAX_MANIFEST;
    if manifest_bytes.len() > cap {
        return Err(Error::NotUnpacked {
            path: MANIFEST_NAME.into(),
            reason: format!("more than {cap} bytes, the most a manifest may hold"),
        });
    }
    let manifest = FwkitManifest::parse(manifest_bytes).map_err(|reason| Error::NotUnpacked {
        path: MANIFEST_NAME.into(),
        reason,
    })?;
    super::sign_manifest(key, &manifest, manifest_bytes)
}

fn report_for(package: &Path, manifest_bytes: &[u8], key: &crate::sign::SecretKey) -> PackReport {
    let mut sha = Hasher::new(Algorithm::Sha256);
    sha.update(manifest_bytes);
    PackReport {
        output: package.to_path_buf(),
        files: 0,
        manifest_sha256: sha.finish(),
        signed_by: Some(key.key_id().to_string()),
    }
}

/// Replace `package` atomically with `bytes`, keeping its permissions; a
/// new file (an unsigned set gaining its first signature) gets 0644.
fn replace_file(package: &Path, bytes: &[u8]) -> Result<()> {
    let mode = match std::fs::metadata(package) {
        Ok(meta) => mode_of(&meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0o644,
        Err(e) => return Err(Error::read(package, e)),
    };
    extract::replace_file(package, mode, |f| {
        f.write_all(bytes).map_err(io_err(package))
    })
}

/// One byte past the manifest cap, so an oversized one fails to parse.
const MANIFEST_READ: u64 = crate::verify::manifest::MAX_MANIFEST as u64 + 1;

fn resign_set(dir: &Path, key: &crate::sign::SecretKey) -> Result<PackReport> {
    let manifest_path = dir.join(MANIFEST_NAME);
    let bytes = crate::input::read_capped(&FileSystem, &manifest_path, MANIFEST_READ)?;
    let signature = manifest_and_signature(&bytes, key)?;
    replace_file(&dir.join(SIGNATURE_NAME), &signature)?;
    Ok(report_for(dir, &bytes, key))
}

fn resign_zip(package: &Path, key: &crate::sign::SecretKey) -> Result<PackReport> {
    let file = File::open(package).map_err(|e| Error::read(package, e))?;
    let zerr = |e: zip::result::ZipError| Error::read(package, io::Error::other(e.to_string()));
    let mut archive = zip::ZipArchive::new(file).map_err(zerr)?;
    let mut manifest = Vec::new();
    archive
        .by_name(MANIFEST_NAME)
        .map_err(zerr)?
        .take(MANIFEST_READ)
        .read_to_end(&mut manifest)
        .map_err(|e| Error::read(package, e))?;
    let signature = manifest_and_signature(&manifest, key)?;
    let mut out = io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(zerr)?;
            let name = entry.name_raw().to_vec();
            let time = entry.last_modified().unwrap_or_default();
            if name == SIGNATURE_NAME.as_bytes() {
                continue;
            }
            writer.raw_copy_file(entry).map_err(zerr)?;
            if name == MANIFEST_NAME.as_bytes() {
                let options = zip::write::SimpleFileOptions::default()
                    .last_modified_time(time)
                    .unix_permissions(0o644)
                    .compression_method(zip::CompressionMethod::Deflated);
                writer.start_file(SIGNATURE_NAME, options).map_err(zerr)?;
                writer.write_all(&signature).map_err(io_err(package))?;
            }
        }
        writer.finish().map_err(zerr)?;
    }
    replace_file(package, &out.into_inner())?;
    Ok(report_for(package, &manifest, key))
}

/// Tar entries read whole: name and content.
type Entries = Vec<(String, Vec<u8>)>;

/// A tarball payload split where re-signing needs it.
struct Tarball {
    /// The self-extracting stub before the payload (empty for a plain tarball).
    prefix: Vec<u8>,
    codec: Codec,
    /// The first compressed member, decoded: fwkit's metadata entries.
    head: Vec<u8>,
    /// Every later compressed member, as it is in the file.
    rest: Vec<u8>,
}

/// Re-sign a tarball (or the tarball payload of a self-extracting package
/// starting at `offset`): only the first compressed member, which holds the
/// metadata, is rebuilt; the payload member is copied byte for byte.
fn resign_tarball(package: &Path, key: &crate::sign::SecretKey, offset: u64) -> Result<PackReport> {
    let tarball = read_tarball(package, offset)?;
    let (entries, mtime) = metadata_entries(package, &tarball)?;
    let Some((_, manifest)) = entries.iter().find(|(n, _)| n == MANIFEST_NAME) else {
        return Err(Error::NotUnpacked {
            path: package.to_path_buf(),
            reason: format!(
                "the first compressed member holds no {MANIFEST_NAME}: not laid out by fwkit pack"
            ),
        });
    };
    let manifest = manifest.clone();
    let signature = manifest_and_signature(&manifest, key)?;
    let mut payload = metadata_member(package, entries, &signature, tarball.codec, mtime)?;
    payload.extend_from_slice(&tarball.rest);
    let bytes = if offset == 0 {
        payload
    } else {
        // Parsed (and checked) by `manifest_and_signature` above.
        let parsed = FwkitManifest::parse(&manifest).map_err(|reason| Error::NotUnpacked {
            path: MANIFEST_NAME.into(),
            reason,
        })?;
        restub(&tarball.prefix, &parsed, payload)
    };
    replace_file(package, &bytes)?;
    Ok(report_for(package, &manifest, key))
}

/// Reads the package: the stub of `offset` bytes, then the payload's codec,
/// its first compressed member decoded and the rest as it is.
fn read_tarball(package: &Path, offset: u64) -> Result<Tarball> {
    let mut file = File::open(package).map_err(|e| Error::read(package, e))?;
    let mut prefix = vec![0u8; usize::try_from(offset).unwrap_or(0)];
    file.read_exact(&mut prefix)
        .map_err(|e| Error::read(package, e))?;
    let mut reader = BufReader::new(file);
    let magic = reader
        .fill_buf()
        .map_err(|e| Error::read(package, e))?
        .to_vec();
    let codec = match crate::detect::Encoding::sniff(&magic) {
        crate::detect::Encoding::Gzip => Codec::Gzip,
        crate::detect::Encoding::Xz => Codec::Xz,
        crate::detect::Encoding::Zstd => Codec::Zstd,
        other => {
            return Err(Error::NotUnpacked {
                path: package.to_path_buf(),
                reason: format!("a {} payload cannot be re-signed in place", other.name()),
            })
        }
    };
    // Decode exactly the first member; the reader is left at the second.
    let mut head = Vec::new();
    match codec {
        Codec::Gzip => flate2::bufread::GzDecoder::new(&mut reader).read_to_end(&mut head),
        Codec::Xz => liblzma::bufread::XzDecoder::new(&mut reader).read_to_end(&mut head),
        Codec::Zstd => zstd::stream::read::Decoder::with_buffer(&mut reader)
            .map(|d| d.single_frame())
            .and_then(|mut d| d.read_to_end(&mut head)),
    }
    .map_err(|e| Error::read(package, e))?;
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(|e| Error::read(package, e))?;
    Ok(Tarball {
        prefix,
        codec,
        head,
        rest,
    })
}

/// The entries of the first member (name, content) and the mtime of the
/// last; an error unless they are fwkit's metadata alone and a payload
/// member follows.
fn metadata_entries(package: &Path, tarball: &Tarball) -> Result<(Entries, u64)> {
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(&tarball.head[..]);
    let mut mtime = 0;
    for entry in archive.entries().map_err(|e| Error::read(package, e))? {
        let mut entry = entry.map_err(|e| Error::read(package, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        mtime = entry.header().mtime().unwrap_or(0);
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| Error::read(package, e))?;
        entries.push((name, data));
    }
    // fwkit lays out the metadata alone in the first member and the tree in
    // the next; anything else was not laid out by fwkit pack.
    let metadata_only = entries
        .iter()
        .all(|(n, _)| n == MANIFEST_NAME || n == SIGNATURE_NAME || n == "SHA256SUMS");
    if !metadata_only || tarball.rest.is_empty() {
        return Err(Error::NotUnpacked {
            path: package.to_path_buf(),
            reason: "its first compressed member is not fwkit's metadata member alone: not laid out by fwkit pack, so it cannot be re-signed in place (pack it again)".to_owned(),
        });
    }
    Ok((entries, mtime))
}

/// The new first member: the metadata `entries` with the old signature
/// replaced by `signature`, right after the manifest, compressed by `codec`.
fn metadata_member(
    package: &Path,
    entries: Entries,
    signature: &[u8],
    codec: Codec,
    mtime: u64,
) -> Result<Vec<u8>> {
    let mut items = Vec::new();
    for (name, data) in entries {
        if name == SIGNATURE_NAME {
            continue;
        }
        let is_manifest = name == MANIFEST_NAME;
        items.push(item(&name, data)?);
        if is_manifest {
            items.push(item(SIGNATURE_NAME, signature.to_vec())?);
        }
    }
    let mut head = Encoder::new(codec, Vec::new()).map_err(io_err(package))?;
    tar_entries(&items, mtime, &mut head)?;
    head.finish().map_err(io_err(package))
}

fn item(name: &str, data: Vec<u8>) -> Result<Item> {
    Ok(Item {
        name: crate::model::MemberName::parse(name.as_bytes()).map_err(|e| Error::NotUnpacked {
            path: name.into(),
            reason: e.to_string(),
        })?,
        source: Some(super::Source::Bytes(data)),
        mode: 0o644,
    })
}

/// A new stub for a new payload: name, version and command from the signed
/// manifest (as verification re-renders it), the flavour from the old stub.
fn restub(old_stub: &[u8], manifest: &FwkitManifest, payload: Vec<u8>) -> Vec<u8> {
    let mut sha = Hasher::new(Algorithm::Sha256);
    sha.update(&payload);
    let mut cksum = Hasher::new(Algorithm::Cksum);
    cksum.update(&payload);
    let cksum: u32 = cksum.finish().parse().unwrap_or(0);
    let mut out = fwkit_sfx::expected_stub(
        fwkit_sfx::Label {
            name: &manifest.name,
            version: &manifest.version,
            run: manifest.run.as_deref(),
        },
        fwkit_sfx::Flavour::of(old_stub),
        env!("CARGO_PKG_VERSION"),
        (payload.len() as u64, &sha.finish(), cksum),
    );
    out.extend_from_slice(&payload);
    out
}
