//! The single pass over a package.
//!
//! The calling thread reads the file once, front to back, in blocks. Each
//! block goes to the digests over byte ranges (cheap ones inline, expensive
//! ones on worker threads) and to the decoder, which decompresses the
//! payload streams, walks the tar archives, decides member safety and hands
//! content to a [`Sink`]. Channels are bounded, so memory stays at a few
//! blocks whatever the package size.

use crate::error::{Error, Result};
use crate::extract::FileOut;
use crate::formats::tar::Decoder;
use crate::formats::{Capture, Layout, RangeDigest, StreamSpec};
use crate::input::{Input, Reads};
use crate::package::{
    Algorithm, Check, CheckKind, Member, MemberKind, MemberName, Outcome, Progress, VerifyOptions,
    MAX_XML,
};
use crate::verify::digest::Hasher;
use crate::verify::safety::{Admission, Tree};
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread;

const BLOCK: usize = 1 << 20;
const QUEUE: usize = 4;
/// Zero padding fwkit accepts after a tar archive's end inside a stream.
const MAX_PADDING: u64 = 16 << 20;

/// Where member content goes: nowhere (verify) or the staging tree (unpack).
pub(crate) trait Sink: Send {
    fn dir(&mut self, name: &MemberName, mode: u32) -> Result<()>;
    /// Create a file; `None` when content is checked and dropped.
    fn create_file(&mut self, name: &MemberName, mode: u32, mtime: u64) -> Result<Option<FileOut>>;
    fn symlink(&mut self, name: &MemberName, target: &str) -> Result<()>;
    fn hardlink(&mut self, name: &MemberName, target: &MemberName) -> Result<()>;
}

/// The sink of `verify` and `inspect`: content is checked, then dropped.
pub(crate) struct Discard;

impl Sink for Discard {
    fn dir(&mut self, _: &MemberName, _: u32) -> Result<()> {
        Ok(())
    }
    fn create_file(&mut self, _: &MemberName, _: u32, _: u64) -> Result<Option<FileOut>> {
        Ok(None)
    }
    fn symlink(&mut self, _: &MemberName, _: &str) -> Result<()> {
        Ok(())
    }
    fn hardlink(&mut self, _: &MemberName, _: &MemberName) -> Result<()> {
        Ok(())
    }
}

/// What one pass found.
#[derive(Default)]
pub(crate) struct ScanResult {
    pub members: Vec<Member>,
    pub checks: Vec<Check>,
    pub captured: Vec<(String, Vec<u8>)>,
    pub warnings: Vec<String>,
}

struct Block {
    offset: u64,
    data: Vec<u8>,
}

impl Block {
    /// The file offset just past the block. Blocks lie inside the file, so
    /// this never saturates.
    fn end(&self) -> u64 {
        self.offset.saturating_add(self.data.len() as u64)
    }

    /// The block's bytes at file offsets `from..to`; empty unless
    /// `offset <= from <= to <= end()`.
    fn between(&self, from: u64, to: u64) -> &[u8] {
        let (Some(a), Some(b)) = (from.checked_sub(self.offset), to.checked_sub(self.offset))
        else {
            return &[];
        };
        match (usize::try_from(a), usize::try_from(b)) {
            (Ok(a), Ok(b)) => self.data.get(a..b).unwrap_or_default(),
            _ => &[],
        }
    }
}

type Shared = Arc<Block>;

/// What one pass reads: the file, its layout, the digests over byte ranges
/// and the algorithms every member is hashed with.
pub(crate) struct Pass<'a> {
    pub path: &'a Path,
    pub len: u64,
    pub layout: &'a Layout,
    pub digests: &'a [RangeDigest],
    pub options: &'a VerifyOptions,
    pub member_algos: &'a [Algorithm],
    /// How the file is read (short reads in the robustness tests).
    pub reads: Reads,
}

