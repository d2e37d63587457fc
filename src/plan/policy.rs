//! Policy for pipelines (`fwkit plan --policy POLICY.toml`): rules every
//! package and every device plan must meet on top of verification. A
//! violated rule is a failed check named `policy <rule>`.
//!
//! ```toml
//! require-signature = true
//! forbid-downgrade = true
//! allowed-formats = ["cab", "zip", "set"]
//! [signers]                                     # see `signers`
//! minisign = ["1A2B3C4D5E6F7081"]
//! openpgp = ["0123456789ABCDEF0123456789ABCDEF01234567"]
//! [signers.vendor.dell]                         # see `signer_sections`
//! openpgp = ["89ABCDEF0123456789ABCDEF0123456789ABCDEF"]
//! [minimum-versions]
//! MP = "1.2.26"                                   # by device name
//! "2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59" = "1.2.26" # or by GUID
//! ```

use super::inventory::Device;
pub use super::signers::Signers;
use super::version::compare;
use super::{DevicePlan, PackagePlan, RuleCheck, RuleOutcome};
use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The largest policy file read, in bytes.
pub const MAX_POLICY: u64 = 64 << 10;
/// The deepest nesting of arrays and tables a policy may have.
const MAX_NESTING: usize = 16;

/// What a pipeline demands.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// Every package must carry a signature checked by a given key.
    #[serde(default)]
    pub require_signature: bool,
    /// No step may downgrade, `--allow-downgrade` or not.
    #[serde(default)]
    pub forbid_downgrade: bool,
    /// The package formats allowed (`cab`, `zip`, `hpe-scexe`…).
    pub allowed_formats: Option<Vec<String>>,
    /// Whose signatures count.
    #[serde(default)]
    pub signers: Signers,
    /// The lowest version each device may end at, by name or GUID.
    #[serde(default)]
    pub minimum_versions: BTreeMap<String, String>,
}

/// The deepest `[`/`{` nesting of `text`, counted outside nothing (a
/// bracket inside a string counts too: fail closed, never recurse deep).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parse a policy from the bytes of `name`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Policy, String> {
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_POLICY) {
        return Err(format!("{name}: larger than {MAX_POLICY} bytes"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("{name}: not UTF-8 at byte {}", e.valid_up_to()))?;
    if nesting(text) > MAX_NESTING {
        return Err(format!(
            "{name}: arrays or tables nested deeper than {MAX_NESTING}"
        ));
    }
    let policy: Policy = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    super::signers::check(&policy.signers).map_err(|e| format!("{name}: {e}"))?;
    super::signer_sections::check(&policy.signers, text).map_err(|e| format!("{name}: {e}"))?;
    Ok(policy)
}

fn check(rule: &str, holds: bool, detail: String) -> RuleCheck {
    rule_check(rule, holds, detail)
}

/// A check named `policy <rule>`, passed when `holds`.
pub(super) fn rule_check(rule: &str, holds: bool, detail: String) -> RuleCheck {
    RuleCheck {
        rule: format!("policy {rule}"),
        outcome: if holds {
            RuleOutcome::Passed
        } else {
            RuleOutcome::Failed
        },
        detail,
    }
}

/// The policy's rules on one package.
pub fn package_checks(policy: &Policy, package: &PackagePlan) -> Vec<RuleCheck> {
    let mut out = Vec::new();
    let whole: Vec<&crate::model::Signer> = package
        .signed_by
        .iter()
        .filter(|s| s.whole_package)
        .collect();
    let found = if package.signed_by.is_empty() {
        "found no verified signature".to_owned()
    } else {
        let each: Vec<String> = package
            .signed_by
            .iter()
            .map(|s| match s.whole_package {
                true => s.describe(),
                false => format!(
                    "{} (over part of the package only, not counted)",
                    s.describe()
                ),
            })
            .collect();
        format!("found verified signatures by {}", each.join(", "))
    };
    if policy.require_signature {
        out.push(check("require-signature", !whole.is_empty(), found.clone()));
    }
    if !policy.signers.is_empty() {
        let holds = whole.iter().any(|s| policy.signers.accepts(s));
        let detail = format!(
            "required: a verified signature of the whole package by one of {}; {found}",
            policy.signers.describe().join(", ")
        );
        out.push(check("signers", holds, detail));
    }
    out.extend(super::signer_sections::package_checks(
        &policy.signers,
        package,
        &whole,
        &found,
    ));
    if let Some(allowed) = &policy.allowed_formats {
        let format = package.format.as_deref().unwrap_or("unknown");
        let holds = allowed.iter().any(|a| a.eq_ignore_ascii_case(format));
        let detail = format!("format {format}; allowed: {}", allowed.join(", "));
        out.push(check("allowed-formats", holds, detail));
    }
    out
}

/// The policy's rules on one device's plan.
pub fn device_checks(
    policy: &Policy,
    device: &Device,
    plan: Option<&DevicePlan>,
) -> Vec<RuleCheck> {
    let key = policy
        .minimum_versions
        .iter()
        .find(|(k, _)| *k == &device.name || device.has_guid(k));
    let Some((key, minimum)) = key else {
        return Vec::new();
    };
    let end = plan
        .and_then(|p| p.steps.last())
        .map_or(device.version.as_str(), |s| s.to.as_str());
    let holds = compare(end, minimum, device.format()) != Ordering::Less;
    let detail = format!(
        "{} ends at {end}; minimum-versions.{key} is {minimum}",
        device.name
    );
    vec![check("minimum-versions", holds, detail)]
}
