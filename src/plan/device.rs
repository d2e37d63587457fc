//! The plan for one device: the releases meant for it, their requirements
//! on the rest of the system, and the route through their versions.

use super::matching::{dell_system, device_match, Match};
use super::path::{route, Allow, Candidate, Route};
use super::rules::{Predicate, Requirement};
use super::{
    Device, DeviceOutcome, DevicePlan, Inventory, PackagePlan, PlanOptions, RuleCheck, RuleOutcome,
    Step,
};

/// A release the device can take as far as the rest of the system goes:
/// its package, its requirements on the device's own version, its version.
struct Usable {
    package: usize,
    needs: Vec<Predicate>,
    version: String,
}

/// Plan `device`, adding the rule checks of its releases to `packages`;
/// `None` when no verified package has a release for it.
pub(super) fn plan_device(
    device: &Device,
    inventory: &Inventory,
    packages: &mut [PackagePlan],
    options: &PlanOptions,
) -> Option<DevicePlan> {
    let usable = usable(device, inventory, packages)?;
    let format = device.format();
    let candidates: Vec<Candidate> = usable
        .iter()
        .map(|u| Candidate {
            version: u.version.clone(),
            needs: u.needs.clone(),
        })
        .collect();
    let allow = Allow {
        downgrade: options.allow_downgrade,
        reinstall: options.allow_reinstall,
    };
    let (outcome, order, detail) = match route(&device.version, format, &candidates, allow) {
        Route::Steps { steps, gap: None } => (DeviceOutcome::PlanFound, steps, None),
        Route::Steps { steps, gap } => (DeviceOutcome::Partial, steps, gap),
        Route::NoPath(why) => (DeviceOutcome::NoPath, Vec::new(), Some(why)),
        Route::Refused(why) => (DeviceOutcome::Refused, Vec::new(), Some(why)),
    };
    let steps = record_steps(device, &usable, &order, packages);
    let last = steps
        .last()
        .map_or(device.version.as_str(), |s| s.to.as_str());
    let (result, why) = match (outcome, &detail) {
        (DeviceOutcome::PlanFound, _) => (
            RuleOutcome::Skipped,
            format!("not needed: the plan for {} ends at {last}", device.name),
        ),
        (_, why) => (RuleOutcome::Failed, why.clone().unwrap_or_default()),
    };
    for (i, u) in usable.iter().enumerate() {
        if order.contains(&i) {
            continue;
        }
        let package = packages.get_mut(u.package)?;
        for need in &u.needs {
            let check = requires_check(need, &u.version, &device.version, result);
            package.checks.push(check);
        }
        package.checks.push(RuleCheck {
            rule: format!("path {}", u.version),
            outcome: result,
            detail: why.clone(),
        });
    }
    Some(DevicePlan {
        device: device.name.clone(),
        current: device.version.clone(),
        version_format: format.name(),
        outcome,
        steps,
        detail,
    })
}

/// The releases of verified packages meant for `device` whose requirements
/// on the rest of the system hold, each checked into its package; `None`
/// when there is none for the device at all.
fn usable(
    device: &Device,
    inventory: &Inventory,
    packages: &mut [PackagePlan],
) -> Option<Vec<Usable>> {
    let mut any = false;
    let mut usable = Vec::new();
    for (index, package) in packages.iter_mut().enumerate() {
        if !package.verified {
            continue;
        }
        let releases: Vec<_> = package
            .releases
            .iter()
            .filter_map(|r| match device_match(r, device) {
                Match::Yes(how) => Some((Ok(how), r.clone())),
                Match::Unknown(why) => Some((Err(why), r.clone())),
                Match::No => None,
            })
            .collect();
        for (matched, release) in releases {
            any = true;
            let how = match matched {
                Ok(how) => how,
                Err(why) => {
                    package.checks.push(RuleCheck {
                        rule: format!("device {}", release.version),
                        outcome: RuleOutcome::NotRun,
                        detail: why,
                    });
                    continue;
                }
            };
            package.checks.push(RuleCheck {
                rule: format!("device {}", release.version),
                outcome: RuleOutcome::Passed,
                detail: format!("for {} ({how})", device.name),
            });
            let mut holds = true;
            for requirement in &release.requires {
                if let Some(check) = system_rule(requirement, &release.version, inventory) {
                    holds &= !check.outcome.fails();
                    package.checks.push(check);
                }
            }
            if holds {
                usable.push(Usable {
                    package: index,
                    needs: self_needs(&release.requires),
                    version: release.version,
                });
            }
        }
    }
    any.then_some(usable)
}

