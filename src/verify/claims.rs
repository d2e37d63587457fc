//! What manifests claim about members, checked: every entry against the
//! member it lists (present, a file, size, mode, digest), and for a fwkit
//! manifest, which lists everything, no member beyond its entries.

use super::manifest::{Entry, Manifest};
use crate::model::{Check, CheckKind, Member, MemberKind, MemberName, Outcome};
use std::collections::{HashMap, HashSet};

/// Check every manifest entry against the members; returns the checks and
/// the members some entry checked (passed or failed).
pub(crate) fn manifest_checks(
    manifests: &[Manifest],
    members: &[Member],
) -> (Vec<Check>, HashSet<MemberName>) {
    let mut checks = Vec::new();
    let mut covered = HashSet::new();
    let by_path: HashMap<&MemberName, &Member> = members
        .iter()
        .filter_map(|m| m.path.as_ref().map(|p| (p, m)))
        .collect();
    for m in manifests {
        covered.insert(m.source.clone());
        checks.extend(bad_lines(m));
        for entry in &m.entries {
            let check = entry_check(m, entry, &by_path);
            // Checked, passed or failed: a failure is reported once, by this
            // check, not again as "covered by nothing".
            if let (Ok(path), true) = (&entry.path, check.outcome != Outcome::NotRun) {
                covered.insert(path.clone());
            }
            checks.push(check);
        }
        if m.complete {
            checks.extend(extra_members(m, members));
        }
    }
    (checks, covered)
}

/// A failed structure check for every line of `m` that could not be read
/// (line 0: the manifest as a whole).
fn bad_lines(m: &Manifest) -> impl Iterator<Item = Check> + '_ {
    m.bad_lines.iter().map(|(line, text)| match line {
        0 => Check::failed(
            CheckKind::Structure,
            format!("manifest {}", m.source),
            text.clone(),
        ),
        _ => Check::failed(
            CheckKind::Structure,
            format!("manifest {} line {line}", m.source),
            format!("unreadable line '{text}'"),
        ),
    })
}

/// The check of one entry against the member it lists.
fn entry_check(m: &Manifest, entry: &Entry, by_path: &HashMap<&MemberName, &Member>) -> Check {
    let covers = |name: &dyn std::fmt::Display| {
        format!("member {name} (listed in {} line {})", m.source, entry.line)
    };
    let path = match &entry.path {
        Ok(path) => path,
        Err(listed) => {
            return Check::failed(
                CheckKind::Safety,
                covers(listed),
                "the listed path leaves the package",
            )
        }
    };
    let mut check = Check::new(CheckKind::Digest, covers(path), Outcome::NotRun);
    check.algorithm = Some(entry.algorithm);
    check.expected = Some(entry.digest.clone());
    let Some(member) = by_path.get(path).copied() else {
        check.outcome = Outcome::Failed;
        check.detail = Some("listed but missing: the set is incomplete".to_owned());
        return check;
    };
    if let Some(why) = mismatch(entry, member) {
        check.outcome = Outcome::Failed;
        check.detail = Some(why);
        return check;
    }
    match member.digests.get(&entry.algorithm) {
        Some(value) => {
            check.outcome = match *value == entry.digest {
                true => Outcome::Passed,
                false => Outcome::Failed,
            };
            check.computed = Some(value.clone());
        }
        None => check.detail = Some("the member's digest was not computed".to_owned()),
    }
    check
}

/// Why `member` is not what `entry` describes, before any digest: not a
/// regular file, or another size or mode than a fwkit manifest records.
fn mismatch(entry: &Entry, member: &Member) -> Option<String> {
    if member.kind != MemberKind::File {
        return Some("listed but not a regular file".to_owned());
    }
    if let Some(size) = entry.size.filter(|s| *s != member.size) {
        return Some(format!("size {} but the manifest says {size}", member.size));
    }
    if let Some(mode) = entry.mode.filter(|m| *m != member.mode & 0o777) {
        return Some(format!(
            "mode {:04o} but the manifest says {mode:04o}",
            member.mode & 0o777
        ));
    }
    None
}

/// A fwkit manifest lists every file: anything else is an extra member.
fn extra_members<'a>(m: &'a Manifest, members: &'a [Member]) -> impl Iterator<Item = Check> + 'a {
    let listed = m.listed();
    members
        .iter()
        .filter(move |member| {
            member.kind == MemberKind::File
                && member
                    .path
                    .as_ref()
                    .is_some_and(|path| !listed.contains(path) && !m.is_own_file(path))
        })
        .map(move |member| {
            let path = member.path.as_ref().map_or("", |p| p.as_str());
            Check::failed(
                CheckKind::Digest,
                format!("member {path}"),
                format!("not listed in {}: an extra member", m.source),
            )
        })
}