/// Run the pass: `digests` over byte ranges, every stream of `layout` decoded.
pub(crate) fn scan(pass: &Pass<'_>, mut file: Input, sink: &mut dyn Sink) -> Result<ScanResult> {
    let Pass {
        path,
        len,
        layout,
        digests,
        options,
        member_algos,
        reads: _,
    } = *pass;
    let start = digests
        .iter()
        .map(|d| d.range.0)
        .chain(layout.streams.iter().map(|s| s.range.0))
        .min()
        .unwrap_or(len);
    {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(start))
            .map_err(|e| Error::read(path, e))?;
    }
    // Cheap digests (cksum) run on this thread as blocks are read; each
    // expensive one gets a thread of its own, so on two cores the slowest
    // digest has a core while this thread reads and decodes.
    let (cheap, heavy): (Vec<_>, Vec<_>) = digests
        .iter()
        .enumerate()
        .partition(|(_, d)| d.algorithm == Algorithm::Cksum);
    let workers = heavy.len().min(4);
    thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for w in 0..workers {
            // Every `workers`-th job, starting at `w` (`workers > w`, so not 0).
            let jobs: Vec<(usize, &RangeDigest)> =
                heavy.iter().skip(w).step_by(workers).copied().collect();
            let (tx, rx) = sync_channel::<Shared>(QUEUE);
            senders.push(tx);
            handles.push(scope.spawn(move || {
                let mut hashers = RangeHashers::new(jobs);
                for block in rx {
                    hashers.feed(&block);
                }
                hashers.finish()
            }));
        }
        let mut blocks = FileBlocks {
            file,
            next: start,
            len,
            inline: RangeHashers::new(cheap),
            workers: senders,
            progress: options.progress.clone(),
            current: None,
            pos: start,
            end: start,
            failed: None,
        };
        if let Some(p) = &blocks.progress {
            p.start(len.saturating_sub(start));
        }
        let mut walk = Walk::new(options, layout.capture, member_algos);
        let mut stream_checks = Vec::new();
        for (index, spec) in layout.streams.iter().enumerate() {
            if walk.stopped {
                stream_checks.push(not_run(spec, "an earlier limit stopped the scan"));
                continue;
            }
            blocks.set_window(spec.range);
            stream_checks.push(walk.stream(&mut blocks, spec, index, sink)?);
        }
        let inline = blocks.finish().map_err(|e| Error::read(path, e))?;
        let mut checks = Vec::new();
        let mut computed = vec![None; digests.len()];
        for (i, value) in inline {
            if let Some(slot) = computed.get_mut(i) {
                *slot = Some(value);
            }
        }
        for handle in handles {
            let results = handle
                .join()
                .map_err(|_| Error::read(path, io::Error::other("digest thread failed")))?;
            for (i, value) in results {
                if let Some(slot) = computed.get_mut(i) {
                    *slot = Some(value);
                }
            }
        }
        for (digest, value) in digests.iter().zip(computed) {
            checks.push(crate::verify::digest_check(digest, value));
        }
        checks.extend(stream_checks);
        let (tree_checks, chained) = walk.tree.finish();
        // Without streams there were no members, and nothing to say of them.
        if !layout.streams.is_empty() {
            checks.extend(tree_checks);
        }
        mark_refused(&mut walk.members, chained);
        Ok(ScanResult {
            members: walk.members,
            checks,
            captured: walk.captured,
            warnings: walk.warnings,
        })
    })
}

/// Only the digests over byte ranges (`pass.digests`): the file read once,
/// nothing decoded. Beside a zip or cabinet read member by member, and
/// for a package whose headers are too broken to decode.
pub(crate) fn range_digests(pass: &Pass<'_>, file: Input) -> Result<Vec<Check>> {
    let nothing = Layout::new(pass.layout.format);
    let only = Pass {
        layout: &nothing,
        member_algos: &[],
        ..*pass
    };
    Ok(scan(&only, file, &mut Discard)?.checks)
}

/// Digests over byte ranges, fed block by block.
struct RangeHashers<'a> {
    jobs: Vec<(usize, &'a RangeDigest)>,
    hashers: Vec<Hasher>,
}

