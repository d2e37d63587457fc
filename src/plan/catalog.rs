//! `fwkit plan --catalog CATALOG DIR`: the mirror is checked as `fwkit
//! verify --catalog` checks it ([`crate::catalog::verify`]: the catalogue's
//! pin or signature first, then every entry's path, size, digest and
//! package), and every entry that verifies becomes a plan candidate with
//! the facts the catalogue states for it: its version, its systems
//! (`SupportedSystems` `systemID`s) and its devices (`componentID`s,
//! `PCIInfo`). Those facts become the same [`Release`]s a package's own
//! metadata would give, and the candidates go through the same planner
//! ([`super::plan_reports`]'s path).
//!
//! The package's own metadata, when it has some (a Dell `.BIN`'s package
//! XML, an LVFS cabinet's metainfo), must agree with the catalogue: a
//! version, a set of systemIDs, component ids or PCI ids stated by both
//! and different is a failed `catalogue agrees` check naming both. A fact
//! only one side states is taken from that side (an LVFS entry's device
//! GUIDs come from its cabinet).
//!
//! An entry that does not verify, or whose catalogue did not verify, is
//! never applicable and fails the plan. An entry that verifies but whose
//! release is for another system or for no device of the inventory is
//! reported not applicable (`applicable`, not evaluated) and does not fail
//! the plan: a mirror holds packages for many systems.

use super::inventory::Inventory;
use super::matching::{self, same_id, show_pci, Match};
use super::rules::{Release, Requirement};
use super::{PackagePlan, Plan, PlanOptions, RuleCheck, RuleOutcome};
use crate::catalog::{CatalogOptions, CatalogReport, DellComponent, EntryReport, Event};
use crate::error::Result;
use crate::model::{Outcome, PciIds};
use std::path::Path;

/// What `fwkit plan --catalog` found.
#[derive(Debug, Clone)]
pub struct CatalogPlan {
    /// The plan: the catalogue itself first (its checks as rules), then
    /// every entry of the catalogue in catalogue order.
    pub plan: Plan,
    /// What verifying the mirror found (counts, the catalogue's checks).
    pub catalogue: CatalogReport,
}

/// How an entry takes part in the plan.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Verified, agrees with its package, for this inventory: planned.
    Candidate,
    /// Verified and agrees, but for another system or other devices.
    NotApplicable,
    /// Did not verify, or disagrees with its package: fails the plan.
    Failed,
}

/// Verify the mirror `dir` against `catalogue` and plan its entries for
/// `inventory`. `Err` when the catalogue cannot be read or parsed.
pub fn plan_catalog(
    catalogue: &Path,
    dir: &Path,
    catalog: &CatalogOptions,
    inventory: &Inventory,
    options: &PlanOptions,
) -> Result<CatalogPlan> {
    let mut entries: Vec<PackagePlan> = Vec::new();
    let report = crate::catalog::verify(catalogue, dir, catalog, &mut |event| {
        if let Event::Entry(entry) = event {
            entries.push(entry_plan(dir, entry));
        }
        Ok(())
    })?;
    let head = catalogue_plan(&report);
    let trusted = head.verified;
    let mut roles = Vec::with_capacity(entries.len());
    let mut candidates = Vec::new();
    let mut others = Vec::new();
    for mut entry in entries {
        let role = role(&mut entry, trusted, inventory);
        roles.push(role);
        if role == Role::Candidate {
            candidates.push(entry);
        } else {
            others.push(entry);
        }
    }
    let any = !candidates.is_empty();
    let planned = super::plan_packages(candidates, inventory, options);
    let others_fail = others
        .iter()
        .any(|p| !p.verified || p.checks.iter().any(|c| c.outcome.fails()));
    let mut planned_iter = planned.packages.into_iter();
    let mut others_iter = others.into_iter();
    let mut packages = vec![head];
    for role in roles {
        let next = match role {
            Role::Candidate => planned_iter.next(),
            Role::NotApplicable | Role::Failed => others_iter.next(),
        };
        packages.extend(next);
    }
    let plan = Plan {
        applicable: any && planned.applicable && trusted && !others_fail,
        devices: planned.devices,
        packages,
        policy: planned.policy,
    };
    Ok(CatalogPlan {
        plan,
        catalogue: report,
    })
}

