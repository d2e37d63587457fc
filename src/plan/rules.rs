//! The one rule model every package format maps into: which devices a
//! release is for, which system it demands, and what must hold before it is
//! applied. Read from the vendor metadata `Package::verify` reports.

use super::version::{compare, VersionFormat};
use crate::model::{
    FwkitRelease, HpComponent, HpeFwpkg, LvfsRelease, LvfsRequire, PciIds, VendorInfo,
};
use serde::Serialize;
use std::cmp::Ordering;

/// The longest glob or regular expression evaluated.
pub const MAX_PATTERN: usize = 256;

/// How a version is compared with the one a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// A `*`/`?` pattern.
    Glob,
    /// A regular expression (`regex` crate syntax).
    Regex,
}

impl Compare {
    /// fwupd's spelling (`ge`, `regex`…).
    pub fn from_name(name: &str) -> Option<Compare> {
        Some(match name.trim() {
            "eq" => Compare::Eq,
            "ne" => Compare::Ne,
            "lt" => Compare::Lt,
            "le" => Compare::Le,
            "gt" => Compare::Gt,
            "ge" => Compare::Ge,
            "glob" => Compare::Glob,
            "regex" => Compare::Regex,
            _ => return None,
        })
    }

    /// The symbol shown to people.
    pub fn symbol(self) -> &'static str {
        match self {
            Compare::Eq => "=",
            Compare::Ne => "!=",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
            Compare::Glob => "~glob",
            Compare::Regex => "~regex",
        }
    }
}

/// "The version compares so with this one".
#[derive(Debug, Clone, Serialize)]
pub struct Predicate {
    /// How to compare.
    pub compare: Compare,
    /// The version compared with.
    pub version: String,
}

impl Predicate {
    /// Whether `current` satisfies the predicate, or why it cannot be told.
    pub fn holds(&self, current: &str, format: VersionFormat) -> Result<bool, String> {
        let order = || compare(current, &self.version, format);
        Ok(match self.compare {
            Compare::Eq => order() == Ordering::Equal,
            Compare::Ne => order() != Ordering::Equal,
            Compare::Lt => order() == Ordering::Less,
            Compare::Le => order() != Ordering::Greater,
            Compare::Gt => order() == Ordering::Greater,
            Compare::Ge => order() != Ordering::Less,
            Compare::Glob => glob(&self.version, current)?,
            Compare::Regex => regex(&self.version, current)?,
        })
    }

    /// `>= 1.2.26`.
    pub fn show(&self) -> String {
        format!("{} {}", self.compare.symbol(), self.version)
    }
}

/// `*` and `?` matching, linear in practice: the last `*` is the only
/// backtracking point.
fn glob(pattern: &str, text: &str) -> Result<bool, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!("glob longer than {MAX_PATTERN} bytes"));
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        match p.get(i) {
            Some('*') => {
                star = Some((i, j));
                i = i.saturating_add(1);
            }
            Some(c) if *c == '?' || Some(c) == t.get(j) => {
                i = i.saturating_add(1);
                j = j.saturating_add(1);
            }
            _ => match star {
                Some((si, sj)) => {
                    i = si.saturating_add(1);
                    j = sj.saturating_add(1);
                    star = Some((si, j));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(p.get(i..).unwrap_or_default().iter().all(|c| *c == '*'))
}

/// A regular expression, length-capped, compiled with a size limit and
/// matched by the `regex` crate (linear time: no backtracking bombs).
fn regex(pattern: &str, text: &str) -> Result<bool, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!(
            "regular expression longer than {MAX_PATTERN} bytes"
        ));
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| format!("regular expression '{pattern}': {e}"))?;
    Ok(re.is_match(text))
}

