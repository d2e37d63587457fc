//! A payload stream: decoded (checking the stream's own integrity data) and
//! walked as a tar archive, every entry fed to the member walk.

use super::decode::Decoder;
use super::members::{Admitted, Entry, Walk};
use super::pipe;
use super::{Stop, StreamSpec};
use crate::detect::Encoding;
use crate::error::Result;
use crate::extract::Sink;
use crate::model::{Algorithm, Check, CheckKind, MemberKind, Outcome};
use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

/// Zero padding fwkit accepts after a tar archive's end inside a stream.
const MAX_PADDING: u64 = 16 << 20;
/// Most bytes of tar headers, GNU long names and pax records before one member.
const MAX_TAR_METADATA: u64 = 4 << 20;

/// Decode one stream from `bytes` and walk the tar inside; the check says
/// how that went.
pub(super) fn stream<R: BufRead + Send>(
    walk: &mut Walk,
    bytes: R,
    (spec, index): (&StreamSpec, usize),
    sink: &mut dyn Sink,
) -> Result<Check> {
    let covers = match spec.encoding {
        Encoding::Tar => format!("{} (tar)", spec.label),
        other => format!("{} ({} stream, tar inside)", spec.label, other.name()),
    };
    let mut check = Check::new(CheckKind::Stream, covers, Outcome::Passed).with_range(spec.range);
    check.algorithm = spec.check.map(|_| Algorithm::StreamCheck);
    let refused = if spec.encoding.is_encrypted() {
        Some(format!(
            "payload is encrypted ({}); fwkit never decrypts, so its content cannot be checked",
            spec.encoding.name()
        ))
    } else if !spec.encoding.is_supported() {
        Some(format!(
            "payload encoding {} is not supported; its content cannot be checked",
            spec.encoding.name()
        ))
    } else {
        None
    };
    if let Some(why) = refused {
        check.outcome = Outcome::NotRun;
        check.detail = Some(why);
        return Ok(check);
    }
    let outcome = match Decoder::new(spec.encoding, bytes) {
        Ok(decoder) => pipe::beside(decoder, |decoded| walk_tar(walk, decoded, index, sink)),
        Err(e) => Err(Stop::from(e)),
    };
    match outcome {
        Ok(()) => {
            check.detail = Some(match spec.check {
                Some(what) => format!("{what} verified; tar structure intact"),
                None => "tar structure intact; the stream carries no integrity check".to_owned(),
            });
            if spec.check.is_none() {
                // Structure only: it proves nothing about the content bytes.
                check.kind = CheckKind::Structure;
            }
        }
        Err(Stop::Content(why)) => {
            check.outcome = Outcome::Failed;
            check.detail = Some(why);
        }
        Err(Stop::Limit(why)) => {
            walk.stopped = true;
            check.kind = CheckKind::Limit;
            check.outcome = Outcome::Failed;
            check.detail = Some(why);
        }
        Err(Stop::Fatal(e)) => return Err(e),
    }
    Ok(check)
}

fn walk_tar<R: Read>(
    walk: &mut Walk,
    decoder: R,
    index: usize,
    sink: &mut dyn Sink,
) -> Result<(), Stop> {
    // The tar crate reads GNU long names and pax headers whole into memory
    // before it yields the entry they describe; the guard caps what it may
    // read between two entries beyond the last entry's own data.
    let budget = Rc::new(MetaBudget::default());
    let guarded = Guarded {
        inner: decoder,
        budget: Rc::clone(&budget),
    };
    budget.allow(MAX_TAR_METADATA);
    let mut archive = tar::Archive::new(guarded);
    let mut buf = vec![0u8; 256 << 10];
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
        tar_entry(walk, entry, (index, &mut buf), sink)?;
    }
    let decoder = archive.into_inner().inner;
    end_of_stream(decoder, &mut buf)
}

/// After the end-of-archive blocks only zero padding may follow (and after
/// the compressed stream nothing, which the decoding side checks).
fn end_of_stream<R: Read>(mut decoder: R, buf: &mut [u8]) -> Result<(), Stop> {
    let mut padding = 0u64;
    loop {
        let n = decoder.read(buf)?;
        if n == 0 {
            break;
        }
        if buf.iter().take(n).any(|&b| b != 0) {
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
    Ok(())
}

/// What a tar entry is, or `None` for archive-wide metadata (a pax global
/// header, as `git archive` writes) that is not a member.
fn kind_of(entry_type: tar::EntryType, link: String) -> Option<MemberKind> {
    use tar::EntryType;
    let other = |what: &str| MemberKind::Other {
        what: what.to_owned(),
    };
    Some(match entry_type {
        EntryType::XGlobalHeader
        | EntryType::XHeader
        | EntryType::GNULongName
        | EntryType::GNULongLink => return None,
        t if t.as_byte() == b'V' => return None,
        EntryType::Regular | EntryType::Continuous => MemberKind::File,
        EntryType::Directory => MemberKind::Dir,
        EntryType::Symlink => MemberKind::Symlink { target: link },
        EntryType::Link => MemberKind::HardLink { target: link },
        EntryType::Char => other("character device"),
        EntryType::Block => other("block device"),
        EntryType::Fifo => other("fifo"),
        EntryType::GNUSparse => other("sparse file"),
        t => MemberKind::Other {
            what: format!("tar entry type {:?}", t.as_byte() as char),
        },
    })
}

fn tar_entry<R: Read>(
    walk: &mut Walk,
    mut entry: tar::Entry<'_, R>,
    (index, buf): (usize, &mut [u8]),
    sink: &mut dyn Sink,
) -> Result<(), Stop> {
    let raw = entry.path_bytes().into_owned();
    let header = entry.header();
    let mode = header.mode()?;
    let mtime = header.mtime().unwrap_or(0);
    let link = entry
        .link_name_bytes()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default();
    let Some(kind) = kind_of(header.entry_type(), link) else {
        return Ok(());
    };
    let is_file = kind == MemberKind::File;
    let admitted: Option<Admitted> = walk.admit(Entry {
        raw: &raw,
        path: None,
        kind,
        size: entry.size(),
        mode,
        stream: index,
        problem: None,
    })?;
    let Some(admitted) = admitted else {
        return Ok(());
    };
    if is_file {
        walk.read_file(&admitted, &mut entry, (mtime, buf), sink)
    } else {
        walk.place(&admitted, sink)
    }
}

/// How many more decoded bytes the tar reader may take before the next entry.
#[derive(Default)]
struct MetaBudget {
    read: Cell<u64>,
    limit: Cell<u64>,
    exceeded: Cell<bool>,
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
    budget: Rc<MetaBudget>,
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
