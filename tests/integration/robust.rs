//! Robustness: damaged copies of every sample and real-tool fixture, read
//! through the library, must each end in a report or an error within a time
//! bound, never a panic; resource limits hold against inputs built to
//! exhaust them.
//!
//! Damage is deterministic: truncation at 40 evenly spaced lengths plus the
//! first and last 16 bytes, and 200 seeded byte flips per file (a third in
//! the first 1 KiB, a third in the last 1 KiB, where a zip keeps its central
//! directory, a third anywhere), 1 to 4 bytes each. Every case is a file in a temp
//! dir read with `fwkit::Package` (`open`, `verify`, and for every fifth case
//! `unpack`, one level recursive), inside `catch_unwind` so a panic names its input.
//!
//! Every read goes through short partial reads: each case is opened with
//! `fwkit::fuzzing::open_with_short_reads`, so every `read` of the package
//! (and of what its operations open later) returns at most 3, 61, 1021 or 8191
//! bytes, by case. Undamaged packages must give the same report through
//! one-byte reads as through whole reads. The `Read`-based signing API is
//! tested with a reader that also reports `Interrupted`.
//!
//! Fixtures made here from a small tree, by the real tools: makeself archives
//! (Debian `makeself`, gzip + SHA-256 and xz), zips (Info-ZIP `zip`, `7z`),
//! tarballs (GNU tar with gzip, xz, zstd), a cabinet (`gcab`, MSZIP) and a
//! signed PE (Debian's `fbx64.efi.signed`) with a zip appended; the
//! bombs and huge headers are written byte by byte or compressed with
//! `flate2` in the test.

use crate::util::{makeself_archive, require_tool, samples, tool, write_file, Makeself, Tar};
use fwkit::{Limits, Package, Report, UnpackOptions, VerifyOptions};
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Longest one damaged case may take in a debug build.
const CASE_BOUND: Duration = Duration::from_secs(30);
const TRUNCATIONS: usize = 40;
const FLIPS: usize = 200;

/// splitmix64: deterministic, so a failing case is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// What one damaged case ended in.
enum Ending {
    Report(Box<Report>),
    /// The package could not be read or recognised.
    Error,
}

/// Largest read the short reader returns, by case number.
const SHORT: [usize; 4] = [3, 61, 1021, 8191];

/// Open `path` so every read returns at most `max` bytes.
fn open_short(path: &Path, max: usize, seed: u64) -> fwkit::Result<Package> {
    let max = std::num::NonZeroUsize::new(max).unwrap();
    fwkit::fuzzing::open_with_short_reads(path, max, seed)
}

/// Open (through reads of at most `max` bytes), verify and (when `unpack`)
/// unpack `path`, with small limits.
fn run_case(path: &Path, max: usize, unpack: bool) -> Ending {
    let package = match open_short(path, max, max as u64) {
        Ok(p) => p,
        Err(_) => return Ending::Error,
    };
    let _ = package.declared_checks();
    let options = VerifyOptions {
        limits: Limits {
            max_size: 64 << 20,
            ..Limits::default()
        },
        hash_members: true,
        ..VerifyOptions::default()
    };
    let report = match package.verify(&options) {
        Ok(r) => r,
        Err(_) => return Ending::Error,
    };
    if unpack {
        let dest = path.with_extension("out");
        let unpacked = package.unpack(
            &dest,
            &UnpackOptions {
                verify: options,
                no_verify: true,
                recursive: 1,
            },
        );
        if let Ok(r) = &unpacked {
            if let Some(placed) = &r.unpacked {
                assert_eq!(placed, &dest, "unpacked somewhere else than asked");
            }
        }
        let _ = std::fs::remove_dir_all(&dest);
    }
    Ending::Report(Box::new(report))
}

/// The test key's public half, for checking the signed samples.
fn test_key() -> fwkit::sign::PublicKey {
    let text = std::fs::read_to_string(samples().join("keys/fwkit-test.pub")).unwrap();
    fwkit::sign::PublicKey::parse(&text).unwrap()
}

/// The report of verifying (with the test key, so signatures are checked)
/// and of unpacking `package`, as JSON, plus every unpacked file's bytes.
fn everything_said(package: &Package, dest: &Path) -> (serde_json::Value, Vec<(String, Vec<u8>)>) {
    let options = VerifyOptions {
        hash_members: true,
        keys: vec![test_key()],
        ..VerifyOptions::default()
    };
    let verified = package.verify(&options).unwrap();
    let unpacked = package
        .unpack(
            dest,
            &UnpackOptions {
                verify: options,
                no_verify: true,
                recursive: 1,
            },
        )
        .unwrap();
    let mut files = Vec::new();
    if unpacked.unpacked.is_some() {
        for entry in walk(dest) {
            if entry.is_file() {
                let name = entry.strip_prefix(dest).unwrap().display().to_string();
                files.push((name, std::fs::read(&entry).unwrap()));
            }
        }
    }
    let mut json = serde_json::json!({ "verify": verified, "unpack": unpacked });
    json["unpack"]["unpacked"] = serde_json::Value::Null;
    (json, files)
}

/// Every path under `dir`, sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out.sort();
    out
}

