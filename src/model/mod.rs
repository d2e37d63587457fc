//! The format-independent model: members and their names, layers, checks,
//! digests, vendor metadata, the verdict and the report. Every other layer
//! builds on these plain owned types; this module names no other module of
//! the crate but `error`.

mod digests;
mod format;
mod name;
mod signer;
mod vendor;

pub use digests::Digests;
pub use format::FormatKind;
pub use name::{MemberName, NameError, MAX_NAME_LEN};
pub use signer::{Signer, SignerId};
pub use vendor::FwkitRelease;
pub use vendor::LvfsRequire;
pub use vendor::{DellDevice, DellSystem, PciIds};
pub use vendor::{
    DellPackage, HpComponent, HpDevice, HpImage, HpeFwpkg, LvfsRelease, MakeselfInfo, NetappSp,
    PeInfo, PeSection, VendorInfo,
};

use serde::Serialize;
use std::path::PathBuf;

/// A byte range of the package file, `start..end`.
pub type ByteRange = (u64, u64);

/// One layer of a package: a shell stub, a compressed stream, a tar archive.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// What the layer is, e.g. `shell stub (makeself 2.4.5)`, `gzip`, `tar`.
    pub kind: String,
    /// Bytes of the package file this layer occupies (for inner layers, the
    /// range of the outer stream that holds them).
    pub range: ByteRange,
}

/// What a member is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
#[non_exhaustive]
pub enum MemberKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink {
        /// The link target as stored.
        target: String,
    },
    /// A hard link to an earlier member.
    HardLink {
        /// The member linked to, as stored.
        target: String,
    },
    /// Anything else: device node, fifo, sparse file… (never extracted).
    Other {
        /// What it is.
        what: String,
    },
}

/// One entry of a package's payload.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The name as stored (lossy UTF-8), for display.
    pub name: String,
    /// The validated path, `None` when the stored name is unsafe.
    pub path: Option<MemberName>,
    /// What the member is.
    pub kind: MemberKind,
    /// Size in bytes of its content.
    pub size: u64,
    /// Permission bits as stored.
    pub mode: u32,
    /// Index of the payload stream (makeself chunk) it came from.
    pub stream: usize,
    /// Why fwkit refuses this member, if it does.
    pub problem: Option<String>,
    /// Digests of the content computed in the pass (files only), lower-case
    /// hex by algorithm: SHA-256 for `inspect`, and whatever a manifest needs.
    pub digests: Digests,
}

/// A digest or checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Algorithm {
    /// POSIX `cksum` (CRC-32/CKSUM with the length appended).
    Cksum,
    /// MD5.
    Md5,
    /// SHA-256.
    Sha256,
    /// SHA-1 (manifests only; not collision resistant).
    Sha1,
    /// SHA-512.
    Sha512,
    /// BLAKE2b-512 (what a prehashed minisign signature signs).
    Blake2b512,
    /// The integrity check built into a compressed stream (gzip CRC-32,
    /// bzip2 block CRCs, xz check, zstd/lz4 frame checksum).
    StreamCheck,
}

impl Algorithm {
    /// Stable name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Cksum => "cksum",
            Algorithm::Md5 => "md5",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake2b512 => "blake2b512",
            Algorithm::StreamCheck => "stream-check",
        }
    }
}

/// The family a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CheckKind {
    /// The container's layout is consistent (offsets, sizes, headers).
    Structure,
    /// A declared digest over a byte range matches.
    Digest,
    /// A digest supplied by the caller (e.g. `--sha256`) matches.
    External,
    /// A compressed stream's own check and the archive inside it are intact.
    Stream,
    /// The members are safe to write (names, links, types).
    Safety,
    /// A resource limit was respected.
    Limit,
    /// A signature.
    Signature,
}

impl CheckKind {
    /// The kind's name, as JSON spells it (`structure`, `digest`…).
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Structure => "structure",
            CheckKind::Digest => "digest",
            CheckKind::External => "external",
            CheckKind::Stream => "stream",
            CheckKind::Safety => "safety",
            CheckKind::Limit => "limit",
            CheckKind::Signature => "signature",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The check ran and passed.
    Passed,
    /// The check ran and failed.
    Failed,
    /// The check could not run; fwkit treats this as a failure.
    NotRun,
    /// Reported for information (e.g. a signature present but not checked).
    Info,
}

impl Outcome {
    /// True for outcomes that stop a package from being verified.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::NotRun)
    }
}

/// One check fwkit ran (or could not run) on a package.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The family of the check.
    pub kind: CheckKind,
    /// What it covers, in words (`payload chunk 1`, `member a/b.bin`).
    pub covers: String,
    /// The bytes of the package file it covers, when it covers a range.
    pub range: Option<ByteRange>,
    /// The algorithm, for digest and stream checks.
    pub algorithm: Option<Algorithm>,
    /// The expected value, as the package (or caller) declared it.
    pub expected: Option<String>,
    /// The value fwkit computed.
    pub computed: Option<String>,
    /// The outcome.
    pub outcome: Outcome,
    /// Why it failed or could not run, or a note.
    pub detail: Option<String>,
    /// Who made the signature, on signature checks that passed (boxed:
    /// one check in thousands has one, and every check carries the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<Box<Signer>>,
}