impl<'a> RangeHashers<'a> {
    fn new(jobs: Vec<(usize, &'a RangeDigest)>) -> Self {
        let hashers = jobs.iter().map(|(_, d)| Hasher::new(d.algorithm)).collect();
        RangeHashers { jobs, hashers }
    }

    fn feed(&mut self, block: &Block) {
        let block_end = block.end();
        for ((_, digest), hasher) in self.jobs.iter().zip(self.hashers.iter_mut()) {
            let (start, end) = digest.range;
            let from = start.max(block.offset);
            let to = end.min(block_end);
            if from < to {
                hasher.update(block.between(from, to));
            }
        }
    }

    fn finish(self) -> Vec<(usize, String)> {
        self.jobs
            .iter()
            .zip(self.hashers)
            .map(|((i, _), hasher)| (*i, hasher.finish()))
            .collect()
    }
}

/// The file, read once front to back in blocks. Every block goes to the
/// digests; the decoder sees it through `BufRead`, limited to a window.
struct FileBlocks<'a> {
    file: Input,
    /// Offset of the next block to read.
    next: u64,
    len: u64,
    inline: RangeHashers<'a>,
    workers: Vec<SyncSender<Shared>>,
    progress: Option<Arc<dyn Progress>>,
    current: Option<Shared>,
    /// Next byte the decoder will see, and the end of its window.
    pos: u64,
    end: u64,
    /// A read error, reported as "cannot read" rather than as bad content.
    failed: Option<io::ErrorKind>,
}

impl FileBlocks<'_> {
    fn set_window(&mut self, (start, end): (u64, u64)) {
        self.pos = self.pos.max(start);
        self.end = end;
    }

    /// Read the next block and hand it to the digests.
    fn read_block(&mut self) -> io::Result<bool> {
        if self.next >= self.len {
            return Ok(false);
        }
        // `next < len`.
        let want = usize::try_from(self.len.saturating_sub(self.next))
            .unwrap_or(BLOCK)
            .min(BLOCK);
        let mut data = vec![0u8; want];
        let mut filled = 0usize;
        while filled < want {
            match self.file.read(data.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "file shrank while reading: ended at byte {}",
                            self.next.saturating_add(filled as u64)
                        ),
                    );
                    self.failed = Some(e.kind());
                    return Err(e);
                }
                // `n <= want - filled`: `filled` stays at most `want`.
                Ok(n) => filled = filled.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = Some(e.kind());
                    return Err(e);
                }
            }
        }
        let block = Arc::new(Block {
            offset: self.next,
            data,
        });
        self.inline.feed(&block);
        for worker in &self.workers {
            // A worker only goes away if it failed; joining it reports that.
            let _ = worker.send(Arc::clone(&block));
        }
        self.next = self.next.saturating_add(want as u64); // at most `len`
        if let Some(p) = &self.progress {
            p.advance(want as u64);
        }
        self.current = Some(block);
        Ok(true)
    }

    /// Read the rest of the file for the digests and return the inline results.
    fn finish(mut self) -> io::Result<Vec<(usize, String)>> {
        if let Some(kind) = self.failed {
            return Err(io::Error::new(kind, "reading the package failed"));
        }
        self.current = None;
        while self.read_block()? {
            self.current = None;
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        drop(self.workers);
        Ok(self.inline.finish())
    }

    fn available(&self) -> Option<(usize, usize)> {
        let block = self.current.as_ref()?;
        let block_end = block.end();
        (self.pos >= block.offset && self.pos < block_end).then(|| {
            // Both differences are at most the block's length.
            let a = self.pos.saturating_sub(block.offset) as usize;
            let b = block_end.min(self.end).saturating_sub(block.offset) as usize;
            (a, b)
        })
    }
}

impl Read for FileBlocks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for FileBlocks<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.end {
            return Ok(&[]);
        }
        let (a, b) = loop {
            if let Some(range) = self.available() {
                break range;
            }
            if !self.read_block()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file ended at byte {}", self.pos),
                ));
            }
        };
        match &self.current {
            Some(block) => Ok(block.data.get(a..b).unwrap_or_default()),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, amt: usize) {
        self.pos = self.pos.saturating_add(amt as u64).min(self.end);
    }
}

fn not_run(spec: &StreamSpec, why: &str) -> Check {
    Check::new(CheckKind::Stream, spec.label.clone(), Outcome::NotRun)
        .with_range(spec.range)
        .with_detail(why.to_owned())
}