/// `path` read through one-byte and seven-byte reads says exactly what it
/// says through whole reads: the same report, the same unpacked bytes.
fn same_through_short_reads(label: &str, path: &Path) {
    let tmp = TempDir::new().unwrap();
    let whole = everything_said(&Package::open(path).unwrap(), &tmp.path().join("whole"));
    for (max, seed) in [(1, 1), (7, 2)] {
        let dest = tmp.path().join(format!("short-{max}"));
        let short = everything_said(&open_short(path, max, seed).unwrap(), &dest);
        assert_eq!(
            short.0, whole.0,
            "{label}: the report differs through reads of at most {max} bytes"
        );
        assert!(
            short.1 == whole.1,
            "{label}: unpacked files differ through reads of at most {max} bytes"
        );
    }
}

/// Run every damaged variant of `original`; panic naming each case that
/// panicked or overran the bound, with a copy kept for reproduction.
fn damage_all(label: &str, original: &[u8]) {
    let tmp = TempDir::new().unwrap();
    let whole = tmp.path().join("original.pkg");
    std::fs::write(&whole, original).unwrap();
    same_through_short_reads(label, &whole);
    std::fs::remove_file(&whole).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let len = original.len();
    let mut cuts: Vec<usize> = (0..TRUNCATIONS).map(|i| i * len / TRUNCATIONS).collect();
    cuts.extend(0..16.min(len));
    cuts.extend(len.saturating_sub(16)..len);
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        cases.push((
            format!("truncated to {cut} bytes"),
            original[..cut].to_vec(),
        ));
    }
    let mut rng = Rng(0x5eed ^ len as u64);
    let header = len.min(1024);
    for i in 0..FLIPS {
        let mut bytes = original.to_vec();
        let mut flipped = Vec::new();
        for _ in 0..=rng.below(4) {
            // Headers at the front (stubs, tar, PE, cab) and at the back
            // (zip central directory and end record), and anywhere.
            let at = match i % 3 {
                0 => rng.below(header),
                1 => len - 1 - rng.below(header),
                _ => rng.below(len),
            };
            let mask = (rng.next() % 255 + 1) as u8;
            bytes[at] ^= mask;
            flipped.push(format!("{at}^{mask:#04x}"));
        }
        cases.push((format!("flip {i}: {}", flipped.join(" ")), bytes));
    }
    let mut failures = Vec::new();
    for (n, (what, bytes)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("case-{n}.pkg"));
        std::fs::write(&path, bytes).unwrap();
        let start = Instant::now();
        let max = SHORT[n % SHORT.len()];
        let ending = catch_unwind(AssertUnwindSafe(|| run_case(&path, max, n % 5 == 0)));
        let elapsed = start.elapsed();
        let problem = match ending {
            Err(_) => Some("panicked".to_owned()),
            Ok(_) if elapsed > CASE_BOUND => Some(format!("took {elapsed:?}")),
            Ok(Ending::Report(report)) => {
                // A damaged package may still verify (a flip in bytes nothing
                // covers, e.g. a comment in a stub), but never with a failed check.
                let failed = report.checks.iter().any(|c| c.outcome.is_failure());
                (failed && report.verdict.is_verified())
                    .then(|| "verified despite a failed check".to_owned())
            }
            Ok(Ending::Error) => None,
        };
        if let Some(problem) = problem {
            let keep = std::env::temp_dir().join(format!(
                "fwkit-robust-{label}-{n}.pkg",
                label = label.replace(['/', ' '], "_")
            ));
            let _ = std::fs::write(&keep, bytes);
            failures.push(format!(
                "{label}, {what}, reads of at most {max} bytes: {problem} (input kept at {})",
                keep.display()
            ));
        }
        std::fs::remove_file(&path).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {} damaged cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every committed package under `samples/`: files in its subdirectories,
