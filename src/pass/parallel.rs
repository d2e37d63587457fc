//! The one worker pool: members of a zip or a directory set read on every
//! core, each worker with its own reader state.

use crate::error::{Error, Result};
use std::path::Path;

/// How many workers a pool of `jobs` jobs gets: one per core, at most one
/// per job.
fn workers(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(jobs).max(1)
}

/// Run `work` on every job, on one thread per core. Each thread first makes
/// its own state with `init` (an open archive, a buffer). Jobs are dealt
/// largest first to the least loaded worker, so one large member does not
/// leave a core idle at the end. Results come back in job order.
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
    let n = workers(jobs.len());
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs.get(i).map_or(0, |j| j.0)));
    let mut shares: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut load = vec![0u64; n];
    for i in order {
        let least = (0..n).min_by_key(|&w| load.get(w).copied()).unwrap_or(0);
        if let (Some(l), Some(share)) = (load.get_mut(least), shares.get_mut(least)) {
            // Only balances the workers: saturating is harmless.
            *l = l.saturating_add(jobs.get(i).map_or(0, |j| j.0));
            share.push(i);
        }
    }
    let parts = std::thread::scope(|scope| {
        let (init, work) = (&init, &work);
        let handles: Vec<_> = shares
            .into_iter()
            .filter(|share| !share.is_empty())
            .map(|share| {
                scope.spawn(move || -> Result<Vec<(usize, R)>> {
                    let mut state = init()?;
                    let mut out = Vec::with_capacity(share.len());
                    for i in share {
                        if let Some((_, job)) = jobs.get(i) {
                            out.push((i, work(&mut state, job)?));
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
