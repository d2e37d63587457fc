//! Upgrade paths: from a device's current version, which releases can be
//! applied one after another (each release's own version requirements must
//! hold on the version the previous step left), up to the newest reachable.

use super::rules::Predicate;
use super::version::{compare, VersionFormat};
use std::cmp::Ordering;
use std::collections::VecDeque;

/// One release that could be applied to the device.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub version: String,
    /// What the device's own version must satisfy first.
    pub needs: Vec<Predicate>,
}

/// What is allowed besides upgrades.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allow {
    pub downgrade: bool,
    pub reinstall: bool,
}

/// The answer for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Apply these candidates (indexes) in order; `gap` names what is
    /// missing when a newer release exists but cannot be reached.
    Steps {
        steps: Vec<usize>,
        gap: Option<String>,
    },
    /// Nothing reachable; why.
    NoPath(String),
    /// Only the same or older versions, not allowed; why.
    Refused(String),
}

/// Whether every predicate holds on `version`.
fn fits(needs: &[Predicate], version: &str, format: VersionFormat) -> bool {
    needs.iter().all(|p| p.holds(version, format) == Ok(true))
}

/// Plan the steps from `current` over `candidates`.
pub fn route(
    current: &str,
    format: VersionFormat,
    candidates: &[Candidate],
    allow: Allow,
) -> Route {
    let order = |c: &Candidate| compare(&c.version, current, format);
    let newer: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            candidates
                .get(i)
                .is_some_and(|c| order(c) == Ordering::Greater)
        })
        .collect();
    if newer.is_empty() {
        return sideways(current, format, candidates, allow);
    }
    let parents = reach(current, format, candidates);
    let best = newest(
        format,
        candidates,
        (0..candidates.len()).filter(|i| parents.get(*i).is_some_and(Option::is_some)),
    );
    let top = newest(format, candidates, newer.iter().copied());
    let Some(best) = best else {
        return NoPath(explain(current, format, candidates, top));
    };
    let mut steps = vec![best];
    let mut at = best;
    while let Some(Some(Some(prev))) = parents.get(at) {
        steps.push(*prev);
        at = *prev;
        if steps.len() > candidates.len() {
            break;
        }
    }
    steps.reverse();
    let reached = candidates.get(best).map_or(current, |c| c.version.as_str());
    let gap = match (
        top,
        candidates.get(best),
        top.and_then(|t| candidates.get(t)),
    ) {
        (Some(t), Some(b), Some(tc))
            if compare(&tc.version, &b.version, format) == Ordering::Greater =>
        {
            Some(explain(reached, format, candidates, Some(t)))
        }
        _ => None,
    };
    Route::Steps { steps, gap }
}

use Route::NoPath;

/// Breadth first from `current`: for each candidate, `None` when not
/// reached, `Some(None)` when applied first, `Some(Some(p))` after `p`.
fn reach(
    current: &str,
    format: VersionFormat,
    candidates: &[Candidate],
) -> Vec<Option<Option<usize>>> {
    let mut parents: Vec<Option<Option<usize>>> = vec![None; candidates.len()];
    let mut queue: VecDeque<Option<usize>> = VecDeque::from([None]);
    while let Some(from) = queue.pop_front() {
        let version = from
            .and_then(|i| candidates.get(i))
            .map_or(current, |c| c.version.as_str());
        for (i, c) in candidates.iter().enumerate() {
            let unseen = parents.get(i).is_some_and(Option::is_none);
            if unseen
                && compare(&c.version, version, format) == Ordering::Greater
                && fits(&c.needs, version, format)
            {
                if let Some(slot) = parents.get_mut(i) {
                    *slot = Some(from);
                }
                queue.push_back(Some(i));
            }
        }
    }
    parents
}

/// The index of the newest of `indexes`.
fn newest(
    format: VersionFormat,
    candidates: &[Candidate],
    indexes: impl Iterator<Item = usize>,
) -> Option<usize> {
    indexes.max_by(|&a, &b| match (candidates.get(a), candidates.get(b)) {
        (Some(x), Some(y)) => compare(&x.version, &y.version, format),
        _ => Ordering::Equal,
    })
}

