//! The text report, sized for a screen.
//!
//! By default passed checks that differ only in the member they cover share
//! one line with a count; failures get a line each, at most [`SHOWN`] per
//! kind; reasons, uncovered ranges, warnings and inspect's member list are
//! bounded the same way, each cut ending in "… and N more". `-v` prints
//! everything, one line per check; `--json` is always complete.

use super::vendor::vendor;
use super::{Detail, Reading};
use fwkit::{Check, MemberKind, Outcome, Report, Verdict};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

/// Lines of one kind shown before "… and N more".
const SHOWN: usize = 20;
/// Members `inspect` lists before "… and N more".
const SHOWN_MEMBERS: usize = 50;
/// Where the rest is.
const SEE_ALL: &str = "see -v or --json";

pub fn report(
    out: &mut impl Write,
    report: &Report,
    reading: Reading,
    detail: Detail,
) -> io::Result<()> {
    writeln!(
        out,
        "{}: {} package, {} bytes",
        safe(&report.path.display().to_string()),
        report.format,
        report.size
    )?;
    if reading == Reading::Inspect {
        writeln!(out, "layers:")?;
        for layer in &report.layers {
            writeln!(
                out,
                "  {:>10}..{:<10} {}",
                layer.range.0,
                layer.range.1,
                safe(&layer.kind)
            )?;
        }
        for info in &report.vendor {
            vendor(out, info)?;
        }
        members(out, report, detail)?;
    }
    writeln!(out, "checks:")?;
    if detail == Detail::Full {
        for check in &report.checks {
            check_line(out, check, &check.summary())?;
        }
    } else {
        passed_checks(out, &report.checks)?;
        failed_checks(out, &report.checks)?;
    }
    let shown = limit(detail, SHOWN);
    for (start, end) in report.uncovered.iter().take(shown) {
        writeln!(
            out,
            "  note: bytes {start}..{end} are covered by no integrity check"
        )?;
    }
    more(
        out,
        "  note:",
        report.uncovered.len(),
        shown,
        "uncovered ranges",
    )?;
    verdict(out, report, detail)?;
    for nested in &report.nested {
        writeln!(out)?;
        writeln!(
            out,
            "nested package in member {} (unpacked as {}):",
            safe(&nested.member),
            safe(&nested.unpacked_as)
        )?;
        let mut inner = Vec::new();
        self::report(&mut inner, &nested.report, reading, detail)?;
        for line in String::from_utf8_lossy(&inner).lines() {
            writeln!(out, "  | {line}")?;
        }
    }
    if reading == Reading::Unpack {
        match &report.unpacked {
            Some(dir) => writeln!(
                out,
                "unpacked {} member(s) into {}",
                report.members.len(),
                dir.display()
            )?,
            None => writeln!(out, "not unpacked: nothing was written")?,
        }
    }
    Ok(())
}

/// `warning: …` lines for stderr: at most [`SHOWN`], and a warning that ends
/// in a list of names (`3000 member(s) not listed in any manifest: a, b, …`)
/// cut to [`SHOWN`] names, unless the detail is [`Detail::Full`].
pub fn warnings(out: &mut impl Write, report: &Report, detail: Detail) -> io::Result<()> {
    let shown = limit(detail, SHOWN);
    for warning in report.warnings.iter().take(shown) {
        let warning = if detail == Detail::Full {
            Cow::Borrowed(warning.as_str())
        } else {
            cut_list(warning)
        };
        writeln!(out, "warning: {}", safe(&warning))?;
    }
    more(out, "warning:", report.warnings.len(), shown, "warnings")
}

/// How many lines to show of something bounded.
fn limit(detail: Detail, bound: usize) -> usize {
    if detail == Detail::Full {
        usize::MAX
    } else {
        bound
    }
}

/// `PREFIX … and N more WHAT (see -v or --json)` when `total > shown`.
fn more(
    out: &mut impl Write,
    prefix: &str,
    total: usize,
    shown: usize,
    what: &str,
) -> io::Result<()> {
    match total.checked_sub(shown) {
        Some(hidden) if hidden > 0 => writeln!(
            out,
            "{prefix} … and {} more {what} ({SEE_ALL})",
            thousands(hidden)
        ),
        _ => Ok(()),
    }
}

fn members(out: &mut impl Write, report: &Report, detail: Detail) -> io::Result<()> {
    writeln!(out, "members ({}):", thousands(report.members.len()))?;
    let shown = limit(detail, SHOWN_MEMBERS);
    for m in report.members.iter().take(shown) {
        let kind = match &m.kind {
            MemberKind::File => "file".to_owned(),
            MemberKind::Dir => "dir".to_owned(),
            MemberKind::Symlink { target } => format!("symlink -> {target}"),
            MemberKind::HardLink { target } => format!("hardlink -> {target}"),
            MemberKind::Other { what } => what.clone(),
            _ => "other".to_owned(),
        };
        let problem = m
            .problem
            .as_ref()
            .map(|p| format!("  REFUSED: {p}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:04o} {:>12}  {:<7} {}{}",
            m.mode & 0o7777,
            m.size,
            safe(&kind),
            safe(&m.name),
            safe(&problem)
        )?;
    }
    more(out, " ", report.members.len(), shown, "members")
}

fn check_line(out: &mut impl Write, check: &Check, text: &str) -> io::Result<()> {
    let text = safe(text);
    writeln!(out, "  {:<8} {:<10} {text}", outcome(check), kind(check))
}

/// Passed checks of one [`GroupKey`], shown as one line.
struct Group<'a> {
    first: &'a Check,
    /// Where the members they cover are listed, when they cover members.
    source: Option<&'a str>,
    count: usize,
}

