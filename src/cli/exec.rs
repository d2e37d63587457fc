//! `fwkit exec`: verify, then run FLASHER on the handed bytes, forward
//! signals, wait, check the handed files again, clean up, and answer with
//! FLASHER's status (the codes are in `args::EXEC_HELP`).

use super::args::ExecArgs;
use super::render::exec::{self as show, Ran, Shown};
use anyhow::{bail, Context, Result};
use fwkit::handoff::{template, Handoff, Piece};
use fwkit::MemberName;
use std::ffi::OsString;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// FLASHER exited 0, but fwkit's check afterwards failed.
pub const AFTER_CHECK_FAILED: i32 = 124;
/// FLASHER never ran.
pub const REFUSED: i32 = 125;
/// FLASHER found but not executable.
pub const NOT_EXECUTABLE: i32 = 126;
/// FLASHER not found.
pub const NOT_FOUND: i32 = 127;

/// One argument of FLASHER: as given, or with members in braces.
enum Arg {
    Plain(OsString),
    Template(Vec<Piece>),
}

/// Run the command; the process's exit status.
pub fn run(args: &ExecArgs) -> i32 {
    // Before anything is verified, so an interrupt never leaves a handed
    // directory behind: the pass ends, nothing runs, everything is removed.
    let signals = match Signals::register() {
        Ok(s) => s,
        Err(err) => return failed(&err),
    };
    match exec(args, &signals) {
        Ok(code) => code,
        Err(err) => failed(&err),
    }
}

fn failed(err: &anyhow::Error) -> i32 {
    show::error(err);
    REFUSED
}

fn exec(args: &ExecArgs, signals: &Signals) -> Result<i32> {
    let (program, rest) = match args.command.split_first() {
        Some(split) => split,
        None => bail!("no FLASHER given after --"),
    };
    let templates = rest.iter().map(parse_arg).collect::<Result<Vec<_>>>()?;
    let mut wanted: Vec<MemberName> = Vec::new();
    for piece in templates.iter().flat_map(|a| match a {
        Arg::Template(pieces) => pieces.as_slice(),
        Arg::Plain(_) => &[],
    }) {
        if let Piece::Member(name) = piece {
            if !wanted.contains(name) {
                wanted.push(name.clone());
            }
        }
    }
    let options = super::options::exec_options(args)?;
    let loaded = match &args.inventory {
        Some(path) => Some(super::plan::load(path, args.policy.as_deref())?),
        None => None,
    };
    let package = super::open(&args.common)?;
    let handoff = package
        .handoff(&wanted, &options)
        .with_context(|| format!("verifying {}", args.common.package.display()))?;
    let mut shown = Shown::new(args);
    show::verified(&handoff, &mut shown);
    let rejected = loaded.and_then(|(inventory, policy)| {
        let plan = plan_handoff(&handoff, args, &inventory, policy);
        show::planned(&plan, &mut shown);
        rejection(&plan)
    });
    let outcome = match rejected {
        Some(reason) => Ran::Refused(reason),
        None => decide_and_run(&handoff, args, (program, &templates), signals),
    };
    let removed = handoff.remove();
    let code = show::outcome(&shown, &outcome, removed.as_ref().err());
    Ok(code)
}

/// The plan of the handed package against `inventory`, from the report of
/// the pass that handed it (verified once).
fn plan_handoff(
    handoff: &Handoff,
    args: &ExecArgs,
    inventory: &fwkit::plan::inventory::Inventory,
    policy: Option<fwkit::plan::policy::Policy>,
) -> fwkit::plan::Plan {
    let options = fwkit::plan::PlanOptions {
        allow_downgrade: args.allow_downgrade,
        allow_reinstall: args.allow_reinstall,
        policy,
        ..Default::default()
    };
    let report = (args.common.package.clone(), Ok(handoff.report.clone()));
    fwkit::plan::plan_reports(vec![report], inventory, &options)
}

/// Why the plan rejects the package: its outcome and the rules that failed.
fn rejection(plan: &fwkit::plan::Plan) -> Option<String> {
    if plan.applicable {
        return None;
    }
    let mut why: Vec<String> = plan
        .packages
        .iter()
        .flat_map(|p| &p.checks)
        .chain(&plan.policy)
        .filter(|c| c.outcome.fails())
        .map(|c| format!("{}: {}", c.rule, c.detail))
        .collect();
    why.extend(plan.devices.iter().filter_map(|d| {
        d.detail
            .as_ref()
            .map(|detail| format!("{}: {detail}", d.device))
    }));
    if why.is_empty() {
        why.push("no device of the inventory takes it".to_owned());
    }
    Some(format!(
        "the plan for this inventory rejects the package ({}): {}",
        super::plan::outcome(plan),
        why.join("; ")
    ))
}

