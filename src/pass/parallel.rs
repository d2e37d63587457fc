//! The one worker pool: members of a zip or a directory set read on every
//! core, each worker with its own reader state, taking runs of consecutive
//! members as it goes.

use crate::error::{Error, Result};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many workers a pool of `jobs` jobs gets: one per core, at most one
/// per job.
fn workers(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(jobs).max(1)
}

/// A run of consecutive jobs is handed out together up to this many bytes
/// or [`CHUNK_JOBS`] jobs: members next to each other in the file are read
/// by one worker, front to back, so its read-ahead serves many of them.
const CHUNK_BYTES: u64 = 4 << 20;
const CHUNK_JOBS: usize = 512;

/// Consecutive runs of job indices, in order; a job of [`CHUNK_BYTES`] or
/// more is a run of its own, so a large member never waits behind small ones.
fn chunks<J>(jobs: &[(u64, J)]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0usize, 0u64);
    for (i, (size, _)) in jobs.iter().enumerate() {
        let end = i.saturating_add(1);
        if *size >= CHUNK_BYTES {
            if start < i {
                out.push(start..i);
            }
            out.push(i..end);
            (start, bytes) = (end, 0);
            continue;
        }
        bytes = bytes.saturating_add(*size);
        if bytes >= CHUNK_BYTES || end.saturating_sub(start) >= CHUNK_JOBS {
            out.push(start..end);
            (start, bytes) = (end, 0);
        }
    }
    if start < jobs.len() {
        out.push(start..jobs.len());
    }
    out
}

/// Run `work` on every job, on one thread per core. Each thread first makes
/// its own state with `init` (an archive over the shared handle, a buffer).
/// Workers take the next run of consecutive jobs as they finish one, so
/// the work stays balanced and each worker reads the file front to back.
/// Results come back in job order.
///
/// `what` names the input in the error of a worker that panicked.
pub(crate) fn run<J, S, R>(
    what: &Path,
    jobs: &[(u64, J)],
    init: impl Fn() -> Result<S> + Sync,
    work: impl Fn(&mut S, &J) -> Result<R> + Sync,
) -> Result<Vec<R>>
where
    J: Sync,
    R: Send,
{
    let chunks = chunks(jobs);
    let next = AtomicUsize::new(0);
    let parts = std::thread::scope(|scope| {
        let (init, work, chunks, next) = (&init, &work, &chunks, &next);
        let handles: Vec<_> = (0..workers(chunks.len()))
            .map(|_| {
                scope.spawn(move || -> Result<Vec<(usize, R)>> {
                    let mut state = init()?;
                    let mut out = Vec::new();
                    while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
                        for i in chunk.clone() {
                            if let Some((_, job)) = jobs.get(i) {
                                out.push((i, work(&mut state, job)?));
                            }
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Error::read(what, std::io::Error::other("a worker failed")))?
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut all: Vec<(usize, R)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_consecutive_and_cover_every_job_once() {
        let mut jobs: Vec<(u64, ())> = vec![(1000, ()); 2000];
        jobs.push((100 << 20, ()));
        jobs.extend(vec![(3 << 20, ()); 5]);
        let chunks = chunks(&jobs);
        let mut next = 0;
        for chunk in &chunks {
            assert_eq!(chunk.start, next, "{chunks:?}");
            assert!(chunk.len() <= CHUNK_JOBS);
            next = chunk.end;
        }
        assert_eq!(next, jobs.len());
        assert!(chunks
            .iter()
            .any(|c| c.len() == 1 && jobs[c.start].0 == 100 << 20));
    }

    #[test]
    fn results_come_back_in_job_order_with_per_worker_state() {
        let jobs: Vec<(u64, u64)> = (0..100).map(|i| ((i * 37) % 11, i)).collect();
        let out = run(
            Path::new("test"),
            &jobs,
            || Ok(0u64),
            |seen, job| {
                *seen += 1;
                Ok(*job * 2)
            },
        )
        .unwrap();
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }
}