/// less scripts, docs and keys (keys are damaged by the signature tests).
fn committed_samples() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(samples()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() || dir.ends_with("keys") {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            if f.is_file() && !matches!(ext, "sh" | "md" | "txt") {
                found.push(f);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn signed_samples_say_the_same_through_short_reads() {
    // In place, so the set's manifests and a detached signature are found.
    let signed = samples().join("signed");
    let mut checked = 0;
    for entry in std::fs::read_dir(&signed).unwrap() {
        let path = entry.unwrap().path();
        let label = path.strip_prefix(samples()).unwrap().display().to_string();
        same_through_short_reads(&label, &path);
        checked += 1;
    }
    assert!(checked >= 3, "samples/signed lost its packages");
}

#[test]
fn detached_signature_reads_the_same_through_short_reads() {
    let tmp = TempDir::new().unwrap();
    let pkg = tmp.path().join("fw.tar.gz");
    std::fs::copy(samples().join("tar/puf-update.tar.gz"), &pkg).unwrap();
    let text = std::fs::read_to_string(samples().join("keys/fwkit-test.key")).unwrap();
    let secret = fwkit::sign::SecretKey::parse(&text, None).unwrap();
    for prehashed in [true, false] {
        let options = fwkit::sign::SignOptions {
            prehashed,
            ..fwkit::sign::SignOptions::default()
        };
        let made = fwkit::sign::sign(&secret, std::fs::File::open(&pkg).unwrap(), &options);
        let sig = pkg.with_file_name("fw.tar.gz.minisig");
        std::fs::write(&sig, made.unwrap().to_file_string()).unwrap();
        same_through_short_reads(&format!("detached, prehashed={prehashed}"), &pkg);
        // The signature is checked, not just read: through short reads too.
        let short = open_short(&pkg, 5, 9).unwrap();
        let options = VerifyOptions {
            keys: vec![test_key()],
            ..VerifyOptions::default()
        };
        assert!(short.verify(&options).unwrap().verdict.is_verified());
    }
}

#[test]
fn damaged_samples() {
    let all = committed_samples();
    assert!(all.len() >= 3, "samples/ lost its packages: {all:?}");
    // One thread per sample: the cases are independent and both cores help.
    std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .iter()
            .map(|path| {
                scope.spawn(move || {
                    let label = path.strip_prefix(samples()).unwrap().display().to_string();
                    damage_all(&label, &std::fs::read(path).unwrap());
                })
            })
            .collect();
        let failed: Vec<String> = handles
            .into_iter()
            .zip(&all)
            .filter_map(|(h, path)| h.join().is_err().then(|| path.display().to_string()))
            .collect();
        assert!(failed.is_empty(), "damaged copies failed for {failed:?}");
    });
}

/// A small tree to pack with real tools: 16 KiB of pseudo-random firmware,
/// a script, a file in a subdirectory.
fn small_tree(root: &Path) -> PathBuf {
    let tree = root.join("tree");
    write_file(&tree.join("fw.bin"), &crate::util::prng(7, 16 << 10), 0o644);
    write_file(&tree.join("setup.sh"), b"#!/bin/sh\necho hi\n", 0o755);
    write_file(&tree.join("sub/readme.txt"), b"hello\n", 0o644);
    tree
}

#[test]
fn damaged_makeself_fixture() {
    damaged_tool_fixture("makeself fixture", &[], |tree, tmp| {
        let how = Makeself {
            opts: &["--sha256"],
            label: "fwkit robustness fixture",
            ..Makeself::default()
        };
        makeself_archive(tree, &tmp.join("fixture.run"), how)
    });
}

#[test]
fn damaged_zip_fixture() {
    damaged_tool_fixture("zip fixture", &["zip"], |tree, tmp| {
        let pkg = tmp.join("fixture.zip");
        run_in(tree, "zip", &["-q", "-X", "-r", pkg.to_str().unwrap(), "."]);
        Some(pkg)
    });
}

#[test]
fn damaged_tar_gz_fixture() {
    damaged_tool_fixture("tar.gz fixture", &["tar", "gzip"], |tree, tmp| {
        let pkg = tmp.join("fixture.tar.gz");
        let (tree, out) = (tree.to_str().unwrap(), pkg.to_str().unwrap());
        run_in(
            tmp,
            "tar",
            &["--format=ustar", "-czf", out, "-C", tree, "."],
        );
        Some(pkg)
    });
}

/// Build a package from [`small_tree`] with a real tool, then damage it.
/// `make` is given the tree and the temp dir and returns the package it
/// wrote, or `None` when it skips; `tools` must all be on PATH.
fn damaged_tool_fixture(
    label: &str,
    tools: &[&str],
    make: impl FnOnce(&Path, &Path) -> Option<PathBuf>,
) {
    if !tools.iter().all(|t| require_tool(t)) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let tree = small_tree(tmp.path());
    let Some(pkg) = make(&tree, tmp.path()) else {
        return;
    };
    damage_all(label, &std::fs::read(pkg).unwrap());
}

/// `program args…` in `cwd`, arguments as strings.
fn run_in(cwd: &Path, program: &str, args: &[&str]) {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    tool(cwd, program, &args);
}

/// The shape of a signed HPE `cp*.exe`: a real signed PE (Debian's shim
/// fallback, `fbx64.efi.signed`, 118 KB) with an Info-ZIP zip in its
/// overlay, before the Authenticode table (whose offset is moved to match).
#[test]
fn damaged_pe_with_appended_zip_fixture() {
    let pe = Path::new("/usr/lib/shim/fbx64.efi.signed");
    if !crate::util::require_file(pe) {
        return;
    }
    damaged_tool_fixture("PE + zip fixture", &["zip"], |tree, tmp| {
        let zip = tmp.join("payload.zip");
        run_in(tree, "zip", &["-q", "-X", "-r", zip.to_str().unwrap(), "."]);
        let (signed, zip) = (std::fs::read(pe).unwrap(), std::fs::read(&zip).unwrap());
        // PE32+: the certificate table is data directory 4, 168 bytes past
        // the "PE\0\0" signature; its address is a file offset.
        let pe_at = u32::from_le_bytes(signed[0x3c..0x40].try_into().unwrap()) as usize;
        let entry = pe_at + 168;
        let table = u32::from_le_bytes(signed[entry..entry + 4].try_into().unwrap()) as usize;
        assert_eq!(&signed[pe_at..pe_at + 4], b"PE\0\0");
        assert!(table > 0 && table < signed.len(), "no certificate table");
        let mut exe = signed[..table].to_vec();
        exe.extend(&zip);
        exe.extend(&signed[table..]);
        let moved = u32::try_from(table + zip.len()).unwrap();
        exe[entry..entry + 4].copy_from_slice(&moved.to_le_bytes());
        let pkg = tmp.join("cp000001.exe");
        std::fs::write(&pkg, exe).unwrap();
        // Undamaged, it is a PE whose zip verifies.
        let package = Package::open(&pkg).unwrap();
        assert_eq!(package.format(), fwkit::FormatKind::Pe);
        let report = package.verify(&VerifyOptions::default()).unwrap();
        assert!(report.verdict.is_verified(), "{:?}", report.checks);
        assert!(report.layers.iter().any(|l| l.kind == "zip archive"));
        Some(pkg)
    });
}

#[test]
fn damaged_makeself_xz_fixture() {
    damaged_tool_fixture("makeself --xz fixture", &[], |tree, tmp| {
        let how = Makeself {
            opts: &["--xz"],
            label: "xz fixture",
            ..Makeself::default()
        };
        makeself_archive(tree, &tmp.join("fixture-xz.run"), how)
    });
}

#[test]
fn damaged_tar_xz_and_zstd_fixtures() {
    for (flag, tools) in [("-J", ["tar", "xz"]), ("--zstd", ["tar", "zstd"])] {
        damaged_tool_fixture(&format!("tar {flag} fixture"), &tools, |tree, tmp| {
            let pkg = tmp.join("fixture.tar.x");
            let (tree, out) = (tree.to_str().unwrap(), pkg.to_str().unwrap());
            run_in(
                tmp,
                "tar",
                &["--format=gnu", flag, "-cf", out, "-C", tree, "."],
            );
            Some(pkg)
        });
    }
}

#[test]
fn damaged_gcab_fixture() {
    damaged_tool_fixture("gcab fixture", &["gcab"], |tree, tmp| {
        let pkg = tmp.join("fixture.cab");
        let out = pkg.to_str().unwrap();
        run_in(
            tree,
            "gcab",
            &[
                "--create",
                "--zip",
                out,
                "fw.bin",
                "setup.sh",
                "sub/readme.txt",
            ],
        );
        Some(pkg)
    });
}

#[test]
fn damaged_7z_zip_fixture() {
    damaged_tool_fixture("7z zip fixture", &["7z"], |tree, tmp| {
        let pkg = tmp.join("fixture-7z.zip");
        run_in(
            tree,
            "7z",
            &["a", "-bd", "-tzip", pkg.to_str().unwrap(), "."],
        );
        Some(pkg)
    });
}

// ---------------------------------------------------------------------------
// Short partial reads: the Read-based API.

/// Hands out at most one byte per `read`, and reports `Interrupted` every
/// third call, as a slow pipe or a signal would.
struct Trickle<R> {
    inner: R,
    calls: u64,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 3 == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = buf.len().min(1);
        self.inner.read(&mut buf[..n])
    }
}

