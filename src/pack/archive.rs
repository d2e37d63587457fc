//! Writing each output format, and replacing a signature in place.

use super::stub::{self, StubSpec};
use super::{Content, Item, PackFormat, PackOptions, PackReport};
use crate::error::{Error, Result};
use crate::extract::{stage_dir, write_new_file};
use crate::formats::fwkit_manifest::{FwkitManifest, MANIFEST_NAME, SIGNATURE_NAME};
use crate::package::Algorithm;
use crate::scan::Sink;
use crate::verify::digest::Hasher;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::Path;

const BLOCK: usize = 512;

fn io_err(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// Write tar entries for `items` (ustar headers from the `tar` crate, then
/// content and padding) to `out`, streaming each file; `end` adds the two
/// zero blocks that close an archive.
fn tar_entries(items: &[Item], mtime: u64, end: bool, out: &mut dyn Write) -> Result<()> {
    let zeros = [0u8; 2 * BLOCK];
    for item in items {
        let mut header = tar::Header::new_ustar();
        let mut path = item.name.as_str().to_owned();
        if item.source.is_none() {
            path.push('/');
        }
        header.set_path(&path).map_err(|e| Error::InvalidOption {
            option: "SRC_DIR",
            reason: format!("{path}: {e}"),
        })?;
        header.set_mode(item.mode);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(if item.source.is_some() {
            tar::EntryType::Regular
        } else {
            tar::EntryType::Directory
        });
        let size = item.source.as_ref().map_or(0, super::Source::len);
        header.set_size(size);
        header.set_cksum();
        let failed = |e| Error::read(item.name.as_str(), e);
        out.write_all(header.as_bytes()).map_err(failed)?;
        if let Some(source) = &item.source {
            // At most `size` bytes: a file that grew is caught below too.
            let copied =
                io::copy(&mut source.open()?.take(size.saturating_add(1)), out).map_err(failed)?;
            if copied != size {
                return Err(failed(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "file changed size while packing",
                )));
            }
            // Zeros up to the next 512-byte boundary (none when `size` is on one).
            let pad = size.wrapping_neg() & (BLOCK as u64).wrapping_sub(1);
            out.write_all(zeros.get(..pad as usize).unwrap_or_default())
                .map_err(failed)?;
        }
    }
    if end {
        out.write_all(&zeros)
            .map_err(|e| Error::write("<archive>", e))?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Codec {
    Gzip,
    Xz,
    Zstd,
}

/// A compressor writing one member into `out`; `finish` ends the member.
enum Encoder<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(codec: Codec, out: W) -> io::Result<Encoder<W>> {
        Ok(match codec {
            Codec::Gzip => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(out, flate2::Compression::best()),
            ),
            Codec::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(out, 6)),
            Codec::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(out, 19)?;
                e.include_checksum(true)?;
                Encoder::Zstd(e)
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// The two compressed members of a tarball, metadata first, then the tree,
/// streamed into `out`.
fn write_tarball<W: Write>(content: &Content, mtime: u64, codec: Codec, out: W) -> Result<W> {
    let err = |e| Error::write("<compressing>", e);
    let mut head = Encoder::new(codec, out).map_err(err)?;
    tar_entries(&content.head, mtime, false, &mut head)?;
    let mut body = Encoder::new(codec, head.finish().map_err(err)?).map_err(err)?;
    tar_entries(&content.body, mtime, true, &mut body)?;
    body.finish().map_err(err)
}

fn zip_time(created: u64) -> zip::DateTime {
    // Zip timestamps start in 1980; earlier times (including 0) become 1980-01-01.
    let days = created / 86_400;
    let Some((y, m, d)) = i64::try_from(days).ok().and_then(civil_from_days) else {
        return zip::DateTime::default();
    };
    let secs = created % 86_400;
    zip::DateTime::from_date_and_time(
        y.clamp(1980, 2107) as u16,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        ((secs % 3600) / 60) as u8,
        (secs % 60) as u8,
    )
    .ok()
    .filter(|_| y >= 1980)
    .unwrap_or_default()
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
/// `None` when the year does not fit an `i64`.
fn civil_from_days(z: i64) -> Option<(i64, u32, u32)> {
    let z = z.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    // SAFETY-ARITH: `doe` is in 0..146_097 (a remainder), so every
    // intermediate below stays within a few hundred thousand.
    #[allow(clippy::arithmetic_side_effects)]
    let (yoe, m, d) = {
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (yoe, m, d)
    };
    let y = era
        .checked_mul(400)?
        .checked_add(yoe)?
        .checked_add(i64::from(m <= 2))?;
    Some((y, m, d))
}

fn write_zip(items: &[&Item], created: u64, file: &mut File, out: &Path) -> Result<()> {
    let mut zip = zip::ZipWriter::new(&mut *file);
    let time = zip_time(created);
    for item in items {
        let options = zip::write::SimpleFileOptions::default()
            .last_modified_time(time)
            .unix_permissions(item.mode)
            .compression_method(zip::CompressionMethod::Deflated);
        let zerr = |e: zip::result::ZipError| Error::write(out, io::Error::other(e.to_string()));
        match &item.source {
            None => zip
                .add_directory(item.name.as_str(), options)
                .map_err(zerr)?,
            Some(source) => {
                zip.start_file(item.name.as_str(), options).map_err(zerr)?;
                io::copy(&mut source.open()?, &mut zip).map_err(io_err(out))?;
            }
        }
    }
    zip.finish()
        .map_err(|e| Error::write(out, io::Error::other(e.to_string())))?;
    Ok(())
}

/// A writer that hashes what passes through it (SHA-256 and POSIX cksum,
/// the sums a self-extractor's stub declares) and counts it.
struct Summing<W> {
    inner: W,
    sha256: Hasher,
    cksum: Hasher,
    len: u64,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or_default();
        self.sha256.update(written);
        self.cksum.update(written);
        self.len = self.len.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A self-extractor: the payload is compressed once into an unnamed
/// temporary file beside `out` while its sums are taken (the stub, which
/// comes first, declares them), then stub and payload are written to `out`.
/// Memory stays at a few buffers whatever the image set's size.
fn write_self_extracting(
    content: &Content,
    out: &Path,
    options: &PackOptions,
    scexe: bool,
) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => ".".into(),
    };
    let temp = tempfile::tempfile_in(&parent).map_err(|e| Error::write(&parent, e))?;
    let summing = Summing {
        inner: io::BufWriter::with_capacity(256 << 10, temp),
        sha256: Hasher::new(Algorithm::Sha256),
        cksum: Hasher::new(Algorithm::Cksum),
        len: 0,
    };
    let summed = write_tarball(content, options.created, Codec::Gzip, summing)?;
    let mut payload = summed
        .inner
        .into_inner()
        .map_err(|e| Error::write(out, e.into_error()))?;
    let sha = summed.sha256.finish();
    let cksum: u32 = summed.cksum.finish().parse().unwrap_or(0);
    let stub = expected_stub(
        &options.name,
        &options.version,
        options.run.as_deref(),
        scexe,
        env!("CARGO_PKG_VERSION"),
        (summed.len, &sha, cksum),
    );
    payload.rewind().map_err(io_err(out))?;
    write_new_file(out, 0o755, |f| {
        f.write_all(&stub).map_err(io_err(out))?;
        let copied = io::copy(&mut payload, f).map_err(io_err(out))?;
        if copied != summed.len {
            return Err(Error::write(
                out,
                io::Error::new(io::ErrorKind::UnexpectedEof, "the staged payload shrank"),
            ));
        }
        Ok(())
    })
}

/// The stub fwkit pack writes for a package: everything in it follows from
/// the (signed) manifest's name, version and command, the payload's size and
/// sums, the flavour and the fwkit version named in its header.
pub(crate) fn expected_stub(
    name: &str,
    version: &str,
    run: Option<&str>,
    scexe: bool,
    fwkit_version: &str,
    (payload_len, sha256, cksum): (u64, &str, u32),
) -> Vec<u8> {
    let label = format!("{name} {version}");
    stub::render(&StubSpec {
        label: &label,
        run,
        target_dir: name,
        payload_len,
        sha256,
        cksum,
        scexe,
        version: fwkit_version,
    })
}

/// Write `content` to `out` in the chosen format.
pub(crate) fn write(content: &Content, out: &Path, options: &PackOptions) -> Result<()> {
    let mtime = options.created;
    match options.format {
        PackFormat::TarGz | PackFormat::TarXz | PackFormat::TarZst => {
            let codec = match options.format {
                PackFormat::TarXz => Codec::Xz,
                PackFormat::TarZst => Codec::Zstd,
                _ => Codec::Gzip,
            };
            write_new_file(out, 0o644, |f| {
                let buffered = io::BufWriter::with_capacity(256 << 10, f);
                write_tarball(content, mtime, codec, buffered)?
                    .flush()
                    .map_err(io_err(out))
            })
        }
        PackFormat::Scexe | PackFormat::Makeself => {
            write_self_extracting(content, out, options, options.format == PackFormat::Scexe)
        }
        PackFormat::Zip | PackFormat::Fwpkg => {
            let items: Vec<&Item> = content.head.iter().chain(&content.body).collect();
            write_new_file(out, 0o644, |f| write_zip(&items, options.created, f, out))
        }
        PackFormat::Set => {
            let mut staging = stage_dir(out)?;
            staging.fix_dir_times(mtime);
            for item in content.head.iter().chain(&content.body) {
                match &item.source {
                    None => staging.dir(&item.name, item.mode)?,
                    Some(source) => {
                        if let Some(mut file) = staging.create_file(&item.name, item.mode, mtime)? {
                            let mut reader = source.open()?;
                            let mut buf = vec![0u8; 256 << 10];
                            loop {
                                let n = reader
                                    .read(&mut buf)
                                    .map_err(|e| Error::read(item.name.as_str(), e))?;
                                if n == 0 {
                                    break;
                                }
                                let chunk = buf.get(..n).ok_or_else(|| {
                                    Error::read(
                                        item.name.as_str(),
                                        io::Error::other(
                                            "the reader returned more than it was asked",
                                        ),
                                    )
                                })?;
                                file.write(chunk)?;
                            }
                            file.finish()?;
                        }
                    }
                }
            }
            staging.commit().map(|_| ())
        }
    }
}

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

fn replace_file(package: &Path, bytes: &[u8]) -> Result<()> {
    let parent = match package.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => ".".into(),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".fwkit-resign-")
        .tempfile_in(&parent)
        .map_err(|e| Error::write(&parent, e))?;
    temp.write_all(bytes).map_err(io_err(package))?;
    // Keep the replaced file's permissions; a new file (an unsigned set gaining
    // its first signature) gets 0644.
    let mode = match std::fs::metadata(package) {
        Ok(meta) => meta.permissions(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            }
            #[cfg(not(unix))]
            {
                temp.as_file()
                    .metadata()
                    .map_err(io_err(package))?
                    .permissions()
            }
        }
        Err(e) => return Err(Error::read(package, e)),
    };
    std::fs::set_permissions(temp.path(), mode).map_err(io_err(package))?;
    // On disk before the rename, so a crash leaves the old file or the new.
    temp.as_file().sync_all().map_err(io_err(package))?;
    temp.persist(package)
        .map_err(|e| Error::write(package, e.error))?;
    Ok(())
}

/// One byte past the manifest cap, so an oversized one fails to parse.
const MANIFEST_READ: u64 = crate::verify::manifest::MAX_MANIFEST as u64 + 1;

fn resign_set(dir: &Path, key: &crate::sign::SecretKey) -> Result<PackReport> {
    let manifest_path = dir.join(MANIFEST_NAME);
    let bytes = crate::input::Input::read_capped(
        &manifest_path,
        crate::input::Reads::Whole,
        MANIFEST_READ,
    )?;
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

/// Re-sign a tarball (or the tarball payload of a self-extracting package
/// starting at `offset`): only the first compressed member, which holds the
/// metadata, is rebuilt; the payload member is copied byte for byte.
fn resign_tarball(package: &Path, key: &crate::sign::SecretKey, offset: u64) -> Result<PackReport> {
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
    // The first member holds only fwkit's metadata entries.
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(&head[..]);
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
    if !metadata_only || rest.is_empty() {
        return Err(Error::NotUnpacked {
            path: package.to_path_buf(),
            reason: "its first compressed member is not fwkit's metadata member alone: not laid out by fwkit pack, so it cannot be re-signed in place (pack it again)".to_owned(),
        });
    }
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
    let mut items = Vec::new();
    for (name, data) in entries {
        if name == SIGNATURE_NAME {
            continue;
        }
        let is_manifest = name == MANIFEST_NAME;
        items.push(item(&name, data)?);
        if is_manifest {
            items.push(item(SIGNATURE_NAME, signature.clone())?);
        }
    }
    let mut head = Encoder::new(codec, Vec::new()).map_err(io_err(package))?;
    tar_entries(&items, mtime, false, &mut head)?;
    let mut payload = head.finish().map_err(io_err(package))?;
    payload.extend_from_slice(&rest);
    let bytes = if offset == 0 {
        payload
    } else {
        // Parsed (and checked) by `manifest_and_signature` above.
        let parsed = FwkitManifest::parse(&manifest).map_err(|reason| Error::NotUnpacked {
            path: MANIFEST_NAME.into(),
            reason,
        })?;
        restub(&prefix, &parsed, payload)
    };
    replace_file(package, &bytes)?;
    Ok(report_for(package, &manifest, key))
}

fn item(name: &str, data: Vec<u8>) -> Result<Item> {
    Ok(Item {
        name: crate::package::MemberName::parse(name.as_bytes()).map_err(|e| {
            Error::NotUnpacked {
                path: name.into(),
                reason: e.to_string(),
            }
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
    let scexe = crate::detect::lines(old_stub).any(crate::detect::is_scexe_skip_line);
    let mut out = expected_stub(
        &manifest.name,
        &manifest.version,
        manifest.run.as_deref(),
        scexe,
        env!("CARGO_PKG_VERSION"),
        (payload.len() as u64, &sha.finish(), cksum),
    );
    out.extend_from_slice(&payload);
    out
}
