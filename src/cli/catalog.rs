//! `fwkit verify --catalog CATALOG DIR`: flags become `CatalogOptions`, the
//! library streams entries, render/catalog.rs shows them, and the exit code
//! is decided here: 0 every entry and the catalogue verified, 1 not, 2 the
//! catalogue could not be read.

use super::args::{PackArgs, VerifyArgs};
use super::render::catalog::Output;
use super::render::Action;
use super::{options, write_new, Access, Code, Done, Existing};
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
    let shard = match args.catalog.shard.as_deref() {
        Some(text) => Some(Shard::parse(text).with_context(|| format!("--shard {text}"))?),
        None => None,
    };
    let options = CatalogOptions {
        jobs: args.catalog.jobs.unwrap_or(0),
        shard,
        strict: if args.catalog.strict {
            Strictness::Fail
        } else {
            Strictness::Warn
        },
        ..options::catalog_options(
            verify,
            pin,
            &args.catalog.limits.max_catalog,
            args.catalog.limits.max_catalog_entries,
        )?
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

/// `fwkit pack --format catalog DIR -o CATALOG [--sign KEY]`: fwkit's own
/// catalogue of every file in DIR, and `CATALOG.minisig` when signed.
pub fn pack(args: &PackArgs) -> Result<Done> {
    let index = fwkit::catalog::own::index(&args.source)
        .with_context(|| format!("indexing {}", args.source.display()))?;
    let mut bytes = serde_json::to_vec_pretty(&index).context("writing the catalogue")?;
    bytes.push(b'\n');
    let secret = match &args.sign {
        Some(key) => Some(options::secret_key(key)?),
        None => None,
    };
    write_new(&args.output, &bytes, Access::Anyone, Existing::Keep)?;
    let signed_by = match secret {
        Some(secret) => {
            let sign = fwkit::sign::SignOptions {
                trusted_comment: format!("fwkit catalogue of {} files", index.entries.len()),
                ..fwkit::sign::SignOptions::default()
            };
            let signature = fwkit::sign::sign(&secret, bytes.as_slice(), &sign)?;
            let out = fwkit::sign::detached_path(&args.output, "minisig");
            write_new(
                &out,
                signature.to_file_string().as_bytes(),
                Access::Anyone,
                Existing::Keep,
            )?;
            Some(secret.key_id().to_string())
        }
        None => None,
    };
    use sha2::Digest as _;
    Ok(Done::Action(Action::Pack {
        source: args.source.clone(),
        output: args.output.clone(),
        files: index.entries.len(),
        manifest_sha256: fwkit::hex(&sha2::Sha256::digest(&bytes)),
        signed_by,
    }))
}
