//! Signature files beside a package that are neither minisign nor OpenPGP
//! detached files: a `PKG.jcat` (fwupd/LVFS, see `formats/cab.md`,
//! "JCat") and HPE `.compsig` files (see `formats/compsig.md`).
//!
//! Both are judged over digests the single pass computes: the JCat
//! checksums as range digests of the whole file, the data a PKCS#7
//! signature signs as a range digest ([`LABEL`]) per algorithm and range,
//! a JCat GPG blob over the file as an OpenPGP signature of the pass
//! (`PgpFile`, its trailer hashed after the file).

use super::Package;
use crate::error::Result;
use crate::formats::jcat::{self, BlobKind, JcatFile};
use crate::formats::jcat_sign::{self, Signed};
use crate::input::read_capped;
use crate::model::{Algorithm, ByteRange, Check, CheckKind, Outcome, RangeDigest};
use crate::sign;
use crate::verify::openpgp::PgpFile;
use crate::verify::signature::MAX_SIGNATURE_FILE;
use crate::verify::{pkcs7, VerifyOptions};
use std::path::{Path, PathBuf};

/// The covers of the range digests made for these signatures.
const LABEL: &str = "signature digest (for a signature file beside the package)";
/// HPE splits components over 32 MiB into parts of this many bytes.
pub(super) const PART: u64 = 33_554_432;
/// Largest `.jcat` file read (gzip; its JSON is capped by the parser).
const MAX_JCAT: u64 = 4 << 20;

/// What lies beside the package.
#[derive(Default)]
pub(super) struct Beside {
    size: u64,
    /// The package's file name, as a JCat item names it.
    name: String,
    jcat: Option<(String, std::result::Result<JcatFile, String>)>,
    compsigs: Vec<Compsig>,
}

/// One `.compsig` file.
struct Compsig {
    path: String,
    /// 1-based part number (`_partN`), `None` for the whole component.
    part: Option<u64>,
    parsed: std::result::Result<pkcs7::Pkcs7, String>,
}

/// True when a `.jcat` or `.compsig` file sits beside `path` (a part file
/// beyond the first is not looked for: a split component has part 1).
pub(super) fn present(path: &Path) -> bool {
    sign::detached_path(path, "jcat").is_file() || !compsig_files(path, 0).is_empty()
}

/// The `.compsig` files beside `path`, a file of `size` bytes: `STEM.compsig`
/// or `NAME.compsig` (whole), `STEM_partN.compsig` (part N), where STEM is
/// the file name without its extension. Only these names are looked up
/// (parts 1 to one past the count `size` needs), never the whole
/// directory: a mirror of N packages would cost N² otherwise.
fn compsig_files(path: &Path, size: u64) -> Vec<(PathBuf, Option<u64>)> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let stem = path.file_stem().and_then(|n| n.to_str()).unwrap_or(name);
    let mut found = Vec::new();
    let mut whole = vec![format!("{stem}.compsig")];
    if name != stem {
        whole.push(format!("{name}.compsig"));
    }
    for file in whole {
        let candidate = path.with_file_name(&file);
        if candidate.is_file() {
            found.push((candidate, None));
        }
    }
    let parts = size.div_ceil(PART).saturating_add(1).max(1);
    for n in 1..=parts {
        let candidate = path.with_file_name(format!("{stem}_part{n}.compsig"));
        if candidate.is_file() {
            found.push((candidate, Some(n)));
        }
    }
    found.sort();
    found
}

