//! The binary's glue: run a command, hand what it did to render.rs, and
//! choose the exit code, here and nowhere else.

pub mod args;
mod catalog;
#[cfg(target_os = "linux")]
mod exec;
mod options;
mod plan;
mod plan_catalog;
mod render;
mod trust_x509;

use anyhow::{Context, Result};
use args::{Cli, Command};
use fwkit::{Package, Report};
use render::{Action, Reading};

/// Exit codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Verified, or done.
    Success = 0,
    /// The answer is no: not verified, not unpacked.
    NotVerified = 1,
    /// The question could not be answered: a usage error, or input that
    /// cannot be read or recognised (clap exits 2 on its own for bad flags).
    Error = 2,
}

impl Code {
    /// The code for a command that failed with `err`. A reader that went
    /// away (`fwkit inspect x | head -1`) is not an error.
    pub fn of_error(err: &anyhow::Error) -> Code {
        if is_broken_pipe(err) {
            Code::Success
        } else {
            Code::Error
        }
    }

    /// The answer a finished command gives.
    fn of(done: &Done) -> Code {
        match done {
            Done::Report(Reading::Verify, report) if !report.verdict.is_verified() => {
                Code::NotVerified
            }
            Done::Report(Reading::Unpack, report) if report.unpacked.is_none() => Code::NotVerified,
            _ => Code::Success,
        }
    }
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// What a command did: render.rs shows it, [`Code::of`] answers from it.
pub enum Done {
    Report(Reading, Box<Report>),
    Action(Action),
    Completions(clap_complete::Shell),
    Manpage,
}

pub fn run(cli: Cli) -> Result<Code> {
    let (done, mode) = match cli.command {
        Command::Inspect(args) => (inspect(&args)?, options::report_mode(&args.common.show)),
        Command::Verify(args) if args.catalog.catalog.is_some() => return catalog::run(&args),
        Command::Verify(args) => {
            let options = options::verify_command_options(&args)?;
            // With --sha256, a file that is no container is a bare image.
            let package = match options.sha256 {
                Some(_) if args.common.manifest.is_empty() => {
                    Package::open_raw(&args.common.package)?
                }
                _ => open(&args.common)?,
            };
            let report = package.verify(&options)?;
            (
                Done::Report(Reading::Verify, Box::new(report)),
                options::report_mode(&args.common.show),
            )
        }
        Command::Unpack(args) => {
            let options = options::unpack_options(&args)?;
            let report = open(&args.common)?
                .unpack(&args.output, &options)
                .with_context(|| format!("unpacking {}", args.common.package.display()))?;
            (
                Done::Report(Reading::Unpack, Box::new(report)),
                options::report_mode(&args.common.show),
            )
        }
        // exec's status is FLASHER's: it shows its own outcome and exits.
        #[cfg(target_os = "linux")]
        Command::Exec(args) => std::process::exit(exec::run(&args)),
        #[cfg(not(target_os = "linux"))]
        Command::Exec(_) => anyhow::bail!("fwkit exec runs on Linux only for now"),
        // plan shows its own outcome and exits with its own answer.
        Command::Plan(args) => std::process::exit(plan::run(&args)),
        Command::Keygen(args) => (keygen(&args)?, options::action_mode(&args.show)),
        Command::Sign(args) => (sign(&args)?, options::action_mode(&args.show)),
        Command::Pack(args) => (pack(&args)?, options::action_mode(&args.show)),
        Command::Resign(args) => (resign(&args)?, options::action_mode(&args.show)),
        Command::Completions(args) => (
            Done::Completions(args.shell),
            render::Mode::Text(render::Detail::Summary),
        ),
        Command::Manpage => (Done::Manpage, render::Mode::Text(render::Detail::Summary)),
    };
    match render::show(&done, mode) {
        // The answer stands when the reader went away (`fwkit verify x | head -1`).
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    let code = Code::of(&done);
    // The process ends here: a report of 50,000 members takes tens of
    // milliseconds to free, for nothing. It holds no handle or staging
    // directory (unpack placed or removed its tree before returning).
    std::mem::forget(done);
    Ok(code)
}

fn inspect(args: &args::InspectArgs) -> Result<Done> {
    let (verify, unpack) = options::inspect_options(args)?;
    let package = open(&args.common)?;
    let report = match unpack {
        Some(unpack) => {
            // Nested packages are read from their unpacked bytes; the
            // temporary tree is removed afterwards.
            let tmp = tempfile::tempdir().context("creating a temporary directory")?;
            let mut report = package.unpack(tmp.path().join("package"), &unpack)?;
            report.unpacked = None;
            report
        }
        None => package.inspect(&verify)?,
    };
    Ok(Done::Report(Reading::Inspect, Box::new(report)))
}

fn open(common: &args::Common) -> Result<Package> {
    if common.manifest.is_empty() {
        Ok(Package::open(&common.package)?)
    } else {
        Ok(Package::open_set(&common.package, &common.manifest)?)
    }
}

/// A write to a closed pipe (`fwkit inspect x | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Who may read a file the CLI writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Mode 0644.
    Anyone,
    /// Mode 0600 on Unix: a secret key.
    Owner,
}

/// Write `bytes` to a new file, atomically; never replaces one unless
/// `existing` says so (the library's one writer does it).
use fwkit::Existing;

fn write_new(
    path: &std::path::Path,
    bytes: &[u8],
    access: Access,
    existing: Existing,
) -> Result<()> {
    let mode = match access {
        Access::Owner => 0o600,
        Access::Anyone => 0o644,
    };
    fwkit::write_file(path, bytes, mode, existing).map_err(|e| match e {
        fwkit::Error::DestinationExists { path } => {
            anyhow::anyhow!("{} exists; fwkit never overwrites it", path.display())
        }
        other => other.into(),
    })
}

fn keygen(args: &args::KeygenArgs) -> Result<Done> {
    let public_path = fwkit::sign::detached_path(&args.output, "pub");
    let secret_path = fwkit::sign::detached_path(&args.output, "key");
    for path in [&public_path, &secret_path] {
        if path.exists() {
            anyhow::bail!("{} exists; fwkit never overwrites a key", path.display());
        }
    }
    let password = options::keygen_password(args)?;
    let (secret, public) = fwkit::sign::SecretKey::generate()?;
    let secret_text = secret.to_minisign_string(password.as_deref())?;
    write_new(
        &secret_path,
        secret_text.as_bytes(),
        Access::Owner,
        Existing::Keep,
    )?;
    write_new(
        &public_path,
        public.to_minisign_string().as_bytes(),
        Access::Anyone,
        Existing::Keep,
    )?;
    Ok(Done::Action(Action::Keygen {
        key_id: public.key_id.to_string(),
        public_key: public_path,
        secret_key: secret_path,
        encrypted: password.is_some(),
    }))
}

fn sign(args: &args::SignArgs) -> Result<Done> {
    let secret = options::secret_key(&args.key)?;
    let options = options::sign_options(args);
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let signature = fwkit::sign::sign(&secret, std::io::BufReader::new(file), &options)?;
    let out = fwkit::sign::detached_path(&args.file, "minisig");
    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Keep
    };
    write_new(
        &out,
        signature.to_file_string().as_bytes(),
        Access::Anyone,
        existing,
    )?;
    Ok(Done::Action(Action::Sign {
        file: args.file.clone(),
        signature: out,
        key_id: secret.key_id().to_string(),
        trusted_comment: options.trusted_comment,
    }))
}

fn pack(args: &args::PackArgs) -> Result<Done> {
    if args.format == "catalog" {
        return catalog::pack(args);
    }
    let options = options::pack_options(args)?;
    let report = fwkit::pack::pack(&args.source, &args.output, &options)
        .with_context(|| format!("packing {}", args.source.display()))?;
    Ok(Done::Action(Action::Pack {
        source: args.source.clone(),
        output: report.output,
        files: report.files,
        manifest_sha256: report.manifest_sha256,
        signed_by: report.signed_by,
    }))
}

fn resign(args: &args::ResignArgs) -> Result<Done> {
    let key = options::secret_key(&args.key)?;
    let report = fwkit::pack::resign(&args.package, &key)
        .with_context(|| format!("re-signing {}", args.package.display()))?;
    Ok(Done::Action(Action::Resign {
        package: report.output,
        key_id: key.key_id().to_string(),
        manifest_sha256: report.manifest_sha256,
    }))
}
