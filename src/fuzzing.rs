//! Entry points for the fuzz targets in `fuzz/` and the robustness tests.
//!
//! Not part of the public API: hidden from the docs and free to change. Each
//! function is a thin wrapper that hands untrusted bytes to one crate-private
//! parser, so a fuzz target reaches it without going through a whole package.
//! Bytes reach the readers from memory, through the public
//! [`Package::from_reader`] and [`Open`] seams; nothing here is on the path of
//! an ordinary `Package::open`.

use crate::detect::{FormatKind, HEAD_LEN};
use crate::formats::{self, shell};
use crate::input::{Input, Open, ReadAt};
use crate::model::{Limits, MemberName, NameError, Report};
use crate::package::{Package, UnpackOptions};
use crate::VerifyOptions;
use std::fs::File;
use std::io;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Opens files so that every read returns at most `max` bytes, as a pipe, a
/// FUSE mount or a network file system may; the lengths are drawn from a
/// sequence fixed by `seed`, so a failure reproduces.
pub struct ShortReads {
    /// Most bytes one read returns.
    pub max: NonZeroUsize,
    /// Seed of the length sequence.
    pub seed: u64,
}

impl Open for ShortReads {
    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadAt>> {
        Ok(Box::new(Short {
            inner: Box::new(File::open(path)?),
            max: self.max,
            state: AtomicU64::new(self.seed),
        }))
    }
}

/// A source whose reads return 1..=max bytes.
struct Short {
    inner: Box<dyn ReadAt>,
    max: NonZeroUsize,
    state: AtomicU64,
}

