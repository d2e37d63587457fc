//! Everything the binary shows goes through here: reports (text or JSON),
//! what keygen, sign, pack and resign did, completions and the manual page.
//! Errors are the exception: main prints those, once.

mod bar;
pub mod catalog;
#[cfg(target_os = "linux")]
pub mod exec;
mod text;
mod vendor;

pub use bar::Bar;
pub use text::safe;

use super::Done;
use fwkit::Report;
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;

/// Version of the JSON layouts (documented in the README).
const SCHEMA: u32 = 1;

/// How the outcome is shown; chosen from the flags in options.rs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing on stdout: the exit status answers.
    Quiet,
    /// One complete JSON document on stdout.
    Json,
    /// Text for a person, in this detail.
    Text(Detail),
}

/// How much of a report the text shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Bounded to fit a screen: passed checks grouped, long lists cut.
    Summary,
    /// Everything, one line per check (`-v`).
    Full,
}

/// The commands that read a package and produce a [`Report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Inspect,
    Verify,
    Unpack,
}

impl Reading {
    pub fn name(self) -> &'static str {
        match self {
            Reading::Inspect => "inspect",
            Reading::Verify => "verify",
            Reading::Unpack => "unpack",
        }
    }
}

/// What keygen, sign, pack or resign did. Serialized (untagged) after the
/// envelope's `schema`, `command`, `outcome` and `written`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Action {
    Keygen {
        key_id: String,
        public_key: PathBuf,
        secret_key: PathBuf,
        encrypted: bool,
    },
    Sign {
        file: PathBuf,
        signature: PathBuf,
        key_id: String,
        trusted_comment: String,
    },
    Pack {
        source: PathBuf,
        output: PathBuf,
        files: usize,
        manifest_sha256: String,
        signed_by: Option<String>,
    },
    Resign {
        package: PathBuf,
        key_id: String,
        manifest_sha256: String,
    },
}

impl Action {
    fn command(&self) -> &'static str {
        match self {
            Action::Keygen { .. } => "keygen",
            Action::Sign { .. } => "sign",
            Action::Pack { .. } => "pack",
            Action::Resign { .. } => "resign",
        }
    }

    /// What happened, in one word: the counterpart of a report's `verified`.
    fn outcome(&self) -> &'static str {
        match self {
            Action::Keygen { .. } => "generated",
            Action::Sign { .. } => "signed",
            Action::Pack { .. } => "packed",
            Action::Resign { .. } => "re-signed",
        }
    }

    /// Every path the command created or replaced.
    fn written(&self) -> Vec<&PathBuf> {
        match self {
            Action::Keygen {
                public_key,
                secret_key,
                ..
            } => vec![public_key, secret_key],
            Action::Sign { signature, .. } => vec![signature],
            Action::Pack { output, .. } => vec![output],
            Action::Resign { package, .. } => vec![package],
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    command: &'a str,
    verified: bool,
    #[serde(flatten)]
    report: &'a Report,
}

#[derive(Serialize)]
struct JsonAction<'a> {
    schema: u32,
    command: &'a str,
    outcome: &'a str,
    written: Vec<&'a PathBuf>,
    #[serde(flatten)]
    action: &'a Action,
}

/// Show what a command did.
pub fn show(done: &Done, mode: Mode) -> io::Result<()> {
    match done {
        Done::Report(reading, report) => show_report(report, *reading, mode),
        Done::Action(action) => show_action(action, mode),
        Done::Completions(shell) => {
            let mut bytes = Vec::new();
            clap_complete::generate(*shell, &mut super::args::command(), "fwkit", &mut bytes);
            write_stdout(&bytes)
        }
        Done::Manpage => {
            let mut bytes = Vec::new();
            clap_mangen::Man::new(super::args::command()).render(&mut bytes)?;
            write_stdout(&bytes)
        }
    }
}

fn show_report(report: &Report, reading: Reading, mode: Mode) -> io::Result<()> {
    match mode {
        Mode::Quiet => {}
        Mode::Json => json(&JsonReport {
            schema: SCHEMA,
            command: reading.name(),
            verified: report.verdict.is_verified(),
            report,
        })?,
        Mode::Text(detail) => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(64 << 10, stdout.lock());
            text::report(&mut out, report, reading, detail)?;
            out.flush()?;
            drop(out);
            let mut lines = Vec::new();
            text::warnings(&mut lines, report, detail)?;
            to_stderr(&lines);
        }
    }
    // Not hidden by -q: files that failed their checks were placed anyway,
    // and the exit status (0, unpacked) does not say so.
    if mode != Mode::Json
        && reading == Reading::Unpack
        && report.unpacked.is_some()
        && !report.verdict.is_verified()
    {
        to_stderr(b"warning: the unpacked files are NOT VERIFIED (see the reasons above); do not flash them before checking them some other way\n");
    }
    Ok(())
}

fn show_action(action: &Action, mode: Mode) -> io::Result<()> {
    match mode {
        Mode::Quiet => Ok(()),
        Mode::Json => json(&JsonAction {
            schema: SCHEMA,
            command: action.command(),
            outcome: action.outcome(),
            written: action.written(),
            action,
        }),
        Mode::Text(_) => {
            let line = match action {
                Action::Keygen {
                    key_id,
                    public_key,
                    secret_key,
                    encrypted,
                } => format!(
                    "key id {key_id}: public key {}, secret key {}{}",
                    public_key.display(),
                    secret_key.display(),
                    if *encrypted { "" } else { " (not encrypted)" }
                ),
                Action::Sign {
                    file,
                    signature,
                    key_id,
                    ..
                } => format!(
                    "signed {} with key id {key_id}: {}",
                    file.display(),
                    signature.display()
                ),
                Action::Pack {
                    output,
                    files,
                    manifest_sha256,
                    signed_by,
                    ..
                } => format!(
                    "packed {files} file(s) into {} (manifest sha256 {manifest_sha256}{})",
                    output.display(),
                    signed_by
                        .as_ref()
                        .map(|k| format!(", signed by key id {k}"))
                        .unwrap_or_default()
                ),
                Action::Resign {
                    package,
                    key_id,
                    manifest_sha256,
                } => format!(
                    "re-signed {} with key id {key_id} (manifest sha256 {manifest_sha256})",
                    package.display()
                ),
            };
            write_stdout(format!("{line}\n").as_bytes())
        }
    }
}

/// Pretty JSON and a newline on stdout, streamed: a report of many members
/// is never held as one string.
fn json(doc: &impl Serialize) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 << 10, stdout.lock());
    serde_json::to_writer_pretty(&mut out, doc).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Warnings are advice: a stderr that cannot be written does not change the
/// answer, so its errors are dropped.
fn to_stderr(bytes: &[u8]) {
    let _ = io::stderr().lock().write_all(bytes);
}