fn trickle(data: &[u8]) -> Trickle<&[u8]> {
    Trickle {
        inner: data,
        calls: 0,
    }
}

#[test]
fn signatures_read_through_one_byte_reads() {
    use fwkit::sign::{self, SecretKey, SignOptions, Signature};
    let (secret, public) = SecretKey::generate().unwrap();
    let data = crate::util::prng(11, 5000);
    for prehashed in [true, false] {
        let options = SignOptions {
            prehashed,
            trusted_comment: "file:fw.bin".to_owned(),
            ..SignOptions::default()
        };
        let made = sign::sign(&secret, trickle(&data), &options).unwrap();
        let parsed = Signature::parse(&made.to_file_string()).unwrap();
        let verified = sign::verify(&parsed, std::slice::from_ref(&public), trickle(&data))
            .unwrap_or_else(|e| panic!("prehashed={prehashed}: {e}"));
        assert_eq!(verified.trusted_comment.as_deref(), Some("file:fw.bin"));
        // Short and damaged data fail, also through a trickle.
        let short = &data[..data.len() - 1];
        assert!(sign::verify(&parsed, std::slice::from_ref(&public), trickle(short)).is_err());
        let mut flipped = data.clone();
        flipped[2500] ^= 1;
        assert!(sign::verify(&parsed, std::slice::from_ref(&public), trickle(&flipped)).is_err());
        // The whole-message limit holds for a reader that never ends early.
        if !prehashed {
            let endless = io::repeat(0).take(1 << 20);
            assert!(matches!(
                sign::verify_with_limit(&parsed, std::slice::from_ref(&public), endless, 4096),
                Err(sign::SignError::MessageTooLarge { .. })
            ));
        }
    }
}

#[test]
fn damaged_signature_files_fail_cleanly() {
    use fwkit::sign::{self, SecretKey, SignOptions, Signature};
    let (secret, public) = SecretKey::generate().unwrap();
    let data = b"firmware";
    let text = sign::sign(&secret, &data[..], &SignOptions::default())
        .unwrap()
        .to_file_string();
    let key_text = public.to_minisign_string();
    let secret_text = secret.to_minisign_string(None).unwrap();
    let mut rng = Rng(42);
    for original in [&text, &key_text, &secret_text] {
        let bytes = original.as_bytes();
        for cut in 0..bytes.len() {
            let Ok(prefix) = std::str::from_utf8(&bytes[..cut]) else {
                continue;
            };
            let result = catch_unwind(|| {
                let _ = Signature::parse(prefix);
                let _ = fwkit::sign::PublicKey::parse(prefix);
                let _ = SecretKey::parse(prefix, None);
            });
            assert!(
                result.is_ok(),
                "panic on a {cut}-byte prefix of:\n{original}"
            );
        }
        for _ in 0..FLIPS {
            let mut flipped = bytes.to_vec();
            let at = rng.below(flipped.len());
            flipped[at] = b"A/+=\n\r x0:"[rng.below(10)];
            let Ok(flipped) = String::from_utf8(flipped) else {
                continue;
            };
            let result = catch_unwind(AssertUnwindSafe(|| {
                if let Ok(sig) = Signature::parse(&flipped) {
                    let _ = sign::verify(&sig, std::slice::from_ref(&public), &data[..]);
                }
                let _ = fwkit::sign::PublicKey::parse(&flipped);
                let _ = SecretKey::parse(&flipped, None);
            }));
            assert!(result.is_ok(), "panic on:\n{flipped}");
        }
    }
}

