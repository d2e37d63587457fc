//! The work queue: entries handed to `jobs` workers one at a time (a slow
//! package holds one worker, not a share of the list), results handed back
//! in catalogue order. Workers run at most [`AHEAD`] entries ahead of the
//! oldest unfinished one, so memory stays bounded behind a slow package.

use super::dell::Component;
use super::{entry, CatalogOptions, EntryReport};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// Entries a worker may start beyond the oldest one not yet handed back.
const AHEAD: usize = 4096;

/// The entries still to hand out, each with its position in the queue.
type Items<'a> =
    std::iter::Enumerate<Box<dyn Iterator<Item = Result<(usize, Component)>> + Send + 'a>>;

struct Queue<'a> {
    /// Pulled one at a time under the lock: the catalogue is parsed as the
    /// workers ask for entries, never held whole.
    items: Mutex<Items<'a>>,
    /// Why the catalogue stopped parsing, when it did.
    failed: Mutex<Option<Error>>,
    /// Entries handed back so far (positions below it are done).
    handed: Mutex<usize>,
    moved: Condvar,
    stop: AtomicBool,
}

/// Check every entry of `kept` (about `count` of them) below `dir` on
/// `options.jobs` workers; `each` sees them in order.
pub(super) fn entries<'a>(
    dir: &Path,
    kept: Box<dyn Iterator<Item = Result<(usize, Component)>> + Send + 'a>,
    count: usize,
    options: &CatalogOptions,
    each: &mut dyn FnMut(&EntryReport) -> Result<()>,
) -> Result<()> {
    let root = std::fs::canonicalize(dir).map_err(|e| Error::read(dir, e))?;
    let jobs = match options.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, count.max(1));
    let queue = Queue {
        items: Mutex::new(kept.enumerate()),
        failed: Mutex::new(None),
        handed: Mutex::new(0),
        moved: Condvar::new(),
        stop: AtomicBool::new(false),
    };
    let packages = &entry::Packages::new(options);
    let (send, receive) = mpsc::channel::<(usize, EntryReport)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let send = send.clone();
            let (queue, root) = (&queue, &root);
            scope.spawn(move || work(queue, root, packages, &send));
        }
        drop(send);
        let result = hand_back(&queue, &receive, each);
        if result.is_err() {
            queue.stop.store(true, Ordering::SeqCst);
            queue.moved.notify_all();
        }
        result
    })?;
    match queue.failed.lock().ok().and_then(|mut f| f.take()) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

fn work(
    queue: &Queue<'_>,
    root: &Path,
    packages: &entry::Packages,
    send: &mpsc::Sender<(usize, EntryReport)>,
) {
    loop {
        if queue.stop.load(Ordering::SeqCst) {
            return;
        }
        let next = match queue.items.lock() {
            Ok(mut items) => items.next(),
            Err(_) => return,
        };
        let (position, (index, component)) = match next {
            Some((position, Ok(item))) => (position, item),
            Some((_, Err(err))) => {
                if let Ok(mut failed) = queue.failed.lock() {
                    *failed = Some(err);
                }
                queue.stop.store(true, Ordering::SeqCst);
                queue.moved.notify_all();
                return;
            }
            None => return,
        };
        if !wait_for_room(queue, position) {
            return;
        }
        let report = entry::check(root, index, component, packages);
        if send.send((position, report)).is_err() {
            return;
        }
    }
}

/// Wait until `position` is within [`AHEAD`] of the oldest unfinished entry;
/// false when the run stops.
fn wait_for_room(queue: &Queue<'_>, position: usize) -> bool {
    let Ok(mut handed) = queue.handed.lock() else {
        return false;
    };
    while position >= handed.saturating_add(AHEAD) {
        if queue.stop.load(Ordering::SeqCst) {
            return false;
        }
        handed = match queue.moved.wait(handed) {
            Ok(guard) => guard,
            Err(_) => return false,
        };
    }
    true
}

/// Receive results in any order and hand them to `each` in catalogue order.
fn hand_back(
    queue: &Queue<'_>,
    receive: &mpsc::Receiver<(usize, EntryReport)>,
    each: &mut dyn FnMut(&EntryReport) -> Result<()>,
) -> Result<()> {
    let mut waiting: BTreeMap<usize, EntryReport> = BTreeMap::new();
    let mut next = 0usize;
    for (position, report) in receive {
        waiting.insert(position, report);
        while let Some(report) = waiting.remove(&next) {
            each(&report)?;
            next = next.saturating_add(1);
        }
        if let Ok(mut handed) = queue.handed.lock() {
            *handed = next;
        }
        queue.moved.notify_all();
    }
    Ok(())
}
