//! The single pass over a package.
//!
//! The calling thread reads the file once, front to back, in blocks
//! ([`blocks`]). Each block goes to the digests over byte ranges (cheap ones
//! inline, expensive ones on worker threads) and to the decoder of the
//! payload stream it belongs to ([`tar`]), whose entries feed the one member
//! walk ([`members`]). Channels are bounded, so memory stays at a few blocks
//! whatever the package size. Containers read member by member (zip,
//! cabinet, set) feed the same walk from their own format module and share
//! the worker pool in [`parallel`].

mod blocks;
pub(crate) mod decode;
pub(crate) mod members;
pub(crate) mod parallel;
mod pipe;
mod tar;

pub(crate) use members::{
    Admitted, Capture, Content, Entry, Policy, ScanResult, Walk, RESERVE_KEPT,
};

use crate::detect::Encoding;
use crate::error::{Error, Result};
use crate::extract::{Discard, Sink};
use crate::input::Input;
use crate::model::{Algorithm, ByteRange, Check, CheckKind, Outcome, RangeDigest};
use crate::verify::VerifyOptions;
use blocks::{FileBlocks, RangeHashers, Shared, QUEUE};
use std::io;
use std::sync::mpsc::sync_channel;
use std::thread;

/// A stream of the payload to decode: a byte range, its encoding, and a tar
/// archive inside.
#[derive(Debug, Clone)]
pub(crate) struct StreamSpec {
    pub range: ByteRange,
    pub encoding: Encoding,
    /// `payload`, `chunk 2 of 3`…
    pub label: String,
    /// The stream's own integrity check, when its encoding carries one.
    pub check: Option<&'static str>,
}

/// Why walking a stream or reading a member stopped early.
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

/// An error and its sources on one line, without repeating a source the
/// message already quotes.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
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

/// What one pass reads: the input, the payload streams to decode, the
/// digests over byte ranges and the algorithms every member is hashed with.
#[derive(Clone, Copy)]
pub(crate) struct Pass<'a> {
    pub input: &'a Input,
    pub streams: &'a [StreamSpec],
    pub digests: &'a [RangeDigest],
    pub options: &'a VerifyOptions,
    pub capture: Capture,
    pub member_algos: &'a [Algorithm],
    /// Bytes of member content to hash with SHA-256 before any manifest
    /// asks for it (see [`Walk::speculate_sha256`]).
    pub speculate_sha256: u64,
}

/// Run the pass: the digests over byte ranges, every stream decoded and
/// walked, members to `sink`.
pub(crate) fn run(pass: &Pass<'_>, sink: &mut dyn Sink) -> Result<ScanResult> {
    let input = pass.input;
    let start = pass
        .digests
        .iter()
        .map(|d| d.range.0)
        .chain(pass.streams.iter().map(|s| s.range.0))
        .min()
        .unwrap_or(input.len());
    // Cheap digests (cksum) run on this thread as blocks are read; each
    // expensive one gets a thread of its own, so on two cores the slowest
    // digest has a core while this thread reads and decodes.
    let (cheap, heavy): (Vec<_>, Vec<_>) = pass
        .digests
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
        let file = input.cursor(input.len());
        let inline = RangeHashers::new(cheap);
        let progress = pass.options.progress.clone();
        let mut blocks = FileBlocks::new(file, start, inline, senders, progress);
        let mut walk = Walk::new(pass.options, pass.capture, pass.member_algos);
        walk.speculate_sha256(pass.speculate_sha256);
        let mut stream_checks = Vec::new();
        for (index, spec) in pass.streams.iter().enumerate() {
            if walk.stopped {
                stream_checks.push(
                    Check::new(CheckKind::Stream, spec.label.clone(), Outcome::NotRun)
                        .with_range(spec.range)
                        .with_detail("an earlier limit stopped the scan"),
                );
                continue;
            }
            blocks.set_window(spec.range);
            stream_checks.push(tar::stream(&mut walk, &mut blocks, (spec, index), sink)?);
        }
        let inline = blocks.finish().map_err(|e| Error::read(input.path(), e))?;
        let threads = handles.into_iter().map(|h| {
            h.join()
                .map_err(|_| Error::read(input.path(), io::Error::other("digest thread failed")))
        });
        let mut checks = digest_checks(pass.digests, std::iter::once(Ok(inline)).chain(threads))?;
        checks.extend(stream_checks);
        // Without streams there were no members, and nothing to say of them.
        Ok(match pass.streams.is_empty() {
            true => walk.abandon(checks),
            false => walk.finish(checks),
        })
    })
}

/// The check of every range digest, from the values the inline hashers and
/// the digest threads computed (by digest index).
fn digest_checks(
    digests: &[RangeDigest],
    results: impl Iterator<Item = Result<Vec<(usize, String)>>>,
) -> Result<Vec<Check>> {
    let mut computed = vec![None; digests.len()];
    for results in results {
        for (i, value) in results? {
            if let Some(slot) = computed.get_mut(i) {
                *slot = Some(value);
            }
        }
    }
    Ok(digests
        .iter()
        .zip(computed)
        .map(|(digest, value)| crate::verify::digest_check(digest, value))
        .collect())
}

/// Only the digests over byte ranges: the input read once, nothing
/// decoded. Beside a zip or cabinet read member by member, and for a
/// package whose headers are too broken to decode.
pub(crate) fn range_digests(pass: &Pass<'_>) -> Result<Vec<Check>> {
    let only = Pass {
        streams: &[],
        member_algos: &[],
        speculate_sha256: 0,
        ..*pass
    };
    Ok(run(&only, &mut Discard)?.checks)
}
