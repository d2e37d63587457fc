//! `fwkit plan`: which of these packages apply to this inventory, from
//! which version, in which order. Every package is verified as `fwkit
//! verify` would verify it first; a package that does not verify is never
//! applicable. The rules come from each format's vendor metadata
//! ([`rules`]), versions compare as fwupd compares them ([`version`]), and
//! the order is a chain of releases each of whose requirements holds on the
//! version the previous step left (`path`).

pub mod catalog;
mod gaps;
pub mod inventory;
mod matching;
mod path;
pub mod policy;
pub mod redfish;
pub mod rules;
pub mod signer_sections;
pub mod signers;
pub mod version;

use crate::model::Report;
use crate::package::Package;
use crate::verify::VerifyOptions;
use inventory::{Device, Inventory};
use rules::Release;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The most packages one plan reads.
pub const MAX_PACKAGES: usize = 4096;

/// What `fwkit plan` is asked.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// As `fwkit verify` would verify each package.
    pub verify: VerifyOptions,
    /// Apply an older release when no newer one exists (`--allow-downgrade`).
    pub allow_downgrade: bool,
    /// Apply the release the device runs already (`--allow-reinstall`).
    pub allow_reinstall: bool,
    /// The pipeline's policy (`--policy`), if any.
    pub policy: Option<policy::Policy>,
}

/// How one rule came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOutcome {
    /// The rule holds.
    Passed,
    /// The rule does not hold.
    Failed,
    /// Could not be evaluated and matters: a failure (fail closed).
    NotRun,
    /// Could not be evaluated and is reported only (client features).
    NotEvaluated,
    /// Holds but is not used: an older release, a release of a device the
    /// plan reaches past.
    Skipped,
}

impl RuleOutcome {
    /// Whether the outcome fails the plan.
    pub fn fails(self) -> bool {
        matches!(self, RuleOutcome::Failed | RuleOutcome::NotRun)
    }
}

/// One rule of one package.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCheck {
    /// `verify`, `device`, `requires`, `version`, `path`…
    pub rule: String,
    /// How it came out.
    pub outcome: RuleOutcome,
    /// Why, for people.
    pub detail: String,
}

/// What the plan says about one package.
#[derive(Debug, Clone, Serialize)]
pub struct PackagePlan {
    /// The package file.
    pub path: PathBuf,
    /// Its format, as detected.
    pub format: Option<String>,
    /// The vendors it belongs to, by fwkit's names (`dell`, `hpe`…: see
    /// [`signer_sections::VENDORS`]).
    pub vendors: Vec<String>,
    /// Whether it verified as `fwkit verify` would.
    pub verified: bool,
    /// The key ids of the good signatures checked on it.
    pub signers: Vec<String>,
    /// Who made each signature that verified against the given keys, and
    /// whether it covers the whole package.
    pub signed_by: Vec<crate::model::Signer>,
    /// The releases its vendor metadata declares.
    pub releases: Vec<Release>,
    /// Every rule checked, in order.
    pub checks: Vec<RuleCheck>,
}

/// One step of a device's plan.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The package to apply.
    pub package: PathBuf,
    /// The version before the step.
    pub from: String,
    /// The version after it.
    pub to: String,
}

/// How a device's plan came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceOutcome {
    /// Steps to the newest release given.
    PlanFound,
    /// Steps, but a newer release cannot be reached.
    Partial,
    /// No release can be applied from the current version.
    NoPath,
    /// Only the same or older releases, not allowed.
    Refused,
}

/// The plan for one device of the inventory.
#[derive(Debug, Clone, Serialize)]
pub struct DevicePlan {
    /// The device's name.
    pub device: String,
    /// The version it runs now.
    pub current: String,
    /// The version format compared in.
    pub version_format: &'static str,
    /// How it came out.
    pub outcome: DeviceOutcome,
    /// The releases to apply, in order.
    pub steps: Vec<Step>,
    /// Why there is no path or only part of one.
    pub detail: Option<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// True when every package verifies and applies, every device with
    /// releases has a full path, and no rule fails.
    pub applicable: bool,
    /// Its updatable devices.
    pub devices: Vec<DevicePlan>,
    /// Every package named, in order.
    pub packages: Vec<PackagePlan>,
    /// The policy's rules on devices and flags.
    pub policy: Vec<RuleCheck>,
}

/// The key ids of the good signatures among `checks`.
fn signers(checks: &[crate::model::Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| {
            c.kind == crate::model::CheckKind::Signature
                && c.outcome == crate::model::Outcome::Passed
        })
        .filter_map(|c| {
            c.computed
                .as_deref()?
                .strip_prefix("key id ")
                .map(str::to_owned)
        })
        .collect()
}

/// The packages named: files as they are, each entry of a directory.
pub fn expand(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<_>>()?;
            entries.sort();
            out.extend(entries);
        } else {
            out.push(path.clone());
        }
        if out.len() > MAX_PACKAGES {
            return Err(std::io::Error::other(format!(
                "more than {MAX_PACKAGES} packages"
            )));
        }
    }
    Ok(out)
}

/// Verify one package and read its releases.
fn read_package(path: &Path, options: &VerifyOptions) -> PackagePlan {
    let report = Package::open(path).and_then(|p| p.verify(options));
    package_plan(path, report)
}

/// A package's plan from the report of its verification.
/// The signers of the passed signature checks.
fn signed_by(checks: &[crate::model::Check]) -> Vec<crate::model::Signer> {
    checks
        .iter()
        .filter(|c| c.outcome == crate::model::Outcome::Passed)
        .filter_map(|c| c.signer.as_deref().cloned())
        .collect()
}