// ---------------------------------------------------------------------------
// Resource bounds.

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// `mib` MiB of zeros as concatenated gzip members (each made by flate2
/// from 1 MiB of zeros), about 1 KiB of file per MiB of output.
fn gzip_zeros(mib: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = enc.finish().unwrap();
    member.repeat(mib)
}

fn verify_with(path: &Path, limits: Limits) -> (Report, Duration) {
    let start = Instant::now();
    let report = Package::open(path)
        .unwrap()
        .verify(&VerifyOptions {
            limits,
            ..VerifyOptions::default()
        })
        .unwrap();
    (report, start.elapsed())
}

fn failed_limit(report: &Report) -> Option<String> {
    report
        .checks
        .iter()
        .find(|c| c.kind == fwkit::CheckKind::Limit && c.outcome.is_failure())
        .map(|c| c.summary())
}

fn limits_64m() -> Limits {
    Limits {
        max_size: 64 << 20,
        ..Limits::default()
    }
}

/// Run `fwkit verify PATH ARGS` with its address space capped at 512 MiB
/// (`prlimit`), so an up-front allocation of a size a header claims would
/// fail; return (exit code, stdout, elapsed).
pub(crate) fn fwkit_capped(path: &Path, args: &[&str]) -> Option<(i32, String, Duration)> {
    if !require_tool("prlimit") {
        return None;
    }
    let start = Instant::now();
    let out = std::process::Command::new("prlimit")
        .arg(format!("--as={}", 512u64 << 20))
        .arg(crate::util::FWKIT)
        .arg("verify")
        .arg(path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        start.elapsed(),
    ))
}

#[test]
fn tar_header_claiming_2_pow_60_bytes_fails_fast() {
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new().claim(b"huge.bin", b'0', 1 << 60).bytes();
    tar.extend_from_slice(&[0u8; 4096]);
    for (name, bytes) in [("huge.tar", tar.clone()), ("huge.tar.gz", gzip(&tar))] {
        let path = tmp.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (report, elapsed) = verify_with(&path, Limits::default());
        assert!(
            elapsed < Duration::from_secs(20),
            "{name}: took {elapsed:?}"
        );
        assert!(!report.verdict.is_verified());
        let why = failed_limit(&report).unwrap_or_else(|| panic!("{name}: no limit check"));
        assert!(why.contains("--max-size"), "{why}");
        if let Some((code, stdout, elapsed)) = fwkit_capped(&path, &[]) {
            assert_eq!(code, 1, "{name}: {stdout}");
            assert!(elapsed < Duration::from_secs(20));
            assert!(stdout.contains("--max-size"), "{stdout}");
        }
    }
}

#[test]
fn gzip_bomb_member_stops_at_max_size() {
    // A 1 GiB member of zeros, about 1 MiB of gzip: refused from its header.
    let tmp = TempDir::new().unwrap();
    let mut bomb = gzip(&Tar::new().claim(b"zeros.bin", b'0', 1 << 30).bytes());
    bomb.extend(gzip_zeros(1024));
    bomb.extend(gzip(&[0u8; 1024]));
    assert!(bomb.len() < 2 << 20, "the bomb is {} bytes", bomb.len());
    let path = tmp.path().join("bomb.tar.gz");
    std::fs::write(&path, &bomb).unwrap();
    let (report, elapsed) = verify_with(&path, limits_64m());
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let why = failed_limit(&report).expect("a failed limit check");
    assert!(why.contains("67108864"), "{why}");
    let dest = tmp.path().join("out");
    let start = Instant::now();
    let unpacked = Package::open(&path)
        .unwrap()
        .unpack(
            &dest,
            &UnpackOptions {
                verify: VerifyOptions {
                    limits: limits_64m(),
                    ..VerifyOptions::default()
                },
                no_verify: true,
                recursive: 0,
            },
        )
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(unpacked.unpacked.is_none() && !dest.exists());
    if let Some((code, stdout, _)) = fwkit_capped(&path, &["--max-size", "64M"]) {
        assert_eq!(code, 1, "{stdout}");
    }
}

/// `data` compressed by `program args…` (the real tool, through a pipe).
fn compress_with(program: &str, args: &[&str], data: Vec<u8>) -> Vec<u8> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{program} failed");
    out.stdout
}