/// Why `target` cannot be reached from `reached`: follow the unmet
/// requirements down to one no package meets.
fn explain(
    reached: &str,
    format: VersionFormat,
    candidates: &[Candidate],
    target: Option<usize>,
) -> String {
    let Some(mut at) = target else {
        return format!("no release newer than {reached}");
    };
    let mut chain = Vec::new();
    for _ in 0..candidates.len() {
        let Some(c) = candidates.get(at) else { break };
        let Some(unmet) = c
            .needs
            .iter()
            .find(|p| p.holds(reached, format) != Ok(true))
        else {
            break;
        };
        chain.push(format!(
            "{} requires the device at {}",
            c.version,
            unmet.show()
        ));
        let before = candidates.iter().enumerate().filter(|(_, o)| {
            compare(&o.version, &c.version, format) == Ordering::Less
                && unmet.holds(&o.version, format) == Ok(true)
        });
        match newest(format, candidates, before.map(|(i, _)| i)) {
            Some(prev) => at = prev,
            None => {
                chain.push(format!(
                    "no package provides {} (missing step before {})",
                    unmet.show(),
                    c.version
                ));
                break;
            }
        }
    }
    let top = target
        .and_then(|t| candidates.get(t))
        .map_or("", |c| c.version.as_str());
    format!("no path from {reached} to {top}: {}", chain.join("; "))
}

/// No newer release: a reinstall or a downgrade, if allowed.
fn sideways(current: &str, format: VersionFormat, candidates: &[Candidate], allow: Allow) -> Route {
    let usable = |want: Ordering| {
        newest(
            format,
            candidates,
            (0..candidates.len()).filter(|&i| {
                candidates.get(i).is_some_and(|c| {
                    compare(&c.version, current, format) == want && fits(&c.needs, current, format)
                })
            }),
        )
    };
    if allow.reinstall {
        if let Some(i) = usable(Ordering::Equal) {
            return Route::Steps {
                steps: vec![i],
                gap: None,
            };
        }
    }
    if allow.downgrade {
        if let Some(i) = usable(Ordering::Less) {
            return Route::Steps {
                steps: vec![i],
                gap: None,
            };
        }
    }
    let same = candidates
        .iter()
        .any(|c| compare(&c.version, current, format) == Ordering::Equal);
    Route::Refused(if same {
        format!("the device already runs {current}; a reinstall needs --allow-reinstall")
    } else {
        format!("every release is older than {current}; a downgrade needs --allow-downgrade")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::rules::Compare;

    fn cand(version: &str, ge: &str) -> Candidate {
        Candidate {
            version: version.into(),
            needs: vec![Predicate {
                compare: Compare::Ge,
                version: ge.into(),
            }],
        }
    }

    #[test]
    fn chain_in_order() {
        let c = [
            cand("1.3.13", "1.2.29"),
            cand("1.2.26", "1.2.10"),
            cand("1.2.29", "1.2.26"),
        ];
        let r = route("1.2.10", VersionFormat::Triplet, &c, Allow::default());
        assert_eq!(
            r,
            Route::Steps {
                steps: vec![1, 2, 0],
                gap: None
            }
        );
    }

    #[test]
    fn missing_step_is_named() {
        let c = [cand("1.3.13", "1.2.29"), cand("1.2.29", "1.2.26")];
        match route("1.2.10", VersionFormat::Triplet, &c, Allow::default()) {
            Route::NoPath(why) => assert!(why.contains("no package provides >= 1.2.26"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn downgrade_and_reinstall_need_flags() {
        let c = [cand("1.2.10", "0")];
        assert!(matches!(
            route("1.2.26", VersionFormat::Triplet, &c, Allow::default()),
            Route::Refused(_)
        ));
        let down = Allow {
            downgrade: true,
            reinstall: false,
        };
        assert_eq!(
            route("1.2.26", VersionFormat::Triplet, &c, down),
            Route::Steps {
                steps: vec![0],
                gap: None
            }
        );
        assert!(matches!(
            route("1.2.10", VersionFormat::Triplet, &c, Allow::default()),
            Route::Refused(_)
        ));
        let again = Allow {
            downgrade: false,
            reinstall: true,
        };
        assert_eq!(
            route("1.2.10", VersionFormat::Triplet, &c, again),
            Route::Steps {
                steps: vec![0],
                gap: None
            }
        );
    }
}
