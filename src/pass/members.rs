//! The one member walk. Every container (a tar stream, a zip, a cabinet, a
//! directory set) feeds its entries here, in archive order:
//!
//! 1. [`Walk::admit`]: the safety tree decides (names, links, types, limits)
//!    and the entry becomes a [`Member`], refused or not;
//! 2. [`Walk::place`] hands a directory or link to the [`Sink`];
//! 3. a file's content is read once through [`Policy::read`] (hashed with
//!    every algorithm a manifest needs, kept when it is metadata, written to
//!    the sink) and [`Walk::record`]ed, which also checks its length against
//!    the size the header declared;
//! 4. [`Walk::finish`] adds the tree's checks and marks members refused late
//!    (link chains).
//!
//! Containers that read files on several threads (zip, sets) take the
//! [`Policy`] to their workers and record the results in archive order.

use super::Stop;
use crate::extract::{FileOut, Sink};
use crate::model::{Algorithm, Check, Digests, Member, MemberKind, MemberName};
use crate::verify::digest::Hasher;
use crate::verify::manifest::{self, Manifest};
use crate::verify::safety::{Admission, Tree};
use crate::verify::VerifyOptions;
use std::io::Read;

/// Largest vendor metadata member kept for parsing (XML, JSON).
pub(crate) const MAX_METADATA: u64 = 1 << 20;

/// Most bytes reserved for a kept member before its content arrives.
pub(crate) const RESERVE_KEPT: usize = 16 << 20;

/// Which members' content, beyond manifests and signatures, the walk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    /// Only the metadata every container may carry.
    Metadata,
    /// Also top-level `*.xml` (HP `CPxxxxxx.xml`).
    TopLevelXml,
}

/// One entry as a container stores it.
pub(crate) struct Entry<'a> {
    /// The name as stored (shown in reports).
    pub raw: &'a [u8],
    /// The name to check and write, when it is not `raw` (a cabinet's `\`
    /// separators turned `/`).
    pub path: Option<&'a [u8]>,
    pub kind: MemberKind,
    /// The content size the header declares.
    pub size: u64,
    pub mode: u32,
    /// Index of the payload stream (makeself chunk) holding it.
    pub stream: usize,
    /// A reason the container refuses it (an encrypted zip member).
    pub problem: Option<String>,
}

/// An admitted member: its index among the members and its safe path.
#[derive(Debug, Clone)]
pub(crate) struct Admitted {
    pub index: usize,
    pub name: MemberName,
}

/// What reading one member's content produced.
pub(crate) struct Content {
    pub digests: Digests,
    pub kept: Option<Vec<u8>>,
    /// Bytes read.
    pub len: u64,
}

/// How file content is read: the algorithms every file is hashed with and
/// which contents are kept. Shared read-only with worker threads.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    capture: Capture,
    algos: Vec<Algorithm>,
    /// The manifest size limit: one byte more of a member is kept, so a
    /// larger manifest is refused by its parser as too large.
    max_manifest: u64,
}

impl Policy {
    /// Keep a copy of this member's content for parsing?
    pub(crate) fn keeps(&self, path: &MemberName, size: u64) -> bool {
        // Manifests are kept whatever their size (up to MAX_KEPT): one too
        // large to read must fail verification, not be skipped.
        if manifest::manifest_kind(path).is_some() {
            return true;
        }
        if size > MAX_METADATA {
            return false;
        }
        let name = path.as_str();
        let top_xml = self.capture == Capture::TopLevelXml
            && path.depth() == 1
            && ends_with_folded(name, ".xml");
        top_xml || is_metadata_name(name)
    }

