//! What `fwkit exec` shows: the verification report and the handed members
//! on stderr before FLASHER runs (FLASHER owns stdout), the outcome on
//! stderr after it; or, with --json, one document on stdout after it.

use super::{json, text, Reading, SCHEMA};
use crate::cli::args::ExecArgs;
use crate::cli::exec::{spawn_code, status_code, AFTER_CHECK_FAILED, REFUSED};
use fwkit::handoff::{Changed, Handoff, Place};
use serde::Serialize;
use serde_json::Value;
use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitStatus;

/// How the run is shown.
pub struct Shown {
    quiet: bool,
    json: bool,
    verbose: bool,
    /// The report and the handed members, kept for the JSON document.
    summary: Option<(Value, Vec<HandedJson>, Vec<String>)>,
    /// The plan against --inventory, for the JSON document.
    plan: Option<Value>,
}

impl Shown {
    pub fn new(args: &ExecArgs) -> Shown {
        Shown {
            quiet: args.common.show.quiet,
            json: args.common.show.json && !args.common.show.quiet,
            verbose: args.common.show.verbose,
            summary: None,
            plan: None,
        }
    }
}

/// What happened after verification.
pub enum Ran {
    /// FLASHER never ran: the package is not verified (or fwkit failed).
    Refused(String),
    /// FLASHER never ran: an argument names no file member.
    Usage(String),
    /// --dry-run: the command line that would run.
    DryRun(Vec<OsString>),
    /// FLASHER could not be started.
    NotStarted {
        line: Vec<OsString>,
        error: io::Error,
    },
    /// FLASHER ran; the handed files that changed meanwhile.
    Exited {
        line: Vec<OsString>,
        status: ExitStatus,
        changed: Vec<Changed>,
    },
}

#[derive(Serialize)]
struct HandedJson {
    member: String,
    size: u64,
    sha256: String,
    /// The descriptor (memfd) or the file it is handed as.
    handed_as: String,
    kind: &'static str,
}

/// An error fwkit could not get past; FLASHER never ran.
pub fn error(err: &anyhow::Error) {
    let mut text = format!("error: {err}");
    for cause in err.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    text.push_str("\nfwkit: FLASHER not run\n");
    to_stderr(&text);
}

/// The report and the handed members, on stderr (text) or kept (JSON).
pub fn verified(handoff: &Handoff, shown: &mut Shown) {
    let handed: Vec<HandedJson> = handoff
        .handed
        .iter()
        .map(|h| HandedJson {
            member: h.name.as_str().to_owned(),
            size: h.size,
            sha256: h.sha256.clone(),
            handed_as: where_text(&h.place),
            kind: match h.place {
                Place::Memfd(_) => "sealed memfd",
                Place::File(_) => "read-only file",
            },
        })
        .collect();
    if shown.json {
        let report = serde_json::to_value(&handoff.report).unwrap_or(Value::Null);
        shown.summary = Some((report, handed, handoff.notes.clone()));
        return;
    }
    if shown.quiet {
        return;
    }
    let mut out = Vec::new();
    let detail = match shown.verbose {
        true => super::Detail::Full,
        false => super::Detail::Summary,
    };
    let _ = text::report(&mut out, &handoff.report, Reading::Verify, detail);
    let _ = text::warnings(&mut out, &handoff.report, detail);
    for note in &handoff.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for h in &handed {
        let _ = writeln!(
            out,
            "handed {} ({} bytes, sha256 {}) as {} {}",
            text::safe(&h.member),
            h.size,
            h.sha256,
            h.kind,
            h.handed_as
        );
    }
    to_stderr(&String::from_utf8_lossy(&out));
}

/// The plan against --inventory: kept for JSON, or its outcome and failed
/// rules on stderr.
pub fn planned(plan: &fwkit::plan::Plan, shown: &mut Shown) {
    if shown.json {
        shown.plan = Some(crate::cli::plan::json(plan));
        return;
    }
    if shown.quiet {
        return;
    }
    let mut out = format!("plan: {}\n", crate::cli::plan::outcome(plan));
    for d in &plan.devices {
        for step in &d.steps {
            let line = format!("{}: {} -> {}", d.device, step.from, step.to);
            out.push_str(&format!("  {}\n", text::safe(&line)));
        }
    }
    for c in plan
        .packages
        .iter()
        .flat_map(|p| &p.checks)
        .chain(&plan.policy)
    {
        if c.outcome.fails() {
            let line = format!("{}: {}", c.rule, c.detail);
            out.push_str(&format!("FAIL {}\n", text::safe(&line)));
        }
    }
    to_stderr(&out);
}

fn where_text(place: &Place) -> String {
    match place {
        Place::Memfd(file) => {
            use std::os::fd::AsRawFd;
            format!("/dev/fd/{}", file.as_raw_fd())
        }
        Place::File(path) => path.display().to_string(),
    }
}