/// One thing that must hold before a release is applied.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Requirement {
    /// The device being updated, at the moment this release is applied.
    SelfVersion {
        /// What the device's version must satisfy.
        predicate: Predicate,
    },
    /// Another device of the inventory, by GUID.
    OtherDevice {
        /// The other device's GUID.
        guid: String,
        /// What its version must satisfy.
        predicate: Option<Predicate>,
    },
    /// One of these hardware IDs is the system's (`|` = or).
    Hardware {
        /// The alternatives.
        any_of: Vec<String>,
    },
    /// None of these hardware IDs is the system's.
    NotHardware {
        /// The alternatives.
        any_of: Vec<String>,
    },
    /// The system ROM family is one of these (HP `products`).
    RomFamily {
        /// The alternatives.
        any_of: Vec<String>,
    },
    /// The system's Dell systemID is one of these (Dell
    /// `SupportedSystems`).
    DellSystem {
        /// The alternatives, as declared.
        any_of: Vec<String>,
    },
    /// Something fwkit cannot evaluate from an inventory: a client feature,
    /// fwupd's own version, a parent or child device (`depth`). Reported as
    /// not evaluated; `fatal` ones fail the rule (fail closed).
    NotEvaluated {
        /// What it is.
        what: String,
        /// Whether it fails the rule (fail closed).
        fatal: bool,
    },
}

/// One release one package offers.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// Where the facts came from: `lvfs`, `hp`, `hpe`, `dell`, `fwkit`.
    pub source: &'static str,
    /// A name for people.
    pub name: Option<String>,
    /// The version it installs.
    pub version: String,
    /// Device GUIDs it flashes.
    pub devices: Vec<String>,
    /// PCI devices it flashes (Dell `SupportedDevices/Device/PCIInfo`): a
    /// device matches when its vendor and device ids are equal and each
    /// subsystem id the release names is equal too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pci: Vec<PciIds>,
    /// Dell component ids it flashes (`SupportedDevices/Device@componentID`),
    /// matched against a device's `dell_component_id`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub component_ids: Vec<String>,
    /// What must hold before it is applied.
    pub requires: Vec<Requirement>,
}

/// Every release the vendor metadata of one package declares.
pub fn releases(vendor: &[VendorInfo]) -> Vec<Release> {
    let mut out = Vec::new();
    for info in vendor {
        match info {
            VendorInfo::Lvfs(r) => out.extend(lvfs(r)),
            VendorInfo::HpComponent(c) => out.extend(hp(c)),
            VendorInfo::HpeFwpkg(p) => out.extend(hpe(p)),
            VendorInfo::Fwkit(f) => out.push(fwkit(f)),
            VendorInfo::DellPackage(p) => out.extend(super::matching::dell(p)),
            _ => {}
        }
    }
    out
}

fn lvfs(r: &LvfsRelease) -> Option<Release> {
    Some(Release {
        source: "lvfs",
        name: r.name.clone(),
        version: r.version.clone()?,
        devices: r.devices.iter().map(|g| g.to_ascii_lowercase()).collect(),
        pci: Vec::new(),
        component_ids: Vec::new(),
        requires: r.requires.iter().map(lvfs_requirement).collect(),
    })
}

/// `a|b|c`, trimmed and lower-cased.
fn alternatives(text: &Option<String>) -> Vec<String> {
    text.as_deref()
        .unwrap_or_default()
        .split('|')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn lvfs_predicate(r: &LvfsRequire) -> Result<Option<Predicate>, String> {
    match (&r.compare, &r.version) {
        (None, None) => Ok(None),
        (Some(c), Some(v)) => match Compare::from_name(c) {
            Some(compare) => Ok(Some(Predicate {
                compare,
                version: v.clone(),
            })),
            None => Err(format!("unknown compare=\"{c}\"")),
        },
        _ => Err("compare without version, or version without compare".to_owned()),
    }
}

fn lvfs_requirement(r: &LvfsRequire) -> Requirement {
    let fatal = |what: String| Requirement::NotEvaluated { what, fatal: true };
    match r.element.as_str() {
        "firmware" => {
            if let Some(depth) = &r.depth {
                return fatal(format!(
                    "<firmware depth=\"{depth}\">: parent or child device"
                ));
            }
            let predicate = match lvfs_predicate(r) {
                Ok(p) => p,
                Err(e) => return fatal(format!("<firmware>: {e}")),
            };
            match (r.text.as_deref(), predicate) {
                (None, Some(predicate)) => Requirement::SelfVersion { predicate },
                (None, None) => fatal("<firmware/> without compare".to_owned()),
                (Some(t), predicate) if super::inventory::is_guid(t) => Requirement::OtherDevice {
                    guid: t.to_ascii_lowercase(),
                    predicate,
                },
                (Some(t), _) => fatal(format!("<firmware>{t}</firmware>")),
            }
        }
        "hardware" => Requirement::Hardware {
            any_of: alternatives(&r.text),
        },
        "not_hardware" => Requirement::NotHardware {
            any_of: alternatives(&r.text),
        },
        other => Requirement::NotEvaluated {
            what: format!(
                "<{other}>{}</{other}>{}",
                r.text.as_deref().unwrap_or_default(),
                r.version
                    .as_deref()
                    .map(|v| format!(" {} {v}", r.compare.as_deref().unwrap_or("?")))
                    .unwrap_or_default()
            ),
            fatal: false,
        },
    }
}

fn fwkit(f: &FwkitRelease) -> Release {
    let requires = f
        .requires
        .iter()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let predicate = match (
                words.first().and_then(|c| Compare::from_name(c)),
                words.get(1),
            ) {
                (Some(compare), Some(v)) => Predicate {
                    compare,
                    version: (*v).to_owned(),
                },
                _ => {
                    return Requirement::NotEvaluated {
                        what: format!("requires {line}"),
                        fatal: true,
                    }
                }
            };
            match words.get(2) {
                None => Requirement::SelfVersion { predicate },
                Some(guid) => Requirement::OtherDevice {
                    guid: guid.to_ascii_lowercase(),
                    predicate: Some(predicate),
                },
            }
        })
        .collect();
    Release {
        source: "fwkit",
        name: Some(f.name.clone()),
        version: f.version.clone(),
        devices: f.provides.iter().map(|g| g.to_ascii_lowercase()).collect(),
        pci: Vec::new(),
        component_ids: Vec::new(),
        requires,
    }
}

