//! Hand verified bytes to another program (`fwkit exec`) with no window
//! between check and use.
//!
//! [`Package::handoff`] runs the same single pass as
//! [`Package::verify`](crate::Package::verify) (a bare image, format raw, is
//! one member named by its file name: see [`raw_member`]); the members the caller names
//! are written, as they are read and hashed, into sealed memfds (Linux) or,
//! with [`HandoffOptions::as_files`] or beyond [`HandoffOptions::max_memory`],
//! into read-only files of a private directory. The bytes handed are the
//! bytes that were hashed; nothing is read from the package again.
//!
//! # Security
//!
//! A memfd is sealed against writing, shrinking and growing, and its seals
//! are sealed; the seals are read back before it is handed. A handed file
//! can be changed by a program running as the same user: hash the files
//! again with [`Handoff::recheck`] after it finished. Whether the program
//! may run at all is [`Handoff::refusal`]'s answer.

mod memfd;
mod nested;
mod raw;
mod sink;
pub mod template;

use crate::error::Result;
use crate::model::{MemberName, Report};
use crate::package::Package;
use crate::verify::VerifyOptions;
use sink::{HandSink, Seen, Shared};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use raw::raw_member;
pub use template::Piece;

/// Default of [`HandoffOptions::max_memory`]: 1 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 1 << 30;

/// Options for [`Package::handoff`].
#[derive(Debug, Clone)]
pub struct HandoffOptions {
    /// The checks, exactly as `verify` runs them.
    pub verify: VerifyOptions,
    /// Hand files in a private directory instead of sealed memfds.
    pub as_files: bool,
    /// Most bytes of handed members held in memfds, all together; the
    /// members beyond it are handed as files.
    pub max_memory: u64,
}

impl Default for HandoffOptions {
    fn default() -> Self {
        HandoffOptions {
            verify: VerifyOptions::default(),
            as_files: false,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

/// Where a member's bytes are.
#[derive(Debug)]
pub enum Place {
    /// A sealed memfd, at offset 0, closed on exec until
    /// [`Handoff::inherit`].
    Memfd(File),
    /// A read-only file in the handoff's private directory.
    File(PathBuf),
}

/// One member handed over.
#[derive(Debug)]
pub struct Handed {
    /// The member.
    pub name: MemberName,
    /// Its length in bytes.
    pub size: u64,
    /// The SHA-256 of the bytes handed (lower-case hex).
    pub sha256: String,
    /// Where they are.
    pub place: Place,
}

/// A handed file whose content is no longer what was handed.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The member.
    pub name: MemberName,
    /// The file.
    pub path: PathBuf,
    /// The SHA-256 now, or why the file could not be read.
    pub found: String,
}

/// The outcome of [`Package::handoff`]: the report, and the bytes.
#[derive(Debug)]
pub struct Handoff {
    /// The verification report, as `verify` gives it.
    pub report: Report,
    /// The named members that were read to their end, in the order finished.
    pub handed: Vec<Handed>,
    /// What fwkit did differently from what was asked, and why (no memfd
    /// sealing on this system; members beyond the memory cap).
    pub notes: Vec<String>,
    seen: HashMap<MemberName, Seen>,
    dir: Option<crate::extract::HandDir>,
    /// The directories of handed files of nested packages.
    nested_dirs: Vec<crate::extract::HandDir>,
}

impl std::fmt::Debug for crate::extract::HandDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HandDir").field(&self.root()).finish()
    }
}

impl Package {
    /// Verify the package in one pass and hand the members named in
    /// `members` on (see the [module docs](crate::handoff)). Names that are
    /// no file of the package are answered by [`Handoff::member`].
    ///
    /// A name below a file member that is itself a package
    /// (`inner.zip/fw.bin`) names a member of that package: see
    /// `handoff/nested.rs`.
    pub fn handoff(&self, members: &[MemberName], options: &HandoffOptions) -> Result<Handoff> {
        nested::handoff(self, members, options, 0)
    }