fn parse_arg(arg: &OsString) -> Result<Arg> {
    let bytes = arg.as_encoded_bytes();
    if !bytes.contains(&b'{') && !bytes.contains(&b'}') {
        return Ok(Arg::Plain(arg.clone()));
    }
    let Some(text) = arg.to_str() else {
        bail!(
            "{}: an argument with braces must be UTF-8",
            arg.to_string_lossy()
        );
    };
    template::parse(text)
        .map(Arg::Template)
        .map_err(|e| anyhow::anyhow!("usage: {e}"))
}

/// Refuse, resolve, then (unless --dry-run) run.
fn decide_and_run(
    handoff: &Handoff,
    args: &ExecArgs,
    (program, templates): (&OsString, &[Arg]),
    signals: &Signals,
) -> Ran {
    if let Some(reason) = handoff.refusal(args.no_verify, args.common.trust.require_signature) {
        return Ran::Refused(reason);
    }
    let mut argv = Vec::with_capacity(templates.len());
    for arg in templates {
        match arg {
            Arg::Plain(text) => argv.push(text.clone()),
            Arg::Template(pieces) => match handoff.resolve(pieces) {
                Ok(text) => argv.push(OsString::from(text)),
                Err(reason) => return Ran::Usage(reason),
            },
        }
    }
    let mut line = vec![program.clone()];
    line.extend(argv.iter().cloned());
    if args.dry_run {
        return Ran::DryRun(line);
    }
    if let Some(sig) = signals.pending() {
        return Ran::Refused(format!("signal {sig} arrived before FLASHER started"));
    }
    if let Err(e) = handoff.inherit() {
        return Ran::Refused(format!("cannot pass the memfds on: {e}"));
    }
    let child = match Command::new(program).args(&argv).spawn() {
        Ok(child) => child,
        Err(e) => return Ran::NotStarted { line, error: e },
    };
    match wait(child, signals) {
        Ok(status) => Ran::Exited {
            line,
            status,
            changed: handoff.recheck(),
        },
        Err(e) => Ran::Refused(format!("lost FLASHER: {e}")),
    }
}

/// Wait for FLASHER, passing on the signals fwkit receives meanwhile.
fn wait(mut child: Child, signals: &Signals) -> std::io::Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if let Some(sig) = signals.take() {
            forward(&child, sig);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught instead of ending fwkit.
struct Signals {
    pending: Arc<AtomicUsize>,
}

impl Signals {
    fn register() -> Result<Signals> {
        let pending = Arc::new(AtomicUsize::new(0));
        for sig in CAUGHT {
            signal_hook::flag::register_usize(sig, Arc::clone(&pending), sig as usize)
                .with_context(|| format!("cannot catch signal {sig}"))?;
        }
        Ok(Signals { pending })
    }

    fn pending(&self) -> Option<usize> {
        Some(self.pending.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }

    fn take(&self) -> Option<usize> {
        Some(self.pending.swap(0, Ordering::SeqCst)).filter(|s| *s != 0)
    }
}

const CAUGHT: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Send `sig` to FLASHER. Not yet reaped, so its pid is still its own.
fn forward(child: &Child, sig: usize) {
    use rustix::process::{kill_process, Pid, Signal};
    let signal = match i32::try_from(sig) {
        Ok(signal_hook::consts::SIGINT) => Signal::INT,
        Ok(signal_hook::consts::SIGHUP) => Signal::HUP,
        _ => Signal::TERM,
    };
    let _ = kill_process(Pid::from_child(child), signal);
}

/// The status fwkit exits with after FLASHER exited.
pub fn status_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128_i32.saturating_add(sig),
        (None, None) => REFUSED,
    }
}

/// The status fwkit exits with when FLASHER could not be started.
pub fn spawn_code(error: &std::io::Error) -> i32 {
    match error.kind() {
        std::io::ErrorKind::NotFound => NOT_FOUND,
        _ => NOT_EXECUTABLE,
    }
}