/// The catalogue's own checks (pin or signature, unlisted files) as the
/// rules of a first "package": the catalogue file.
fn catalogue_plan(report: &CatalogReport) -> PackagePlan {
    let checks: Vec<RuleCheck> = report
        .checks
        .iter()
        .map(|c| RuleCheck {
            rule: format!("catalogue {}", c.covers),
            outcome: match c.outcome {
                Outcome::Passed => RuleOutcome::Passed,
                Outcome::Failed => RuleOutcome::Failed,
                Outcome::NotRun => RuleOutcome::NotRun,
                Outcome::Info => RuleOutcome::NotEvaluated,
            },
            detail: c.summary(),
        })
        .collect();
    PackagePlan {
        path: report.catalogue.clone(),
        format: Some(format!("{}-catalogue", report.kind)),
        verified: !checks.iter().any(|c| c.outcome.fails()),
        signers: super::signers(&report.checks),
        signed_by: Vec::new(),
        vendors: Vec::new(),
        releases: Vec::new(),
        checks,
    }
}

/// One entry as a package of the plan: its verification, and its releases
/// from the catalogue's facts checked against the package's own.
fn entry_plan(dir: &Path, entry: &EntryReport) -> PackagePlan {
    let mut plan = PackagePlan {
        path: dir.join(&entry.path),
        format: entry.format.map(|f| f.name().to_owned()),
        verified: entry.verdict.is_verified(),
        signers: super::signers(&entry.checks),
        signed_by: super::signed_by(&entry.checks),
        vendors: entry
            .format
            .map(|f| super::signer_sections::vendors_of(f, &entry.vendor))
            .unwrap_or_default(),
        releases: Vec::new(),
        checks: Vec::new(),
    };
    let (outcome, detail) = super::verify_rule(
        &entry.verdict,
        "verified as verify --catalog verifies it: path, size and digest against the catalogue, then the package",
    );
    plan.checks.push(RuleCheck {
        rule: "verify".to_owned(),
        outcome,
        detail,
    });
    if !plan.verified {
        return plan;
    }
    let (releases, disagreements) = merge(&entry.dell, super::rules::releases(&entry.vendor));
    for detail in disagreements {
        plan.checks.push(RuleCheck {
            rule: "catalogue agrees".to_owned(),
            outcome: RuleOutcome::Failed,
            detail,
        });
    }
    plan.releases = releases;
    super::note_gaps(&mut plan, super::gaps::gaps(&entry.vendor));
    plan
}

/// Decide an entry's role; a verified entry of an untrusted catalogue is
/// marked not verified, one not for this inventory says why.
fn role(entry: &mut PackagePlan, trusted: bool, inventory: &Inventory) -> Role {
    if !trusted && entry.verified {
        entry.verified = false;
        entry.checks.push(RuleCheck {
            rule: "catalogue".to_owned(),
            outcome: RuleOutcome::Failed,
            detail:
                "the catalogue did not verify (its pin or signature): no entry of it is applicable"
                    .to_owned(),
        });
    }
    if !entry.verified || entry.checks.iter().any(|c| c.outcome.fails()) {
        return Role::Failed;
    }
    match not_for(&entry.releases, inventory) {
        None => Role::Candidate,
        Some(why) => {
            entry.checks.push(RuleCheck {
                rule: "applicable".to_owned(),
                outcome: RuleOutcome::NotEvaluated,
                detail: format!("not applicable: {why}"),
            });
            Role::NotApplicable
        }
    }
}