impl Check {
    pub(crate) fn new(kind: CheckKind, covers: impl Into<String>, outcome: Outcome) -> Check {
        Check {
            kind,
            covers: covers.into(),
            range: None,
            algorithm: None,
            expected: None,
            computed: None,
            outcome,
            detail: None,
            signer: None,
        }
    }

    pub(crate) fn failed(
        kind: CheckKind,
        covers: impl Into<String>,
        detail: impl Into<String>,
    ) -> Check {
        Check::new(kind, covers, Outcome::Failed).with_detail(detail)
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Check {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_range(mut self, range: ByteRange) -> Check {
        self.range = Some(range);
        self
    }

    /// One line for humans: `failed: md5 of payload chunk 1: expected …, computed …`.
    pub fn summary(&self) -> String {
        let mut line = String::new();
        if let Some(algorithm) = self.algorithm.filter(|a| *a != Algorithm::StreamCheck) {
            line.push_str(algorithm.name());
            line.push_str(" of ");
        }
        line.push_str(&self.covers);
        if let Some((start, end)) = self.range {
            line.push_str(&format!(" (bytes {start}..{end})"));
        }
        if self.outcome.is_failure() {
            if let (Some(expected), Some(computed)) = (&self.expected, &self.computed) {
                line.push_str(&format!(": expected {expected}, computed {computed}"));
            }
        }
        if let Some(detail) = &self.detail {
            line.push_str(": ");
            line.push_str(detail);
        }
        line
    }
}

/// The answer: is this package verified?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Verdict {
    /// Every check passed and at least one integrity check covered the payload.
    Verified,
    /// Something failed, could not run, or the package carries no integrity data.
    NotVerified {
        /// Why, one line each.
        reasons: Vec<String>,
    },
}

impl Verdict {
    /// True when verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verdict::Verified)
    }
}

/// Everything fwkit learned about a package in one pass.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The package file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The outer format.
    pub format: FormatKind,
    /// Layers, outermost first.
    pub layers: Vec<Layer>,
    /// Vendor metadata found in headers or members.
    pub vendor: Vec<VendorInfo>,
    /// Members of the payload, in archive order.
    pub members: Vec<Member>,
    /// Every check, in the order they were decided.
    pub checks: Vec<Check>,
    /// Byte ranges of the file no digest or stream check covers.
    pub uncovered: Vec<ByteRange>,
    /// Things the user should know that are not failures.
    pub warnings: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// For unpack: whether the target directory was created.
    pub unpacked: Option<PathBuf>,
    /// Packages found inside members (`--recursive`), each verified.
    pub nested: Vec<Nested>,
}

impl Report {
    /// A member is refused, or a safety, limit or structure check failed:
    /// what `--no-verify` never passes (nothing is placed or handed over).
    pub fn unsafe_content(&self) -> bool {
        self.checks.iter().any(|c| {
            c.outcome.is_failure()
                && matches!(
                    c.kind,
                    CheckKind::Safety | CheckKind::Limit | CheckKind::Structure
                )
        }) || self.members.iter().any(|m| m.problem.is_some())
    }

    /// No signature check passed, or one failed: what `--require-signature`
    /// refuses even under `--no-verify` (unpack and exec alike).
    pub fn signature_refused(&self) -> bool {
        let signatures = || {
            self.checks
                .iter()
                .filter(|c| c.kind == CheckKind::Signature)
        };
        signatures().any(|c| c.outcome.is_failure())
            || !signatures().any(|c| c.outcome == Outcome::Passed)
    }
}

/// A package inside a member of another package.
#[derive(Debug, Clone, Serialize)]
pub struct Nested {
    /// The member holding it.
    pub member: String,
    /// Where its content was unpacked, relative to the outer target.
    pub unpacked_as: String,
    /// Its own report.
    pub report: Box<Report>,
}

/// The default [`Limits::max_manifest`].
pub const DEFAULT_MAX_MANIFEST: u64 = 64 << 20;

/// Resource limits for reading a package.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of member content (default 16 GiB).
    pub max_size: u64,
    /// Number of members (default 250,000).
    pub max_entries: u64,
    /// Path components in a member name (default 64).
    pub max_depth: usize,
    /// Bytes of one checksum manifest (default 64 MiB: a `SHA256SUMS` of
    /// about 700,000 entries). A larger manifest fails as a whole.
    pub max_manifest: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: 16 << 30,
            max_entries: 250_000,
            max_depth: 64,
            max_manifest: DEFAULT_MAX_MANIFEST,
        }
    }
}

/// Receives progress while fwkit reads a package (the CLI draws a bar).
pub trait Progress: Send + Sync {
    /// Reading starts; `total` bytes will be read.
    fn start(&self, total: u64);
    /// `bytes` more were read.
    fn advance(&self, bytes: u64);
    /// Reading ended.
    fn finish(&self);
}

/// A digest the package (or the caller) declares over a byte range of the
/// package file.
#[derive(Debug, Clone)]
pub(crate) struct RangeDigest {
    pub range: ByteRange,
    /// Ranges inside `range` left out of the digest (sorted, disjoint):
    /// one hash over several ranges, in file order.
    pub skip: Vec<ByteRange>,
    pub algorithm: Algorithm,
    /// Normalised: lower-case hex, or decimal for cksum.
    pub expected: String,
    pub covers: String,
    pub kind: CheckKind,
    /// Bytes hashed after the range (an OpenPGP signature's hashed
    /// trailer); empty for every digest a package declares.
    pub suffix: Vec<u8>,
}