/// The steps of `order`, each checked into its package.
fn record_steps(
    device: &Device,
    usable: &[Usable],
    order: &[usize],
    packages: &mut [PackagePlan],
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut from = device.version.clone();
    for (n, u) in order.iter().filter_map(|&i| usable.get(i)).enumerate() {
        let Some(package) = packages.get_mut(u.package) else {
            continue;
        };
        for need in &u.needs {
            let check = requires_check(need, &u.version, &from, RuleOutcome::Passed);
            package.checks.push(check);
        }
        package.checks.push(RuleCheck {
            rule: format!("path {}", u.version),
            outcome: RuleOutcome::Passed,
            detail: format!(
                "step {} for {}: {from} -> {}",
                n.saturating_add(1),
                device.name,
                u.version
            ),
        });
        steps.push(Step {
            package: package.path.clone(),
            from: from.clone(),
            to: u.version.clone(),
        });
        from.clone_from(&u.version);
    }
    steps
}

/// The predicates a release puts on the device's own version.
fn self_needs(requires: &[Requirement]) -> Vec<Predicate> {
    requires
        .iter()
        .filter_map(|r| match r {
            Requirement::SelfVersion { predicate } => Some(predicate.clone()),
            _ => None,
        })
        .collect()
}

fn requires_check(need: &Predicate, version: &str, at: &str, outcome: RuleOutcome) -> RuleCheck {
    RuleCheck {
        rule: format!("requires {version}: device {}", need.show()),
        outcome,
        detail: format!("evaluated on {at}"),
    }
}

/// The check of a requirement on the rest of the system; `None` for one on
/// the device's own version (the route decides those).
fn system_rule(
    requirement: &Requirement,
    version: &str,
    inventory: &Inventory,
) -> Option<RuleCheck> {
    let hwids = &inventory.system.hwids;
    let (rule, outcome, detail) = match requirement {
        Requirement::SelfVersion { .. } => return None,
        Requirement::OtherDevice { guid, predicate } => {
            other_device(guid, predicate.as_ref(), inventory)
        }
        Requirement::Hardware { any_of } | Requirement::NotHardware { any_of } => {
            let wanted = matches!(requirement, Requirement::Hardware { .. });
            let found = any_of
                .iter()
                .any(|h| hwids.iter().any(|x| x.eq_ignore_ascii_case(h)));
            let name = if wanted { "hardware" } else { "not_hardware" };
            let outcome = match (hwids.is_empty(), found == wanted) {
                (true, _) => RuleOutcome::NotRun,
                (false, true) => RuleOutcome::Passed,
                (false, false) => RuleOutcome::Failed,
            };
            let detail = if hwids.is_empty() {
                "the inventory lists no system.hwids".to_owned()
            } else {
                format!("any of {}", any_of.join(" | "))
            };
            (name.to_owned(), outcome, detail)
        }
        Requirement::RomFamily { any_of } => {
            let family = inventory.system.hp_rom_family.as_deref();
            let outcome = match family {
                None => RuleOutcome::NotRun,
                Some(f) if any_of.iter().any(|a| a.eq_ignore_ascii_case(f.trim())) => {
                    RuleOutcome::Passed
                }
                Some(_) => RuleOutcome::Failed,
            };
            let detail = format!(
                "the package is for ROM family {}; the system is {}",
                any_of.join(", "),
                family.unwrap_or("not stated (system.hp_rom_family)")
            );
            ("rom-family".to_owned(), outcome, detail)
        }
        Requirement::DellSystem { any_of } => {
            let (outcome, detail) = dell_system(any_of, inventory);
            ("dell-system".to_owned(), outcome, detail)
        }
        Requirement::NotEvaluated { what, fatal } => (
            "not-evaluated".to_owned(),
            if *fatal {
                RuleOutcome::NotRun
            } else {
                RuleOutcome::NotEvaluated
            },
            format!("{what}: cannot be evaluated from an inventory"),
        ),
    };
    Some(RuleCheck {
        rule: format!("requires {version}: {rule}"),
        outcome,
        detail,
    })
}

fn other_device(
    guid: &str,
    predicate: Option<&Predicate>,
    inventory: &Inventory,
) -> (String, RuleOutcome, String) {
    let rule = format!(
        "firmware {guid} {}",
        predicate.map(Predicate::show).unwrap_or_default()
    );
    let Some(other) = inventory.devices.iter().find(|d| d.has_guid(guid)) else {
        return (
            rule,
            RuleOutcome::Failed,
            "no device of the inventory has this GUID".to_owned(),
        );
    };
    let outcome = match predicate.map(|p| p.holds(&other.version, other.format())) {
        None | Some(Ok(true)) => RuleOutcome::Passed,
        Some(Ok(false)) => RuleOutcome::Failed,
        Some(Err(e)) => return (rule, RuleOutcome::NotRun, e),
    };
    (
        rule,
        outcome,
        format!("{} runs {}", other.name, other.version),
    )
}
