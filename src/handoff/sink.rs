//! The sink of a handoff: the members the caller named are written, in the
//! pass that reads and hashes them, into sealed memfds (or files of a
//! private directory); every other member is checked and dropped.

use super::{memfd, Handed, Place};
use crate::error::{Error, Result};
use crate::extract::{FileOut, HandDir, HandFile, HandOut, Sink};
use crate::model::MemberName;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a named member turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    File,
    Dir,
    Link,
}

/// State shared by the sink and the writers on worker threads.
pub(super) struct Shared {
    as_files: bool,
    /// Bytes of memfd content still allowed (`max_memory`).
    memory: AtomicU64,
    dir: Mutex<Option<Arc<HandDir>>>,
    done: Mutex<Vec<Handed>>,
    /// Members moved to a file because memory ran out.
    spilled: Mutex<Vec<MemberName>>,
}

impl Shared {
    pub(super) fn new(as_files: bool, max_memory: u64) -> Result<Shared> {
        let dir = match as_files {
            true => Some(Arc::new(HandDir::new()?)),
            false => None,
        };
        Ok(Shared {
            as_files,
            memory: AtomicU64::new(max_memory),
            dir: Mutex::new(dir),
            done: Mutex::new(Vec::new()),
            spilled: Mutex::new(Vec::new()),
        })
    }

    /// The private directory, created on first use.
    fn dir(&self) -> Result<Arc<HandDir>> {
        let mut slot = self.dir.lock().map_err(|_| poisoned())?;
        if let Some(dir) = &*slot {
            return Ok(Arc::clone(dir));
        }
        let dir = Arc::new(HandDir::new()?);
        *slot = Some(Arc::clone(&dir));
        Ok(dir)
    }

    /// Take `n` bytes of the memory budget; false when they are not there.
    fn take(&self, n: u64) -> bool {
        self.memory
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |free| {
                free.checked_sub(n)
            })
            .is_ok()
    }

    fn give_back(&self, n: u64) {
        let _ = self
            .memory
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |free| {
                Some(free.saturating_add(n))
            });
    }

    /// Everything handed, the directory (when one was made), the members
    /// that went to files for want of memory.
    pub(super) fn into_parts(self) -> Result<(Vec<Handed>, Option<HandDir>, Vec<MemberName>)> {
        let done = self.done.into_inner().map_err(|_| poisoned())?;
        let spilled = self.spilled.into_inner().map_err(|_| poisoned())?;
        let dir = match self.dir.into_inner().map_err(|_| poisoned())? {
            Some(arc) => Some(
                Arc::try_unwrap(arc)
                    .map_err(|_| internal("a writer still holds the handoff directory"))?,
            ),
            None => None,
        };
        Ok((done, dir, spilled))
    }
}

fn internal(what: &str) -> Error {
    Error::write(
        PathBuf::from("handoff"),
        std::io::Error::other(what.to_owned()),
    )
}

fn poisoned() -> Error {
    internal("a worker thread failed while holding the handoff state")
}

/// The sink: writes only the named members.
pub(super) struct HandSink {
    wanted: HashSet<MemberName>,
    pub(super) seen: HashMap<MemberName, Seen>,
    shared: Arc<Shared>,
}

impl HandSink {
    pub(super) fn new(wanted: &[MemberName], shared: Arc<Shared>) -> HandSink {
        HandSink {
            wanted: wanted.iter().cloned().collect(),
            seen: HashMap::new(),
            shared,
        }
    }

    fn see(&mut self, name: &MemberName, what: Seen) -> Result<()> {
        if !self.wanted.contains(name) {
            return Ok(());
        }
        if self.seen.insert(name.clone(), what).is_some() {
            return Err(Error::write(
                PathBuf::from(name.as_str()),
                std::io::Error::other(
                    "the package holds this member twice; fwkit hands only a member with one content",
                ),
            ));
        }
        Ok(())
    }
}

impl Sink for HandSink {
    fn dir(&mut self, name: &MemberName, _: u32) -> Result<()> {
        // A directory named twice (an entry and an ancestor) is not content.
        if self.wanted.contains(name) {
            self.seen.insert(name.clone(), Seen::Dir);
        }
        Ok(())
    }

    fn create_file(&mut self, name: &MemberName, _: u32, _: u64) -> Result<Option<FileOut>> {
        if !self.wanted.contains(name) {
            return Ok(None);
        }
        self.see(name, Seen::File)?;
        let writer = HandWriter::new(name, Arc::clone(&self.shared))?;
        Ok(Some(FileOut::Hand(Box::new(writer))))
    }

    fn symlink(&mut self, name: &MemberName, _: &str) -> Result<()> {
        self.see(name, Seen::Link)
    }

    fn hardlink(&mut self, name: &MemberName, _: &MemberName) -> Result<()> {
        self.see(name, Seen::Link)
    }
}

enum Store {
    Memory(File),
    Disk(HandFile),
}

/// One named member's bytes, hashed as they are stored.
struct HandWriter {
    name: MemberName,
    store: Store,
    sha256: Sha256,
    len: u64,
    shared: Arc<Shared>,
}

fn memfd_error(name: &MemberName, e: std::io::Error) -> Error {
    Error::write(PathBuf::from(format!("memfd of {name}")), e)
}

impl HandWriter {
    fn new(name: &MemberName, shared: Arc<Shared>) -> Result<HandWriter> {
        let store = match shared.as_files {
            true => Store::Disk(shared.dir()?.create(name)?),
            false => Store::Memory(memfd::create(name.as_str()).map_err(|e| memfd_error(name, e))?),
        };
        Ok(HandWriter {
            name: name.clone(),
            store,
            sha256: Sha256::new(),
            len: 0,
            shared,
        })
    }

    /// Memory ran out: move what the memfd holds to a file and go on there.
    fn spill(&mut self) -> Result<()> {
        let Store::Memory(memory) = &mut self.store else {
            return Ok(());
        };
        let mut file = self.shared.dir()?.create(&self.name)?;
        memory
            .seek(SeekFrom::Start(0))
            .map_err(|e| memfd_error(&self.name, e))?;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = memory
                .read(&mut buf)
                .map_err(|e| memfd_error(&self.name, e))?;
            match buf.get(..n) {
                Some([]) | None => break,
                Some(chunk) => file.write(chunk)?,
            }
        }
        self.shared.give_back(self.len);
        self.store = Store::Disk(file);
        if let Ok(mut spilled) = self.shared.spilled.lock() {
            spilled.push(self.name.clone());
        }
        Ok(())
    }
}

impl HandOut for HandWriter {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let n = data.len() as u64;
        if matches!(self.store, Store::Memory(_)) && !self.shared.take(n) {
            self.spill()?;
        }
        match &mut self.store {
            Store::Memory(file) => file
                .write_all(data)
                .map_err(|e| memfd_error(&self.name, e))?,
            Store::Disk(file) => file.write(data)?,
        }
        self.sha256.update(data);
        self.len = self.len.saturating_add(n);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let HandWriter {
            name,
            store,
            sha256,
            len,
            shared,
        } = *self;
        let place = match store {
            Store::Memory(mut file) => {
                memfd::seal(&file).map_err(|e| memfd_error(&name, e))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| memfd_error(&name, e))?;
                Place::Memfd(file)
            }
            Store::Disk(file) => Place::File(file.finish()?),
        };
        let handed = Handed {
            name,
            size: len,
            sha256: crate::verify::hex(&sha256.finalize()),
            place,
        };
        shared.done.lock().map_err(|_| poisoned())?.push(handed);
        Ok(())
    }
}
