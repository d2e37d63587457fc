//! `fwkit plan --catalog CATALOG DIR --inventory INV.json`: the flags become
//! `CatalogOptions` as for `verify --catalog` (`--sha256` pins the
//! catalogue, `--key` checks its signature and the packages' `.sign`), the
//! library verifies the mirror and plans its entries, and the plan is shown
//! as `fwkit plan` shows it, with a `catalogue` summary in `--json`.

use super::args::PlanArgs;
use anyhow::{Context, Result};
use fwkit::plan::{self, inventory::Inventory, policy::Policy};
use std::path::Path;

/// Run `plan --catalog`; the exit status (as `plan`).
pub fn run(
    args: &PlanArgs,
    catalogue: &Path,
    inventory: &Inventory,
    policy: Option<Policy>,
) -> Result<i32> {
    let [dir] = args.packages.as_slice() else {
        anyhow::bail!("with --catalog, give exactly one directory: the mirror the catalogue lists");
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory (with --catalog, give the mirror's directory)",
            dir.display()
        );
    }
    let sha256 = match args.sha256.as_deref() {
        Some(text) => Some(
            fwkit::parse_sha256(text)
                .with_context(|| format!("--sha256 {text}: not 64 hexadecimal digits"))?,
        ),
        None => None,
    };
    let verify = super::options::plan_verify_options(args)?;
    let options = super::options::catalog_options(
        verify,
        sha256,
        &args.catalog_limits.max_catalog,
        args.catalog_limits.max_catalog_entries,
    )?;
    let plan_options = plan::PlanOptions {
        verify: options.verify.clone(),
        allow_downgrade: args.allow_downgrade,
        allow_reinstall: args.allow_reinstall,
        policy,
    };
    let found = plan::catalog::plan_catalog(catalogue, dir, &options, inventory, &plan_options)
        .with_context(|| format!("planning {} against {}", dir.display(), catalogue.display()))?;
    let report = &found.catalogue;
    let summary = serde_json::json!({
        "catalogue": report.catalogue,
        "kind": report.kind,
        "directory": report.directory,
        "entries": report.entries,
        "verified": report.verified,
        "weak": report.weak,
        "unlisted": report.unlisted,
        "checks": report.checks,
        "verdict": report.verdict,
    });
    super::plan::show(args, &found.plan, Some(summary))
}
