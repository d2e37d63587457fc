//! Writing each output format, and replacing a signature in place.

use super::{Content, Item, PackFormat, PackOptions};
use crate::error::{Error, Result, Setting};
use crate::extract::Sink;
use crate::extract::{stage_dir, write_new_file};
use crate::formats::fwkit_sfx::{expected_stub, Flavour, Label};
use crate::model::Algorithm;
use crate::verify::digest::Hasher;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

const BLOCK: usize = 512;

pub(super) fn io_err(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// Write tar entries for `items` (ustar headers from the `tar` crate, then
/// content and padding) to `out`, streaming each file; [`tar_end`] closes
/// the archive after the last entries.
pub(super) fn tar_entries(items: &[Item], mtime: u64, out: &mut dyn Write) -> Result<()> {
    let zeros = [0u8; BLOCK];
    for item in items {
        let mut header = tar::Header::new_ustar();
        let mut path = item.name.as_str().to_owned();
        if item.source.is_none() {
            path.push('/');
        }
        header.set_path(&path).map_err(|e| Error::Invalid {
            setting: Setting::Source,
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
    Ok(())
}

/// Write the two zero blocks that close a tar archive.
pub(super) fn tar_end(out: &mut dyn Write) -> Result<()> {
    out.write_all(&[0u8; 2 * BLOCK])
        .map_err(|e| Error::write("<archive>", e))
}

#[derive(Clone, Copy)]
pub(super) enum Codec {
    Gzip,
    Xz,
    Zstd,
}

/// A compressor writing one member into `out`; `finish` ends the member.
pub(super) enum Encoder<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    pub(super) fn new(codec: Codec, out: W) -> io::Result<Encoder<W>> {
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

    pub(super) fn finish(self) -> io::Result<W> {
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
pub(super) fn write_tarball<W: Write>(
    content: &Content,
    mtime: u64,
    codec: Codec,
    out: W,
) -> Result<W> {
    let err = |e| Error::write("<compressing>", e);
    let mut head = Encoder::new(codec, out).map_err(err)?;
    tar_entries(&content.head, mtime, &mut head)?;
    let mut body = Encoder::new(codec, head.finish().map_err(err)?).map_err(err)?;
    tar_entries(&content.body, mtime, &mut body)?;
    tar_end(&mut body)?;
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
    flavour: Flavour,
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
    let label = Label {
        name: &options.name,
        version: &options.version,
        run: options.run.as_deref(),
    };
    let stub = expected_stub(
        label,
        flavour,
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
            let flavour = match options.format {
                PackFormat::Scexe => Flavour::Scexe,
                _ => Flavour::Makeself,
            };
            write_self_extracting(content, out, options, flavour)
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
