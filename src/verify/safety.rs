//! Member safety: which entries may be written below a target directory.
//!
//! The tree of accepted members is tracked as the archive streams by, so a
//! decision never depends on what is on disk: no name escapes, no entry is
//! written through a link, no link points outside, no special files, no
//! duplicates, and the limits hold.

use crate::model::{Check, CheckKind, Limits, MemberKind, MemberName, Outcome};
use std::collections::HashMap;

/// Most bytes of member names (and symlink targets) one scan keeps: every
/// name is held for the report and the safety tree, so this bounds memory
/// however many entries `--max-entries` allows.
pub(crate) const MAX_NAME_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Dir,
    File,
    Symlink,
}

/// The decision on one entry.
pub(crate) enum Admission {
    /// The archive's root directory entry (`./`): nothing to do.
    Root,
    /// Safe to write.
    Accepted(MemberName),
    /// Not written; the reason is a safety failure.
    Refused(Option<MemberName>, String),
    /// A limit was exceeded; the scan stops.
    Limit(String),
}

pub(crate) struct Tree {
    limits: Limits,
    nodes: foldhash::HashMap<MemberName, Node>,
    /// Symlinks and their targets, checked for chains at the end.
    links: Vec<(MemberName, String)>,
    entries: u64,
    total: u64,
    refused: u64,
    name_bytes: u64,
}

impl Tree {
    pub(crate) fn new(limits: Limits) -> Tree {
        Tree {
            limits,
            nodes: foldhash::HashMap::default(),
            links: Vec::new(),
            entries: 0,
            total: 0,
            refused: 0,
            name_bytes: 0,
        }
    }

    pub(crate) fn admit(&mut self, raw: &[u8], kind: &MemberKind, size: u64) -> Admission {
        if let Err(why) = self.count_entry(raw, kind) {
            return Admission::Limit(why);
        }
        let name = match MemberName::parse(raw) {
            Ok(name) => name,
            Err(crate::model::NameError::Empty) if *kind == MemberKind::Dir => {
                self.entries = self.entries.saturating_sub(1);
                return Admission::Root;
            }
            Err(e) => return self.refuse(None, e.to_string()),
        };
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_size {
            return Admission::Limit(format!(
                "member content exceeds {} bytes (--max-size) at {name}",
                self.limits.max_size
            ));
        }
        let node = match self
            .check_place(&name)
            .and_then(|()| self.node(&name, kind))
        {
            Ok(node) => node,
            Err(why) => return self.refuse(Some(name), why),
        };
        self.insert(name, node, kind)
    }

    /// Counts one more entry and the bytes of its name (`raw`) and link
    /// target; the limit it exceeds, if any.
    fn count_entry(&mut self, raw: &[u8], kind: &MemberKind) -> Result<(), String> {
        self.entries = self.entries.saturating_add(1);
        if self.entries > self.limits.max_entries {
            return Err(format!(
                "more than {} entries (--max-entries)",
                self.limits.max_entries
            ));
        }
        let target_len = match kind {
            MemberKind::Symlink { target } => target.len(),
            _ => 0,
        };
        self.name_bytes = self
            .name_bytes
            .saturating_add(raw.len() as u64)
            .saturating_add(target_len as u64);
        if self.name_bytes > MAX_NAME_BYTES {
            return Err(format!(
                "member names total more than {MAX_NAME_BYTES} bytes (a name is kept for every member); stopped at member {}",
                self.entries
            ));
        }
        Ok(())
    }

    /// How many more entries the `--max-entries` limit lets in.
    pub(crate) fn room(&self) -> usize {
        usize::try_from(self.limits.max_entries.saturating_sub(self.entries)).unwrap_or(usize::MAX)
    }

    /// Room for `entries` more names.
    pub(crate) fn reserve(&mut self, entries: usize) {
        self.nodes.reserve(entries);
    }