impl Package {
    /// The `.jcat` and `.compsig` files beside the package.
    pub(super) fn beside(&self) -> Result<Beside> {
        let mut beside = Beside {
            size: self.size,
            name: file_name(&self.path),
            ..Beside::default()
        };
        if self.input.is_none() {
            return Ok(beside);
        }
        let path = sign::detached_path(&self.path, "jcat");
        if path.is_file() {
            let bytes = read_capped(&*self.opener, &path, MAX_JCAT)?;
            beside.jcat = Some((path.display().to_string(), jcat::parse(&bytes)));
        }
        for (path, part) in compsig_files(&self.path, self.size) {
            let bytes = read_capped(&*self.opener, &path, MAX_SIGNATURE_FILE)?;
            beside.compsigs.push(Compsig {
                path: path.display().to_string(),
                part,
                parsed: pkcs7::parse_der(&bytes),
            });
        }
        Ok(beside)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The base name of a JCat item id (`dir/firmware.bin`, `.\\firmware.bin`).
fn base(id: &str) -> &str {
    id.rsplit(['/', '\\']).next().unwrap_or(id)
}

impl Beside {
    /// The item of the JCat file that names the package.
    fn item(&self) -> Option<&jcat::Item> {
        let (_, Ok(file)) = self.jcat.as_ref()? else {
            return None;
        };
        file.items.iter().find(|i| {
            std::iter::once(&i.id)
                .chain(&i.alias_ids)
                .any(|id| base(id) == self.name)
        })
    }

    /// The byte range of compsig part `part` (1-based), if in the file.
    fn part_range(&self, part: Option<u64>) -> Option<ByteRange> {
        let Some(n) = part else {
            return Some((0, self.size));
        };
        let start = n.checked_sub(1)?.checked_mul(PART)?;
        (start < self.size).then(|| (start, start.saturating_add(PART).min(self.size)))
    }

    /// The range digests the pass computes for these files.
    pub(super) fn range_digests(&self) -> Vec<RangeDigest> {
        let mut out: Vec<RangeDigest> = Vec::new();
        let mut want = |range: ByteRange, algorithm: Algorithm| {
            if !out
                .iter()
                .any(|d| d.covers == LABEL && d.range == range && d.algorithm == algorithm)
            {
                out.push(labelled(range, algorithm));
            }
        };
        for c in &self.compsigs {
            if let (Ok(p), Some(range)) = (&c.parsed, self.part_range(c.part)) {
                p.algorithms().into_iter().for_each(|a| want(range, a));
            }
        }
        let whole = (0, self.size);
        let Some(item) = self.item() else { return out };
        for blob in &item.blobs {
            match (blob.kind(), blob.target, &blob.data) {
                (BlobKind::Checksum(a), _, _) => want(whole, a),
                (BlobKind::Signature("pkcs7"), None, Ok(data)) => {
                    if let Ok(p) = pkcs7::parse(data) {
                        p.algorithms().into_iter().for_each(|a| want(whole, a));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The JCat GPG blobs over the whole file, as OpenPGP signatures the
    /// pass hashes with their trailers.
    pub(super) fn pgp_files(&self) -> Vec<PgpFile> {
        let (Some(item), Some((path, _))) = (self.item(), &self.jcat) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, blob) in item.blobs.iter().enumerate() {
            if let (BlobKind::Signature("gpg"), None, Ok(data)) =
                (blob.kind(), blob.target, &blob.data)
            {
                let covers = format!("whole file (JCat {path}, gpg blob {index})");
                let mut file = PgpFile::embedded(&covers, (0, self.size), data);
                file.whole = true;
                out.push(file);
            }
        }
        out
    }

    /// The structure checks, and the signature checks each with whether it
    /// passed and covers the whole package, given the pass's `digests`
    /// (taken with [`take_digests`]).
    pub(super) fn checks(
        &self,
        digests: &[Check],
        options: &VerifyOptions,
    ) -> (Vec<Check>, Vec<(Check, bool)>) {
        let mut structure = Vec::new();
        let mut signatures = Vec::new();
        if let Some((path, parsed)) = &self.jcat {
            match parsed {
                Ok(_) => {
                    let out = (&mut structure, &mut signatures);
                    self.jcat_checks(path, digests, options, out);
                    if self.item().is_none() {
                        structure.push(Check::failed(
                            CheckKind::Structure,
                            format!("JCat file {path}"),
                            format!("no item names {}", self.name),
                        ));
                    }
                }
                Err(why) => structure.push(Check::failed(
                    CheckKind::Structure,
                    format!("JCat file {path}"),
                    why.clone(),
                )),
            }
        }
        if !self.compsigs.is_empty() {
            let pairing = self.pairing();
            let paired = pairing.outcome == Outcome::Passed;
            structure.push(pairing);
            let checks: Vec<Check> = self
                .compsigs
                .iter()
                .map(|c| self.compsig_check(c, digests, options))
                .collect();
            let all = paired && checks.iter().all(|c| c.outcome == Outcome::Passed);
            signatures.extend(checks.into_iter().map(|c| (c, all)));
        }
        (structure, signatures)
    }

    fn jcat_checks(
        &self,
        path: &str,
        digests: &[Check],
        options: &VerifyOptions,
        (structure, out): (&mut Vec<Check>, &mut Vec<(Check, bool)>),
    ) {
        let Some(item) = self.item() else { return };
        let signed = Signed {
            name: self.name.clone(),
            digests: computed(digests, (0, self.size)),
            pgp_elsewhere: true,
            options,
        };
        for (index, blob) in item.blobs.iter().enumerate() {
            let kind = jcat::kind_name(blob.kind);
            let covers = format!("whole file (JCat {path}, {kind} blob {index})");
            let data = match (&blob.data, blob.kind()) {
                (Ok(data), BlobKind::Signature(_)) => data,
                (Err(why), _) => {
                    structure.push(Check::failed(CheckKind::Structure, covers, why.clone()));
                    continue;
                }
                (Ok(data), BlobKind::Checksum(a)) if blob.target.is_none() => {
                    structure.push(checksum(covers, a, data, (&signed, self.size)));
                    continue;
                }
                _ => continue,
            };
            let judged = jcat_sign::judge(&covers, (item, blob, data), Some(&signed));
            for check in judged.checks {
                // Only a signature that covers the file claims its bytes
                // (one over a checksum text that is not the file's does not).
                match judged.covers_file {
                    true => {
                        let whole = check.outcome == Outcome::Passed;
                        out.push((check.with_range((0, self.size)), whole));
                    }
                    false => out.push((check, false)),
                }
            }
        }
    }

    /// The pairing of `.compsig` files with the package: one for a
    /// component up to 32 MiB, one per 33,554,432-byte part above.
    fn pairing(&self) -> Check {
        let parts = match self.size > PART {
            true => self.size.div_ceil(PART),
            false => 0,
        };
        let names: Vec<&str> = self.compsigs.iter().map(|c| c.path.as_str()).collect();
        let whole = self.compsigs.iter().filter(|c| c.part.is_none()).count();
        let mut numbers: Vec<u64> = self.compsigs.iter().filter_map(|c| c.part).collect();
        numbers.sort_unstable();
        let covers = format!("HPE compsig files ({})", names.join(", "));
        let problem = match parts {
            0 if !numbers.is_empty() => Some(format!(
                "part file(s) for a component of {} bytes, which is not over 32 MiB and is signed whole ({}.compsig)",
                self.size, self.name
            )),
            0 => None,
            n if whole > 0 => Some(format!(
                "a component of {} bytes (over 32 MiB) is signed in {n} parts of 33,554,432 bytes (_part1.compsig ... _part{n}.compsig), not by one .compsig",
                self.size
            )),
            n if numbers != (1..=n).collect::<Vec<u64>>() => Some(format!(
                "a component of {} bytes has {n} part(s) of 33,554,432 bytes; found compsig part(s) {numbers:?}",
                self.size
            )),
            _ => None,
        };
        match problem {
            Some(why) => Check::failed(CheckKind::Structure, covers, why),
            None => {
                Check::new(CheckKind::Structure, covers, Outcome::Passed).with_detail(match parts {
                    0 => "one .compsig for a component up to 32 MiB".to_owned(),
                    n => format!("{n} part(s) of 33,554,432 bytes, each with its .compsig"),
                })
            }
        }
    }

    fn compsig_check(&self, c: &Compsig, digests: &[Check], options: &VerifyOptions) -> Check {
        let range = self.part_range(c.part);
        let covers = match (c.part, range) {
            (None, _) => format!("whole file (HPE compsig {})", c.path),
            (Some(n), Some((a, b))) => format!("part {n}, bytes {a}-{b} (HPE compsig {})", c.path),
            (Some(n), None) => format!("part {n} (HPE compsig {})", c.path),
        };
        let check = Check::new(CheckKind::Signature, covers, Outcome::NotRun);
        let Some(range) = range else {
            return check.with_detail("the part lies beyond the end of the package");
        };
        let check = check.with_range(range);
        match &c.parsed {
            Ok(signature) => {
                let computed = computed(digests, range);
                pkcs7::check(
                    check,
                    signature,
                    pkcs7::Content::Digests(&computed),
                    options,
                )
            }
            Err(why) => check.with_detail(format!(
                "opaque HPE format, not checked (not DER CMS SignedData: {why})"
            )),
        }
    }
}

/// A JCat checksum blob over the whole file, against the pass's digest.
fn checksum(
    covers: String,
    algorithm: Algorithm,
    data: &[u8],
    (file, len): (&Signed<'_>, u64),
) -> Check {
    let expected = String::from_utf8_lossy(data).trim().to_ascii_lowercase();
    let mut check = Check::new(CheckKind::Digest, covers, Outcome::NotRun);
    check.algorithm = Some(algorithm);
    check.range = Some((0, len));
    match file.digests.iter().find(|(a, _)| *a == algorithm) {
        Some((_, value)) => {
            check.outcome = match *value == expected {
                true => Outcome::Passed,
                false => Outcome::Failed,
            };
            check.computed = Some(value.clone());
        }
        None => check.detail = Some("the file's digest was not computed".to_owned()),
    }
    check.expected = Some(expected);
    check
}

fn labelled(range: ByteRange, algorithm: Algorithm) -> RangeDigest {
    RangeDigest {
        range,
        skip: Vec::new(),
        algorithm,
        expected: String::new(),
        covers: LABEL.to_owned(),
        kind: CheckKind::Signature,
        suffix: Vec::new(),
    }
}

/// Take the digests computed for these signatures out of the pass's checks.
pub(super) fn take_digests(checks: &mut Vec<Check>) -> Vec<Check> {
    let (mine, rest) = std::mem::take(checks)
        .into_iter()
        .partition(|c: &Check| c.kind == CheckKind::Signature && c.covers == LABEL);
    *checks = rest;
    mine
}

/// The digests computed over `range`.
fn computed(digests: &[Check], range: ByteRange) -> Vec<(Algorithm, String)> {
    digests
        .iter()
        .filter(|c| c.range == Some(range))
        .filter_map(|c| Some((c.algorithm?, c.computed.clone()?)))
        .collect()
}