impl ReadAt for Short {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        // splitmix64 over a shared counter: a fixed sequence per seed.
        let mut z = self
            .state
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let cap = u64::try_from(self.max.get()).unwrap_or(u64::MAX);
        // `cap` is not zero, and `z % cap < cap`: the length is 1..=max.
        let len = usize::try_from(z.checked_rem(cap).unwrap_or(0))
            .unwrap_or(0)
            .saturating_add(1)
            .min(buf.len());
        self.inner
            .read_at(buf.get_mut(..len).unwrap_or_default(), offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

/// [`Package::open`], except that every read of the file, and of every file
/// its operations open later (members of a set, a detached signature, nested
/// packages), returns at most `max` bytes, the lengths drawn from `seed`: a
/// reader that takes a short read for the end of the file shows up as a
/// wrong verdict.
pub fn open_with_short_reads(path: &Path, max: NonZeroUsize, seed: u64) -> crate::Result<Package> {
    Package::open_with(path, Arc::new(ShortReads { max, seed }))
}

/// [`crate::detect`] on the first [`HEAD_LEN`] bytes, as `Package::open` reads them.
pub fn detect(data: &[u8]) -> Option<FormatKind> {
    crate::detect::detect(data.get(..HEAD_LEN).unwrap_or(data))
}

/// [`MemberName::parse`], plus the operations the scan and extraction use on
/// an accepted name (they must not panic either).
pub fn member_name(data: &[u8]) -> Result<MemberName, NameError> {
    let name = MemberName::parse(data)?;
    let _ = (name.depth(), name.parent(), name.file_name());
    let _ = name.ancestors().count();
    let _ = name.to_path(std::path::Path::new("/nonexistent"));
    Ok(name)
}

/// A symlink target resolved against a member name, lexically.
pub fn resolve_link(name: &MemberName, target: &str) -> Option<Vec<String>> {
    name.resolve_link(target)
}

/// The shell-stub text readers: top-level assignments, line offsets, marker
/// lines and literal numbers. Returns the number of assignments found.
pub fn shell_assignments(text: &[u8]) -> usize {
    let assignments = shell::assignments(text);
    // As the stub readers use them: the line of an assignment, and a number
    // it holds taken as a line count (once each, so a run stays linear).
    if let Some(a) = assignments.last() {
        let _ = shell::offset_after_lines(text, a.line as u64);
    }
    if let Some(n) = assignments
        .iter()
        .find_map(|a| a.value.trim().parse::<u64>().ok())
    {
        let _ = shell::offset_after_lines(text, n);
    }
    let _ = shell::marker_lines(text, crate::detect::DELL_ARCHIVE_MARKER);
    let _ = shell::literal_numbers(text, b"head -n ", &[b" \"$0\"", b" $0"]);
    let _ = shell::literal_numbers(text, b"tail +", &[b" \"$0\""]);
    let _ = shell::find(text, b"_SKIP=");
    assignments.len()
}

/// Read the headers of `data` as format `kind` (makeself, scexe, Dell, zip,
/// PE, tar, cab) from memory. `Err` only for I/O failures.
pub fn layout(kind: FormatKind, data: &[u8]) -> io::Result<usize> {
    if kind == FormatKind::Set {
        return Ok(0);
    }
    let head = data.get(..HEAD_LEN).unwrap_or(data);
    let source = Arc::new(crate::Seekable::new(io::Cursor::new(data.to_vec())));
    let input =
        Input::new(source, Path::new("fuzz input")).map_err(|e| io::Error::other(e.to_string()))?;
    let layout = formats::layout(kind, head, &input)?;
    Ok(layout.checks.len().saturating_add(layout.streams().len()))
}

/// Parse `data` as a checksum manifest named `name` (e.g. `SHA256SUMS`,
/// `sub/fw.bin.md5`). `None` when `name` is not a manifest name or not a
/// safe member name. Returns the number of entries and bad lines.
pub fn manifest(name: &str, data: &[u8]) -> Option<usize> {
    let source = MemberName::parse(name.as_bytes()).ok()?;
    let max = crate::model::DEFAULT_MAX_MANIFEST;
    let manifest = crate::verify::manifest::parse(&source, data, max)?;
    Some(
        manifest
            .entries
            .len()
            .saturating_add(manifest.bad_lines.len()),
    )
}

/// Parse a JCat file (gzip'd JSON of checksums and signatures, as LVFS
/// cabinets carry). Returns the number of items, or `None` when refused.
pub fn jcat(data: &[u8]) -> Option<usize> {
    let _ = formats::jcat::algorithms(data);
    formats::jcat::parse(data).ok().map(|file| file.items.len())
}

/// OpenPGP armor and packets. With an even first byte the rest is a key
/// file given to the trust store (minisign, OpenPGP armored or binary,
/// X.509, detected by content); with an odd one it is a detached signature
/// file (`PKG.sign`, `.asc`, `.sig`, a JCat GPG blob): parsed, each
/// signature's trailer prepared and its issuer read. Returns how many keys
/// or signatures were read.
pub fn openpgp(data: &[u8]) -> usize {
    let Some((first, rest)) = data.split_first() else {
        return 0;
    };
    if first % 2 == 0 {
        let mut store = crate::trust::TrustStore::default();
        return store.add("fuzz input", rest).unwrap_or(0);
    }
    match crate::trust::openpgp::parse_signatures(rest) {
        Ok(signatures) => {
            for signature in &signatures {
                let _ = crate::trust::openpgp::prepare(signature);
                let _ = crate::trust::openpgp::issuer(signature);
            }
            signatures.len()
        }
        Err(_) => 0,
    }
}

/// A detached PKCS#7 signature (a JCat kind 3 blob, PEM, or an HPE
/// compsig, DER): parsed, its digest algorithms and signer read. Returns
/// the number of digest algorithms, or `None` when refused.
pub fn pkcs7(data: &[u8]) -> Option<usize> {
    let signature = crate::verify::pkcs7::parse(data).ok()?;
    let _ = signature.signer_subject();
    Some(signature.algorithms().len())
}

/// An Authenticode certificate table as a PE carries it: `WIN_CERTIFICATE`
/// entries, CMS SignedData, SpcIndirectDataContent, signer infos, time
/// stamps, certificate paths. The first two bytes (big-endian) give the
/// length of a DER certificate that follows and is trusted as an anchor;
/// the rest is the table. Returns the number of signature checks.
pub fn authenticode(data: &[u8]) -> usize {
    let (len, rest) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
        _ => return 0,
    };
    let (anchor, table) = rest.split_at(len.min(rest.len()));
    let table = crate::verify::authenticode::Table {
        range: (0, table.len() as u64),
        bytes: table.to_vec(),
        skip: Vec::new(),
        without_anchors: Vec::new(),
    };
    let digests = crate::verify::authenticode::image_digests(&table, table.range.1);
    let computed: Vec<_> = digests
        .iter()
        .map(|d| (d.algorithm, d.expected.clone()))
        .collect();
    let options = crate::VerifyOptions {
        anchors: crate::Anchor::parse_all(anchor).unwrap_or_default(),
        allow_legacy_crypto: true,
        ..crate::VerifyOptions::default()
    };
    crate::verify::authenticode::checks(&table, &computed, &options).len()
}

/// A public key generated once per process: no input can carry a valid
/// signature by it, so with it every signature member is parsed and checked.
fn fuzz_key() -> Option<&'static crate::sign::PublicKey> {
    static KEY: std::sync::OnceLock<Option<crate::sign::PublicKey>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| match crate::sign::SecretKey::generate() {
        Ok((_, public)) => Some(public),
        // Without randomness: a fixed key whose secret half nobody here has.
        Err(_) => crate::sign::PublicKey::parse(FIXED_KEY).ok(),
    })
    .as_ref()
}

/// minisign's own test public key.
const FIXED_KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