/// 96 members of 1 MiB of zeros (96 MiB of tar), compressed by xz, bzip2 and
/// zstd to a few KiB each: the sum of member sizes stops the scan at
/// `--max-size 16M`, in the decoder's first megabytes, and nothing is placed.
#[test]
fn xz_bzip2_and_zstd_bombs_stop_at_max_size() {
    let codecs: [(&str, &[&str]); 3] = [
        ("xz", &["-0", "-c"]),
        ("bzip2", &["-1", "-c"]),
        ("zstd", &["-q", "-c"]),
    ];
    let tmp = TempDir::new().unwrap();
    let zeros = vec![0u8; 1 << 20];
    for (program, args) in codecs {
        if !require_tool(program) {
            continue;
        }
        let mut tar = Tar::new();
        for i in 0..96 {
            tar.file(&format!("zeros-{i:02}.bin"), 0o644, &zeros);
        }
        let bomb = compress_with(program, args, tar.finish());
        assert!(bomb.len() < 1 << 20, "{program}: {} bytes", bomb.len());
        let path = tmp.path().join(format!("bomb-{program}.tar"));
        std::fs::write(&path, &bomb).unwrap();
        let limits = Limits {
            max_size: 16 << 20,
            ..Limits::default()
        };
        let (report, elapsed) = verify_with(&path, limits);
        assert!(
            elapsed < Duration::from_secs(30),
            "{program}: took {elapsed:?}"
        );
        let why = failed_limit(&report).unwrap_or_else(|| panic!("{program}: no limit check"));
        assert!(why.contains("16777216"), "{program}: {why}");
        assert!(
            report.members.len() < 20,
            "{program}: read {} members",
            report.members.len()
        );
        let dest = tmp.path().join(format!("out-{program}"));
        let unpacked = Package::open(&path).unwrap().unpack(
            &dest,
            &UnpackOptions {
                verify: VerifyOptions {
                    limits,
                    ..VerifyOptions::default()
                },
                no_verify: true,
                recursive: 0,
            },
        );
        assert!(
            unpacked.unwrap().unpacked.is_none() && !dest.exists(),
            "{program}"
        );
    }
}

#[test]
fn gzip_bomb_after_the_tar_end_stops_at_the_padding_cap() {
    // A valid little tar, then 1 GiB of zeros in the same gzip stream: only
    // 16 MiB of padding is read.
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    tar.file("fw.bin", 0o644, b"firmware\n");
    let mut bomb = gzip(&tar.finish());
    bomb.extend(gzip_zeros(1024));
    let path = tmp.path().join("padded.tar.gz");
    std::fs::write(&path, &bomb).unwrap();
    let (report, elapsed) = verify_with(&path, limits_64m());
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    let why = failed_limit(&report).expect("a failed limit check");
    assert!(why.contains("padding"), "{why}");
}

#[test]
fn zip_bomb_member_stops_at_max_size() {
    // A zip whose one member inflates to 1 GiB of zeros, about 1 MiB of
    // deflate: 1 MiB of zeros deflated by flate2 with a full flush (so the
    // block is byte-aligned and refers to nothing before it), repeated, then
    // an empty final block. The CRC is never reached, so it is left 0.
    let tmp = TempDir::new().unwrap();
    let size: u32 = 1 << 30;
    let mut compress = flate2::Compress::new(flate2::Compression::fast(), false);
    let mut block = Vec::with_capacity(64 << 10);
    compress
        .compress_vec(&vec![0u8; 1 << 20], &mut block, flate2::FlushCompress::Full)
        .unwrap();
    assert!(block.len() < block.capacity(), "the flush did not fit");
    let mut deflated = block.repeat((size >> 20) as usize);
    deflated.extend_from_slice(&[0x03, 0x00]);
    let zip = raw_zip(b"zeros.bin", &deflated, 0, size);
    let path = tmp.path().join("bomb.zip");
    std::fs::write(&path, &zip).unwrap();
    let (report, elapsed) = verify_with(&path, limits_64m());
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    assert!(failed_limit(&report).is_some(), "{:#?}", report.checks);

    // The same stream declared as 1 KiB: the lie is caught after 1 KiB,
    // without inflating the rest.
    let zip = raw_zip(b"zeros.bin", &deflated, 0, 1024);
    std::fs::write(&path, &zip).unwrap();
    let (report, elapsed) = verify_with(&path, limits_64m());
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    assert!(!report.verdict.is_verified());
}

/// A one-member deflate zip with the given declared CRC and size.
fn raw_zip(name: &[u8], deflated: &[u8], crc: u32, size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut common = Vec::new();
    common.extend_from_slice(&20u16.to_le_bytes()); // version needed
    common.extend_from_slice(&0u16.to_le_bytes()); // flags
    common.extend_from_slice(&8u16.to_le_bytes()); // deflate
    common.extend_from_slice(&0u32.to_le_bytes()); // time, date
    common.extend_from_slice(&crc.to_le_bytes());
    common.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
    common.extend_from_slice(&size.to_le_bytes());
    common.extend_from_slice(&(name.len() as u16).to_le_bytes());
    common.extend_from_slice(&0u16.to_le_bytes()); // extra
    out.extend_from_slice(b"PK\x03\x04");
    out.extend_from_slice(&common);
    out.extend_from_slice(name);
    out.extend_from_slice(deflated);
    let central = out.len() as u32;
    out.extend_from_slice(b"PK\x01\x02");
    out.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: unix
    out.extend_from_slice(&common);
    out.extend_from_slice(&[0u8; 6]); // comment len, disk, internal attrs
    out.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name);
    let central_len = out.len() as u32 - central;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn max_entries_is_honoured_for_tar_and_zip() {
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    for i in 0..20 {
        tar.file(&format!("f{i}"), 0o644, b"x");
    }
    let path = tmp.path().join("many.tar.gz");
    std::fs::write(&path, gzip(&tar.finish())).unwrap();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let (report, _) = verify_with(&path, limits);
    let why = failed_limit(&report).expect("a failed limit check");
    assert!(why.contains("--max-entries"), "{why}");
    assert!(report.members.len() <= 10);
    let (report, _) = verify_with(
        &path,
        Limits {
            max_entries: 20,
            ..Limits::default()
        },
    );
    assert!(failed_limit(&report).is_none());

    if !require_tool("zip") {
        return;
    }
    let tree = tmp.path().join("zip-tree");
    for i in 0..20 {
        write_file(&tree.join(format!("f{i}")), b"x", 0o644);
    }
    let zip = tmp.path().join("many.zip");
    tool(
        &tree,
        "zip",
        &[
            OsStr::new("-q"),
            OsStr::new("-r"),
            zip.as_os_str(),
            OsStr::new("."),
        ],
    );
    let (report, _) = verify_with(&zip, limits);
    let why = failed_limit(&report).expect("a failed limit check");
    assert!(why.contains("--max-entries"), "{why}");
}

