//! The binary's glue: run a command, render its report, choose the exit code.

pub mod args;
mod options;
mod render;

use anyhow::{Context, Result};
use args::{Cli, Command};
use fwkit::{Package, UnpackOptions};

/// Exit codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Verified = 0,
    NotVerified = 1,
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

pub fn run(cli: Cli) -> Result<Code> {
    match cli.command {
        Command::Inspect(args) => {
            let options = options::verify_options(&args.common, None, true)?;
            let package = open(&args.common)?;
            let report = package.inspect(&options)?;
            shown(render::emit(&report, "inspect", args.common.json))?;
            Ok(Code::Verified)
        }
        Command::Verify(args) => {
            let options = options::verify_options(&args.common, args.sha256.as_deref(), false)?;
            let package = open(&args.common)?;
            let report = package.verify(&options)?;
            shown(render::emit(&report, "verify", args.common.json))?;
            Ok(if report.verdict.is_verified() {
                Code::Verified
            } else {
                Code::NotVerified
            })
        }
        Command::Unpack(args) => {
            let verify = options::verify_options(&args.common, args.sha256.as_deref(), false)?;
            let package = open(&args.common)?;
            let options = UnpackOptions {
                verify,
                no_verify: args.no_verify,
            };
            let report = package
                .unpack(&args.output, &options)
                .with_context(|| format!("unpacking {}", args.common.package.display()))?;
            shown(render::emit(&report, "unpack", args.common.json))?;
            Ok(if report.unpacked.is_some() {
                Code::Verified
            } else {
                Code::NotVerified
            })
        }
    }
}

/// A reader that went away (`fwkit verify x | head -1`) does not change the answer.
fn shown(result: Result<()>) -> Result<()> {
    match result {
        Err(err) if is_broken_pipe(&err) => Ok(()),
        other => other,
    }
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
