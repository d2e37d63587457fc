//! Members of packages inside members: `{inner.zip/fw.bin}` names `fw.bin`
//! inside the member `inner.zip` (itself a package), at any depth up to
//! [`MAX_RECURSIVE`]. The outer pass hands `inner.zip` like any member (a
//! sealed memfd, or a read-only file); that copy is opened as a package,
//! verified on its own terms, and hands its own members. Nothing is read
//! from disk again: each layer reads the bytes the layer above hashed.
//!
//! A name is first looked for as a member of the outer package; only a name
//! that is none is looked for inside its longest ancestor that is a file.

use super::{Handed, Handoff, HandoffOptions, Place};
use crate::error::{Error, Result};
use crate::input::ReadAt;
use crate::model::{Check, CheckKind, MemberName, Nested};
use crate::package::{Package, MAX_RECURSIVE};
use crate::verify::VerifyOptions;
use std::fs::File;
use std::sync::Arc;

/// [`Package::handoff`]: the members of `package` and of the packages in
/// its members named in `members`.
pub(super) fn handoff(
    package: &Package,
    members: &[MemberName],
    options: &HandoffOptions,
    depth: usize,
) -> Result<Handoff> {
    let mut asked: Vec<MemberName> = members.to_vec();
    for name in members {
        for ancestor in name.ancestors() {
            if !asked.contains(&ancestor) {
                asked.push(ancestor);
            }
        }
    }
    let mut outer = package.handoff_flat(&asked, options)?;
    let checks = outer.report.checks.len();
    for (carrier, rests) in inner_names(&outer, members) {
        if depth >= MAX_RECURSIVE {
            outer.report.checks.push(Check::failed(
                CheckKind::Structure,
                format!("nested package {carrier}"),
                format!("more than {MAX_RECURSIVE} packages deep"),
            ));
            continue;
        }
        let inner = open_inner(&outer, &carrier, options).and_then(|(inner, inner_options)| {
            handoff(&inner, &rests, &inner_options, depth.saturating_add(1))
        });
        match inner {
            Ok(inner) => merge(&mut outer, &carrier, inner)?,
            Err(e) => outer.report.checks.push(Check::failed(
                CheckKind::Structure,
                format!("nested package {carrier}"),
                format!("cannot be read as a package: {e}"),
            )),
        }
    }
    // The carriers handed only to be opened are not the caller's.
    outer.handed.retain(|h| members.contains(&h.name));
    if outer.report.checks.len() != checks {
        outer.report.verdict = crate::verify::verdict(&outer.report.checks, &outer.report.members);
    }
    Ok(outer)
}

/// The names of `members` that are no member of `outer` but lie below a
/// file it handed: grouped by that file (the longest such ancestor), each
/// with the rest of the name below it.
fn inner_names(outer: &Handoff, members: &[MemberName]) -> Vec<(MemberName, Vec<MemberName>)> {
    let mut groups: Vec<(MemberName, Vec<MemberName>)> = Vec::new();
    for name in members {
        if outer.handed.iter().any(|h| &h.name == name) {
            continue;
        }
        let carrier = name
            .ancestors()
            .filter(|a| outer.handed.iter().any(|h| &h.name == a))
            .last();
        let Some(carrier) = carrier else { continue };
        let rest = name
            .as_str()
            .get(carrier.as_str().len().saturating_add(1)..)
            .and_then(|r| MemberName::parse(r.as_bytes()).ok());
        let Some(rest) = rest else { continue };
        match groups.iter_mut().find(|(c, _)| c == &carrier) {
            Some((_, rests)) => rests.push(rest),
            None => groups.push((carrier, vec![rest])),
        }
    }
    groups
}

/// The handed copy of `carrier` opened as a package, and the options it is
/// verified with: the keys and the pinned digest are the outer package's
/// (whose verified bytes hold the inner one), so an inner one is checked on
/// its own terms (its manifests, checksums and streams; signatures it
/// carries are shown, not checked), with what is left of the outer's
/// limits.
fn open_inner(
    outer: &Handoff,
    carrier: &MemberName,
    options: &HandoffOptions,
) -> Result<(Package, HandoffOptions)> {
    let handed = outer
        .member(carrier)
        .map_err(|why| Error::read(carrier.as_str(), std::io::Error::other(why)))?;
    let source: Arc<dyn ReadAt> = match &handed.place {
        Place::Memfd(file) => Arc::new(
            file.try_clone()
                .map_err(|e| Error::read(carrier.as_str(), e))?,
        ),
        Place::File(path) => Arc::new(File::open(path).map_err(|e| Error::read(path, e))?),
    };
    let package = Package::from_source(carrier.as_str(), source)?;
    let (bytes, entries) = outer.report.members.iter().fold((0u64, 0u64), |(b, e), m| {
        (b.saturating_add(m.size), e.saturating_add(1))
    });
    let mut verify = VerifyOptions {
        progress: None,
        keys: Vec::new(),
        trust: crate::trust::TrustStore::default(),
        anchors: Vec::new(),
        require_signature: false,
        sha256: None,
        ..options.verify.clone()
    };
    verify.limits.max_size = verify.limits.max_size.saturating_sub(bytes);
    verify.limits.max_entries = verify.limits.max_entries.saturating_sub(entries);
    Ok((
        package,
        HandoffOptions {
            verify,
            ..options.clone()
        },
    ))
}

/// Fold the handoff of the package in `carrier` into `outer`: its handed
/// members under `carrier/`, its report as a nested one (a failure of the
/// outer when it does not verify), its directory kept for removal.
fn merge(outer: &mut Handoff, carrier: &MemberName, inner: Handoff) -> Result<()> {
    let prefix = |name: &MemberName| {
        MemberName::parse(format!("{carrier}/{name}").as_bytes())
            .map_err(|e| Error::read(carrier.as_str(), std::io::Error::other(e.to_string())))
    };
    for handed in inner.handed {
        outer.handed.push(Handed {
            name: prefix(&handed.name)?,
            ..handed
        });
    }
    for (name, seen) in inner.seen {
        outer.seen.insert(prefix(&name)?, seen);
    }
    outer
        .notes
        .extend(inner.notes.into_iter().map(|n| format!("{carrier}: {n}")));
    if !inner.report.verdict.is_verified() {
        outer.report.checks.push(Check::failed(
            CheckKind::Stream,
            "nested packages",
            format!("not verified: {carrier}"),
        ));
    }
    let mut report = inner.report;
    report.path = carrier.as_str().into();
    outer.report.nested.push(Nested {
        member: carrier.to_string(),
        unpacked_as: "(handed, not unpacked)".to_owned(),
        report: Box::new(report),
    });
    outer.nested_dirs.extend(inner.dir);
    outer.nested_dirs.extend(inner.nested_dirs);
    Ok(())
}