#[test]
fn max_depth_is_honoured() {
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    tar.file("a/b/c/ok.bin", 0o644, b"x");
    tar.file("a/b/c/d/deep.bin", 0o644, b"x");
    let path = tmp.path().join("deep.tar.gz");
    std::fs::write(&path, gzip(&tar.finish())).unwrap();
    let (report, _) = verify_with(
        &path,
        Limits {
            max_depth: 4,
            ..Limits::default()
        },
    );
    let deep = report
        .members
        .iter()
        .find(|m| m.name == "a/b/c/d/deep.bin")
        .unwrap();
    assert!(deep.problem.as_deref().unwrap().contains("--max-depth"));
    let ok = report
        .members
        .iter()
        .find(|m| m.name == "a/b/c/ok.bin")
        .unwrap();
    assert!(ok.problem.is_none());
    assert!(!report.verdict.is_verified());
    // 10,000 nested directories: refused by depth, quickly, without recursion.
    let mut tar = Tar::new();
    let deep_name = "d/".repeat(2000) + "x";
    tar.gnu_long_name(deep_name.as_bytes());
    tar.file("placeholder", 0o644, b"x");
    std::fs::write(&path, gzip(&tar.finish())).unwrap();
    let (report, elapsed) = verify_with(&path, Limits::default());
    assert!(elapsed < Duration::from_secs(2));
    assert!(report.members[0]
        .problem
        .as_deref()
        .unwrap()
        .contains("--max-depth"));
}

#[test]
fn member_names_are_capped_at_4096_bytes() {
    let tmp = TempDir::new().unwrap();
    // 4096 bytes in components of 200: accepted; one byte more: refused.
    let component = "n".repeat(199);
    let mut name = String::new();
    while name.len() + 200 <= 4096 {
        name.push_str(&component);
        name.push('/');
    }
    name.push_str(&"f".repeat(4096 - name.len()));
    assert_eq!(name.len(), 4096);
    let longer = format!("{name}g");
    let mut tar = Tar::new();
    tar.gnu_long_name(name.as_bytes());
    tar.file("placeholder-1", 0o644, b"x");
    tar.gnu_long_name(longer.as_bytes());
    tar.file("placeholder-2", 0o644, b"x");
    tar.gnu_long_name(&vec![b'x'; 100_000]);
    tar.file("placeholder-3", 0o644, b"x");
    let path = tmp.path().join("names.tar.gz");
    std::fs::write(&path, gzip(&tar.finish())).unwrap();
    let (report, _) = verify_with(&path, Limits::default());
    assert_eq!(report.members.len(), 3);
    assert!(report.members[0].problem.is_none());
    assert_eq!(report.members[0].path.as_ref().unwrap().as_str(), name);
    for m in &report.members[1..] {
        assert!(m.path.is_none());
        assert!(m.problem.as_deref().unwrap().contains("4096"), "{m:?}");
    }
    assert!(fwkit::MemberName::parse(&vec![b'a'; 4097]).is_err());
    assert!(fwkit::MemberName::parse(&vec![b'a'; 4096]).is_ok());
}

/// Every member's name is kept for the report and the safety tree, so the
/// names of one scan are capped in total (32 MiB): 8,600 names of 4,000
/// bytes stop the scan with a limit, wherever `--max-entries` is.
#[test]
fn member_names_are_capped_in_total() {
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    for i in 0..8_600 {
        let name = format!("{i:06}-{}", "n".repeat(3_993));
        tar.gnu_long_name(name.as_bytes());
        tar.file("placeholder", 0o644, b"");
    }
    let path = tmp.path().join("names.tar.gz");
    std::fs::write(&path, gzip(&tar.finish())).unwrap();
    let (report, _) = verify_with(&path, Limits::default());
    assert!(!report.verdict.is_verified());
    let limit = report
        .checks
        .iter()
        .find(|c| c.kind == fwkit::CheckKind::Limit && c.outcome.is_failure())
        .unwrap_or_else(|| panic!("no limit check: {:?}", report.checks));
    let detail = limit.detail.as_deref().unwrap_or("");
    assert!(
        detail.contains("member names total more than 33554432 bytes"),
        "{detail}"
    );
    // 32 MiB / 4,000 bytes: the scan stopped at member 8,389.
    assert!(
        report.members.len() < 8_400,
        "{} members kept",
        report.members.len()
    );
}