/// Limits small enough that a fuzz input cannot keep a run busy for long.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_size: 64 << 20,
        max_entries: 10_000,
        max_depth: 64,
        max_manifest: 4 << 20,
    }
}

/// The whole path: write `data` to a temporary file, open it as a package,
/// verify it (with one trusted key, so signature members are parsed and
/// checked), then unpack it into a temporary directory (opening packages inside
/// members two levels deep), with
/// [`fuzz_limits`]. `Err` when the bytes are not a recognised package or
/// I/O failed; a package that fails its checks is an `Ok` report.
pub fn verify_bytes(data: &[u8]) -> crate::Result<Report> {
    verify_bytes_with(data, fuzz_limits())
}

/// [`verify_bytes`] with the given limits.
pub fn verify_bytes_with(data: &[u8], limits: Limits) -> crate::Result<Report> {
    let dir = tempfile::tempdir().map_err(|e| crate::Error::write(std::env::temp_dir(), e))?;
    // Two levels below the temp dir, so a write that escapes `out/` by a
    // `..` or two lands where the check below sees it.
    let work = dir.path().join("a").join("b");
    std::fs::create_dir_all(&work).map_err(|e| crate::Error::write(&work, e))?;
    // Read from memory, named as if it lay in `work` (nothing is there, so
    // no detached signature is found beside it).
    let package = Package::from_reader(work.join("package"), io::Cursor::new(data.to_vec()))?;
    let _ = package.declared_checks();
    let options = VerifyOptions {
        limits,
        hash_members: true,
        keys: fuzz_key().into_iter().cloned().collect(),
        ..VerifyOptions::default()
    };
    let report = package.verify(&options)?;
    let unpack = UnpackOptions {
        verify: options,
        no_verify: true,
        // Packages inside members are opened too (a zip in a PE, an .scexe in a zip).
        recursive: 2,
    };
    let dest = work.join("out");
    let unpacked = package.unpack(&dest, &unpack);
    // Nothing was written beside `out/` or above it (a staging directory
    // left behind counts too). Fuzz builds keep debug assertions (`-a`).
    let a = dir.path().join("a");
    for (level, expected) in [(dir.path(), &["a"][..]), (&a, &["b"]), (&work, &["out"])] {
        let names: Vec<String> = std::fs::read_dir(level)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let stray: Vec<&String> = names
            .iter()
            .filter(|n| !expected.contains(&n.as_str()))
            .collect();
        debug_assert!(stray.is_empty(), "written outside the target: {stray:?}");
    }
    unpacked?;
    Ok(report)
}

/// Verify `data` twice, through whole reads and through reads of at most
/// 1 to 251 bytes (by the input's length): `false` when the two reports (or
/// errors) differ, i.e. some reader took a short read for the end of the
/// file or for a full buffer.
pub fn short_reads_agree(data: &[u8]) -> bool {
    let max = NonZeroUsize::new(data.len().checked_rem(251).unwrap_or(0).saturating_add(1))
        .unwrap_or(NonZeroUsize::MIN);
    let options = VerifyOptions {
        limits: fuzz_limits(),
        hash_members: true,
        keys: fuzz_key().into_iter().cloned().collect(),
        ..VerifyOptions::default()
    };
    let memory = || Box::new(crate::Seekable::new(io::Cursor::new(data.to_vec())));
    let said = |source: Arc<dyn ReadAt>| {
        let report = Package::from_source("package", source).and_then(|p| p.verify(&options));
        match report {
            Ok(report) => serde_json::to_value(&report).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    let short = Short {
        inner: memory(),
        max,
        state: AtomicU64::new(1),
    };
    said(Arc::from(memory() as Box<dyn ReadAt>)) == said(Arc::new(short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_key_parses() {
        assert!(crate::sign::PublicKey::parse(FIXED_KEY).is_ok());
        assert!(fuzz_key().is_some());
    }

    #[test]
    fn samples_go_through_the_whole_path() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let data = std::fs::read(root.join("tar/puf-update.tar.gz")).unwrap();
        let report = verify_bytes(&data).unwrap();
        assert_eq!(report.format, FormatKind::Tar);
        assert!(verify_bytes(b"not a package").is_err());
        assert_eq!(detect(&data), Some(FormatKind::Tar));
        assert!(layout(FormatKind::Tar, &data).unwrap() > 0);
        assert!(layout(FormatKind::Makeself, b"#!/bin/sh\n").is_ok());
        assert_eq!(shell_assignments(b"a=1\nb=\"2\"\n"), 2);
        assert_eq!(manifest("SHA256SUMS", b"x\n"), Some(1));
        assert!(member_name(b"../x").is_err());
        assert_eq!(jcat(b"not gzip"), None);
        assert!(short_reads_agree(&data));
        assert!(short_reads_agree(b"not a package"));
    }
}
