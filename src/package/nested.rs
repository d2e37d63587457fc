//! `--recursive`: packages inside members, each opened, verified and
//! unpacked next to its member, under one budget of limits for all layers.

use super::{Package, UnpackOptions};
use crate::detect::{detect, Encoding, FormatKind, HEAD_LEN};
use crate::error::{Error, Result, Setting};
use crate::input::{Input, Open};
use crate::model::{Check, CheckKind, MemberKind, MemberName, Nested, Report};
use crate::pass::decode::Decoder;
use crate::verify::{self, VerifyOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Open every member of `report` (unpacked below `root`) that is itself a
/// package and unpack it next to the member, as `<member>.unpacked/`, one
/// level less deep. A nested package that does not verify fails the outer.
pub(super) fn unpack(
    outer: &Package,
    root: &Path,
    report: &mut Report,
    options: &UnpackOptions,
) -> Result<()> {
    let mut inner = UnpackOptions {
        recursive: options.recursive.saturating_sub(1), // called when > 0
        verify: VerifyOptions {
            progress: None,
            // Keys sign the outer package; inner ones are checked on their own terms.
            keys: Vec::new(),
            require_signature: false,
            ..options.verify.clone()
        },
        ..options.clone()
    };
    let files: Vec<MemberName> = report
        .members
        .iter()
        .filter(|m| m.kind == MemberKind::File && m.problem.is_none())
        .filter_map(|m| m.path.clone())
        .collect();
    for name in files {
        let path = name.to_path(root);
        if !looks_like_package(&*outer.opener, &path) {
            continue;
        }
        let unpacked_as = format!("{name}.unpacked");
        let dest = MemberName::parse(unpacked_as.as_bytes())
            .map(|n| n.to_path(root))
            .map_err(|e| Error::Invalid {
                setting: Setting::Recursive,
                reason: format!("{unpacked_as}: {e}"),
            })?;
        if dest.symlink_metadata().is_ok() {
            report.warnings.push(format!(
                "{name}: not opened, {unpacked_as} is already a member"
            ));
            continue;
        }
        // One budget for every layer: what the outer package and the
        // packages opened so far used is not available to the next one,
        // so nesting (42.zip) cannot multiply the limits.
        let (bytes, entries) = usage(report);
        let limits = &options.verify.limits;
        inner.verify.limits.max_size = limits.max_size.saturating_sub(bytes);
        inner.verify.limits.max_entries = limits.max_entries.saturating_sub(entries);
        let nested = Package::open_with(&path, outer.opener.clone())?;
        let mut inner_report = nested.unpack(&dest, &inner)?;
        inner_report.path = PathBuf::from(name.as_str());
        if inner_report.unpacked.is_some() {
            inner_report.unpacked = Some(PathBuf::from(&unpacked_as));
        }
        report.nested.push(Nested {
            member: name.to_string(),
            unpacked_as,
            report: Box::new(inner_report),
        });
    }
    let failed: Vec<&str> = report
        .nested
        .iter()
        .filter(|n| !n.report.verdict.is_verified() || n.report.unpacked.is_none())
        .map(|n| n.member.as_str())
        .collect();
    if !failed.is_empty() {
        let check = Check::failed(
            CheckKind::Stream,
            "nested packages",
            format!("not verified: {}", failed.join(", ")),
        );
        report.checks.push(check);
        report.verdict = verify::verdict(&report.checks, &report.members);
    }
    Ok(())
}

/// Bytes and entries a report's members take, nested packages included.
fn usage(report: &Report) -> (u64, u64) {
    let own = report.members.iter().fold((0u64, 0u64), |(b, e), m| {
        (b.saturating_add(m.size), e.saturating_add(1))
    });
    report.nested.iter().fold(own, |(b, e), n| {
        let (nb, ne) = usage(&n.report);
        (b.saturating_add(nb), e.saturating_add(ne))
    })
}

/// True when a file is a package worth opening: a recognised container, and
/// for a compressed stream, one that holds a tar (a lone `image.bin.gz` is data).
fn looks_like_package(opener: &dyn Open, path: &Path) -> bool {
    let Ok(input) = Input::open(opener, path) else {
        return false;
    };
    let Ok(head) = input.read_at(0, HEAD_LEN as u64) else {
        return false;
    };
    match detect(&head) {
        None | Some(FormatKind::Set) => false,
        Some(FormatKind::Tar) => {
            let Ok(mut decoder) = Decoder::new(Encoding::sniff(&head), &head[..]) else {
                return false;
            };
            let mut block = [0u8; 512];
            decoder.read_exact(&mut block).is_ok() && block.get(257..262) == Some(b"ustar")
        }
        Some(_) => true,
    }
}