    /// [`Package::handoff`] of this package's own members only.
    fn handoff_flat(&self, members: &[MemberName], options: &HandoffOptions) -> Result<Handoff> {
        if self.format() == crate::model::FormatKind::Raw {
            return raw::handoff_raw(self, members, options);
        }
        let mut notes = Vec::new();
        let as_files = options.as_files
            || match memfd::probe() {
                Ok(()) => false,
                Err(e) => {
                    notes.push(format!(
                        "sealed memfds are not available here ({e}); the members are handed as read-only files instead"
                    ));
                    true
                }
            };
        let shared = Arc::new(Shared::new(as_files, options.max_memory)?);
        let mut sink = HandSink::new(members, Arc::clone(&shared));
        let report = self.run_into(&options.verify, &mut sink)?;
        let seen = std::mem::take(&mut sink.seen);
        drop(sink);
        let shared = Arc::try_unwrap(shared).map_err(|_| {
            crate::error::Error::write(
                PathBuf::from("handoff"),
                std::io::Error::other("a writer outlived the pass"),
            )
        })?;
        let (handed, dir, spilled) = shared.into_parts()?;
        if !spilled.is_empty() {
            notes.push(format!(
                "{} went over the memory cap ({} bytes) and are handed as read-only files",
                spilled
                    .iter()
                    .map(MemberName::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                options.max_memory
            ));
        }
        Ok(Handoff {
            report,
            handed,
            notes,
            seen,
            dir,
            nested_dirs: Vec::new(),
        })
    }
}

impl Handoff {
    /// Why the program must not run, or `None`. It runs when the package is
    /// verified; with `no_verify` also when integrity checks failed, but
    /// never past unsafe content, and with `require_signature` never
    /// without a signature that passed.
    pub fn refusal(&self, no_verify: bool, require_signature: bool) -> Option<String> {
        let report = &self.report;
        if report.verdict.is_verified() {
            return None;
        }
        let first = report
            .checks
            .iter()
            .find(|c| c.outcome.is_failure())
            .map(|c| {
                format!(
                    "{} check of {} {}{}",
                    format!("{:?}", c.kind).to_lowercase(),
                    c.covers,
                    match c.outcome {
                        crate::model::Outcome::NotRun => "could not run",
                        _ => "failed",
                    },
                    c.detail
                        .as_ref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "the package carries no integrity data".to_owned());
        if !no_verify {
            return Some(format!("not verified: {first}"));
        }
        if report.unsafe_content() {
            return Some(format!(
                "unsafe content or a failed structure check, which --no-verify never passes: {first}"
            ));
        }
        if require_signature && report.signature_refused() {
            return Some(
                "a signature is required and none passed; --no-verify never skips --require-signature"
                    .to_owned(),
            );
        }
        None
    }

    /// The handed member `name`, or why there is none.
    pub fn member(&self, name: &MemberName) -> std::result::Result<&Handed, String> {
        if let Some(handed) = self.handed.iter().find(|h| &h.name == name) {
            return Ok(handed);
        }
        Err(match self.seen.get(name) {
            Some(Seen::Dir) => format!("{name} is a directory, not a file"),
            Some(Seen::Link) => format!("{name} is a link, not a file"),
            Some(Seen::File) => format!("{name} was not read to its end"),
            // A directory known only as the parent of other members.
            None if self.report.members.iter().any(|m| {
                m.path
                    .as_ref()
                    .is_some_and(|p| p.ancestors().any(|a| &a == name))
            }) =>
            {
                format!("{name} is a directory, not a file")
            }
            None => format!("{name} is not a member of {}", self.report.path.display()),
        })
    }

    /// The private directory of handed files, when there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.root())
    }

    /// An argument with its members replaced: `/dev/fd/N` for a memfd, the
    /// path for a file, the directory for `{}`.
    pub fn resolve(&self, pieces: &[Piece]) -> std::result::Result<String, String> {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Dir => {
                    match self.dir() {
                        Some(dir) => out.push_str(&path_text(dir)?),
                        None => return Err(
                            "{} names the directory of handed files, which only --as-files makes"
                                .to_owned(),
                        ),
                    }
                }
                Piece::Member(name) => match &self.member(name)?.place {
                    Place::Memfd(file) => out.push_str(&fd_path(file)?),
                    Place::File(path) => out.push_str(&path_text(path)?),
                },
            }
        }
        Ok(out)
    }

    /// Let the memfds (and nothing else fwkit holds) pass to a program
    /// started next: clear close-on-exec on each.
    pub fn inherit(&self) -> std::io::Result<()> {
        for handed in &self.handed {
            if let Place::Memfd(file) = &handed.place {
                inherit(file)?;
            }
        }
        Ok(())
    }

    /// Hash every handed file again; the ones that changed (memfds cannot).
    pub fn recheck(&self) -> Vec<Changed> {
        let mut changed = Vec::new();
        for handed in &self.handed {
            let Place::File(path) = &handed.place else {
                continue;
            };
            let found = match sha256_of(path) {
                Ok(hex) if hex == handed.sha256 => continue,
                Ok(hex) => hex,
                Err(e) => format!("unreadable ({e})"),
            };
            changed.push(Changed {
                name: handed.name.clone(),
                path: path.clone(),
                found,
            });
        }
        changed
    }

    /// Close the memfds and remove the directory of handed files.
    pub fn remove(self) -> Result<()> {
        let mut first = Ok(());
        for dir in self.nested_dirs.into_iter().chain(self.dir) {
            let removed = dir.remove();
            if first.is_ok() {
                first = removed;
            }
        }
        first
    }
}

fn path_text(path: &Path) -> std::result::Result<String, String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

#[cfg(unix)]
fn fd_path(file: &File) -> std::result::Result<String, String> {
    use std::os::fd::AsRawFd;
    Ok(format!("/dev/fd/{}", file.as_raw_fd()))
}

#[cfg(not(unix))]
fn fd_path(_: &File) -> std::result::Result<String, String> {
    Err("file descriptors are handed on Unix only".to_owned())
}

#[cfg(target_os = "linux")]
fn inherit(file: &File) -> std::io::Result<()> {
    rustix::io::fcntl_setfd(file, rustix::io::FdFlags::empty())?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn inherit(_: &File) -> std::io::Result<()> {
    Ok(())
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = file.read(&mut buf)?;
        match buf.get(..n) {
            Some([]) | None => break,
            Some(chunk) => hasher.update(chunk),
        }
    }
    Ok(crate::verify::hex(&hasher.finalize()))
}
