//! `fwkit plan`: read the inventory, verify and plan the packages, show the
//! plan (text or JSON), write the JUnit report, and answer 0 (a plan, every
//! rule holds), 1 (not verified, not applicable, no path) or 2 (usage, an
//! unreadable inventory).

use super::args::PlanArgs;
use super::render::safe;
use anyhow::{Context, Result};
use fwkit::plan::{self, inventory, DeviceOutcome, Plan, RuleOutcome};
use std::io::{Read, Write};
use std::path::Path;

/// The schema of `--json`, shared with verify's envelope.
const SCHEMA: u32 = 1;

/// Run the command; the process's exit status.
pub fn run(args: &PlanArgs) -> i32 {
    match plan_command(args) {
        Ok(code) => code,
        Err(err) if super::is_broken_pipe(&err) => 0,
        Err(err) => {
            let mut text = format!("error: {err}");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{text}");
            2
        }
    }
}

/// Read at most `cap` bytes of `path`; a larger file is an error.
fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// The inventory at `path` and the policy at `policy`, read and checked.
pub(super) fn load(
    path: &Path,
    policy: Option<&Path>,
) -> Result<(inventory::Inventory, Option<plan::policy::Policy>)> {
    let bytes = read_capped(path, inventory::MAX_INVENTORY)?;
    let inv = inventory::parse(&path.display().to_string(), &bytes).map_err(anyhow::Error::msg)?;
    let policy = match policy {
        Some(path) => {
            let bytes = read_capped(path, plan::policy::MAX_POLICY)?;
            let name = path.display().to_string();
            Some(plan::policy::parse(&name, &bytes).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    Ok((inv, policy))
}

fn plan_command(args: &PlanArgs) -> Result<i32> {
    if let Some(path) = &args.inventory_from_fwupd {
        let bytes = read_capped(path, inventory::MAX_INVENTORY.saturating_mul(4))?;
        let inv = inventory::from_fwupd(&path.display().to_string(), &bytes)
            .map_err(anyhow::Error::msg)?;
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &inv)?;
        writeln!(out)?;
        return Ok(0);
    }
    if let Some(path) = &args.inventory_from_redfish {
        let bytes = read_capped(path, plan::redfish::MAX_REDFISH)?;
        let inv = plan::redfish::from_redfish(&path.display().to_string(), &bytes)
            .map_err(anyhow::Error::msg)?;
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &inv)?;
        writeln!(out)?;
        return Ok(0);
    }
    let Some(path) = &args.inventory else {
        anyhow::bail!("--inventory INV.json is required");
    };
    let (inv, policy) = load(path, args.policy.as_deref())?;
    if let Some(catalogue) = &args.catalog {
        return super::plan_catalog::run(args, catalogue, &inv, policy);
    }
    let packages = plan::expand(&args.packages).context("listing the packages")?;
    if packages.is_empty() {
        anyhow::bail!("no package to plan: the directories named are empty");
    }
    let options = plan::PlanOptions {
        verify: super::options::plan_verify_options(args)?,
        allow_downgrade: args.allow_downgrade,
        allow_reinstall: args.allow_reinstall,
        policy,
    };
    let plan = plan::plan(&packages, &inv, &options);
    show(args, &plan, None)
}

/// Write the JUnit report and show `plan` (text or JSON, with `catalogue`
/// when given); the exit status.
pub(super) fn show(
    args: &PlanArgs,
    plan: &Plan,
    catalogue: Option<serde_json::Value>,
) -> Result<i32> {
    if let Some(junit) = &args.junit {
        let xml = junit_xml(plan);
        // A regular file (or none yet) is replaced whole (a CI job rewrites
        // its report each run): a reader never sees half a report, and a
        // failed write leaves the old one. Anything else (/dev/stdout, a
        // pipe, a link) is written through, as named.
        let regular = match std::fs::symlink_metadata(junit) {
            Ok(meta) => meta.file_type().is_file(),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        let written = match regular {
            true => fwkit::write_file(junit, xml.as_bytes(), 0o644, fwkit::Existing::Replace)
                .map_err(anyhow::Error::from),
            false => std::fs::write(junit, xml).map_err(anyhow::Error::from),
        };
        written.with_context(|| format!("cannot write {}", junit.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.show.quiet {
    } else if args.show.json {
        let mut doc = json(plan);
        doc["schema"] = SCHEMA.into();
        doc["command"] = "plan".into();
        if let Some(catalogue) = catalogue {
            doc["catalogue"] = catalogue;
        }
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        text(&mut out, plan)?;
    }
    Ok(if plan.applicable { 0 } else { 1 })
}

/// The plan as JSON: its outcome, devices, packages and policy checks
/// (`fwkit plan --json`, and `plan` in `fwkit exec --inventory --json`).
pub(super) fn json(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "outcome": outcome(plan),
        "applicable": plan.applicable,
        "devices": plan.devices,
        "packages": plan.packages,
        "policy": plan.policy,
    })
}

/// One word for the whole plan.
pub(super) fn outcome(plan: &Plan) -> &'static str {
    let device = |o: DeviceOutcome| plan.devices.iter().any(|d| d.outcome == o);
    if plan.applicable {
        "plan-found"
    } else if plan.policy.iter().any(|c| c.outcome.fails())
        || plan
            .packages
            .iter()
            .flat_map(|p| &p.checks)
            .any(|c| c.outcome.fails() && c.rule.starts_with("policy "))
    {
        "policy-violated"
    } else if plan.packages.iter().any(|p| !p.verified) {
        "not-verified"
    } else if plan.packages.iter().flat_map(|p| &p.checks).any(|c| {
        c.outcome.fails()
            && [
                ": dell-system",
                ": rom-family",
                ": hardware",
                ": not_hardware",
            ]
            .iter()
            .any(|r| c.rule.ends_with(r))
    }) {
        "not-applicable"
    } else if device(DeviceOutcome::NoPath) || device(DeviceOutcome::Partial) {
        "no-path"
    } else if device(DeviceOutcome::Refused) {
        "refused"
    } else {
        "not-applicable"
    }
}

fn device_word(o: DeviceOutcome) -> &'static str {
    match o {
        DeviceOutcome::PlanFound => "plan found",
        DeviceOutcome::Partial => "partial: a newer release cannot be reached",
        DeviceOutcome::NoPath => "no path",
        DeviceOutcome::Refused => "refused",
    }
}

/// Most packages (and most "not evaluated" notes) the text lists; the rest
/// are counted (`--json` has them all): a mirror's catalogue plans
/// thousands of packages.
const SHOWN: usize = 20;

fn text(out: &mut impl Write, plan: &Plan) -> std::io::Result<()> {
    writeln!(out, "plan: {}", outcome(plan))?;
    for d in &plan.devices {
        writeln!(
            out,
            "{} (at {}, {}): {}",
            safe(&d.device),
            safe(&d.current),
            safe(d.version_format),
            device_word(d.outcome)
        )?;
        for (n, step) in d.steps.iter().enumerate() {
            writeln!(
                out,
                "  {}. {} -> {}  {}",
                n.saturating_add(1),
                safe(&step.from),
                safe(&step.to),
                safe(&step.package.display().to_string())
            )?;
        }
        if let Some(why) = &d.detail {
            writeln!(out, "  {}", safe(why))?;
        }
    }
    for c in plan.policy.iter().filter(|c| c.outcome.fails()) {
        writeln!(out, "FAIL {}: {}", safe(&c.rule), safe(&c.detail))?;
    }
    packages(out, &plan.packages)
}

/// Every failed package with its failed rules, at most [`SHOWN`]; passed
/// packages by name when there are few, else counted; then the rules not
/// evaluated, at most [`SHOWN`].
fn packages(out: &mut impl Write, packages: &[plan::PackagePlan]) -> std::io::Result<()> {
    let fails = |p: &&plan::PackagePlan| p.checks.iter().any(|c| c.outcome.fails());
    let (bad, good): (Vec<_>, Vec<_>) = packages.iter().partition(fails);
    for p in bad.iter().take(SHOWN) {
        writeln!(out, "FAIL {}", safe(&p.path.display().to_string()))?;
        for c in p.checks.iter().filter(|c| c.outcome.fails()) {
            writeln!(out, "     {}: {}", safe(&c.rule), safe(&c.detail))?;
        }
    }
    if bad.len() > SHOWN {
        let more = bad.len().saturating_sub(SHOWN);
        writeln!(out, "FAIL and {more} more package(s) (see --json)")?;
    }
    match packages.len() <= SHOWN {
        true => {
            for p in &good {
                writeln!(out, "ok   {}", safe(&p.path.display().to_string()))?;
            }
        }
        false => writeln!(out, "ok   {} package(s)", good.len())?,
    }
    let notes: Vec<(&plan::PackagePlan, &plan::RuleCheck)> = packages
        .iter()
        .flat_map(|p| p.checks.iter().map(move |c| (p, c)))
        .filter(|(_, c)| c.outcome == RuleOutcome::NotEvaluated)
        .collect();
    for (p, c) in notes.iter().take(SHOWN) {
        writeln!(
            out,
            "     not evaluated: {}: {}",
            safe(&p.path.display().to_string()),
            safe(&c.detail)
        )?;
    }
    if notes.len() > SHOWN {
        let more = notes.len().saturating_sub(SHOWN);
        writeln!(out, "     and {more} more not evaluated (see --json)")?;
    }
    Ok(())
}

/// `text` fit for an XML attribute or element: escaped, control
/// characters XML 1.0 forbids replaced.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit report: a testsuite per package (and one for the policy's
/// rules on devices and flags), a testcase per rule.
fn junit_xml(plan: &Plan) -> String {
    let mut suites: Vec<(String, &[plan::RuleCheck])> = plan
        .packages
        .iter()
        .map(|p| (p.path.display().to_string(), p.checks.as_slice()))
        .collect();
    if !plan.policy.is_empty() {
        suites.push(("policy".to_owned(), plan.policy.as_slice()));
    }
    let all = suites.iter().flat_map(|(_, checks)| checks.iter());
    let (tests, failures) = all.fold((0usize, 0usize), |(t, f), c| {
        (
            t.saturating_add(1),
            f.saturating_add(usize::from(c.outcome.fails())),
        )
    });
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"fwkit plan\" tests=\"{tests}\" failures=\"{failures}\">\n"
    ));
    for (name, checks) in suites {
        let name = xml(&name);
        let failures = checks.iter().filter(|c| c.outcome.fails()).count();
        let skipped = checks
            .iter()
            .filter(|c| !c.outcome.fails() && c.outcome != RuleOutcome::Passed)
            .count();
        s.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            checks.len()
        ));
        for c in checks {
            s.push_str(&format!(
                "    <testcase classname=\"{name}\" name=\"{}\">",
                xml(&c.rule)
            ));
            match c.outcome {
                RuleOutcome::Passed => {}
                o if o.fails() => s.push_str(&format!("<failure message=\"{}\"/>", xml(&c.detail))),
                _ => s.push_str(&format!("<skipped message=\"{}\"/>", xml(&c.detail))),
            }
            s.push_str("</testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}