    /// Why `name` may not be written where it is: too deep, or below a
    /// symlink or a file already accepted.
    fn check_place(&self, name: &MemberName) -> Result<(), String> {
        if name.depth() > self.limits.max_depth {
            return Err(format!(
                "nested deeper than {} levels (--max-depth)",
                self.limits.max_depth
            ));
        }
        let blocked = name
            .ancestor_strs()
            .find_map(|ancestor| match self.nodes.get(ancestor) {
                None | Some(Node::Dir) => None,
                Some(Node::Symlink) => Some(format!("would be written through symlink {ancestor}")),
                Some(Node::File) => Some(format!("parent {ancestor} is a file")),
            });
        match blocked {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// The node an entry `name` of `kind` becomes, or why it is refused:
    /// a link that leaves the tree or a special file.
    fn node(&self, name: &MemberName, kind: &MemberKind) -> Result<Node, String> {
        match kind {
            MemberKind::Dir => Ok(Node::Dir),
            MemberKind::File => Ok(Node::File),
            MemberKind::Symlink { target } => {
                if target.is_empty() || name.resolve_link(target).is_none() {
                    return Err(format!(
                        "symlink to '{target}' points outside the target directory"
                    ));
                }
                Ok(Node::Symlink)
            }
            MemberKind::HardLink { target } => {
                let Ok(target_name) = MemberName::parse(target.as_bytes()) else {
                    return Err(format!(
                        "hard link to '{target}' points outside the target directory"
                    ));
                };
                if self.nodes.get(&target_name) != Some(&Node::File) {
                    return Err(format!("hard link to '{target}', which is not an earlier regular file of the package"));
                }
                Ok(Node::File)
            }
            MemberKind::Other { what } => Err(format!("{what}: fwkit never creates special files")),
        }
    }

    /// Adds `name` to the tree as `node`, unless the name is taken (a
    /// directory may repeat).
    fn insert(&mut self, name: MemberName, node: Node, kind: &MemberKind) -> Admission {
        match self.nodes.get(&name) {
            Some(Node::Dir) if node == Node::Dir => return Admission::Accepted(name),
            Some(_) => return self.refuse(Some(name), "duplicate name".to_owned()),
            None => {}
        }
        let missing: Vec<MemberName> = name
            .ancestors_where(|a| !self.nodes.contains_key(a))
            .collect();
        for ancestor in missing {
            self.nodes.insert(ancestor, Node::Dir);
        }
        self.nodes.insert(name.clone(), node);
        if let MemberKind::Symlink { target } = kind {
            self.links.push((name.clone(), target.clone()));
        }
        Admission::Accepted(name)
    }

    fn refuse(&mut self, name: Option<MemberName>, why: String) -> Admission {
        self.refused = self.refused.saturating_add(1);
        Admission::Refused(name, why)
    }

    /// The symlink names as a trie of components: (parent prefix, component)
    /// -> prefix id, and which prefixes are symlinks. Walking a target then
    /// costs one lookup of one component per step, so the time is linear in
    /// the target's length (a target of many components used to cost a join
    /// and a parse of the whole walked path per component: quadratic).
    #[allow(clippy::type_complexity)]
    fn link_trie(&self) -> (HashMap<(usize, &str), usize>, Vec<bool>) {
        let mut trie: HashMap<(usize, &str), usize> = HashMap::new();
        let mut is_link = vec![false];
        for (name, _) in &self.links {
            let mut id = 0;
            for part in name.as_str().split('/') {
                let next = is_link.len();
                id = *trie.entry((id, part)).or_insert(next);
                if id == next {
                    is_link.push(false);
                }
            }
            if let Some(slot) = is_link.get_mut(id) {
                *slot = true;
            }
        }
        (trie, is_link)
    }

    /// The safety checks of the whole tree: refused members and link chains,
    /// and the members refused only now (symlink chains).
    pub(crate) fn finish(&self) -> (Vec<Check>, Vec<(MemberName, String)>) {
        let mut checks = Vec::new();
        let mut chained = Vec::new();
        let (trie, is_link) = self.link_trie();
        for (name, target) in &self.links {
            // A `..` after a component that is itself a symlink can climb out of
            // the tree even though the text looks contained (`q -> .`, `p -> q/..`).
            // `walked` holds the trie id of each walked prefix (`None`: no symlink
            // name starts with it).
            let mut walked: Vec<Option<usize>> = Vec::new();
            let step = |walked: &Vec<Option<usize>>, part: &str| {
                let parent = match walked.last() {
                    None => Some(0),
                    Some(id) => *id,
                };
                parent.and_then(|p| trie.get(&(p, part)).copied())
            };
            if let Some(parent) = name.parent() {
                for part in parent.as_str().split('/') {
                    let id = step(&walked, part);
                    walked.push(id);
                }
            }
            let mut through_link = false;
            for part in target.split('/') {
                match part {
                    "" | "." => {}
                    ".." if through_link => {
                        let why = format!("symlink to '{target}' climbs out of another symlink");
                        checks.push(Check::failed(
                            CheckKind::Safety,
                            format!("member {name}"),
                            why.clone(),
                        ));
                        chained.push((name.clone(), why));
                        break;
                    }
                    ".." => {
                        walked.pop();
                    }
                    other => {
                        let id = step(&walked, other);
                        if id.is_some_and(|id| is_link.get(id) == Some(&true)) {
                            through_link = true;
                        }
                        walked.push(id);
                    }
                }
            }
        }
        let outcome = if self.refused == 0 && checks.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let detail = format!(
            "{} member(s) checked: names, links, types, duplicates; {} refused",
            self.entries, self.refused
        );
        checks.push(Check::new(CheckKind::Safety, "all members", outcome).with_detail(detail));
        (checks, chained)
    }
}