// ---------------------------------------------------------------------------
// Filesystem safety of unpack.

fn unpack_opts() -> UnpackOptions {
    UnpackOptions {
        verify: VerifyOptions::default(),
        no_verify: false,
        recursive: 0,
    }
}

/// Entries of `dir` whose names start with `.fwkit-unpack-` (staging left behind).
fn staging_left(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".fwkit-unpack-"))
        })
        .collect()
}

#[test]
fn a_symlink_preplaced_at_the_destination_is_not_followed() {
    let tmp = TempDir::new().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let pkg = samples().join("tar/puf-update.tar.gz");
    for (name, target) in [
        ("to-dir", victim.clone()),
        ("dangling", tmp.path().join("nowhere")),
    ] {
        let dest = tmp.path().join(name);
        std::os::unix::fs::symlink(&target, &dest).unwrap();
        let err = Package::open(&pkg)
            .unwrap()
            .unpack(&dest, &unpack_opts())
            .unwrap_err();
        assert!(
            matches!(err, fwkit::Error::DestinationExists { .. }),
            "{err}"
        );
        assert!(std::fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
    assert!(!tmp.path().join("nowhere").exists());
    assert!(staging_left(tmp.path()).is_empty());
}

#[test]
fn names_differing_in_case_or_normalisation_stay_distinct() {
    let tmp = TempDir::new().unwrap();
    let mut tar = Tar::new();
    tar.file("README", 0o644, b"upper\n");
    tar.file("readme", 0o644, b"lower\n");
    tar.file("caf\u{e9}.bin", 0o644, b"nfc\n"); // é precomposed
    tar.file("cafe\u{301}.bin", 0o644, b"nfd\n"); // e + combining acute
    let pkg = tmp.path().join("names.tar.gz");
    std::fs::write(&pkg, gzip(&tar.finish())).unwrap();
    let dest = tmp.path().join("out");
    let result = Package::open(&pkg).unwrap().unpack(&dest, &unpack_opts());
    match result {
        // A case-sensitive, non-normalising file system (ext4, tmpfs): four files.
        Ok(report) => {
            assert!(report.unpacked.is_some(), "{:#?}", report.verdict);
            for (name, data) in [
                ("README", "upper\n"),
                ("readme", "lower\n"),
                ("caf\u{e9}.bin", "nfc\n"),
                ("cafe\u{301}.bin", "nfd\n"),
            ] {
                assert_eq!(std::fs::read_to_string(dest.join(name)).unwrap(), data);
            }
        }
        // A folding file system: the second create fails (O_EXCL), nothing is placed.
        Err(e) => {
            assert!(matches!(e, fwkit::Error::Write { .. }), "{e}");
            assert!(!dest.exists());
        }
    }
    assert!(staging_left(tmp.path()).is_empty());
}

#[test]
fn paths_longer_than_the_os_allows_fail_without_leaving_anything() {
    // A 4096-byte member name is valid for fwkit, but below a staging
    // directory the full path passes PATH_MAX: unpacking fails cleanly.
    let tmp = TempDir::new().unwrap();
    let component = "p".repeat(200);
    let mut name = String::new();
    while name.len() + 201 <= 4000 {
        name.push_str(&component);
        name.push('/');
    }
    name.push_str("fw.bin");
    let mut tar = Tar::new();
    tar.gnu_long_name(name.as_bytes());
    tar.file("placeholder", 0o644, b"x");
    let pkg = tmp.path().join("long.tar.gz");
    std::fs::write(&pkg, gzip(&tar.finish())).unwrap();
    let dest = tmp.path().join("out");
    let result = Package::open(&pkg).unwrap().unpack(&dest, &unpack_opts());
    if let Ok(report) = &result {
        // Only if the whole path fit (a short temp dir): then it is all there.
        if report.unpacked.is_some() {
            assert!(dest.join(&name).is_file());
            return;
        }
    }
    assert!(!dest.exists());
    assert!(staging_left(tmp.path()).is_empty());
}

#[test]
fn deep_trees_unpack_to_the_depth_limit_and_no_further() {
    let tmp = TempDir::new().unwrap();
    let at_limit = "d/".repeat(63) + "fw.bin"; // 64 components
    let past_limit = "e/".repeat(64) + "fw.bin"; // 65 components
    for (label, name, placed) in [("at", &at_limit, true), ("past", &past_limit, false)] {
        let mut tar = Tar::new();
        tar.gnu_long_name(name.as_bytes());
        tar.file("placeholder", 0o644, b"deep\n");
        let pkg = tmp.path().join(format!("{label}.tar.gz"));
        std::fs::write(&pkg, gzip(&tar.finish())).unwrap();
        let dest = tmp.path().join(format!("{label}-out"));
        let report = Package::open(&pkg)
            .unwrap()
            .unpack(&dest, &unpack_opts())
            .unwrap();
        assert_eq!(
            report.unpacked.is_some(),
            placed,
            "{label}: {:#?}",
            report.verdict
        );
        assert_eq!(dest.join(name).is_file(), placed);
    }
    assert!(staging_left(tmp.path()).is_empty());
}