/// The ROM family rule of an HP component's `products`, and a not
/// evaluated one for each `<product>` without a `rom` (failing when no
/// product names a ROM family: the package restricts the systems in a way
/// fwkit cannot check).
fn rom_family(c: &HpComponent) -> Vec<Requirement> {
    let mut out = Vec::new();
    if !c.products.is_empty() {
        out.push(Requirement::RomFamily {
            any_of: c
                .products
                .iter()
                .map(|p| p.trim().to_ascii_uppercase())
                .collect(),
        });
    }
    out.extend(c.other_products.iter().map(|p| Requirement::NotEvaluated {
        what: format!("HP <product {p}/> (no rom attribute)"),
        fatal: c.products.is_empty(),
    }));
    out
}

fn hp(c: &HpComponent) -> Vec<Release> {
    c.devices
        .iter()
        .filter_map(|d| {
            Some(Release {
                source: "hp",
                name: d.name.clone().or_else(|| c.name.clone()),
                version: d.version.clone().or_else(|| c.version.clone())?,
                devices: vec![d.target.clone()?.to_ascii_lowercase()],
                pci: Vec::new(),
                component_ids: Vec::new(),
                requires: rom_family(c),
            })
        })
        .collect()
}

fn hpe(p: &HpeFwpkg) -> Vec<Release> {
    p.devices
        .iter()
        .filter_map(|d| {
            Some(Release {
                source: "hpe",
                name: d.name.clone(),
                version: d.version.clone()?,
                devices: vec![d.target.clone()?.to_ascii_lowercase()],
                pci: Vec::new(),
                component_ids: Vec::new(),
                requires: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert_eq!(glob("1.2.*", "1.2.26"), Ok(true));
        assert_eq!(glob("1.?.26", "1.2.26"), Ok(true));
        assert_eq!(glob("1.3.*", "1.2.26"), Ok(false));
        assert_eq!(glob("*a*a*a*a*b", &"a".repeat(200)), Ok(false));
        assert!(glob(&"*".repeat(300), "x").is_err());
    }

    #[test]
    fn regexes_are_capped_and_linear() {
        assert_eq!(regex("^1\\.2\\.[0-9]+$", "1.2.26"), Ok(true));
        assert_eq!(
            regex("(a+)+$", &format!("{}b", "a".repeat(5000))),
            Ok(false)
        );
        assert!(regex(&"a".repeat(300), "a").is_err());
        assert!(regex("(", "a").is_err());
    }

    #[test]
    fn predicates() {
        let p = Predicate {
            compare: Compare::Ge,
            version: "1.2.26".into(),
        };
        assert_eq!(p.holds("1.2.26", VersionFormat::Triplet), Ok(true));
        assert_eq!(p.holds("1.2.10", VersionFormat::Triplet), Ok(false));
        assert_eq!(p.holds("1.3.0", VersionFormat::Triplet), Ok(true));
    }
}
