//! The signature blobs of the JCat files inside an LVFS cabinet, judged
//! by `jcat_sign` over the digests the member walk computed, and whether
//! together they cover the cabinet (see `lvfs`).

use crate::formats::jcat;
use crate::formats::jcat_sign::{self, Signed};
use crate::model::{Check, Member, MemberKind, Outcome};
use crate::verify::VerifyOptions;
use std::collections::HashSet;

/// The JCat signature checks of a cabinet, each with the member it covers
/// when it passed.
pub(super) struct Signing<'a> {
    options: &'a VerifyOptions,
    found: Vec<(Check, Option<String>)>,
}

impl<'a> Signing<'a> {
    pub(super) fn new(options: &'a VerifyOptions) -> Signing<'a> {
        Signing {
            options,
            found: Vec::new(),
        }
    }

    /// Judge one PKCS#7 or GPG blob of `item` over `member`.
    pub(super) fn judge(
        &mut self,
        covers: &str,
        (item, blob, data): (&jcat::Item, &jcat::Blob, &[u8]),
        member: Option<&Member>,
    ) {
        let signed = member.map(|m| Signed {
            name: m.path.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            digests: m.digests.iter().map(|(a, v)| (*a, v.clone())).collect(),
            pgp_elsewhere: false,
            options: self.options,
        });
        let judged = jcat_sign::judge(covers, (item, blob, data), signed.as_ref());
        let name = signed.filter(|_| judged.covers_file).map(|s| s.name);
        for check in judged.checks {
            let covers = (check.outcome == Outcome::Passed)
                .then(|| name.clone())
                .flatten();
            self.found.push((check, covers));
        }
    }

    /// The checks, each flagged when it passed and the passed signatures
    /// cover every file member but the JCat files.
    pub(super) fn whole(self, members: &[Member]) -> Vec<(Check, bool)> {
        let signed: HashSet<&str> = self
            .found
            .iter()
            .filter_map(|(_, m)| m.as_deref())
            .collect();
        let all = !signed.is_empty()
            && members
                .iter()
                .filter(|m| m.kind == MemberKind::File)
                .filter_map(|m| m.path.as_ref())
                .filter(|p| !p.as_str().to_ascii_lowercase().ends_with(".jcat"))
                .all(|p| signed.contains(p.as_str()));
        self.found
            .iter()
            .map(|(c, _)| (c.clone(), all && c.outcome == Outcome::Passed))
            .collect()
    }
}