    /// Read a member's content once: hash it, keep a copy when it is
    /// metadata, and write it to `out`.
    pub(crate) fn read(
        &self,
        reader: &mut dyn Read,
        name: &MemberName,
        size: u64,
        buf: &mut [u8],
        mut out: Option<FileOut>,
    ) -> Result<Content, Stop> {
        let mut hashers: Vec<Hasher> = self.algos.iter().map(|a| Hasher::new(*a)).collect();
        let max_kept = usize::try_from(self.max_manifest.saturating_add(1)).unwrap_or(usize::MAX);
        // Room for the declared size up front (a 4 MiB manifest grown by
        // doubling was copied and its pages cleared again at each step), but
        // no more than RESERVE_KEPT on the header's word alone.
        let reserve = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(max_kept)
            .min(RESERVE_KEPT);
        let mut kept = self.keeps(name, size).then(|| Vec::with_capacity(reserve));
        let mut len = 0u64;
        loop {
            let n = reader
                .read(buf)
                .map_err(|e| Stop::Content(format!("{name}: {}", super::error_chain(&e))))?;
            if n == 0 {
                break;
            }
            let Some(data) = buf.get(..n) else {
                return Err(Stop::Content(format!(
                    "{name}: the decoder returned more bytes than it was asked for"
                )));
            };
            len = len.saturating_add(n as u64);
            for hasher in &mut hashers {
                hasher.update(data);
            }
            if let Some(kept) = &mut kept {
                let room = max_kept.saturating_sub(kept.len());
                kept.extend_from_slice(data.get(..room).unwrap_or(data));
            }
            if let Some(out) = &mut out {
                out.write(data).map_err(Stop::Fatal)?;
            }
        }
        if let Some(out) = out {
            out.finish().map_err(Stop::Fatal)?;
        }
        // A header that declared more than arrived does not keep the room.
        if let Some(kept) = &mut kept {
            kept.shrink_to_fit();
        }
        let digests = self
            .algos
            .iter()
            .copied()
            .zip(hashers.into_iter().map(Hasher::finish));
        Ok(Content {
            digests: digests.collect(),
            kept,
            len,
        })
    }

    /// The same policy, also hashing with `extra`.
    pub(crate) fn with(&self, extra: impl IntoIterator<Item = Algorithm>) -> Policy {
        let mut policy = self.clone();
        policy.want(extra);
        policy
    }

    /// The manifest size limit.
    pub(crate) fn max_manifest(&self) -> u64 {
        self.max_manifest
    }

    /// Hash every later file with `algos` too.
    pub(crate) fn want(&mut self, algos: impl IntoIterator<Item = Algorithm>) {
        for a in algos {
            if !self.algos.contains(&a) {
                self.algos.push(a);
            }
        }
    }
}

/// Vendor metadata and signature members kept for parsing (any case).
pub(crate) fn is_metadata_name(name: &str) -> bool {
    [
        ".minisig",
        ".sig",
        "rlm_fw/install/metadata",
        ".metainfo.xml",
        ".jcat",
    ]
    .iter()
    .any(|suffix| ends_with_folded(name, suffix))
        || name.eq_ignore_ascii_case("payload.json")
}

