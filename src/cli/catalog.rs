//! `fwkit verify --catalog CATALOG DIR`: flags become `CatalogOptions`, the
//! library streams entries, render/catalog.rs shows them, and the exit code
//! is decided here: 0 every entry and the catalogue verified, 1 not, 2 the
//! catalogue could not be read.

use super::args::VerifyArgs;
use super::render::catalog::Output;
use super::{options, Code};
use anyhow::{Context, Result};
use fwkit::catalog::{CatalogOptions, Shard, Strictness};

pub fn run(args: &VerifyArgs) -> Result<Code> {
    let Some(catalogue) = args.catalog.catalog.as_deref() else {
        anyhow::bail!("--catalog is missing");
    };
    if !args.common.manifest.is_empty() {
        anyhow::bail!("--manifest and --catalog cannot be used together");
    }
    let mut verify = options::verify_command_options(args)?;
    // --sha256 pins the catalogue; each package is pinned by its entry.
    let pin = verify.sha256.take();
    verify.progress = None;
    let shard = match args.catalog.shard.as_deref() {
        Some(text) => Some(Shard::parse(text).with_context(|| format!("--shard {text}"))?),
        None => None,
    };
    let options = CatalogOptions {
        verify,
        sha256: pin,
        max_catalog: options::parse_size(&args.catalog.max_catalog)
            .with_context(|| format!("--max-catalog {}", args.catalog.max_catalog))?,
        jobs: args.catalog.jobs.unwrap_or(0),
        shard,
        strict: if args.catalog.strict {
            Strictness::Fail
        } else {
            Strictness::Warn
        },
    };
    let dir = &args.common.package;
    if !dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory (with --catalog, give the mirror's directory)",
            dir.display()
        );
    }
    let mut output = Output::new(options::report_mode(&args.common.show), &args.common.show);
    let report = fwkit::catalog::verify(catalogue, dir, &options, &mut |event| {
        output.event(event).map_err(|source| fwkit::Error::Write {
            path: "standard output".into(),
            source,
        })
    })
    .with_context(|| {
        format!(
            "verifying {} against {}",
            dir.display(),
            catalogue.display()
        )
    })?;
    match output.summary(&report) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the summary")?,
    }
    Ok(if report.verdict.is_verified() {
        Code::Success
    } else {
        Code::NotVerified
    })
}
