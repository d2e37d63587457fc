//! What manifests claim about members, checked: every entry against the
//! member it lists (present, a file, size, mode, digest), and for a fwkit
//! manifest, which lists everything, no member beyond its entries.

use super::manifest::{Entry, Manifest};
use super::parallel::in_parallel;
use crate::model::{Check, CheckKind, Member, MemberKind, Outcome};

/// Which member each manifest entry names, found once after the pass for
/// every question asked of it (a 50,000-member package used to build the
/// same map four times over).
pub(crate) struct Links {
    /// Per manifest, per entry: the index of the member it lists.
    entries: Vec<Vec<Option<usize>>>,
    /// Per member: the index that stands for its path (the last member of
    /// that path, as the entries see it).
    canonical: Vec<usize>,
}

impl Links {
    pub(crate) fn new(manifests: &[Manifest], members: &[Member]) -> Links {
        let mut by_path: foldhash::HashMap<&str, usize> =
            foldhash::HashMap::with_capacity_and_hasher(members.len(), Default::default());
        let mut duplicates = false;
        for (i, member) in members.iter().enumerate() {
            if let Some(path) = &member.path {
                duplicates |= by_path.insert(path.as_str(), i).is_some();
            }
        }
        let canonical = members
            .iter()
            .enumerate()
            .map(|(i, member)| match (duplicates, &member.path) {
                (true, Some(path)) => by_path.get(path.as_str()).copied().unwrap_or(i),
                _ => i,
            })
            .collect();
        let entries = manifests
            .iter()
            .map(|m| {
                m.entries
                    .iter()
                    .map(|e| {
                        let path = e.path.as_ref().ok()?;
                        by_path.get(path.as_str()).copied()
                    })
                    .collect()
            })
            .collect();
        Links { entries, canonical }
    }

    /// Every (entry, member index) of manifest `which`.
    pub(crate) fn of<'a>(
        &'a self,
        which: usize,
        m: &'a Manifest,
    ) -> impl Iterator<Item = (&'a Entry, Option<usize>)> + 'a {
        let links = self.entries.get(which).map_or(&[][..], |v| v.as_slice());
        m.entries
            .iter()
            .enumerate()
            .map(move |(i, e)| (e, links.get(i).copied().flatten()))
    }

    /// Per member: whether some entry of the manifests selected lists it.
    fn flags(&self, manifests: &[Manifest], select: impl Fn(usize) -> bool) -> Vec<bool> {
        let mut listed = vec![false; self.canonical.len()];
        for (which, m) in manifests.iter().enumerate() {
            if !select(which) {
                continue;
            }
            for (_, index) in self.of(which, m) {
                if let Some(flag) = index.and_then(|i| listed.get_mut(i)) {
                    *flag = true;
                }
            }
        }
        self.spread(listed)
    }

    /// A flag set on a path's canonical member holds for every member of
    /// that path.
    fn spread(&self, flags: Vec<bool>) -> Vec<bool> {
        self.canonical
            .iter()
            .map(|&c| flags.get(c).copied().unwrap_or(false))
            .collect()
    }

    /// Per member: listed by some entry of any manifest, or a manifest's
    /// own file (the manifest or its signature).
    pub(crate) fn listed(&self, manifests: &[Manifest], members: &[Member]) -> Vec<bool> {
        let flags = self.flags(manifests, |_| true);
        members
            .iter()
            .zip(flags)
            .map(|(member, listed)| {
                listed
                    || member
                        .path
                        .as_ref()
                        .is_some_and(|p| manifests.iter().any(|m| m.is_own_file(p)))
            })
            .collect()
    }
}

/// Check every manifest entry against the members, appending the checks
/// to `checks`; returns, per member, whether some entry checked it (passed
/// or failed) or it is a manifest itself.
pub(crate) fn manifest_checks(
    manifests: &[Manifest],
    members: &[Member],
    links: &Links,
    checks: &mut Vec<Check>,
) -> Vec<bool> {
    checks.reserve(manifests.iter().map(|m| m.entries.len()).sum());
    let mut covered = vec![false; members.len()];
    for (which, m) in manifests.iter().enumerate() {
        checks.extend(bad_lines(m));
        let pairs: Vec<(&Entry, Option<usize>)> = links.of(which, m).collect();
        let judged = in_parallel(&pairs, PER_THREAD, |&(entry, index)| {
            entry_check(m, entry, index.and_then(|i| members.get(i)))
        });
        for ((_, index), check) in pairs.iter().zip(judged.into_iter().flatten()) {
            // Checked, passed or failed: a failure is reported once, by this
            // check, not again as "covered by nothing".
            if let (Some(flag), true) = (
                index.and_then(|i| covered.get_mut(i)),
                check.outcome != Outcome::NotRun,
            ) {
                *flag = true;
            }
            checks.push(check);
        }
    }
    let mut covered = links.spread(covered);
    for (flag, member) in covered.iter_mut().zip(members) {
        let is_source = |p: &crate::model::MemberName| manifests.iter().any(|m| m.source == *p);
        *flag |= member.path.as_ref().is_some_and(is_source);
    }
    for (which, m) in manifests.iter().enumerate() {
        if m.complete {
            let listed = links.flags(manifests, |x| x == which);
            checks.extend(extra_members(m, members, &listed));
        }
    }
    covered
}

/// Entries per core below which they are judged on the calling thread.
const PER_THREAD: usize = 2048;

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
fn entry_check(m: &Manifest, entry: &Entry, member: Option<&Member>) -> Check {
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
    let Some(member) = member else {
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
fn extra_members<'a>(
    m: &'a Manifest,
    members: &'a [Member],
    listed: &'a [bool],
) -> impl Iterator<Item = Check> + 'a {
    members
        .iter()
        .zip(listed)
        .filter(move |(member, listed)| {
            member.kind == MemberKind::File
                && !**listed
                && member
                    .path
                    .as_ref()
                    .is_some_and(|path| !m.is_own_file(path))
        })
        .map(move |(member, _)| {
            let path = member.path.as_ref().map_or("", |p| p.as_str());
            Check::failed(
                CheckKind::Digest,
                format!("member {path}"),
                format!("not listed in {}: an extra member", m.source),
            )
        })
}