/// Why walking a stream stopped early.
pub(crate) enum Stop {
    /// The content is bad: a check failure, the scan goes on.
    Content(String),
    /// A limit was hit: the scan stops.
    Limit(String),
    /// Writing failed: the whole operation fails.
    Fatal(Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Content(error_chain(&e))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// State carried across the streams of one pass.
struct Walk {
    tree: Tree,
    members: Vec<Member>,
    captured: Vec<(String, Vec<u8>)>,
    warnings: Vec<String>,
    capture: Capture,
    /// Algorithms every file member is hashed with in this pass.
    algos: Vec<Algorithm>,
    stopped: bool,
    buf: Vec<u8>,
}

impl Walk {
    fn new(options: &VerifyOptions, capture: Capture, member_algos: &[Algorithm]) -> Walk {
        let mut algos = member_algos.to_vec();
        if options.hash_members && !algos.contains(&Algorithm::Sha256) {
            algos.push(Algorithm::Sha256);
        }
        Walk {
            tree: Tree::new(options.limits),
            members: Vec::new(),
            captured: Vec::new(),
            warnings: Vec::new(),
            capture,
            algos,
            stopped: false,
            buf: vec![0u8; 256 << 10],
        }
    }

    fn stream(
        &mut self,
        blocks: &mut FileBlocks<'_>,
        spec: &StreamSpec,
        index: usize,
        sink: &mut dyn Sink,
    ) -> Result<Check> {
        let covers = match spec.encoding {
            crate::detect::Encoding::Tar => format!("{} (tar)", spec.label),
            other => format!("{} ({} stream, tar inside)", spec.label, other.name()),
        };
        let mut check =
            Check::new(CheckKind::Stream, covers, Outcome::Passed).with_range(spec.range);
        check.algorithm = spec.check.map(|_| crate::package::Algorithm::StreamCheck);
        if spec.encoding.is_encrypted() {
            return Ok(check_not_run(
                check,
                format!("payload is encrypted ({}); fwkit never decrypts, so its content cannot be checked", spec.encoding.name()),
            ));
        }
        if !spec.encoding.is_supported() {
            return Ok(check_not_run(
                check,
                format!(
                    "payload encoding {} is not supported; its content cannot be checked",
                    spec.encoding.name()
                ),
            ));
        }
        let outcome = match Decoder::new(spec.encoding, &mut *blocks) {
            Ok(decoder) => self.walk_tar(decoder, index, sink),
            Err(e) => Err(Stop::from(e)),
        };
        match outcome {
            Ok(()) => {
                check.detail = Some(match spec.check {
                    Some(what) => format!("{what} verified; tar structure intact"),
                    None => {
                        "tar structure intact; the stream carries no integrity check".to_owned()
                    }
                });
                if spec.check.is_none() {
                    // Structure only: it proves nothing about the content bytes.
                    check.kind = CheckKind::Structure;
                }
                Ok(check)
            }
            Err(Stop::Content(why)) => {
                check.outcome = Outcome::Failed;
                check.detail = Some(why);
                Ok(check)
            }
            Err(Stop::Limit(why)) => {
                self.stopped = true;
                check.kind = CheckKind::Limit;
                check.outcome = Outcome::Failed;
                check.detail = Some(why);
                Ok(check)
            }
            Err(Stop::Fatal(e)) => Err(e),
        }
    }

    fn walk_tar<R: BufRead>(
        &mut self,
        decoder: Decoder<R>,
        index: usize,
        sink: &mut dyn Sink,
    ) -> Result<(), Stop> {
        // The tar crate reads GNU long names and pax headers whole into memory
        // before it yields the entry they describe; the guard caps what it may
        // read between two entries beyond the last entry's own data.
        let budget = std::rc::Rc::new(MetaBudget::default());
        let guarded = Guarded {
            inner: decoder,
            budget: std::rc::Rc::clone(&budget),
        };
        budget.allow(MAX_TAR_METADATA);
        let mut archive = tar::Archive::new(guarded);
        for entry in archive.entries()? {
            let entry = entry.map_err(|e| match budget.exceeded.get() {
                true => Stop::Limit(format!(
                    "more than {MAX_TAR_METADATA} bytes of tar headers (long names, pax records) for one member"
                )),
                false => Stop::from(e),
            })?;
            // The member's data (rounded up to whole blocks), then metadata again.
            budget.allow(
                entry
                    .size()
                    .div_ceil(512)
                    .saturating_mul(512)
                    .saturating_add(MAX_TAR_METADATA),
            );
            self.entry(entry, index, sink)?;
        }
        let mut decoder = archive.into_inner().inner;
        // After the end-of-archive blocks only zero padding may follow.
        let mut padding = 0u64;
        loop {
            let n = decoder.read(&mut self.buf)?;
            if n == 0 {
                break;
            }
            if self.buf.iter().take(n).any(|&b| b != 0) {
                return Err(Stop::Content(format!(
                    "non-zero data after the end of the tar archive (at decoded byte +{padding})"
                )));
            }
            padding = padding.saturating_add(n as u64);
            if padding > MAX_PADDING {
                return Err(Stop::Limit(format!(
                    "more than {MAX_PADDING} bytes of padding after the tar archive"
                )));
            }
        }
        let mut inner = decoder.into_inner();
        if !inner.fill_buf()?.is_empty() {
            return Err(Stop::Content(
                "bytes after the end of the compressed stream".to_owned(),
            ));
        }
        Ok(())
    }

    fn entry<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        index: usize,
        sink: &mut dyn Sink,
    ) -> Result<(), Stop> {
        use tar::EntryType;
        let raw = entry.path_bytes().into_owned();
        let header = entry.header();
        let mode = header.mode()?;
        let mtime = header.mtime().unwrap_or(0);
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        // Archive-wide metadata (`git archive` writes a pax global header),
        // not a member.
        if matches!(
            header.entry_type(),
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) || header.entry_type().as_byte() == b'V'
        {
            return Ok(());
        }
        let kind = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous => MemberKind::File,
            EntryType::Directory => MemberKind::Dir,
            EntryType::Symlink => MemberKind::Symlink { target: link },
            EntryType::Link => MemberKind::HardLink { target: link },
            EntryType::Char => MemberKind::Other {
                what: "character device".to_owned(),
            },
            EntryType::Block => MemberKind::Other {
                what: "block device".to_owned(),
            },
            EntryType::Fifo => MemberKind::Other {
                what: "fifo".to_owned(),
            },
            EntryType::GNUSparse => MemberKind::Other {
                what: "sparse file".to_owned(),
            },
            other => MemberKind::Other {
                what: format!("tar entry type {:?}", other.as_byte() as char),
            },
        };
        let size = entry.size();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let admission = self.tree.admit(&raw, &kind, size);
        let (path, problem) = match admission {
            Admission::Root => return Ok(()),
            Admission::Limit(why) => return Err(Stop::Limit(why)),
            Admission::Refused(path, why) => (path, Some(why)),
            Admission::Accepted(path) => (Some(path), None),
        };
        if mode & 0o7000 != 0 && problem.is_none() {
            self.warnings.push(format!(
                "{name}: setuid/setgid/sticky bits {:o} are dropped",
                mode & 0o7000
            ));
        }
        let member = Member {
            name,
            path: path.clone(),
            kind: kind.clone(),
            size,
            mode,
            stream: index,
            problem: problem.clone(),
            digests: Default::default(),
        };
        self.members.push(member);
        let Some(path) = path.filter(|_| problem.is_none()) else {
            return Ok(());
        };
        let fatal = Stop::Fatal;
        match kind {
            MemberKind::Dir => sink.dir(&path, mode).map_err(fatal)?,
            MemberKind::Symlink { target } => sink.symlink(&path, &target).map_err(fatal)?,
            MemberKind::HardLink { target } => {
                let target = MemberName::parse(target.as_bytes())
                    .map_err(|e| Stop::Content(format!("{path}: hard link target: {e}")))?;
                sink.hardlink(&path, &target).map_err(fatal)?
            }
            MemberKind::File => {
                let keep = wants_content(self.capture, &path, size);
                let out = sink.create_file(&path, mode, mtime).map_err(fatal)?;
                let content = consume(&mut entry, &path, &mut self.buf, &self.algos, keep, out)?;
                if let Some(member) = self.members.last_mut() {
                    member.digests = content.digests;
                }
                if let Some(bytes) = content.kept {
                    if let Some(manifest) = crate::verify::manifest::parse(&path, &bytes) {
                        // Members after the manifest get its algorithms in this pass.
                        for entry in &manifest.entries {
                            if !self.algos.contains(&entry.algorithm) {
                                self.algos.push(entry.algorithm);
                            }
                        }
                    }
                    self.captured.push((path.to_string(), bytes));
                }
            }
            MemberKind::Other { .. } => {}
        }
        Ok(())
    }
}