/// What the checks of one group share.
#[derive(PartialEq, Eq, Hash)]
struct GroupKey<'a> {
    kind: &'static str,
    algorithm: Option<&'static str>,
    outcome: &'static str,
    subject: Subject<'a>,
}

/// What the checks of a group cover.
#[derive(PartialEq, Eq, Hash)]
enum Subject<'a> {
    /// Members listed in the same place.
    Members(&'a str),
    /// Something else: the check's whole summary.
    Other(String),
}

/// Passed and informational checks, one line per group: the checks of one
/// kind, algorithm and outcome that cover members listed in the same place
/// (`sha256 of 3,000 members (listed in SHA256SUMS)`), or that read the same.
/// At most [`SHOWN`] lines per kind.
fn passed_checks(out: &mut impl Write, checks: &[Check]) -> io::Result<()> {
    let mut lines_per_kind: HashMap<&str, usize> = HashMap::new();
    let mut hidden: Vec<(&str, usize)> = Vec::new();
    for group in &groups(checks) {
        let kind = kind(group.first);
        let lines = lines_per_kind.entry(kind).or_default();
        if *lines >= SHOWN {
            match hidden.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += group.count,
                None => hidden.push((kind, group.count)),
            }
            continue;
        }
        *lines += 1;
        check_line(out, group.first, &group_text(group))?;
    }
    for (kind, n) in hidden {
        writeln!(
            out,
            "  … and {} more {kind} checks ({SEE_ALL})",
            thousands(n)
        )?;
    }
    Ok(())
}

/// The passed and informational checks in groups, in the order each group
/// first appears.
fn groups(checks: &[Check]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: foldhash::HashMap<GroupKey, usize> = foldhash::HashMap::default();
    for check in checks.iter().filter(|c| !c.outcome.is_failure()) {
        let source = member_source(&check.covers);
        let key = GroupKey {
            kind: kind(check),
            algorithm: check.algorithm.map(|a| a.name()),
            outcome: outcome(check),
            subject: match source {
                Some(source) => Subject::Members(source),
                None => Subject::Other(check.summary()),
            },
        };
        match index.get(&key).and_then(|&i| groups.get_mut(i)) {
            Some(group) => group.count += 1,
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    first: check,
                    source,
                    count: 1,
                });
            }
        }
    }
    groups
}

/// A group's line: its one check's summary, or how many members (or times).
fn group_text(group: &Group) -> String {
    match (group.source, group.count) {
        (_, 1) => group.first.summary(),
        (Some(source), count) => {
            let algorithm = group
                .first
                .algorithm
                .filter(|a| *a != fwkit::Algorithm::StreamCheck)
                .map(|a| format!("{} of ", a.name()))
                .unwrap_or_default();
            let source = if source.is_empty() {
                String::new()
            } else {
                format!(" ({source})")
            };
            format!("{algorithm}{} members{source}", thousands(count))
        }
        (None, count) => format!("{} ({} times)", group.first.summary(), thousands(count)),
    }
}

/// Failed checks and checks that could not run, one line each, at most
/// [`SHOWN`] per kind.
fn failed_checks(out: &mut impl Write, checks: &[Check]) -> io::Result<()> {
    let mut lines_per_kind: HashMap<&str, usize> = HashMap::new();
    let mut hidden: Vec<(&str, usize)> = Vec::new();
    for check in checks.iter().filter(|c| c.outcome.is_failure()) {
        let kind = kind(check);
        let lines = lines_per_kind.entry(kind).or_default();
        if *lines < SHOWN {
            *lines += 1;
            check_line(out, check, &check.summary())?;
            continue;
        }
        match hidden.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => hidden.push((kind, 1)),
        }
    }
    for (kind, n) in hidden {
        writeln!(
            out,
            "  … and {} more {kind} failures ({SEE_ALL})",
            thousands(n)
        )?;
    }
    Ok(())
}