/// The `verify` rule's outcome and detail from a verdict (`passed`: what
/// a verified package's detail says).
fn verify_rule(verdict: &crate::model::Verdict, passed: &str) -> (RuleOutcome, String) {
    match verdict {
        crate::model::Verdict::Verified => (RuleOutcome::Passed, passed.to_owned()),
        crate::model::Verdict::NotVerified { reasons } => (
            RuleOutcome::Failed,
            format!("not verified: {}", reasons.join("; ")),
        ),
    }
}

fn package_plan(path: &Path, report: crate::error::Result<Report>) -> PackagePlan {
    let mut plan = PackagePlan {
        path: path.to_owned(),
        format: None,
        vendors: Vec::new(),
        verified: false,
        signers: Vec::new(),
        signed_by: Vec::new(),
        releases: Vec::new(),
        checks: Vec::new(),
    };
    let mut gaps = Vec::new();
    let (outcome, detail) = match report {
        Err(e) => (RuleOutcome::NotRun, format!("cannot be read: {e}")),
        Ok(report) => {
            plan.format = Some(report.format.name().to_owned());
            plan.vendors = signer_sections::vendors_of(report.format, &report.vendor);
            plan.signers = signers(&report.checks);
            plan.signed_by = signed_by(&report.checks);
            plan.verified = report.verdict.is_verified();
            plan.releases = rules::releases(&report.vendor);
            gaps = gaps::gaps(&report.vendor);
            verify_rule(&report.verdict, "verified")
        }
    };
    plan.checks.push(RuleCheck {
        rule: "verify".to_owned(),
        outcome,
        detail,
    });
    if plan.verified {
        note_gaps(&mut plan, gaps);
    }
    plan
}

/// A `releases` check naming what is missing: failed when the package
/// gives no release at all, reported only when some devices of a package
/// with releases are left out.
fn note_gaps(plan: &mut PackagePlan, gaps: Vec<String>) {
    let mut why = gaps.join("; ");
    if why.contains("HP") {
        why = format!("{why}; {}", gaps::HP_NOTE);
    }
    let (outcome, detail) = match (plan.releases.is_empty(), gaps.is_empty()) {
        (true, true) => (RuleOutcome::Failed, "declares no release fwkit can read (a version and a device GUID, PCI id or Dell component id)".to_owned()),
        (true, false) => (RuleOutcome::Failed, format!("declares no release fwkit can read: {why}")),
        (false, false) => (RuleOutcome::NotEvaluated, format!("devices left out of the plan: {why}")),
        (false, true) => return,
    };
    plan.checks.push(RuleCheck {
        rule: "releases".to_owned(),
        outcome,
        detail,
    });
}

/// Plan `packages` against `inventory`.
pub fn plan(packages: &[PathBuf], inventory: &Inventory, options: &PlanOptions) -> Plan {
    let packages: Vec<PackagePlan> = packages
        .iter()
        .map(|p| read_package(p, &options.verify))
        .collect();
    plan_packages(packages, inventory, options)
}

/// Plan packages already verified (`fwkit exec --inventory` verifies its
/// package in the pass that hands the bytes on): each path with the report
/// of its verification, or why it could not be read. `options.verify` is
/// not used.
pub fn plan_reports(
    reports: Vec<(PathBuf, crate::error::Result<Report>)>,
    inventory: &Inventory,
    options: &PlanOptions,
) -> Plan {
    let packages = reports
        .into_iter()
        .map(|(path, report)| package_plan(&path, report))
        .collect();
    plan_packages(packages, inventory, options)
}

fn plan_packages(
    mut packages: Vec<PackagePlan>,
    inventory: &Inventory,
    options: &PlanOptions,
) -> Plan {
    let forbid = options.policy.as_ref().is_some_and(|p| p.forbid_downgrade);
    let mut rules = Vec::new();
    if forbid && options.allow_downgrade {
        rules.push(RuleCheck {
            rule: "policy forbid-downgrade".to_owned(),
            outcome: RuleOutcome::Failed,
            detail: "--allow-downgrade given, but the policy forbids downgrades".to_owned(),
        });
    }
    let effective = PlanOptions {
        allow_downgrade: options.allow_downgrade && !forbid,
        ..options.clone()
    };
    let mut devices = Vec::new();
    for device in &inventory.devices {
        let planned = plan_device(device, inventory, &mut packages, &effective);
        if let Some(policy) = &options.policy {
            rules.extend(policy::device_checks(policy, device, planned.as_ref()));
        }
        devices.extend(planned);
    }
    for package in &mut packages {
        note_unmatched(package, inventory);
        if let Some(policy) = &options.policy {
            let checks = policy::package_checks(policy, package);
            package.checks.extend(checks);
        }
    }
    let applicable = !packages.is_empty()
        && packages
            .iter()
            .all(|p| p.verified && !p.checks.iter().any(|c| c.outcome.fails()))
        && devices
            .iter()
            .all(|d| d.outcome == DeviceOutcome::PlanFound)
        && !rules.iter().any(|c| c.outcome.fails());
    Plan {
        applicable,
        devices,
        packages,
        policy: rules,
    }
}

/// A failed `device` check for each verified release no device matches.
fn note_unmatched(package: &mut PackagePlan, inventory: &Inventory) {
    for release in &package.releases {
        let matched = inventory
            .devices
            .iter()
            .any(|d| matching::device_match(release, d) != matching::Match::No);
        if !matched && package.verified {
            package.checks.push(RuleCheck {
                rule: format!("device {}", release.version),
                outcome: RuleOutcome::Failed,
                detail: format!(
                    "no device of the inventory has {}",
                    matching::targets(release)
                ),
            });
        }
    }
}

mod device;
use device::plan_device;