/// Most bytes of tar headers, GNU long names and pax records before one member.
const MAX_TAR_METADATA: u64 = 4 << 20;

/// How many more decoded bytes the tar reader may take before the next entry.
#[derive(Default)]
struct MetaBudget {
    read: std::cell::Cell<u64>,
    limit: std::cell::Cell<u64>,
    exceeded: std::cell::Cell<bool>,
}

impl MetaBudget {
    /// From here on, `more` bytes may be read.
    fn allow(&self, more: u64) {
        self.limit.set(self.read.get().saturating_add(more));
    }
}

/// The decoder, cut off when the tar reader overruns its budget.
struct Guarded<R> {
    inner: R,
    budget: std::rc::Rc<MetaBudget>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.budget.read.get();
        let left = self.budget.limit.get().saturating_sub(read);
        if left == 0 {
            self.budget.exceeded.set(true);
            return Err(io::Error::other("tar metadata budget exceeded"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        self.budget.read.set(read.saturating_add(n as u64));
        Ok(n)
    }
}

/// Give members the problems found only once the whole tree was known.
pub(crate) fn mark_refused(members: &mut [Member], refused: Vec<(MemberName, String)>) {
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

/// What reading one member's content produced.
pub(crate) struct Content {
    pub digests: std::collections::BTreeMap<String, String>,
    pub kept: Option<Vec<u8>>,
}

/// Read a member's content once: hash it with `algos`, keep a copy when
/// `keep`, and write it to `out`.
pub(crate) fn consume(
    reader: &mut dyn Read,
    path: &MemberName,
    buf: &mut [u8],
    algos: &[Algorithm],
    keep: bool,
    mut out: Option<FileOut>,
) -> Result<Content, Stop> {
    let mut hashers: Vec<Hasher> = algos.iter().map(|a| Hasher::new(*a)).collect();
    let mut kept = keep.then(Vec::new);
    loop {
        let n = reader
            .read(buf)
            .map_err(|e| Stop::Content(format!("{path}: {}", error_chain(&e))))?;
        if n == 0 {
            break;
        }
        let Some(data) = buf.get(..n) else {
            return Err(Stop::Content(format!(
                "{path}: the decoder returned more bytes than it was asked for"
            )));
        };
        for hasher in &mut hashers {
            hasher.update(data);
        }
        if let Some(kept) = &mut kept {
            let room = MAX_KEPT.saturating_sub(kept.len());
            kept.extend_from_slice(data.get(..room).unwrap_or(data));
        }
        if let Some(out) = &mut out {
            out.write(data).map_err(Stop::Fatal)?;
        }
    }
    if let Some(out) = out {
        out.finish().map_err(Stop::Fatal)?;
    }
    let digests = algos
        .iter()
        .zip(hashers)
        .map(|(a, h)| (a.name().to_owned(), h.finish()))
        .collect();
    Ok(Content { digests, kept })
}

/// Members whose content the pass keeps: vendor metadata and manifests.
pub(crate) fn wants_content(capture: Capture, path: &MemberName, size: u64) -> bool {
    // Manifests are kept whatever their size (up to MAX_KEPT): one too large to
    // read must fail verification, not be skipped.
    if crate::verify::manifest::manifest_kind(path).is_some() {
        return true;
    }
    if size > MAX_XML as u64 {
        return false;
    }
    let lower = path.as_str().to_ascii_lowercase();
    let top_xml = capture == Capture::TopLevelXml && path.depth() == 1 && lower.ends_with(".xml");
    top_xml || crate::formats::is_metadata_name(&lower)
}

/// Most bytes of one member kept for parsing; anything longer is cut here and
/// refused by its parser as too large.
const MAX_KEPT: usize = crate::verify::manifest::MAX_MANIFEST + 1;

fn check_not_run(mut check: Check, why: String) -> Check {
    check.outcome = Outcome::NotRun;
    check.detail = Some(why);
    check
}
