//! The policy's `[signers.vendor.NAME]` and `[signers.format.NAME]`
//! sections: required signers for the packages of one vendor or one
//! format, on top of the top-level `[signers]` list. Each section has the
//! keys of `[signers]` (see [`super::signers`]); a package must meet every
//! section that applies to it (the top-level list, each of its vendors',
//! its format's), each by a verified signature over the whole package.
//!
//! ```toml
//! [signers.vendor.dell]
//! openpgp = ["0123456789ABCDEF0123456789ABCDEF01234567"]
//! [signers.format.cab]
//! x509-sha256 = ["9f:86:d0:..."]
//! ```
//!
//! Vendor names are fwkit's ([`VENDORS`], from the vendor metadata a
//! package carries, as `inspect --json` lists it under `vendor[].kind`, or
//! from its format); format names are [`FormatKind::name`]. An unknown
//! name, a section that names no signer or a section inside a section is
//! a usage error.

use super::policy::rule_check;
use super::signers::{check as check_list, Signers};
use super::{PackagePlan, RuleCheck};
use crate::model::{FormatKind, Signer, VendorInfo};

/// The vendor names `[signers.vendor.NAME]` takes, and what gives each.
pub const VENDORS: [(&str, &str); 5] = [
    (
        "dell",
        "a Dell update package .BIN (dell-dup format, its package.xml)",
    ),
    (
        "hpe",
        "an HP/HPE smart component (hpe-scexe, a cpq_package XML, a .fwpkg payload.json)",
    ),
    ("netapp", "a NetApp Service Processor package"),
    ("lvfs", "an LVFS cabinet's metainfo"),
    ("fwkit", "a package fwkit built (its signed manifest)"),
];

/// Every format kind, for the names `[signers.format.NAME]` takes.
const FORMATS: [FormatKind; 9] = [
    FormatKind::Makeself,
    FormatKind::HpScexe,
    FormatKind::DellDup,
    FormatKind::Tar,
    FormatKind::Zip,
    FormatKind::Pe,
    FormatKind::Cab,
    FormatKind::Set,
    FormatKind::Raw,
];

/// The vendors a package of `format` with `vendor` metadata belongs to,
/// by fwkit's names, each once, in [`VENDORS`] order.
pub fn vendors_of(format: FormatKind, vendor: &[VendorInfo]) -> Vec<String> {
    let mut seen: Vec<&str> = match format {
        FormatKind::DellDup => vec!["dell"],
        FormatKind::HpScexe => vec!["hpe"],
        _ => Vec::new(),
    };
    for info in vendor {
        let name = match info {
            VendorInfo::DellPackage(_) => "dell",
            VendorInfo::HpComponent(_) | VendorInfo::HpeFwpkg(_) => "hpe",
            VendorInfo::NetappSp(_) => "netapp",
            VendorInfo::Lvfs(_) => "lvfs",
            VendorInfo::Fwkit(_) => "fwkit",
            VendorInfo::Makeself(_) | VendorInfo::Pe(_) => continue,
        };
        seen.push(name);
    }
    VENDORS
        .iter()
        .filter(|(name, _)| seen.contains(name))
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// The 1-based line of `text` where section `path` (e.g. `vendor.dell`)
/// is first written, if it can be found.
fn line_of(text: &str, path: &str) -> Option<usize> {
    let (kind, name) = path.split_once('.')?;
    let written = |line: &str| {
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        squeezed.contains(&format!("{kind}.{name}"))
            || squeezed.contains(&format!("{kind}.\"{name}\""))
            || squeezed.starts_with(&format!("{name}="))
    };
    text.lines()
        .position(written)
        .and_then(|i| i.checked_add(1))
}

/// One section's problem, as `signers.PATH (line N): why`.
fn section_error(text: &str, path: &str, why: &str) -> String {
    match line_of(text, path) {
        Some(line) => format!("signers.{path} (line {line}): {why}"),
        None => format!("signers.{path}: {why}"),
    }
}

/// Check the sections of `signers`, read from policy `text` (for the line
/// numbers): known names, entries well formed, no section nested further.
pub fn check(signers: &Signers, text: &str) -> Result<(), String> {
    let vendor_names: Vec<&str> = VENDORS.iter().map(|(n, _)| *n).collect();
    let format_names: Vec<&str> = FORMATS.iter().map(|f| f.name()).collect();
    let kinds = [
        ("vendor", &signers.vendor, &vendor_names),
        ("format", &signers.format, &format_names),
    ];
    for (kind, sections, known) in kinds {
        for (name, section) in sections {
            let path = format!("{kind}.{name}");
            if !known.contains(&name.as_str()) {
                let why = format!(
                    "unknown {kind} '{name}'; fwkit's {kind} names are {}",
                    known.join(", ")
                );
                return Err(section_error(text, &path, &why));
            }
            if !section.vendor.is_empty() || !section.format.is_empty() {
                let why = "sections do not nest: give signers.vendor.NAME or signers.format.NAME the keys of [signers] only";
                return Err(section_error(text, &path, why));
            }
            if section.is_empty() {
                let why = "names no signer (give minisign, openpgp, x509-sha256 or x509-subject)";
                return Err(section_error(text, &path, why));
            }
            check_list(section).map_err(|e| {
                let e = e.strip_prefix("signers.").unwrap_or(&e);
                section_error(text, &path, e)
            })?;
        }
    }
    Ok(())
}

/// The sections of `signers` that apply to `package`, as
/// `(rule path, why it applies, section)`.
fn applying<'a>(signers: &'a Signers, package: &PackagePlan) -> Vec<(String, String, &'a Signers)> {
    let mut out = Vec::new();
    for vendor in &package.vendors {
        if let Some(section) = signers.vendor.get(vendor) {
            let why = format!("the package's vendor is {vendor}");
            out.push((format!("signers.vendor.{vendor}"), why, section));
        }
    }
    if let Some(format) = &package.format {
        if let Some(section) = signers.format.get(format) {
            let why = format!("the package's format is {format}");
            out.push((format!("signers.format.{format}"), why, section));
        }
    }
    out
}

/// A check per section of `signers` that applies to `package`: passed
/// when one of `whole` (its verified whole-package signers) is named by
/// the section. `found` says what was found, for the detail.
pub fn package_checks(
    signers: &Signers,
    package: &PackagePlan,
    whole: &[&Signer],
    found: &str,
) -> Vec<RuleCheck> {
    applying(signers, package)
        .into_iter()
        .map(|(path, why, section)| {
            let holds = whole.iter().any(|s| section.accepts(s));
            let detail = format!(
                "[{path}] applies ({why}); required: a verified signature of the whole package by one of {}; {found}",
                section.describe().join(", ")
            );
            rule_check(&path, holds, detail)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_name_their_line() {
        let text = "[signers]\n\n[signers.vendor.acme]\nminisign = [\"1A2B3C4D5E6F7081\"]\n";
        let mut signers = Signers::default();
        signers.vendor.insert("acme".to_owned(), signers.clone());
        let err = check(&signers, text).unwrap_err();
        assert!(
            err.starts_with("signers.vendor.acme (line 3): unknown vendor 'acme'"),
            "{err}"
        );
    }

    #[test]
    fn formats_list_every_kind() {
        for f in FORMATS {
            assert_eq!(FORMATS.iter().filter(|g| g.name() == f.name()).count(), 1);
        }
    }
}