fn quoted(line: &[OsString]) -> String {
    line.iter()
        .map(|a| {
            let a = a.to_string_lossy();
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%{}".contains(c));
            match plain {
                true => a.into_owned(),
                false => format!("'{}'", a.replace('\'', "'\\''")),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Show the outcome; the exit status.
pub fn outcome(shown: &Shown, ran: &Ran, cleanup: Option<&fwkit::Error>) -> i32 {
    let (code, lines) = describe(ran, cleanup);
    if shown.json {
        let doc = document(shown, ran, cleanup, code);
        if let Err(e) = json(&doc) {
            to_stderr(&format!("error: cannot write the JSON report: {e}\n"));
        }
        if !matches!(ran, Ran::DryRun(_)) {
            to_stderr(&lines);
        }
        return code;
    }
    match ran {
        Ran::DryRun(_) if !shown.quiet => {
            let _ = io::stdout().lock().write_all(lines.as_bytes());
        }
        Ran::DryRun(_) => {}
        // -q: the status answers; only what went wrong is said.
        _ if shown.quiet => to_stderr(
            &lines
                .lines()
                .filter(|l| {
                    !l.starts_with("fwkit: ") || l.contains("not run") || l.contains("cannot run")
                })
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
        ),
        _ => to_stderr(&lines),
    }
    code
}

/// The exit status and the lines that say what happened.
fn describe(ran: &Ran, cleanup: Option<&fwkit::Error>) -> (i32, String) {
    let (mut code, mut text) = match ran {
        Ran::Refused(reason) => (REFUSED, format!("fwkit: FLASHER not run: {reason}\n")),
        Ran::Usage(reason) => (
            REFUSED,
            format!("error: usage: {reason}\nfwkit: FLASHER not run\n"),
        ),
        Ran::DryRun(line) => (0, format!("would run: {}\n", quoted(line))),
        Ran::NotStarted { line, error } => (
            spawn_code(error),
            format!(
                "fwkit: cannot run {}: {error}\n",
                line.first()
                    .map(|p| p.to_string_lossy())
                    .unwrap_or_default()
            ),
        ),
        Ran::Exited {
            line,
            status,
            changed,
        } => exited(line, *status, changed),
    };
    if let Some(e) = cleanup {
        text.push_str(&format!(
            "error: the handed files were not all removed: {e}\n"
        ));
        if code == 0 {
            code = AFTER_CHECK_FAILED;
        }
    }
    (code, text)
}

fn exited(line: &[OsString], status: ExitStatus, changed: &[Changed]) -> (i32, String) {
    use std::os::unix::process::ExitStatusExt;
    let program = line
        .first()
        .map(|p| p.to_string_lossy())
        .unwrap_or_default();
    let mut code = status_code(status);
    let mut text = match status.signal() {
        Some(sig) => format!("fwkit: {program} was killed by signal {sig}\n"),
        None => format!("fwkit: {program} exited with status {code}\n"),
    };
    for c in changed {
        text.push_str(&format!(
            "error: {} ({}) changed while {program} ran: sha256 now {}\n",
            c.name,
            c.path.display(),
            c.found
        ));
    }
    if !changed.is_empty() && code == 0 {
        code = AFTER_CHECK_FAILED;
    }
    (code, text)
}

fn document(shown: &Shown, ran: &Ran, cleanup: Option<&fwkit::Error>, code: i32) -> Value {
    let (report, handed, notes) = match &shown.summary {
        Some((report, handed, notes)) => (report.clone(), handed, notes.clone()),
        None => (Value::Null, &Vec::new(), Vec::new()),
    };
    let verified = report["verdict"]["status"] == "verified";
    let line = |l: &[OsString]| -> Value {
        l.iter()
            .map(|a| Value::from(a.to_string_lossy().into_owned()))
            .collect()
    };
    let (command_line, flasher, refused, changed) = match ran {
        Ran::Refused(r) | Ran::Usage(r) => {
            (Value::Null, Value::Null, Value::from(r.clone()), vec![])
        }
        Ran::DryRun(l) => (line(l), Value::Null, Value::Null, vec![]),
        Ran::NotStarted { line: l, error } => (
            line(l),
            serde_json::json!({"started": false, "error": error.to_string()}),
            Value::Null,
            vec![],
        ),
        Ran::Exited {
            line: l,
            status,
            changed,
        } => {
            use std::os::unix::process::ExitStatusExt;
            (
                line(l),
                serde_json::json!({"started": true, "exit_code": status.code(), "signal": status.signal()}),
                Value::Null,
                changed
                    .iter()
                    .map(|c| serde_json::json!({"member": c.name.as_str(), "path": c.path, "sha256_now": c.found}))
                    .collect(),
            )
        }
    };
    serde_json::json!({
        "schema": SCHEMA,
        "command": "exec",
        "verified": verified,
        "report": report,
        "handed": handed,
        "notes": notes,
        "dry_run": matches!(ran, Ran::DryRun(_)),
        "command_line": command_line,
        "flasher": flasher,
        "refused": refused,
        "changed": changed,
        "cleanup_error": cleanup.map(|e| e.to_string()),
        "exit_code": code,
        "plan": shown.plan,
    })
}

fn to_stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}