/// Why no release of an entry is for this inventory, or `None` when one is
/// (or may be: a systemID the inventory does not state is left to the
/// planner, which fails closed on it).
fn not_for(releases: &[Release], inventory: &Inventory) -> Option<String> {
    let mut why = Vec::new();
    for release in releases {
        let system = release.requires.iter().find_map(|r| match r {
            Requirement::DellSystem { any_of } => Some(matching::dell_system(any_of, inventory)),
            _ => None,
        });
        if let Some((RuleOutcome::Failed, detail)) = system {
            why.push(detail);
            continue;
        }
        let device = inventory
            .devices
            .iter()
            .any(|d| matching::device_match(release, d) != Match::No);
        if !device {
            why.push(format!(
                "no device of the inventory has {}",
                matching::targets(release)
            ));
            continue;
        }
        return None;
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// The release the catalogue states: `vendorVersion`, the `systemID`s as a
/// requirement, the devices' component ids and PCI ids.
fn catalogue_release(facts: &DellComponent) -> Option<Release> {
    let version = facts.vendor_version.as_deref()?.trim();
    if version.is_empty() {
        return None;
    }
    let mut requires = Vec::new();
    if !facts.system_ids.is_empty() {
        requires.push(Requirement::DellSystem {
            any_of: facts.system_ids.clone(),
        });
    }
    Some(Release {
        source: "catalogue",
        name: facts.name.clone(),
        version: version.to_owned(),
        devices: Vec::new(),
        pci: facts
            .devices
            .iter()
            .flat_map(|d| d.pci.iter().cloned())
            .collect(),
        component_ids: facts
            .devices
            .iter()
            .filter_map(|d| d.component_id.clone())
            .collect(),
        requires,
    })
}

/// The releases to plan and every disagreement between the catalogue's
/// facts and the package's own releases `own`.
fn merge(facts: &DellComponent, own: Vec<Release>) -> (Vec<Release>, Vec<String>) {
    let Some(cat) = catalogue_release(facts) else {
        return (own, Vec::new());
    };
    if own.is_empty() {
        return (vec![cat], Vec::new());
    }
    let mut bad = Vec::new();
    let mut out = Vec::with_capacity(own.len());
    for mut release in own {
        let theirs = format!("the package's {} metadata says", release.source);
        if release.version.trim() != cat.version {
            bad.push(format!(
                "version: the catalogue says {}, {theirs} {}",
                cat.version, release.version
            ));
        }
        let cat_systems = systems(&cat.requires);
        let own_systems = systems(&release.requires);
        if own_systems.is_empty() {
            release.requires.extend(cat.requires.iter().cloned());
        } else if !cat_systems.is_empty()
            && !same_set(&cat_systems, &own_systems, |a, b| same_id(a, b))
        {
            bad.push(format!(
                "systemID: the catalogue says {}, {theirs} {}",
                cat_systems.join(", "),
                own_systems.join(", ")
            ));
        }
        if release.component_ids.is_empty() {
            release.component_ids.clone_from(&cat.component_ids);
        } else if !cat.component_ids.is_empty()
            && !same_set(&cat.component_ids, &release.component_ids, |a, b| {
                same_id(a, b)
            })
        {
            bad.push(format!(
                "componentID: the catalogue says {}, {theirs} {}",
                cat.component_ids.join(", "),
                release.component_ids.join(", ")
            ));
        }
        if release.pci.is_empty() {
            release.pci.clone_from(&cat.pci);
        } else if !cat.pci.is_empty() && !same_set(&cat.pci, &release.pci, same_pci) {
            let show = |p: &[PciIds]| p.iter().map(show_pci).collect::<Vec<_>>().join(", ");
            bad.push(format!(
                "PCI ids: the catalogue says {}, {theirs} {}",
                show(&cat.pci),
                show(&release.pci)
            ));
        }
        out.push(release);
    }
    (out, bad)
}

/// The systemIDs a release requires.
fn systems(requires: &[Requirement]) -> Vec<String> {
    requires
        .iter()
        .flat_map(|r| match r {
            Requirement::DellSystem { any_of } => any_of.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// Every item of each side has an equal one on the other.
fn same_set<T>(a: &[T], b: &[T], same: fn(&T, &T) -> bool) -> bool {
    a.iter().all(|x| b.iter().any(|y| same(x, y))) && b.iter().all(|y| a.iter().any(|x| same(x, y)))
}

fn same_pci(a: &PciIds, b: &PciIds) -> bool {
    let eq = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => same_id(x, y),
        _ => false,
    };
    eq(&a.vendor, &b.vendor)
        && eq(&a.device, &b.device)
        && eq(&a.subsystem_vendor, &b.subsystem_vendor)
        && eq(&a.subsystem_device, &b.subsystem_device)
}