/// `name` ends with the lower-case ASCII `suffix`, in any case (asked of
/// every member, so without a folded copy).
fn ends_with_folded(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name
            .as_bytes()
            .get(name.len().saturating_sub(suffix.len())..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
}

/// What one pass found.
#[derive(Default)]
pub(crate) struct ScanResult {
    pub members: Vec<Member>,
    pub checks: Vec<Check>,
    /// Kept member contents (manifests, signatures, vendor metadata), by
    /// cleaned path.
    pub captured: Vec<(MemberName, Vec<u8>)>,
    /// The checksum manifests among them (and a set's outside ones), parsed.
    pub manifests: Vec<Manifest>,
    pub warnings: Vec<String>,
}

/// The walk's state across every entry of one pass.
pub(crate) struct Walk {
    tree: Tree,
    members: Vec<Member>,
    captured: Vec<(MemberName, Vec<u8>)>,
    warnings: Vec<String>,
    policy: Policy,
    /// A limit stopped the walk: later streams are not read.
    pub stopped: bool,
    /// Bytes of content still to hash with SHA-256 before a manifest asks.
    speculative: u64,
    /// The manifests met, parsed.
    manifests: Vec<Manifest>,
}

impl Walk {
    pub(crate) fn new(options: &VerifyOptions, capture: Capture, algos: &[Algorithm]) -> Walk {
        let mut algos = algos.to_vec();
        if options.hash_members && !algos.contains(&Algorithm::Sha256) {
            algos.push(Algorithm::Sha256);
        }
        Walk {
            tree: Tree::new(options.limits),
            members: Vec::new(),
            captured: Vec::new(),
            warnings: Vec::new(),
            policy: Policy {
                capture,
                algos,
                max_manifest: options.limits.max_manifest,
            },
            stopped: false,
            speculative: 0,
            manifests: Vec::new(),
        }
    }

    /// Room for `entries` more members (a container that knows its count,
    /// such as a zip's central directory), at most the `--max-entries`
    /// limit: the member list and the safety tree grow once, not by
    /// doubling and copying.
    pub(crate) fn expect(&mut self, entries: usize) {
        let entries = entries.min(self.tree.room());
        self.members.reserve(entries);
        self.tree.reserve(entries);
    }

    /// Decide on one entry and record it as a member. `Ok(None)`: nothing to
    /// place (the archive's root, or a refused member); `Err(Stop::Limit)`:
    /// a limit was hit and the walk stops.
    pub(crate) fn admit(&mut self, entry: Entry<'_>) -> Result<Option<Admitted>, Stop> {
        let Entry {
            raw,
            path,
            kind,
            size,
            mode,
            stream,
            problem,
        } = entry;
        let (path, problem) = match self.tree.admit(path.unwrap_or(raw), &kind, size) {
            Admission::Root => return Ok(None),
            Admission::Limit(why) => {
                self.stopped = true;
                return Err(Stop::Limit(why));
            }
            Admission::Refused(path, why) => (path, Some(why)),
            Admission::Accepted(path) => (Some(path), problem),
        };
        let name = String::from_utf8_lossy(raw).into_owned();
        if mode & 0o7000 != 0 && problem.is_none() {
            self.warnings.push(format!(
                "{name}: setuid/setgid/sticky bits {:o} are dropped",
                mode & 0o7000
            ));
        }
        let index = self.members.len();
        let admitted = match (&path, &problem) {
            (Some(name), None) => Some(Admitted {
                index,
                name: name.clone(),
            }),
            _ => None,
        };
        self.members.push(Member {
            name,
            path,
            kind,
            size,
            mode,
            stream,
            problem,
            digests: Digests::default(),
        });
        Ok(admitted)
    }

    /// Hand an admitted directory or link to the sink (files are read with
    /// [`Walk::read_file`] or a worker's [`Policy::read`]).
    pub(crate) fn place(&self, admitted: &Admitted, sink: &mut dyn Sink) -> Result<(), Stop> {
        let Some(member) = self.members.get(admitted.index) else {
            return Ok(());
        };
        let path = &admitted.name;
        match &member.kind {
            MemberKind::Dir => sink.dir(path, member.mode).map_err(Stop::Fatal),
            MemberKind::Symlink { target } => sink.symlink(path, target).map_err(Stop::Fatal),
            MemberKind::HardLink { target } => {
                let target = MemberName::parse(target.as_bytes())
                    .map_err(|e| Stop::Content(format!("{path}: hard link target: {e}")))?;
                sink.hardlink(path, &target).map_err(Stop::Fatal)
            }
            MemberKind::File | MemberKind::Other { .. } => Ok(()),
        }
    }

    /// Read an admitted file's content on this thread, into `sink`.
    pub(crate) fn read_file(
        &mut self,
        admitted: &Admitted,
        reader: &mut dyn Read,
        (mtime, buf): (u64, &mut [u8]),
        sink: &mut dyn Sink,
    ) -> Result<(), Stop> {
        let (mode, size) = match self.members.get(admitted.index) {
            Some(m) => (m.mode, m.size),
            None => return Ok(()),
        };
        let out = sink
            .create_file(&admitted.name, mode, mtime)
            .map_err(Stop::Fatal)?;
        let content = match self.speculate(size) {
            Some(policy) => policy.read(reader, &admitted.name, size, buf, out)?,
            None => self.policy.read(reader, &admitted.name, size, buf, out)?,
        };
        self.record(admitted, content).map_err(Stop::Content)
    }

    /// Hash members with SHA-256 before any manifest asked for it, while
    /// `budget` bytes of content last: a `SHA256SUMS` that comes after the
    /// members it lists (a sorted `tar -czf` of a directory) then needs no
    /// second read of the payload.
    pub(crate) fn speculate_sha256(&mut self, budget: u64) {
        self.speculative = budget;
    }

    /// The policy to read a member of `size` bytes with, when it differs
    /// from the walk's: SHA-256 added while the speculative budget lasts.
    fn speculate(&mut self, size: u64) -> Option<Policy> {
        if self.policy.algos.contains(&Algorithm::Sha256) || self.speculative < size {
            return None;
        }
        self.speculative = self.speculative.saturating_sub(size);
        Some(self.policy.with([Algorithm::Sha256]))
    }

    /// How file content is read, for worker threads.
    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Learn a manifest's algorithms before any file is read (containers
    /// that can read manifests first: zip, cabinet, set).
    ///
    /// Each manifest is parsed once, here, and handed on in the result.
    /// Returns whether `bytes` are a manifest (now or already learnt).
    pub(crate) fn learn(&mut self, name: &MemberName, bytes: &[u8]) -> bool {
        if self.manifests.iter().any(|m| &m.source == name) {
            return true;
        }
        match manifest::parse(name, bytes, self.policy.max_manifest) {
            Some(manifest) => {
                self.policy
                    .want(manifest.entries.iter().map(|e| e.algorithm));
                self.manifests.push(manifest);
                true
            }
            None => false,
        }
    }

    /// Learn a manifest parsed elsewhere (on another thread, while the
    /// entries were admitted): as [`Walk::learn`], without the parse.
    pub(crate) fn learn_parsed(&mut self, manifest: Manifest) {
        if self.manifests.iter().any(|m| m.source == manifest.source) {
            return;
        }
        self.policy
            .want(manifest.entries.iter().map(|e| e.algorithm));
        self.manifests.push(manifest);
    }

    /// Learn a manifest from outside the package (`--manifest`): always
    /// kept, even when a member of the package has the same name. Returns
    /// whether `bytes` are a manifest.
    pub(crate) fn learn_outside(&mut self, name: &MemberName, bytes: &[u8]) -> bool {
        let Some(manifest) = manifest::parse(name, bytes, self.policy.max_manifest) else {
            return false;
        };
        self.policy
            .want(manifest.entries.iter().map(|e| e.algorithm));
        self.manifests.push(manifest);
        true
    }

    /// Hash every later file with `algos` too (what a container's own
    /// metadata lists).
    pub(crate) fn want(&mut self, algos: impl IntoIterator<Item = Algorithm>) {
        self.policy.want(algos);
    }

    /// Keep `bytes` as the content of `name` (a set's manifests and
    /// signatures, read before the other files).
    pub(crate) fn keep(&mut self, name: MemberName, bytes: Vec<u8>) {
        self.captured.push((name, bytes));
    }

    /// The members so far, in archive order.
    pub(crate) fn members(&self) -> &[Member] {
        &self.members
    }

    /// Record what reading an admitted file produced. `Err`: its length is
    /// not the size its header declared.
    pub(crate) fn record(&mut self, admitted: &Admitted, content: Content) -> Result<(), String> {
        let Content { digests, kept, len } = content;
        if let Some(bytes) = kept {
            let _ = self.learn(&admitted.name, &bytes);
            self.captured.push((admitted.name.clone(), bytes));
        }
        let Some(member) = self.members.get_mut(admitted.index) else {
            return Ok(());
        };
        member.digests = digests;
        if len != member.size {
            return Err(format!(
                "{}: {len} bytes of content, the header declares {}",
                admitted.name, member.size
            ));
        }
        Ok(())
    }

    /// The walk's result: `checks` from the container, then the safety
    /// tree's.
    pub(crate) fn finish(self, mut checks: Vec<Check>) -> ScanResult {
        let (tree_checks, chained) = self.tree.finish();
        checks.extend(tree_checks);
        self.result(checks, chained)
    }

    /// The result of a walk whose container could not list its entries:
    /// `checks` say why, and the safety tree says nothing of entries it
    /// never saw.
    pub(crate) fn abandon(self, checks: Vec<Check>) -> ScanResult {
        let (_, chained) = self.tree.finish();
        self.result(checks, chained)
    }

    fn result(mut self, checks: Vec<Check>, chained: Vec<(MemberName, String)>) -> ScanResult {
        mark_refused(&mut self.members, chained);
        ScanResult {
            members: self.members,
            checks,
            captured: self.captured,
            manifests: self.manifests,
            warnings: self.warnings,
        }
    }
}

/// Give members the problems found only once the whole tree was known.
fn mark_refused(members: &mut [Member], refused: Vec<(MemberName, String)>) {
    if refused.is_empty() {
        return;
    }
    let mut why: std::collections::HashMap<MemberName, String> =
        refused.into_iter().rev().collect();
    for member in members.iter_mut() {
        if let Some(reason) = member.path.as_ref().and_then(|p| why.remove(p)) {
            member.problem.get_or_insert(reason);
        }
    }
}
