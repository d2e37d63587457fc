//! Work after the pass, on every core: a 50,000-line manifest is parsed
//! and its entries judged while nothing else runs. (Members are read by
//! `pass::parallel`, which hands out runs of jobs as workers free up; here
//! the work per item is even, so each core gets one run.)

/// `f` of every item, in order, as runs of results, one run per core;
/// on this thread alone when the items do not give every core at least
/// `per_thread` of them.
pub(crate) fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Vec<R>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(items.len().checked_div(per_thread).unwrap_or(items.len()));
    if threads < 2 {
        return vec![items.iter().map(f).collect()];
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|run| scope.spawn(move || run.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(results) => results,
                // A panic in `f` is a bug: raised again here, as it would
                // have been on this thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::in_parallel;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u32> = (0..10_000).collect();
        let runs = in_parallel(&items, 100, |n| n * 2);
        let flat: Vec<u32> = runs.into_iter().flatten().collect();
        assert_eq!(flat, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        let few = in_parallel(&items[..10], 100, |n| n + 1);
        assert_eq!(few.len(), 1);
    }
}