/// The verdict. Unless the detail is [`Detail::Full`], reasons that repeat a failed check listed
/// above are left out, and the others are bounded.
fn verdict(out: &mut impl Write, report: &Report, detail: Detail) -> io::Result<()> {
    let reasons = match &report.verdict {
        Verdict::Verified => return writeln!(out, "verdict: verified"),
        Verdict::NotVerified { reasons } => reasons,
    };
    if detail == Detail::Full {
        writeln!(out, "verdict: NOT VERIFIED")?;
        for reason in reasons {
            writeln!(out, "  - {}", safe(reason))?;
        }
        return Ok(());
    }
    let failing: HashSet<String> = report
        .checks
        .iter()
        .filter(|c| c.outcome.is_failure())
        .map(Check::summary)
        .collect();
    // A reason for a failed check reads `failed: SUMMARY` or `could not check: SUMMARY`.
    let others: Vec<&String> = reasons
        .iter()
        .filter(|r| {
            !r.split_once(": ")
                .is_some_and(|(_, summary)| failing.contains(summary))
        })
        .collect();
    match failing.len() {
        0 => writeln!(out, "verdict: NOT VERIFIED")?,
        1 => writeln!(out, "verdict: NOT VERIFIED (1 failed check)")?,
        n => writeln!(
            out,
            "verdict: NOT VERIFIED ({} failed checks)",
            thousands(n)
        )?,
    }
    for reason in others.iter().take(SHOWN) {
        writeln!(out, "  - {}", safe(reason))?;
    }
    more(out, "  -", others.len(), SHOWN, "reasons")
}

/// For a check covering `member NAME (SOURCE line N)`: `SOURCE`, the part
/// that is the same for every member listed in one place. The trailing
/// position (`line 12`, `blob 3`) is dropped; the parentheses may nest.
fn member_source(covers: &str) -> Option<&str> {
    let body = covers.strip_prefix("member ")?.strip_suffix(')')?;
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in body.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => {
                open = Some(i);
                break;
            }
            '(' => depth -= 1,
            _ => {}
        }
    }
    let inner = body.get(open? + 1..)?;
    // Without a trailing `line N`.
    Some(match inner.rsplit_once(' ') {
        Some((head, last)) if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) => {
            head.rsplit_once(' ').map_or("", |(source, _)| source)
        }
        _ => inner,
    })
}

/// `N thing(s) …: a, b, c, …` with more than [`SHOWN`] names: the first
/// [`SHOWN`], then how many more. Other warnings are left whole.
fn cut_list(warning: &str) -> Cow<'_, str> {
    let Some((head, list)) = warning.split_once(": ") else {
        return Cow::Borrowed(warning);
    };
    let counted = head
        .split(' ')
        .next()
        .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
    let names: Vec<&str> = list.split(", ").collect();
    if !counted || names.len() <= SHOWN {
        return Cow::Borrowed(warning);
    }
    Cow::Owned(format!(
        "{head}: {} and {} more ({SEE_ALL})",
        names.get(..SHOWN).unwrap_or_default().join(", "),
        thousands(names.len() - SHOWN)
    ))
}

/// `3000` as `3,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn outcome(check: &Check) -> &'static str {
    match check.outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "FAILED",
        Outcome::NotRun => "NOT RUN",
        Outcome::Info => "info",
    }
}

fn kind(check: &Check) -> &'static str {
    check.kind.name()
}

/// `text` with every control character (newline, escape, C1 controls) and
/// every bidirectional override shown as an escape: a member name, header
/// field or message from a package can neither start a line of its own (a
/// fake "verdict: verified") nor drive the terminal.
pub fn safe(text: &str) -> Cow<'_, str> {
    let hostile =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().saturating_add(8));
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hostile(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{cut_list, member_source, safe, thousands};

    #[test]
    fn hostile_text_cannot_start_a_line_or_drive_the_terminal() {
        assert_eq!(safe("fw/a.bin"), "fw/a.bin");
        let evil = safe("x\nverdict: verified\u{1b}[2J\u{202e}");
        assert!(!evil.chars().any(|c| c.is_control()), "{evil}");
        assert!(evil.contains("\\n") && evil.contains("\\u{1b}") && evil.contains("\\u{202e}"));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(3000), "3,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn member_checks_share_their_source() {
        let source = member_source;
        assert_eq!(
            source("member a.bin (listed in SHA256SUMS line 12)"),
            Some("listed in SHA256SUMS")
        );
        assert_eq!(
            source("member b (1).bin (listed in sums (v2) line 3)"),
            Some("listed in sums (v2)")
        );
        assert_eq!(
            source("member fw.bin (release 1, jcat blob 2)"),
            Some("release 1, jcat")
        );
        assert_eq!(source("member a.bin"), None);
        assert_eq!(source("payload chunk 1"), None);
    }

    #[test]
    fn long_name_lists_are_cut() {
        let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
        let warning = format!(
            "50 member(s) not listed in any manifest: {}",
            names.join(", ")
        );
        let cut = cut_list(&warning);
        assert!(cut.contains("f19 and 30 more"), "{cut}");
        assert!(!cut.contains("f20"), "{cut}");
        let short = "2 member(s) not listed in any manifest: a, b";
        assert_eq!(cut_list(short), short);
        let uncounted = format!("header declares decrypt_cmd: {}", names.join(", "));
        assert_eq!(cut_list(&uncounted), uncounted);
    }
}
